"""Login, logout, the session loader and the role guard."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from scoring.extensions import db, limiter
from scoring.inputs import safe_next
from scoring.models import Role, User
from scoring.services import audit
from scoring.services.accounts import users

bp = Blueprint("auth", __name__)

HOME_ENDPOINT = {
    Role.APPLICANT: "apply.home",
    Role.REVIEWER: "review.home",
    Role.STAFF: "staff.home",
    Role.ADMIN: "staff.home",
}


def init_login(manager: LoginManager) -> None:
    """Configure Flask-Login: the sign-in page, its message and the user loader."""
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."

    @manager.user_loader
    def _load(user_key: str) -> User | None:
        # "id:token" (Flask-Login "Alternative Tokens"): a rotated token ends old sessions.
        user_id, _, token = user_key.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_token != token:
            return None
        return user


def role_required(*roles: Role) -> Callable:
    """Let only signed-in users with one of ``roles`` through (admin passes every staff guard)."""

    allowed = set(roles) | ({Role.ADMIN} if Role.STAFF in roles else set())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def home_url(user: User) -> str:
    """The URL of the home page for the user's role."""
    return url_for(HOME_ENDPOINT[user.role])


class LoginForm(FlaskForm):
    """Sign in with email and password (the login page)."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(r"^[^\x00-\x1f]*$", message="Remove the invisible control characters."),
        ],
    )  # PG refuses NUL
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def _account_key() -> str:
    return "acct:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("5/minute;30/hour", key_func=_account_key, methods=["POST"])
@limiter.limit("20/minute;200/hour", methods=["POST"])
def login():
    """Sign in; the same message for an unknown user and a wrong password."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            flash("Email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 200
        audit.record("user.login", "user", user.id, actor=user)
        db.session.commit()
        session.clear()  # a new session on login (no fixation)
        login_user(user)
        return redirect(safe_next(request.args.get("next")) or home_url(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out and end every session of this user."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        users.rotate_session(user)
        audit.record("user.logout", "user", user.id, actor=user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))

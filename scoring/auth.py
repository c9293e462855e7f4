"""Login, logout, the session loader and the role guard."""

from __future__ import annotations

import math
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

from scoring import clock
from scoring.extensions import db, limiter
from scoring.formatting import local_dt
from scoring.inputs import safe_next
from scoring.models import Role, User
from scoring.services import audit
from scoring.services.accounts import sessions, throttle, two_factor, users
from scoring.web import device_summary

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
    def _load(key: str) -> User | None:
        # "session_id:secret" (Flask-Login "Alternative Tokens"): one row per device.
        found = sessions.resolve(key)
        if found.changed:
            db.session.commit()  # last seen (at most once a minute) or a timed-out end
        if found.ended:
            flash(TIMED_OUT[found.ended], "info")
        if found.user is None:
            return None
        found.user.session_key = key
        return found.user


TIMED_OUT = {
    "idle": "You were signed out after a while without activity. Sign in again to continue.",
    "expired": "Your sign-in has reached its time limit. Sign in again to continue.",
}


@bp.before_app_request
def _load_session_first() -> None:
    """Check this browser's session before the view runs (its writes are committed first)."""
    if session.get("_user_id"):
        current_user._get_current_object()


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
            if two_factor.required(current_user) and not two_factor.enrolled(current_user):
                return redirect(url_for("security.enrol"))
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


def locked_out(until) -> str:
    """The refusal for an address locked out of an account, saying when to try again."""
    minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
    return (
        "Too many attempts to sign in to this account from your network. Try again at "
        f"{local_dt(until)} (in {minutes} minute{'s' if minutes > 1 else ''}), or sign in "
        "from another network."
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20/minute;200/hour", methods=["POST"])
def login():
    """Sign in; the same message for an unknown user and a wrong password."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        until = throttle.locked_until(form.email.data, request.remote_addr)
        if until is not None:  # refused before the password is checked
            flash(locked_out(until), "error")
            return render_template("auth/login.html", form=form), 429
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.failed(form.email.data, request.remote_addr)
            db.session.commit()
            flash("Email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 200
        target = safe_next(request.args.get("next"))
        if two_factor.enrolled(user) or two_factor.required(user):
            db.session.commit()
            return begin_second_step(user, target)
        return complete_sign_in(user, target)
    return render_template("auth/login.html", form=form)


#: How long the code step waits after a right password (seconds), and the wrong codes it takes.
PENDING_SECONDS = 600
PENDING_WRONG_CODES = 5


def begin_second_step(user: User, target: str | None):
    """After a right password: not signed in yet; the code step (or enrolment) comes next."""
    session.clear()  # a new session (no fixation); nobody is signed in until the code passes
    session["pending_sign_in"] = {
        "user": user.id,
        "since": clock.now().timestamp(),
        "next": target,
        "wrong": 0,
    }
    if two_factor.enrolled(user):
        return redirect(url_for("security.code"))
    flash(
        "Your account can approve or publish awards, so it needs two-factor sign-in. "
        "Set it up now to continue.",
        "info",
    )
    return redirect(url_for("security.enrol"))


def pending_user() -> User | None:
    """The user who typed a right password in this browser and still owes a code, or None."""
    pending = session.get("pending_sign_in")
    if not isinstance(pending, dict):
        return None
    if clock.now().timestamp() - float(pending.get("since", 0)) > PENDING_SECONDS:
        session.pop("pending_sign_in", None)
        return None
    user = db.session.get(User, int(pending.get("user", 0)))
    return user if user is not None and user.active else None


def count_wrong_code() -> bool:
    """Count a wrong code of the pending sign-in; True when it is given up (too many)."""
    pending = dict(session.get("pending_sign_in") or {})
    pending["wrong"] = int(pending.get("wrong", 0)) + 1
    if pending["wrong"] >= PENDING_WRONG_CODES:
        session.pop("pending_sign_in", None)
        return True
    session["pending_sign_in"] = pending
    return False


def sign_in(user: User) -> str | None:
    """Sign ``user`` in (audited, committed); return where the pending sign-in wanted to go."""
    target = (session.get("pending_sign_in") or {}).get("next")
    device, address = device_summary(request.user_agent.string), request.remote_addr
    key = sessions.start(user, device=device, address=address)
    audit.record(
        "user.login",
        "user",
        user.id,
        actor=user,
        after={"session": int(key.partition(":")[0]), "device": device, "address": address},
    )
    throttle.succeeded(user.email, request.remote_addr)
    db.session.commit()
    user.session_key = key
    flashes = session.get("_flashes")
    session.clear()  # a new session on login (no fixation); messages kept
    if flashes:
        session["_flashes"] = flashes
    login_user(user)
    return target


def complete_sign_in(user: User, target: str | None = None):
    """Sign ``user`` in and go to ``target`` (or where they were going) or their home page."""
    target = sign_in(user) or target
    return redirect(safe_next(target) or home_url(user))


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: end this device's session (the others stay signed in)."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        row = sessions.owned(user, user.session_id)
        if row is not None:
            sessions.end(row, "logout", actor=user)
        audit.record("user.logout", "user", user.id, actor=user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))

"""Your sign-in security: two-factor status, your sessions (this device and others, end one,
sign out everywhere) and changing your password. The two-factor pages add their routes to this
blueprint (``scoring/accounts/two_factor.py``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from scoring.accounts.forms import PasswordForm
from scoring.errors import InputError
from scoring.extensions import db, limiter
from scoring.services.accounts import sessions, two_factor, users
from scoring.web import add_error, current_actor, show_error

bp = Blueprint("security", __name__)


class EndForm(FlaskForm):
    """Ending a session or all of them (CSRF token only)."""


class ChangePasswordForm(PasswordForm):
    """Change the password: the current one, then the new one twice (as on the link page)."""

    current = PasswordField(
        "Current password", validators=[DataRequired("Type your current password.")]
    )


class RenewCodesForm(FlaskForm):
    """New recovery codes: a current six-digit code from the authenticator app."""

    code = StringField(
        "Code from your app",
        validators=[DataRequired("Type the code your app shows now."), Length(max=40)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


def _signed_in():
    if not current_user.is_authenticated:
        return None
    return current_actor()


def _page(user, password_form=None, status=200, codes_form=None):
    enrolled = two_factor.enrolled(user)
    return render_template(
        "accounts/security.html",
        user=user,
        enrolled=enrolled,
        required=two_factor.required(user),
        codes_left=two_factor.recovery_codes_left(user) if enrolled else 0,
        sessions=sessions.open_sessions(user),
        this_session=user.session_id,
        end_form=EndForm(),
        password_form=password_form or ChangePasswordForm(),
        codes_form=codes_form or RenewCodesForm(formdata=None),
        idle_minutes=int(sessions.idle_limit().total_seconds() // 60),
        absolute_hours=int(sessions.absolute_limit().total_seconds() // 3600),
    ), status


@bp.route("/accounts/security")
def account():
    """Your sign-in security: two-factor status, your sessions, your password."""
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    return _page(user)


def _sign_out_here(message: str):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.route("/accounts/sessions/<int:session_id>/end", methods=["POST"])
def end_session(session_id: int):
    """End one of your sessions (another device, or this one)."""
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login"))
    row = sessions.owned(user, session_id)
    if row is None:
        abort(404)
    if not EndForm().validate_on_submit():
        abort(400)
    sessions.end(row, "ended", actor=user)
    db.session.commit()
    if row.id == user.session_id:
        return _sign_out_here("You are signed out on this device.")
    flash(f"Signed out {row.device or 'that device'}.", "info")
    return redirect(url_for(".account"))


@bp.route("/accounts/sessions/end-all", methods=["POST"])
def end_all():
    """Sign out everywhere: every session of yours ends, this one too."""
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login"))
    if not EndForm().validate_on_submit():
        abort(400)
    count = sessions.end_all(user, "everywhere", actor=user)
    db.session.commit()
    return _sign_out_here(f"You are signed out everywhere ({count} session(s) ended).")


@bp.route("/accounts/security/password", methods=["POST"])
@limiter.limit("10/minute;30/hour", methods=["POST"])
def change_password():
    """Change your password; your other sessions end, this one stays."""
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login"))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(
                user, form.current.data, form.password.data, keep_session=user.session_id
            )
        except InputError as exc:
            add_error(form, exc.path, exc.detail, "password")
            return _page(user, form, 400)
        db.session.commit()
        flash("Your password is changed. Your other sessions are ended.", "info")
        return redirect(url_for(".account"))
    return _page(user, form, 400)


@bp.after_request
def _no_store(response):
    """Pages with a secret, recovery codes or a half-done sign-in are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/accounts/security/recovery-codes", methods=["POST"])
@limiter.limit("5/minute;20/hour", methods=["POST"])
def renew_recovery_codes():
    """Ten new recovery codes, shown once; the old ones stop working. A current code from the
    app proves the phone is still at hand (a recovery code does not)."""
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login", next=url_for(".account")))
    form = RenewCodesForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.renew_recovery_codes(user, form.code.data)
        except InputError as exc:
            db.session.commit()  # the wrong code is audited
            show_error(form, exc)
        else:
            db.session.commit()
            return render_template(
                "accounts/recovery_codes.html", codes=codes, home=url_for(".account"), renewed=True
            )
    return _page(user, codes_form=form, status=400)

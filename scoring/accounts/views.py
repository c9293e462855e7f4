"""Invitations (staff only), choosing a password from an emailed link, and forgotten passwords."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from scoring.accounts.forms import ForgotForm, InviteForm, PasswordForm, choice
from scoring.auth import role_required
from scoring.errors import Conflict, InputError
from scoring.extensions import db, limiter
from scoring.models import District, DistrictRole, Role, TokenPurpose
from scoring.services.accounts import accounts
from scoring.web import add_error, current_actor, password_link, send_after_commit

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

#: Where the token of an opened invitation or reset link is kept (this browser's session).
LINK_KEY = "password_link"

RESET_SENT = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once and expires soon. Check your spam folder if it does not arrive."
)


def _email_key() -> str:
    return "forgot:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/invite", methods=["GET", "POST"])
@role_required(Role.STAFF)
def invite():
    """Staff invite a district user, who gets a one-time link to choose a password."""
    form = InviteForm()
    form.district.choices = [
        choice(d.id, f"{d.name} ({d.code})")
        for d in db.session.scalars(select(District).order_by(District.name))
    ]
    if form.validate_on_submit():
        district = db.get_or_404(District, form.district.data)
        try:
            message = accounts.invite_district_user(
                form.email.data,
                form.name.data,
                district,
                invited_by=current_actor(),
                make_link=password_link,
                district_role=DistrictRole(form.role.data),
            )
        except InputError as exc:
            add_error(form, exc.path, exc.detail, "email")
            return render_template(
                "accounts/invite.html", form=form, hours=accounts.invite_hours()
            ), 400
        db.session.commit()
        send_after_commit([message.id])
        flash(f"Invitation sent to {message.to_addr}.", "info")
        return redirect(url_for(".invite"))
    status = 400 if form.errors else 200
    return render_template("accounts/invite.html", form=form, hours=accounts.invite_hours()), status


@bp.route("/password/<token>", methods=["GET"])
@limiter.limit("30/minute")
def open_password_link(token: str):
    """The mailed link: its token moves into this browser's session, then a token-free page."""
    try:
        found = accounts.open_link(token, held_here=session.get(LINK_KEY) == token)
    except Conflict as exc:
        db.session.rollback()
        return render_template("accounts/link_taken.html", message=str(exc)), 409
    if found is None:
        return render_template("accounts/link_invalid.html"), 400
    db.session.commit()
    session[LINK_KEY] = token
    return redirect(url_for(".choose_password"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def choose_password():
    """Choose a password (invitation or reset); the link's token is in the session, not the URL."""
    token = session.get(LINK_KEY)
    found = accounts.valid_token(token) if isinstance(token, str) else None
    if found is None:
        session.pop(LINK_KEY, None)
        return render_template("accounts/link_invalid.html"), 400
    form = PasswordForm()
    invite = found.purpose == TokenPurpose.INVITE
    if form.validate_on_submit():
        try:
            accounts.redeem_token(token, form.password.data)
        except InputError as exc:
            add_error(form, exc.path, exc.detail, "password")
            return render_template(
                "accounts/password.html", form=form, invite=invite, user=found.user
            ), 400
        db.session.commit()
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash("Your password is set. Sign in with your email address and the new password.", "info")
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template(
        "accounts/password.html", form=form, invite=invite, user=found.user
    ), status


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5/minute;20/hour", key_func=_email_key, methods=["POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
def forgot():
    """Ask for a reset link; the answer is the same whether or not the address has an account.

    The page does the same work in both cases (it only queues the request); the worker looks
    the address up, so neither the answer nor its timing tells whether an account exists.
    """
    form = ForgotForm()
    if form.validate_on_submit():
        from workers.tasks import request_password_reset

        request_password_reset.delay(form.email.data.strip())
        flash(RESET_SENT, "info")
        return redirect(url_for(".forgot"))
    return render_template("accounts/forgot.html", form=form), 400 if form.errors else 200


@bp.after_request
def _no_store(response):
    """Pages carrying a one-time token are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


from scoring.accounts import people  # noqa: E402, F401  (the People routes on ``bp``)

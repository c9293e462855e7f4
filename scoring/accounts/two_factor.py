"""Two-factor sign-in pages: the code step after the password, enrolment (secret, QR code,
confirmation, recovery codes shown once) and staff resetting another user's second factor."""

from __future__ import annotations

import segno
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from scoring.accounts.security import bp
from scoring.auth import (
    complete_sign_in,
    count_wrong_code,
    home_url,
    locked_out,
    pending_user,
    role_required,
    sign_in,
)
from scoring.errors import Forbidden, InputError
from scoring.extensions import db, limiter
from scoring.inputs import safe_next
from scoring.models import Role, User
from scoring.services.accounts import throttle, two_factor
from scoring.web import current_actor


class CodeForm(FlaskForm):
    """A six-digit code from the authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(
        "Code",
        validators=[DataRequired("Type the code your app shows."), Length(max=40)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class ResetForm(FlaskForm):
    """The confirmation of a reset (CSRF token only)."""


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
def code():
    """The second step of sign-in: a code from the app or a recovery code."""
    user = pending_user()
    if user is None or not two_factor.enrolled(user):
        flash("Sign in with your email and password first.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    until = throttle.locked_until(user.email, request.remote_addr)
    if until is not None and request.method == "POST":
        flash(locked_out(until), "error")
        return render_template("auth/code.html", form=form, user=user), 429
    if form.validate_on_submit():
        used = two_factor.verify(user, form.code.data)
        if used is not None:
            if used == "recovery":
                left = two_factor.recovery_codes_left(user)
                flash(
                    f"You signed in with a recovery code; it cannot be used again. {left} left. "
                    "If you lost your phone, ask another staff member to reset your two-factor "
                    "sign-in.",
                    "info",
                )
            return complete_sign_in(user)
        given_up = count_wrong_code()
        throttle.failed(user.email, request.remote_addr)
        db.session.commit()  # the failed code is audited and counted
        if given_up:
            flash("Too many wrong codes. Sign in again with your password.", "error")
            return redirect(url_for("auth.login"))
        form.code.errors.append("That code is not right or was already used. Try the next one.")
    status = 400 if form.errors else 200
    return render_template("auth/code.html", form=form, user=user), status


def _enrolling_user() -> tuple[User | None, bool]:
    """Who is enrolling: the signed-in user, or one who owes enrolment to finish signing in."""
    if current_user.is_authenticated:
        return db.session.get(User, current_user.id), False
    user = pending_user()
    return user, user is not None


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data URI (drawn on the server: no script needed)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#111")


@bp.route("/accounts/two-factor", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def enrol():
    """Set up two-factor sign-in: scan or type the secret, then confirm with a code."""
    user, signing_in = _enrolling_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    if two_factor.enrolled(user):
        if signing_in:
            return redirect(url_for(".code"))
        return redirect(url_for(".account"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm(user, form.code.data)
        except InputError:
            db.session.commit()  # the wrong code is audited
            form.code.errors.append("That is not the code your app shows now. Try the next one.")
        else:
            target = sign_in(user) if signing_in else None
            if not signing_in:
                db.session.commit()
            home = safe_next(target) or home_url(user)
            return render_template("accounts/recovery_codes.html", codes=codes, home=home)
    secret = two_factor.begin(user)
    db.session.commit()
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "accounts/two_factor.html",
        form=form,
        user=user,
        secret=two_factor.grouped(secret),
        qr=qr_svg(uri),
        required=two_factor.required(user),
    ), 400 if form.errors else 200


@bp.route("/accounts/people/two-factor")
@role_required(Role.STAFF)
def people():
    """Staff: who signs in with two factors, and a reset for someone who lost their phone."""
    people = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.STAFF, Role.ADMIN, Role.REVIEWER]))
        .order_by(User.role, User.email)
    ).all()
    return render_template(
        "accounts/two_factor_people.html",
        people=people,
        form=ResetForm(),
        enrolled=two_factor.enrolled,
        required=two_factor.required,
        refusal=lambda target: two_factor.may_reset(current_actor(), target),
    )


@bp.route("/accounts/people/<int:person_id>/two-factor/reset", methods=["POST"])
@role_required(Role.STAFF)
def reset(person_id: int):
    """Staff reset another user's two-factor sign-in (never their own); audited."""
    target = db.get_or_404(User, person_id)
    if not ResetForm().validate_on_submit():
        abort(400)
    try:
        two_factor.reset(target, actor=current_actor())
    except Forbidden as exc:
        flash(str(exc), "error")
        return redirect(url_for(".people")), 303
    db.session.commit()
    flash(
        f"Two-factor sign-in of {target.email} is reset: their sessions are ended and they "
        "set it up again at their next sign-in.",
        "info",
    )
    return redirect(url_for(".people"))

"""A district's people (``/accounts/districts/<id>/people``): who can write and who can submit.

Every member of the district sees the list; a submitter of the district, or staff for any
district, invites people, changes their role, deactivates and reactivates them
(``services.accounts.people`` owns the rules: never the last submitter)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from scoring.accounts.forms import ConfirmForm, PersonInviteForm, RoleForm
from scoring.accounts.views import bp
from scoring.auth import role_required
from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import District, DistrictRole, Role, User
from scoring.services import access
from scoring.services.accounts import accounts, people
from scoring.web import current_actor, password_link, send_after_commit, show_error

ID = "int(max=2147483647)"


def _district_for_viewer(district_id: int) -> District:
    """The district, if the district rule lets the signed-in user see its people (else 404)."""
    return access.get(current_actor(), District, district_id)


def _page(district: District, form=None, status: int = 200):
    actor = current_actor()
    return render_template(
        "accounts/people.html",
        district=district,
        people=people.district_people(district.id),
        manage=people.can_manage(actor, district.id),
        form=form or PersonInviteForm(formdata=None),
        role_form=RoleForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        hours=accounts.invite_hours(),
        roles=accounts.ROLE_WORDS,
    ), status


def _back(district: District):
    return redirect(url_for("accounts.people_page", district_id=district.id))


@bp.route("/people")
@role_required(Role.APPLICANT)
def my_people():
    """The signed-in district user's own district's People page."""
    return redirect(url_for("accounts.people_page", district_id=current_user.district_id))


@bp.route("/districts")
@role_required(Role.STAFF)
def districts():
    """Staff: every district with how many active people and submitters it has."""
    counts = dict(
        db.session.execute(
            select(User.district_id, func.count())
            .where(User.role == Role.APPLICANT, User.active.is_(True))
            .group_by(User.district_id)
        ).all()
    )
    rows = db.session.scalars(select(District).order_by(District.name)).all()
    return render_template("accounts/districts.html", rows=rows, counts=counts)


@bp.route(f"/districts/<{ID}:district_id>/people", methods=["GET", "POST"])
@login_required
def people_page(district_id: int):
    """The district's people and their roles; submitters and staff invite someone here."""
    district = _district_for_viewer(district_id)
    form = PersonInviteForm()
    if not form.validate_on_submit():
        return _page(district, form, status=400 if form.errors else 200)
    people.require_manager(current_actor(), district.id)
    try:
        message = people.invite(
            district,
            form.email.data,
            form.name.data,
            DistrictRole(form.role.data),
            actor=current_actor(),
            make_link=password_link,
        )
    except InputError as exc:
        db.session.rollback()
        show_error(form, exc)
        return _page(district, form, status=400)
    db.session.commit()
    send_after_commit([message.id])
    flash(f"Invitation sent to {message.to_addr}.", "info")
    return _back(district)


@bp.route(f"/districts/<{ID}:district_id>/people/<{ID}:user_id>/role", methods=["POST"])
@login_required
def person_role(district_id: int, user_id: int):
    """Make a person a writer or a submitter (never the last submitter a writer)."""
    district = _district_for_viewer(district_id)
    person = people.person_of(district.id, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose writer or submitter.", "error")
        return _back(district)
    try:
        people.change_role(person, DistrictRole(form.role.data), actor=current_actor())
    except Conflict as exc:
        db.session.rollback()
        flash(f"Not changed: {exc}", "error")
        return _back(district)
    db.session.commit()
    flash(f"{person.name} is now a {form.role.data}.", "info")
    return _back(district)


@bp.route(f"/districts/<{ID}:district_id>/people/<{ID}:user_id>/deactivate", methods=["POST"])
@login_required
def person_deactivate(district_id: int, user_id: int):
    """Deactivate a person's account (the box must be ticked; never the last submitter)."""
    district = _district_for_viewer(district_id)
    person = people.person_of(district.id, user_id)
    form = ConfirmForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash(f"To deactivate {person.name}, tick “Yes, I am sure” and press again.", "error")
        return _back(district)
    try:
        people.deactivate(person, actor=current_actor())
    except Conflict as exc:
        db.session.rollback()
        flash(f"Not deactivated: {exc}", "error")
        return _back(district)
    db.session.commit()
    flash(f"{person.name} can no longer sign in.", "info")
    return _back(district)


@bp.route(f"/districts/<{ID}:district_id>/people/<{ID}:user_id>/reactivate", methods=["POST"])
@login_required
def person_reactivate(district_id: int, user_id: int):
    """Let a deactivated person sign in again (with their password and their earlier role)."""
    district = _district_for_viewer(district_id)
    person = people.person_of(district.id, user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form had expired; press Reactivate again.", "error")
        return _back(district)
    people.reactivate(person, actor=current_actor())
    db.session.commit()
    flash(
        f"{person.name} can sign in again, as a {person.district_role.value}. If they have "
        "forgotten their password, they can ask for a new one on the sign-in page.",
        "info",
    )
    return _back(district)

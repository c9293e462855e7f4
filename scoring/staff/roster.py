"""The reviewer roster: invite, resend an invitation, deactivate, reactivate, district conflicts."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import District, ReviewerAssignment
from scoring.services.queries import blocked_districts
from scoring.services.reviews import reviewers
from scoring.staff.panel import bp
from scoring.staff.panel_forms import ConfirmForm, DistrictConflictForm, InviteForm
from scoring.web import add_error, current_actor, password_link, send_after_commit, sentence


def _district_choices(blank: str) -> list[SelectChoice]:
    districts = db.session.scalars(select(District).order_by(District.name)).all()
    return [SelectChoice(None, blank)] + [
        SelectChoice(d.id, f"{d.name} ({d.code})") for d in districts
    ]


def _roster_page(form: InviteForm, status: int = 200):
    return render_template(
        "staff/panel/roster.html", rows=reviewers.roster(), form=form, confirm=ConfirmForm()
    ), status


@bp.route("/reviewers")
def roster():
    """Every reviewer with their workload; the invitation form."""
    form = InviteForm(formdata=None)
    form.district.choices = _district_choices("None / not a district employee")
    return _roster_page(form)


@bp.route("/reviewers", methods=["POST"])
def invite():
    """Invite a reviewer: an account without a password and a one-time link by mail."""
    form = InviteForm()
    form.district.choices = _district_choices("None / not a district employee")
    if not form.validate_on_submit():
        return _roster_page(form, 400)
    try:
        message = reviewers.invite(
            form.email.data,
            form.name.data,
            form.district.data,
            actor=current_actor(),
            link=password_link,
        )
    except InputError as exc:
        db.session.rollback()
        add_error(form, exc.path, sentence(exc.detail), "email")
        return _roster_page(form, 400)
    db.session.commit()
    send_after_commit([message.id])
    flash(f"Invitation sent to {message.to_addr}.", "info")
    return redirect(url_for(".roster"))


def _reviewer_page(person, conflict_form: DistrictConflictForm | None = None, status: int = 200):
    form = conflict_form or DistrictConflictForm(formdata=None)
    form.district.choices = _district_choices("Choose a district")
    rows = db.session.scalars(
        select(ReviewerAssignment)
        .where(ReviewerAssignment.reviewer_id == person.id)
        .order_by(ReviewerAssignment.assigned_at.desc())
    ).all()
    blocked = {district_id for _, district_id in db.session.execute(blocked_districts([person.id]))}
    return render_template(
        "staff/panel/reviewer.html",
        person=person,
        rows=rows,
        form=form,
        confirm=ConfirmForm(),
        blocked=blocked,
    ), status


@bp.route("/reviewers/<int:uid>")
def reviewer(uid: int):
    """One reviewer: assignments across competitions and the districts they may not review."""
    return _reviewer_page(reviewers.get_reviewer(uid))


@bp.route("/reviewers/<int:uid>/deactivate", methods=["POST"])
def deactivate(uid: int):
    """Block sign-in, end every session, release unfinished assignments."""
    person = reviewers.get_reviewer(uid)
    released = reviewers.deactivate(person, actor=current_actor())
    db.session.commit()
    flash(
        f"{person.name} is deactivated and signed out everywhere; {released} unfinished "
        "assignment(s) released for reassignment.",
        "info",
    )
    return redirect(url_for(".reviewer", uid=uid))


@bp.route("/reviewers/<int:uid>/reactivate", methods=["POST"])
def reactivate(uid: int):
    """Let a deactivated reviewer sign in again."""
    person = reviewers.get_reviewer(uid)
    reviewers.reactivate(person, actor=current_actor())
    db.session.commit()
    flash(f"{person.name} can sign in again.", "info")
    return redirect(url_for(".reviewer", uid=uid))


@bp.route("/reviewers/<int:uid>/resend", methods=["POST"])
def resend(uid: int):
    """A fresh invitation link (older links stop working)."""
    person = reviewers.get_reviewer(uid)
    message = reviewers.resend(person, actor=current_actor(), link=password_link)
    db.session.commit()
    send_after_commit([message.id])
    flash(f"A new invitation was sent to {person.email}.", "info")
    return redirect(url_for(".reviewer", uid=uid))


@bp.route("/reviewers/<int:uid>/conflicts", methods=["POST"])
def add_conflict(uid: int):
    """Record a district the reviewer must never be assigned."""
    person = reviewers.get_reviewer(uid)
    form = DistrictConflictForm()
    form.district.choices = _district_choices("Choose a district")
    if not form.validate_on_submit():
        return _reviewer_page(person, form, 400)
    try:
        reviewers.add_conflict(person, form.district.data, form.reason.data, actor=current_actor())
    except InputError as exc:
        db.session.rollback()
        add_error(form, "district", sentence(exc.detail))
        return _reviewer_page(person, form, 400)
    db.session.commit()
    flash("District conflict recorded; the automatic assignment will avoid it.", "info")
    return redirect(url_for(".reviewer", uid=uid))


@bp.route("/reviewers/<int:uid>/conflicts/<int:conflict_id>/delete", methods=["POST"])
def remove_conflict(uid: int, conflict_id: int):
    """Delete a recorded district conflict."""
    person = reviewers.get_reviewer(uid)
    reviewers.remove_conflict(person, conflict_id, actor=current_actor())
    db.session.commit()
    flash("District conflict removed.", "info")
    return redirect(url_for(".reviewer", uid=uid))

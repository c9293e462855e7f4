"""Staff screening under ``/apply/staff/``: the list of submitted applications (with a bulk
"confirm as claimed"), the screening of one application (eligibility, tier, priorities) and the
documented extension of one draft's window."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from scoring import clock
from scoring.apply.screening_forms import BulkConfirmForm, ExtensionForm, build_screen_form
from scoring.apply.views import ID, bp
from scoring.auth import role_required
from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import Application, ApplicationStatus, Competition, Role
from scoring.services import access
from scoring.services.applications import applications, screening
from scoring.services.competitions.phases import screening_refusal
from scoring.staff.forms import to_local_naive, to_utc
from scoring.web import add_error, current_actor, send_after_commit


def _competition_filter() -> int | None:
    competition_id = request.args.get("competition", type=int)
    return competition_id if competition_id and 0 < competition_id < 2**31 else None


def _list_page(form: BulkConfirmForm, status: int = 200):
    competition_id = _competition_filter()
    rows = applications.submitted_applications(competition_id)
    competition = db.session.get(Competition, competition_id) if competition_id else None
    now = clock.now()
    # before the close a row is shown without its screening controls (the service refuses too)
    refusals = {a.competition_id: screening_refusal(a.competition, now) for a in rows}
    return render_template(
        "apply/staff_list.html",
        rows=rows,
        refusals=refusals,
        drafts=screening.extendable_drafts(competition_id, now),
        competition_id=competition_id,
        competition=competition,
        form=form,
    ), status


@bp.route("/staff/applications")
@role_required(Role.STAFF)
def staff_applications():
    """Submitted applications to screen (eligibility, tier, priorities), with bulk confirm."""
    return _list_page(BulkConfirmForm())


@bp.route("/staff/applications/confirm", methods=["POST"])
@role_required(Role.STAFF)
def confirm_as_claimed():
    """Screen the ticked applications as they stand, every claimed priority confirmed."""
    form = BulkConfirmForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    try:
        refs = screening.confirm_as_claimed(form.applications.data, current_actor(), clock.now())
    except (InputError, Conflict) as exc:
        db.session.rollback()
        detail = exc.detail if isinstance(exc, InputError) else str(exc)
        add_error(form, getattr(exc, "path", None), detail, "applications")
        return _list_page(form, 409 if isinstance(exc, Conflict) else 400)
    db.session.commit()
    flash(f"Screened as claimed: {', '.join(refs)}.", "info")
    return redirect(url_for(".staff_applications", competition=_competition_filter()))


@bp.route(f"/staff/applications/<{ID}:app_id>/screen", methods=["GET", "POST"])
@role_required(Role.STAFF)
def screen(app_id: int):
    """Screen one application: eligible or not, its tier, each priority confirmed or refused."""
    application = access.get(current_actor(), Application, app_id)
    form = build_screen_form(application)
    refusal = screening_refusal(application.competition, clock.now())
    if request.method == "POST":
        screening.require_submitted(application)
        if refusal:  # before the close: the page says why and saves nothing
            form.form_errors.append(refusal)
            return _screen_page(form, application, refusal, 409)
    if form.validate_on_submit():
        try:
            message = screening.screen(
                application,
                current_actor(),
                eligible=form.eligible.data == "yes",
                reason=form.reason.data,
                tier=form.tier.data,
                priorities=form.decisions(),
                now=clock.now(),
            )
        except InputError as exc:
            db.session.rollback()
            add_error(form, exc.path, exc.detail, "reason")
            return _screen_page(form, application, refusal, 400)
        db.session.commit()
        if message is not None:
            send_after_commit([message.id])
        flash(
            f"{application.ref} screened as {'eligible' if application.eligible else 'ineligible'}"
            f", tier {application.tier}.",
            "info",
        )
        return redirect(url_for(".staff_applications", competition=application.competition_id))
    return _screen_page(form, application, refusal, 400 if form.errors else 200)


def _screen_page(form, application: Application, refusal: str | None, status: int):
    return render_template(
        "apply/staff_screen.html", form=form, application=application, refusal=refusal
    ), status


@bp.route(f"/staff/applications/<{ID}:app_id>/extend", methods=["GET", "POST"])
@role_required(Role.STAFF)
def extend(app_id: int):
    """Give one draft a documented, audited extension of its window."""
    application = access.get(current_actor(), Application, app_id)
    form = ExtensionForm(
        data={
            "until": to_local_naive(application.extended_until),
            "reason": application.extension_reason,
        }
    )
    if form.validate_on_submit():
        try:
            screening.grant_extension(
                application,
                current_actor(),
                until=to_utc(form.until.data),
                reason=form.reason.data,
                now=clock.now(),
            )
        except (InputError, Conflict) as exc:
            db.session.rollback()
            if isinstance(exc, Conflict) or not add_error(form, exc.path, exc.detail, "reason"):
                form.form_errors.append(getattr(exc, "detail", str(exc)))
            code = 409 if isinstance(exc, Conflict) else 400
            return render_template(
                "apply/staff_extend.html", form=form, application=application
            ), code
        db.session.commit()
        flash(f"{application.ref} may be submitted until the extension ends.", "info")
        return redirect(url_for(".extend", app_id=application.id))
    status = 400 if form.errors else 200
    drafts = application.status == ApplicationStatus.DRAFT
    return render_template(
        "apply/staff_extend.html", form=form, application=application, draft=drafts
    ), status

"""The application form: start a draft, save it (every entry as typed, valid or not), save and
submit, autosave (``static/draft_autosave.js``), and the 409 page when someone else saved first.

Nothing typed is lost: an entry the form or the rules refuse is kept as typed on the draft
(``Application.draft_invalid``) and marked beside its field and in the summary at the top; a
save made on an older version shows the saved version and what was typed side by side.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_login import current_user

from scoring.apply.forms import build_application_form, initial_data
from scoring.apply.views import ID, _application, _form_page, _read_only_page, _to_edit, bp
from scoring.auth import role_required
from scoring.errors import Conflict, Forbidden, InputError
from scoring.extensions import db
from scoring.formatting import local_dt, parse_money
from scoring.models import Application, Competition, Role
from scoring.models._types import utcnow
from scoring.money_field import MoneyField
from scoring.services.applications import applications, eligibility
from scoring.services.applications.applications import StaleDraft, SubmissionRefused
from scoring.web import add_error, current_actor, send_after_commit


def _form(competition: Competition, application: Application | None = None, **kwargs):
    schools = eligibility.eligible_schools(competition, current_user.district_id)
    data = initial_data(application) if application else None
    return build_application_form(competition, schools, data=data, **kwargs)


def _refused_form(form, competition: Competition, application: Application | None, exc: Exception):
    """A refusal of the whole save: nothing is written; the form comes back as typed."""
    db.session.rollback()
    if isinstance(exc, Conflict):
        flash(str(exc), "error")
        return _form_page(competition, application, form, status=409)
    if not add_error(form, exc.path, exc.detail):
        flash(exc.detail, "error")
    return _form_page(competition, application, form, status=400)


def _saved(application: Application, submitting: bool):
    """After a save: commit it; with "Save and submit", submit too. PRG either way."""
    kept = len(application.draft_invalid or {})
    if not submitting:
        db.session.commit()
        if kept:
            flash(
                f"Draft {application.ref} saved. {kept} entr{'y is' if kept == 1 else 'ies are'} "
                "not valid yet: kept as you typed, and marked below. Fix before you submit.",
                "error",
            )
        else:
            flash(
                f"Draft {application.ref} saved. You can come back to it until the deadline.",
                "info",
            )
        return _to_edit(application)
    try:
        message = applications.submit(application, current_actor(), utcnow())
    except (SubmissionRefused, Conflict, Forbidden) as exc:
        db.session.commit()  # the draft itself is kept
        text = (
            "fix the items listed under “Before you can submit”"
            if isinstance(exc, SubmissionRefused)
            else str(exc)
        )
        flash(f"Your draft is saved but NOT submitted: {text}", "error")
        return _to_edit(application)
    db.session.commit()
    send_after_commit([message.id])
    flash(f"Submitted. Your confirmation number is {application.confirmation_number}.", "info")
    return redirect(url_for(".receipt", app_id=application.id))


@bp.route(f"/competitions/<{ID}:competition_id>/apply", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def start(competition_id: int):
    """A new application: the whole form; the first save creates the draft (it needs a school)."""
    competition = db.get_or_404(Competition, competition_id)
    now = utcnow()
    eligibility.require_accepting(competition, now)
    form = _form(competition)
    if not form.is_submitted():
        return _form_page(competition, None, form)
    form.validate()
    if form.csrf_token.errors or form.school.errors:
        return _form_page(competition, None, form, status=400)
    try:
        application = applications.start_application(
            competition,
            current_actor(),
            form.to_input(competition),
            now,
            invalid=form.refused(),
            typed=form.typed(),
        )
    except InputError as exc:
        return _refused_form(form, competition, None, exc)
    return _saved(application, bool(form.submit_app.data))


def _save(application: Application, form):
    """Save the posted form on the draft as typed; :raise StaleDraft, InputError, Conflict."""
    applications.save_draft(
        application,
        current_actor(),
        form.to_input(application.competition),
        utcnow(),
        invalid=form.refused(),
        typed=form.typed(),
    )


@bp.route(f"/applications/<{ID}:app_id>", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def edit(app_id: int):
    """A draft's form (save, or save and submit); after submission, the read-only application."""
    application = _application(app_id)
    now = utcnow()
    if request.method == "GET":
        if not applications.is_editable(application, now):
            return _read_only_page(application, now)
        return _form_page(application.competition, application)
    applications.require_editable(application, now)
    form = _form(application.competition, application)
    form.validate()
    if form.csrf_token.errors:
        return _form_page(application.competition, application, form, status=400)
    try:
        _save(application, form)
    except StaleDraft:
        return _stale(application, form)
    except (InputError, Conflict) as exc:
        return _refused_form(form, application.competition, application, exc)
    return _saved(application, bool(form.submit_app.data))


@bp.route(f"/applications/<{ID}:app_id>/autosave", methods=["POST"])
@role_required(Role.APPLICANT)
def autosave(app_id: int):
    """The autosave of ``draft_autosave.js``: the same save as "Save draft", answered in JSON
    (409 when someone saved first: the page's "Save draft" then shows both versions)."""
    application = _application(app_id)
    if not applications.is_editable(application, utcnow()):
        return jsonify(error="This application can no longer be changed."), 409
    form = _form(application.competition, application)
    form.validate()
    try:
        _save(application, form)
    except StaleDraft as exc:
        db.session.rollback()
        return jsonify(error=str(exc), stale=True), 409
    except (InputError, Conflict) as exc:
        db.session.rollback()
        return jsonify(error=str(exc)), 400
    db.session.commit()
    kept = {k: v["error"] for k, v in (application.draft_invalid or {}).items()}
    return jsonify(version=application.version, saved_at=local_dt(utcnow()), invalid=kept)


def _shown(field, value) -> str:
    """A value of ``field`` as a person reads it (a choice's label, not its id)."""
    choices = {
        str(getattr(c, "value", c[0] if isinstance(c, tuple) else c)): getattr(
            c, "label", c[1] if isinstance(c, tuple) else c
        )
        for c in getattr(field, "choices", None) or []
    }
    if isinstance(value, list):
        return "; ".join(choices.get(str(v), str(v)) for v in value)
    text = "" if value is None else str(value)
    return choices.get(text, text) if choices else text.replace("\r\n", "\n").strip()


def _same(field, theirs: str, yours: str) -> bool:
    if isinstance(field, MoneyField):
        try:
            return parse_money(theirs) == parse_money(yours)
        except (ValueError, ArithmeticError):
            return False
    return theirs == yours


def _stale(application: Application, posted):
    """409: the saved version in the form, and what this person typed beside it (nothing lost)."""
    db.session.rollback()
    db.session.refresh(application)
    competition = application.competition
    saved = _form(competition, application, formdata=None)
    saved.show_typed(application.draft_invalid)
    typed = posted.typed()
    rows = []
    for field in saved.entries():
        theirs_raw = field._value() if hasattr(field, "_value") else field.data
        theirs = _shown(field, theirs_raw)
        yours = _shown(field, typed.get(field.name, ""))
        if not _same(field, theirs, yours):
            rows.append((field, theirs, yours))
    return _form_page(
        competition,
        application,
        saved,
        status=409,
        stale_rows=rows,
        last_save=applications.last_save(application),
    )

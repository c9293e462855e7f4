"""The applicant's side: open competitions, the application form, budget workbook, attachments,
submit and withdraw, the receipt and the decision; plus staff screening (``/apply/staff/``)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user, login_required

from scoring.apply.forms import (
    AttachmentForm,
    BudgetUploadForm,
    ConfirmForm,
    build_application_form,
    initial_data,
)
from scoring.auth import role_required
from scoring.errors import Forbidden, InputError, NotFound
from scoring.extensions import db
from scoring.formatting import money
from scoring.models import OBJECT_CODES, Application, Attachment, Competition, Role
from scoring.models._types import utcnow
from scoring.services import access
from scoring.services.access import NOT_FOUND
from scoring.services.accounts import people
from scoring.services.applications import (
    applications,
    attachments,
    budget_workbook,
    checks,
    eligibility,
)
from scoring.services.applications import status as applicant_status
from scoring.services.reviews.reviews import rubric_criteria
from scoring.web import current_actor, send_pdf

bp = Blueprint("apply", __name__, url_prefix="/apply")
#: Ids in URLs stay within PostgreSQL's integer range (beyond it: 404, not a database error).
ID = "int(max=2147483647)"
WORKBOOK_MAX_BYTES = 2 * 1024 * 1024


def _application(app_id: int) -> Application:
    """The application if the application rule lets the applicant change it (else 404)."""
    return access.get(current_actor(), Application, app_id, "edit")


def _to_edit(application: Application, anchor: str | None = None):
    return redirect(url_for(".edit", app_id=application.id, _anchor=anchor))


def _form_page(
    competition: Competition, application: Application | None, form=None, status: int = 200, **extra
):
    """The application form (new or draft) with its budget totals, files and what blocks
    submission."""
    schools = eligibility.eligible_schools(competition, current_user.district_id)
    # The rubric beside the narratives: every section with its criteria in two statements (the
    # page reads ``section.criteria`` of each section: one statement per section otherwise);
    # held here, so the session keeps the sections loaded until the page is rendered.
    rubric = rubric_criteria(competition.id)  # noqa: F841
    if form is None:
        data = initial_data(application) if application else {}
        form = build_application_form(competition, schools, data=data, formdata=None)
        form.show_typed(application.draft_invalid if application else None)
    lines = application.budget_lines if application else []
    problems = checks.submission_problems(application) if application else {}
    refused = [f for f in form.entries() if f.errors]
    failed = (
        status != 200 or refused or extra.get("workbook_problems") or extra.get("attachment_error")
    )
    context = dict(
        competition=competition,
        application=application,
        form=form,
        schools=schools,
        object_codes=OBJECT_CODES,
        totals=checks.budget_totals(lines, competition.budget_years),
        problems=problems,
        refused=refused,
        complete=bool(application) and not problems and not failed,
        autosave_seconds=current_app.config.get("AUTOSAVE_SECONDS", 60),
        upload_form=BudgetUploadForm(formdata=None),
        attachment_form=AttachmentForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        state=eligibility.window_state(competition, utcnow()),
        eligibility=eligibility.eligibility_words(competition),
        can_submit=people.may_submit(current_actor()),
    )
    return render_template("apply/form.html", **(context | extra)), status


def _read_only_page(application: Application, now):
    """A submitted, withdrawn or closed application: status, decision, comments, content."""
    decision = applicant_status.published_decision(application)
    return render_template(
        "apply/view.html",
        application=application,
        decision=decision,
        confirm_form=ConfirmForm(formdata=None),
        status=applicant_status.status_label(application, decision),
        object_codes=OBJECT_CODES,
        comments=applicant_status.reviewer_comments(application, decision),
        can_withdraw=applications.can_withdraw(application, now)
        and people.may_submit(current_actor()),
        totals=checks.budget_totals(application.budget_lines, application.competition.budget_years),
    )


@bp.route("/")
@role_required(Role.APPLICANT)
def home():
    """The district's applications with their status, and a way to the open competitions."""
    rows = []
    for application in applications.district_applications(current_user.district_id):
        decision = applicant_status.published_decision(application)
        rows.append((application, applicant_status.status_label(application, decision), decision))
    listed = eligibility.listed_competitions(utcnow())
    return render_template("apply/home.html", rows=rows, open_count=len(listed))


@bp.route("/competitions")
@role_required(Role.APPLICANT)
def competitions():
    """Competitions open now or soon: window, funds, award bounds, eligibility and the rubric."""
    now = utcnow()
    listed = [
        (
            c,
            eligibility.window_state(c, now),
            eligibility.eligibility_words(c),
            eligibility.eligible_schools(c, current_user.district_id),
        )
        for c in eligibility.listed_competitions(now)
    ]
    return render_template("apply/competitions.html", listed=listed)


@bp.route(f"/applications/<{ID}:app_id>/receipt")
@role_required(Role.APPLICANT)
def receipt(app_id: int):
    """The submission receipt with its confirmation number."""
    application = _application(app_id)
    if application.confirmation_number is None:
        raise NotFound("This application has not been submitted, so it has no receipt yet.")
    return render_template("apply/receipt.html", application=application)


@bp.route(f"/applications/<{ID}:app_id>/withdraw", methods=["POST"])
@role_required(Role.APPLICANT)
def withdraw(app_id: int):
    """Withdraw before the deadline (the box must be ticked)."""
    application = _application(app_id)
    form = ConfirmForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash("To withdraw, tick “Yes, I am sure” and press Withdraw again.", "error")
        return _to_edit(application, "withdraw")
    try:
        applications.withdraw(application, current_actor(), utcnow())
    except Forbidden as exc:  # a writer: a clear message on the page, nothing changed
        db.session.rollback()
        flash(f"Not withdrawn: {exc}.", "error")
        return _to_edit(application, "withdraw")
    db.session.commit()
    flash(f"Application {application.ref} is withdrawn. It will not be reviewed.", "info")
    return _to_edit(application)


@bp.route(f"/competitions/<{ID}:competition_id>/budget-template.xlsx")
@role_required(Role.APPLICANT)
def budget_template(competition_id: int):
    """The blank budget workbook of a competition."""
    competition = db.get_or_404(Competition, competition_id)
    return _xlsx(budget_workbook.template(competition), f"budget-template-{competition.slug}.xlsx")


@bp.route(f"/applications/<{ID}:app_id>/budget.xlsx")
@role_required(Role.APPLICANT)
def budget_export(app_id: int):
    """The budget workbook filled with this application's current budget."""
    application = _application(app_id)
    return _xlsx(
        budget_workbook.template(application.competition, application),
        f"budget-{application.ref}.xlsx",
    )


def _xlsx(data: bytes, name: str) -> Response:
    response = Response(data, mimetype=budget_workbook.XLSX_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route(f"/applications/<{ID}:app_id>/budget", methods=["POST"])
@role_required(Role.APPLICANT)
def budget_upload(app_id: int):
    """Fill the budget lines from an uploaded workbook (all lines replaced, or none)."""
    application, now = _application(app_id), utcnow()
    applications.require_editable(application, now)
    form = BudgetUploadForm()
    if not (form.validate_on_submit() and form.workbook.data):
        flash("Choose the filled budget workbook (.xlsx) to upload.", "error")
        return _to_edit(application, "budget")
    try:
        parsed = budget_workbook.parse(
            form.workbook.data.stream, application.competition, WORKBOOK_MAX_BYTES
        )
        applications.replace_budget(
            application,
            current_actor(),
            parsed.lines,
            parsed.notes,
            now,
            source=f"workbook {attachments.clean_name(form.workbook.data.filename)}",
        )
    except InputError as exc:
        db.session.rollback()
        problems = getattr(exc, "problems", None) or [exc.detail]
        flash(
            "The workbook was not used; nothing changed. "
            "What to fix is listed under “Budget workbook”.",
            "error",
        )
        return _form_page(
            application.competition, application, status=400, workbook_problems=problems
        )
    db.session.commit()
    total = checks.budget_totals(
        application.budget_lines, application.competition.budget_years
    ).total
    flash(
        f"Budget filled from the workbook: {len(parsed.lines)} amounts, total {money(total)}.",
        "info",
    )
    return _to_edit(application, "budget")


@bp.route(f"/applications/<{ID}:app_id>/attachments", methods=["POST"])
@role_required(Role.APPLICANT)
def attachment_add(app_id: int):
    """Upload a PDF to a draft."""
    application = _application(app_id)
    form = AttachmentForm()
    upload = form.file.data if form.validate_on_submit() else None
    if not upload:
        flash("Choose a PDF file to upload.", "error")
        return _to_edit(application, "attachments")
    try:
        attachment = attachments.add_pdf(
            application, current_actor(), upload.filename, upload.stream, utcnow()
        )
    except InputError as exc:
        db.session.rollback()
        flash(f"The file was not uploaded: {exc.detail}", "error")
        return _form_page(
            application.competition, application, status=400, attachment_error=exc.detail
        )
    db.session.commit()
    flash(f"{attachment.filename} uploaded.", "info")
    return _to_edit(application, "attachments")


@bp.route(f"/applications/<{ID}:app_id>/attachments/<{ID}:attachment_id>")
@login_required
def attachment_download(app_id: int, attachment_id: int):
    """Download a PDF, for whoever the attachment rule lets read it (``services/access.py``);
    under blind review a reviewer gets a neutral name and no metadata. Sandboxed."""
    actor = current_actor()
    file = access.get(actor, Attachment, attachment_id, "read")
    if file.application_id != app_id:
        raise NotFound(NOT_FOUND)
    return send_pdf(*attachments.for_download(actor, file))


@bp.route(f"/applications/<{ID}:app_id>/attachments/<{ID}:attachment_id>/remove", methods=["POST"])
@role_required(Role.APPLICANT)
def attachment_remove(app_id: int, attachment_id: int):
    """Remove a PDF from a draft; the file is deleted after the commit."""
    application = _application(app_id)
    attachment = attachments.get_attachment(application, attachment_id)
    stored, name = attachment.stored_name, attachment.filename
    attachments.remove(application, attachment, current_actor(), utcnow())
    db.session.commit()
    attachments.delete_file(stored)
    flash(f"{name} removed.", "info")
    return _to_edit(application, "attachments")


from scoring.apply import drafts, screening  # noqa: E402, F401  (form and screening routes on ``bp``)

"""The applicant's side: open competitions, the application form, budget workbook, attachments,
submit and withdraw, the receipt and the decision; plus staff screening (``/apply/staff/``)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
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
from scoring.errors import Conflict, Forbidden, InputError, NotFound
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
from scoring.services.applications.applications import SubmissionRefused
from scoring.web import add_error, current_actor, send_after_commit, send_pdf

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
    if form is None:
        data = initial_data(application) if application else {}
        form = build_application_form(competition, schools, data=data, formdata=None)
    lines = application.budget_lines if application else []
    context = dict(
        competition=competition,
        application=application,
        form=form,
        schools=schools,
        object_codes=OBJECT_CODES,
        totals=checks.budget_totals(lines, competition.budget_years),
        problems=checks.submission_problems(application) if application and status == 200 else {},
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


def _refused_form(form, competition: Competition, application: Application | None, exc: Exception):
    """Bad input: nothing is saved; the form comes back with the message beside the field."""
    db.session.rollback()
    if isinstance(exc, Conflict):
        flash(str(exc), "error")
        return _form_page(competition, application, form, status=409)
    if not add_error(form, exc.path, exc.detail):
        flash(exc.detail, "error")
    return _form_page(competition, application, form, status=400)


def _saved(application: Application, submitting: bool):
    """After a valid save: commit it; with "Save and submit", submit too. PRG either way."""
    if not submitting:
        db.session.commit()
        flash(f"Draft {application.ref} saved. You can come back to it until the deadline.", "info")
        return _to_edit(application)
    try:
        message = applications.submit(application, current_actor(), utcnow())
    except (SubmissionRefused, Conflict, Forbidden) as exc:
        db.session.commit()  # the draft itself is valid and is kept
        text = (
            "fix the items marked “To submit” below"
            if isinstance(exc, SubmissionRefused)
            else str(exc)
        )
        flash(f"Your draft is saved but NOT submitted: {text}", "error")
        return _to_edit(application)
    db.session.commit()
    send_after_commit([message.id])
    flash(f"Submitted. Your confirmation number is {application.confirmation_number}.", "info")
    return redirect(url_for(".receipt", app_id=application.id))


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


@bp.route(f"/competitions/<{ID}:competition_id>/apply", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def start(competition_id: int):
    """A new application: the whole form; the first save creates the draft."""
    competition = db.get_or_404(Competition, competition_id)
    now = utcnow()
    eligibility.require_accepting(competition, now)
    form = build_application_form(
        competition, eligibility.eligible_schools(competition, current_user.district_id)
    )
    if form.validate_on_submit():
        try:
            application = applications.start_application(
                competition, current_actor(), form.to_input(competition), now
            )
        except InputError as exc:
            return _refused_form(form, competition, None, exc)
        return _saved(application, bool(form.submit_app.data))
    return _form_page(competition, None, form, status=400 if form.errors else 200)


@bp.route(f"/applications/<{ID}:app_id>", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def edit(app_id: int):
    """A draft's form (save, or save and submit); after submission, the read-only application."""
    application = _application(app_id)
    now = utcnow()
    if request.method == "POST":
        applications.require_editable(application, now)
    elif not applications.is_editable(application, now):
        return _read_only_page(application, now)
    competition = application.competition
    form = build_application_form(
        competition,
        eligibility.eligible_schools(competition, current_user.district_id),
        data=initial_data(application),
    )
    if form.validate_on_submit():
        try:
            applications.save_draft(application, current_actor(), form.to_input(competition), now)
        except (InputError, Conflict) as exc:
            return _refused_form(form, competition, application, exc)
        return _saved(application, bool(form.submit_app.data))
    return _form_page(competition, application, form, status=400 if form.errors else 200)


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


from scoring.apply import screening  # noqa: E402, F401  (staff screening routes on ``bp``)

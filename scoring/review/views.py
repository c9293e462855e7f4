"""The reviewer's side: assignments, the conflict-of-interest gate, the rubric scoring form."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from scoring import clock
from scoring.auth import role_required
from scoring.core.numbers import fmt_decimal
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import Attachment, ReviewerAssignment, ReviewStatus, Role
from scoring.review.forms import (
    ConfirmSubmitForm,
    ConflictForm,
    error_links,
    saved_data,
    score_form_class,
)
from scoring.services import access
from scoring.services.applications import attachments
from scoring.services.queries import reviewer_worklist
from scoring.services.reviews import reviews
from scoring.services.reviews.tally import tally
from scoring.web import add_error, current_actor, send_pdf, sentence

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.app_template_filter("points")
def points_filter(value) -> str:
    """Rubric points without trailing zeros: ``7.5000`` → ``7.5``."""
    return "—" if value is None else fmt_decimal(Decimal(value))


@bp.app_template_global("shows_names")
def shows_names(application) -> bool:
    """Whether this page may name the application's school, district and title for the signed-in
    user (the application rule's ``names``; false for a reviewer under blind review)."""
    return access.shows_names(current_actor(), application)


@bp.route("/")
@role_required(Role.REVIEWER)
def home():
    """The reviewer's assignments and where each one stands."""
    assignments = db.session.scalars(reviewer_worklist(current_user.id)).all()
    actor = current_actor()
    rows = [
        (a, reviews.review_of(a))
        for a in assignments
        if access.application(actor, a.application).see
    ]
    rows.sort(key=lambda row: _stage(*row))  # what still needs doing first
    done = sum(1 for _, r in rows if r is not None and r.status == ReviewStatus.SUBMITTED)
    return render_template("review/home.html", rows=rows, done=done, now=clock.now())


def _stage(assignment: ReviewerAssignment, review) -> int:
    if assignment.no_conflict_declared_at is None:
        return 0
    return 2 if review is not None and review.status == ReviewStatus.SUBMITTED else 1


@bp.route("/a/<int:assignment_id>/declare", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def declare(assignment_id: int):
    """Declare, before seeing the content, whether there is a conflict of interest."""
    assignment = reviews.assignment_for(assignment_id, current_actor())
    form = ConflictForm()
    if not form.validate_on_submit():
        return render_template(
            "review/declare.html", a=assignment, form=form
        ), 400 if form.is_submitted() else 200
    if form.decision.data == "none":
        reviews.declare_no_conflict(assignment, current_actor())
        db.session.commit()
        return redirect(url_for(".score", assignment_id=assignment.id))
    reviews.declare_conflict(assignment, current_actor(), form.reason.data.strip())
    db.session.commit()
    flash(
        f"Conflict recorded for {assignment.application.ref}. "
        "It is off your list; staff will reassign it.",
        "info",
    )
    return redirect(url_for(".home"))


@bp.route("/a/<int:assignment_id>", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def score(assignment_id: int):
    """Read the application and score it on the rubric: save a draft or submit."""
    assignment = reviews.assignment_for(assignment_id, current_actor())
    review = reviews.review_of(assignment)
    if assignment.no_conflict_declared_at is None or review is None:
        return redirect(url_for(".declare", assignment_id=assignment.id))
    criteria = reviews.rubric_criteria(assignment.application.competition_id)
    Form = score_form_class(criteria)
    if request.method == "GET":
        return _page(assignment, review, Form(formdata=None, data=saved_data(review)))
    form = Form()
    if not form.validate_on_submit():
        return _page(assignment, review, form, status=400)
    try:
        reviews.record_review(
            assignment,
            reviewer=current_actor(),
            review=review,
            criteria=criteria,
            **form.review_data(),
        )
        db.session.commit()
    except InputError as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _page(assignment, reviews.review_of(assignment), form, status=400)
    except (reviews.StaleReview, StaleDataError):
        return _stale(assignment, Form, form)
    # ``assignment_id`` from here on: the commit expired the assignment (no reload for a URL).
    if form.check.data:
        return redirect(url_for(".confirm", assignment_id=assignment_id))
    submitted = form.submit.data
    flash("Review submitted. Thank you." if submitted else "Draft saved.", "info")
    return redirect(
        url_for(".home") if submitted else url_for(".score", assignment_id=assignment_id)
    )


@bp.route("/a/<int:assignment_id>/confirm", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def confirm(assignment_id: int):
    """The saved draft's totals before it is submitted and locked (no script needed)."""
    assignment = reviews.assignment_for(assignment_id, current_actor())
    review = reviews.review_of(assignment)
    back = url_for(".score", assignment_id=assignment_id)
    if review is None or review.status != ReviewStatus.DRAFT:
        return redirect(back)
    competition = assignment.application.competition
    criteria = reviews.rubric_criteria(competition.id)
    totals = tally(competition, criteria, {s.criterion_id: s.points for s in review.scores})
    if not totals.complete:
        flash("Give points for every criterion, then check the totals again.", "error")
        return redirect(back)
    form = ConfirmSubmitForm(data={"version": str(review.version)})
    if form.validate_on_submit():
        try:
            reviews.submit_saved(
                assignment, reviewer=current_actor(), seen_version=int(form.version.data)
            )
            db.session.commit()
        except (InputError, reviews.StaleReview, StaleDataError) as exc:
            db.session.rollback()
            flash(
                "Not submitted: this review changed since you checked it. Check it again."
                if not isinstance(exc, InputError)
                else str(exc),
                "error",
            )
            return redirect(back)
        flash("Review submitted. Thank you.", "info")
        return redirect(url_for(".home"))
    return render_template(
        "review/confirm.html", a=assignment, app=assignment.application, totals=totals, form=form
    ), (400 if form.is_submitted() else 200)


def _field_error(form, exc: InputError) -> None:
    if not add_error(form, exc.path, sentence(exc.detail)):
        flash(str(exc), "error")


def _page(
    assignment, review, form, *, status: int = 200, mine: dict | None = None, stale: bool = False
):
    criteria = form.criteria
    competition = assignment.application.competition
    score = (
        reviews.review_score(competition, review)
        if review.status == ReviewStatus.SUBMITTED
        else None
    )
    return render_template(
        "review/score.html",
        a=assignment,
        app=assignment.application,
        competition=competition,
        review=review,
        form=form,
        criteria=criteria,
        sections=competition.sections,
        locked=review.status != ReviewStatus.DRAFT,
        score=score,
        totals=tally(competition, criteria, _typed_points(form)),
        errors=error_links(form),
        saved=bool(review.scores or review.overall_comment),
        mine=mine or {},
        stale=stale,
    ), status


def _typed_points(form) -> dict:
    """Points as shown in the form (typed, or saved), valid ones only, for the totals."""
    return {
        c.id: None if form[f"points_{c.id}"].errors else form[f"points_{c.id}"].data
        for c in form.criteria
    }


def _stale(assignment, Form, posted):
    """409: show the saved values, with what this tab tried to save beside them (nothing lost)."""
    db.session.rollback()
    review = reviews.review_of(assignment)
    db.session.refresh(review)
    mine = {
        name: (posted[name].raw_data or [""])[0]
        for name in posted.data
        if name.startswith(("points_", "comment_"))
    }
    mine["overall_comment"] = (posted.overall_comment.raw_data or [""])[0]
    return _page(
        assignment,
        review,
        Form(formdata=None, data=saved_data(review)),
        status=409,
        mine=mine,
        stale=True,
    )


@bp.route("/a/<int:assignment_id>/files/<int:attachment_id>")
@role_required(Role.REVIEWER)
def attachment(assignment_id: int, attachment_id: int):
    """Download an attachment of an application assigned to you, as the attachment rule allows
    (after the declaration; under blind review a neutral name and no metadata)."""
    actor = current_actor()
    assignment = reviews.assignment_for(assignment_id, actor)
    file = access.get(actor, Attachment, attachment_id, "read")
    if file.application_id != assignment.application_id:
        abort(404)
    return send_pdf(*attachments.for_download(actor, file))


from scoring.review import calendar as _calendar  # noqa: E402, F401  (feed routes on ``bp``)

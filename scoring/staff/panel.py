"""Staff's reviewer panel: assignment with preview, progress board, reminders, reopening,
discrepancies and reconciliation, reviewer statistics."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from scoring.auth import role_required
from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    Competition,
    Review,
    ReviewerAssignment,
    Role,
    User,
)
from scoring.services import access
from scoring.services.reviews import (
    assignment,
    progress,
    reconciliation,
    reviewer_stats,
    reviews,
)
from scoring.staff.panel_forms import (
    AddReviewerForm,
    CapForm,
    ConfirmForm,
    ExtraReviewerForm,
    NoteForm,
    ReopenForm,
    SaveAssignmentForm,
)
from scoring.web import (
    add_error,
    current_actor,
    extra_reviewer_after_commit,
    send_after_commit,
)

bp = Blueprint("panel", __name__, url_prefix="/staff/panel")


@bp.before_request
@role_required(Role.STAFF)
def _staff_only() -> None:
    """Every route of the panel is for staff (and admins) only."""


@bp.app_template_global("reconciliation_for")
def reconciliation_for(application_id: int) -> dict:
    """Notes and extra-reviewer events of an application, for ``staff/panel/_reconciliation.html``
    (include it wherever a result is explained)."""
    return {
        "notes": reconciliation.notes_for(application_id),
        "events": reconciliation.extra_events(application_id),
    }


def _application(cid: int, aid: int) -> Application:
    application = access.get(current_actor(), Application, aid)
    if application.competition_id != cid:
        abort(404)
    return application


@bp.route("/")
def index():
    """Competitions with their reviewing progress."""
    competitions = db.session.scalars(select(Competition).order_by(Competition.title)).all()
    return render_template(
        "staff/panel/index.html", rows=[(c, progress.board(c).totals) for c in competitions]
    )


@bp.route("/c/<int:cid>/")
def board(cid: int):
    """Who has done what: per reviewer and per application."""
    competition = db.get_or_404(Competition, cid)
    return render_template(
        "staff/panel/board.html",
        board=progress.board(competition),
        leniency=reviewer_stats.by_reviewer(reviewer_stats.compute(competition)),
        competition=competition,
        remind=ConfirmForm(),
    )


@bp.route("/c/<int:cid>/assign")
def assign(cid: int):
    """Preview the automatic balanced assignment for a load cap (nothing is saved yet)."""
    competition = db.get_or_404(Competition, cid)
    form = CapForm(
        request.args if "cap" in request.args else None,
        data={"cap": assignment.default_cap(competition)},
    )
    if "cap" in request.args and not form.validate():
        return render_template(
            "staff/panel/assign.html", competition=competition, form=form, preview=None
        ), 400
    planned = assignment.preview(competition, form.cap.data)
    save = SaveAssignmentForm(formdata=None, data={"cap": planned.cap, "digest": planned.digest})
    return render_template(
        "staff/panel/assign.html", competition=competition, form=form, preview=planned, save=save
    )


@bp.route("/c/<int:cid>/assign", methods=["POST"])
def assign_save(cid: int):
    """Save exactly the previewed plan; if anything changed, show the new preview instead."""
    competition = db.get_or_404(Competition, cid)
    form = SaveAssignmentForm()
    if not form.validate_on_submit():
        flash("The preview was incomplete. Here is a fresh one.", "error")
        return redirect(url_for(".assign", cid=cid))
    try:
        messages = assignment.save(
            competition, cap=form.cap.data, digest=form.digest.data, actor=current_actor()
        )
    except Conflict as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".assign", cid=cid, cap=form.cap.data))
    db.session.commit()
    send_after_commit([m.id for m in messages])
    flash("Assignments saved. Each reviewer with new work was emailed.", "info")
    return redirect(url_for(".board", cid=cid))


@bp.route("/c/<int:cid>/remind", methods=["POST"])
def remind(cid: int):
    """Email every reviewer who still has reviews to finish (at most once a day each)."""
    competition = db.get_or_404(Competition, cid)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    messages = progress.queue_reminders(competition, actor=current_actor())
    db.session.commit()
    send_after_commit([m.id for m in messages])
    flash(
        f"Reminders sent to {len(messages)} reviewer(s)." if messages else "Nobody is behind.",
        "info",
    )
    return redirect(url_for(".board", cid=cid))


def _application_page(application: Application, *, status: int = 200, **forms):
    detail = progress.application_detail(application)
    add = forms.get("add") or AddReviewerForm(formdata=None)
    add.reviewer.choices = [SelectChoice(None, "Choose a reviewer")] + [
        SelectChoice(u.id, f"{u.name} (load {load})")
        for u, why, load in detail.candidates
        if why is None
    ]
    return render_template(
        "staff/panel/application.html",
        d=detail,
        add=add,
        reopen=forms.get("reopen") or ReopenForm(formdata=None),
        reopen_id=forms.get("reopen_id"),
        note=forms.get("note") or NoteForm(formdata=None),
        confirm=ConfirmForm(),
        extra=ExtraReviewerForm(formdata=None, data={"back": "application"}),
    ), status


@bp.route("/c/<int:cid>/a/<int:aid>")
def application(cid: int, aid: int):
    """One application's reviewers, reviews and scores, notes; add or remove reviewers."""
    return _application_page(_application(cid, aid))


@bp.route("/c/<int:cid>/a/<int:aid>/assign", methods=["POST"])
def add_reviewer(cid: int, aid: int):
    """Assign a reviewer by hand (the same district and conflict rules apply)."""
    app = _application(cid, aid)
    form = AddReviewerForm()
    form.reviewer.choices = [SelectChoice(u.id, u.name) for u in assignment.active_reviewers()]
    if not form.validate_on_submit():
        return _application_page(app, status=400, add=form)
    try:
        messages = assignment.add_reviewer(
            app, db.get_or_404(User, form.reviewer.data), actor=current_actor()
        )
    except InputError as exc:
        db.session.rollback()
        add_error(form, "reviewer", exc.detail)
        return _application_page(app, status=400, add=form)
    db.session.commit()
    send_after_commit([m.id for m in messages])
    flash("Reviewer assigned and emailed.", "info")
    return redirect(url_for(".application", cid=cid, aid=aid))


@bp.route("/c/<int:cid>/a/<int:aid>/assignments/<int:asid>/remove", methods=["POST"])
def remove_assignment(cid: int, aid: int, asid: int):
    """Take a reviewer off the application (their review stops counting)."""
    app = _application(cid, aid)
    row = db.session.get(ReviewerAssignment, asid)
    if row is None or row.application_id != app.id or not ConfirmForm().validate_on_submit():
        abort(404 if row is None or row.application_id != app.id else 400)
    assignment.remove_assignment(row, actor=current_actor())
    db.session.commit()
    flash(f"{row.reviewer.name} removed from {app.ref}.", "info")
    return redirect(url_for(".application", cid=cid, aid=aid))


@bp.route("/c/<int:cid>/a/<int:aid>/reviews/<int:rid>/reopen", methods=["POST"])
def reopen(cid: int, aid: int, rid: int):
    """Reopen a submitted review so its reviewer can change it (audited, reviewer emailed)."""
    app = _application(cid, aid)
    review = access.get(current_actor(), Review, rid)
    if review.application_id != app.id:
        abort(404)
    form = ReopenForm()
    if not form.validate_on_submit():
        return _application_page(app, status=400, reopen=form, reopen_id=rid)
    message = reviews.reopen_review(review, actor=current_actor(), reason=form.reason.data.strip())
    db.session.commit()
    send_after_commit([message.id])
    flash(f"Review by {review.reviewer.name} reopened; they were emailed.", "info")
    return redirect(url_for(".application", cid=cid, aid=aid))


@bp.route("/c/<int:cid>/discrepancies")
def discrepancies(cid: int):
    """Applications the latest ranking flagged ``discrepancy``, with what was done about them."""
    competition = db.get_or_404(Competition, cid)
    run, rows = reconciliation.discrepancies(competition)
    return render_template(
        "staff/panel/discrepancies.html",
        competition=competition,
        run=run,
        rows=rows,
        extra=ExtraReviewerForm(formdata=None, data={"back": "discrepancies"}),
        note=NoteForm(formdata=None),
    )


@bp.route("/c/<int:cid>/a/<int:aid>/extra", methods=["POST"])
def extra_reviewer(cid: int, aid: int):
    """Ask for one more reviewer, picked by the automatic rules in a background task."""
    app = _application(cid, aid)
    form = ExtraReviewerForm()
    if not form.validate_on_submit():
        abort(400)
    target = reconciliation.request_extra_reviewer(
        app, actor=current_actor(), run=reconciliation.latest_run(app.competition)
    )
    db.session.commit()
    extra_reviewer_after_commit(app.id, target, current_actor().id)
    flash(f"Finding one more reviewer for {app.ref}; they will be emailed.", "info")
    back = url_for(".discrepancies", cid=cid) if form.back.data == "discrepancies" else None
    return redirect(back or url_for(".application", cid=cid, aid=aid))


@bp.route("/c/<int:cid>/a/<int:aid>/notes", methods=["POST"])
def add_note(cid: int, aid: int):
    """Record how a discrepancy was reconciled; kept with the latest result."""
    app = _application(cid, aid)
    form = NoteForm()
    if not form.validate_on_submit():
        return _application_page(app, status=400, note=form)
    reconciliation.add_note(
        app, form.note.data, author=current_actor(), run=reconciliation.latest_run(app.competition)
    )
    db.session.commit()
    flash(f"Reconciliation note saved for {app.ref}.", "info")
    return redirect(url_for(".application", cid=cid, aid=aid) + "#notes")


@bp.route("/c/<int:cid>/stats")
def stats(cid: int):
    """Reviewer leniency and inter-rater reliability, as tables and charts."""
    competition = db.get_or_404(Competition, cid)
    data = reviewer_stats.compute(competition)
    return render_template(
        "staff/panel/stats.html",
        s=data,
        competition=competition,
        leniency=reviewer_stats.leniency_chart(data),
        alpha={size: reviewer_stats.alpha_chart(data, size) for size in reviewer_stats.LAYOUTS},
        margin=reviewer_stats.LENIENCY_MARGIN,
        min_reviews=reviewer_stats.MIN_REVIEWS,
    )

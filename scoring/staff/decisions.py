"""Staff: exceptions to computed awards, submitting for approval, approval and publication."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for

from scoring import runtime
from scoring.auth import role_required
from scoring.errors import InputError
from scoring.extensions import db
from scoring.formatting import money, words
from scoring.models import RankingRun, Role
from scoring.services import access
from scoring.services.decisions import decisions, publication
from scoring.services.ranking import board as boards
from scoring.staff.board import _explanation_page
from scoring.staff.board_forms import OverrideForm
from scoring.staff.forms import ConfirmForm
from scoring.staff.views import bp
from scoring.web import current_actor, send_after_commit, show_error


def _board(run: RankingRun):
    return redirect(url_for(".board", competition_id=run.competition_id, run=run.id))


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/runs/<int:run_id>/overrides", methods=["POST"])
@role_required(Role.STAFF)
def override_set(run_id: int):
    """Set staff's exception to one application's computed status and award."""
    run = access.get(current_actor(), RankingRun, run_id)
    form = OverrideForm()
    if not form.validate_on_submit():
        result = boards.result_by_application(run, form.application_id.data)
        return _explanation_page(
            run, result, boards.overrides_of(run).get(result.application_id), form, 400
        )
    try:
        override = decisions.set_override(
            run,
            int(form.application_id.data),
            status=form.status.data,
            amount=form.amount.data,
            justification=form.justification.data,
            actor=current_actor(),
        )
    except InputError as exc:
        db.session.rollback()
        show_error(form, exc)
        result = boards.result_by_application(run, form.application_id.data)
        return _explanation_page(
            run, result, boards.overrides_of(run).get(result.application_id), form, 400
        )
    db.session.commit()
    flash(f"Exception recorded: {words(override.status)}, {money(override.amount)}.", "info")
    return _board(run)


@bp.route("/runs/<int:run_id>/overrides/<int:application_id>/delete", methods=["POST"])
@role_required(Role.STAFF)
def override_clear(run_id: int, application_id: int):
    """Remove an exception; the computed decision counts again."""
    run = access.get(current_actor(), RankingRun, run_id)
    _confirmed()
    decisions.clear_override(run, application_id, actor=current_actor())
    db.session.commit()
    flash("Exception removed: the computed decision counts again.", "info")
    return _board(run)


@bp.route("/runs/<int:run_id>/prepare", methods=["POST"])
@role_required(Role.STAFF)
def slate_prepare(run_id: int):
    """Submit the run's award list for approval by a second staff member."""
    run = access.get(current_actor(), RankingRun, run_id)
    _confirmed()
    decisions.prepare_slate(run, actor=current_actor())
    db.session.commit()
    flash(
        "Submitted for approval. A second staff member with approval rights must approve it.",
        "info",
    )
    return _board(run)


@bp.route("/runs/<int:run_id>/withdraw", methods=["POST"])
@role_required(Role.STAFF)
def slate_withdraw(run_id: int):
    """Take an unpublished award list back for changes."""
    run = access.get(current_actor(), RankingRun, run_id)
    _confirmed()
    decisions.withdraw_slate(boards.slate_or_409(run), actor=current_actor())
    db.session.commit()
    flash("Withdrawn from approval: the decisions can be changed again.", "info")
    return _board(run)


@bp.route("/runs/<int:run_id>/approve", methods=["POST"])
@role_required(Role.STAFF)
def slate_approve(run_id: int):
    """Approve the award list (not by its preparer)."""
    run = access.get(current_actor(), RankingRun, run_id)
    _confirmed()
    decisions.approve_slate(boards.slate_or_409(run), actor=current_actor())
    db.session.commit()
    flash("Award list approved. It can now be published.", "info")
    return _board(run)


@bp.route("/runs/<int:run_id>/publish", methods=["POST"])
@role_required(Role.STAFF)
def slate_publish(run_id: int):
    """Publish the approved award list and notify every applicant (once)."""
    run = access.get(current_actor(), RankingRun, run_id)
    _confirmed()
    public_url = runtime.public_url("public.awards", slug=run.competition.slug)
    published = publication.publish_run(run, actor=current_actor(), public_url=public_url)
    db.session.commit()
    send_after_commit(published.message_ids)  # a sent one is never resent
    flash(
        f"Published. {len(published.message_ids)} decision mail(s) queued."
        + (
            f" No mail address for {', '.join(published.unreachable)}: tell them another way."
            if published.unreachable
            else ""
        ),
        "info",
    )
    return _board(run)

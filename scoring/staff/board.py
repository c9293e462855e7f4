"""Staff: start a ranking, follow its progress, the ranking board and each application's
explanation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from scoring import clock
from scoring.auth import role_required
from scoring.core.ranking.stability import TOSS_UP
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import Competition, RankingRun, Role, RunStatus
from scoring.services import access
from scoring.services.competitions.phases import official_refusal
from scoring.services.decisions import decisions
from scoring.services.ranking import board as boards
from scoring.services.ranking import board_page, board_totals, stability
from scoring.services.ranking.explanation_page import explanation_parts
from scoring.staff.board_forms import BoardFilterForm, OverrideForm
from scoring.staff.forms import ConfirmForm
from scoring.staff.views import bp
from scoring.web import (
    current_actor,
    extra_reviewer_after_commit,
    rank_after_commit,
    sentence,
)


@bp.route("/competitions/<int:competition_id>/rank", methods=["POST"])
@role_required(Role.STAFF)
def rank_start(competition_id: int):
    """Queue a ranking run of the committed data (or join the one queued or running)."""
    competition = db.get_or_404(Competition, competition_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    from scoring.services.ranking import lifecycle

    run, joined = lifecycle.start_or_join(competition, actor=current_actor())
    db.session.commit()
    if joined:
        flash(f"Ranking run {run.id} is already {run.status.value}: showing it.", "info")
    else:
        rank_after_commit(run.id)
        flash(f"Ranking run {run.id} started.", "info")
    return redirect(url_for(".run_progress", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@role_required(Role.STAFF)
def run_progress(run_id: int):
    """A run's status, refreshed every few seconds until it is done (then its board)."""
    from scoring.services import recovery
    from scoring.services.ranking import lifecycle

    run = access.get(current_actor(), RankingRun, run_id)
    if run.status == RunStatus.DONE and run.what_if:
        return redirect(url_for(".what_if_run", run_id=run.id))
    if run.status == RunStatus.DONE:
        return redirect(url_for(".board", competition_id=run.competition_id, run=run.id))
    active = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    seen = recovery.last_worker_seen() if active else None
    silent = current_app.config.get("WORKER_SILENT_SECONDS", 60)
    return render_template(
        "staff/board/run_progress.html",
        run=run,
        c=run.competition,
        tab="board",
        refresh=active,
        position=lifecycle.queue_position(run) if run.status == RunStatus.QUEUED else None,
        no_worker=active and (seen is None or seen < clock.now() - timedelta(seconds=silent)),
        worker_seen=seen,
    )


def chosen_run(competition: Competition) -> tuple[BoardFilterForm, RankingRun | None]:
    """The board filters of this request and the run they name (else the current run)."""
    filters = BoardFilterForm(request.args)
    filters.validate()
    return filters, boards.run_of(competition, filters.run.data if not filters.run.errors else None)


@bp.route("/competitions/<int:competition_id>/board")
@role_required(Role.STAFF)
def board(competition_id: int):
    """The ranking board: funding order, scores, flags, decisions, running total, funding line."""
    competition = db.get_or_404(Competition, competition_id)
    filters, run = chosen_run(competition)
    if run is None or run.status != RunStatus.DONE:
        return render_template(
            "staff/board/board_empty.html",
            c=competition,
            run=run,
            tab="board",
            refusal=official_refusal(competition, clock.now(), "an official ranking"),
            what_ifs=[r for r in boards.runs_of(competition) if r.what_if],
        )
    summary, totals = board_totals.totals_of(run)
    query = board_query(filters)
    page = board_page.page_of(run, query, summary.line_after, summary.applications)
    return render_template(
        "staff/board/board.html",
        c=competition,
        run=run,
        view=summary,
        page=page,
        rows=page.rows,
        filters=filters,
        districts=totals.districts,
        links=_page_links(query, page),
        query=query,
        slate=boards.slate_of(run),
        runs=boards.runs_of(competition),
        chart=totals.chart,
        leniency=boards.leniency_chart(run) if summary.applications <= LENIENCY_MAX else None,
        leniency_skipped=summary.applications > LENIENCY_MAX,
        refusal=decisions.approval_refusal,
        pending=boards.pending_run(competition),
        stable=stability.stability_of(run),
        figures=stability.stability_records_for(run, [r.ref for r in page.rows]) or {},
        tossups=totals.toss_ups,
        toss_up=TOSS_UP,
        tab="board",
    )


#: Above this many applications the board links to the reviewer statistics page instead of
#: drawing the leniency chart (it reads every counted review and its scores).
LENIENCY_MAX = 5000


def board_query(filters: BoardFilterForm) -> board_page.BoardQuery:
    """The checked filters, sort and page of the request (a refused value is ignored)."""
    desc = filters.value("desc")
    return board_page.BoardQuery(
        status=filters.value("status"),
        district=filters.value("district"),
        flag=filters.value("flag"),
        q=filters.value("q").strip(),
        sort=filters.value("sort", "position"),
        descending=None if desc == "" else desc == "1",
        page=filters.value("page", 1),
    )


def _page_links(query: board_page.BoardQuery, page: board_page.Page) -> dict[str, Any]:
    """First, previous, next and last page links keeping the other query arguments, and a
    link per sort key (the current key's link turns the order round)."""
    args = {k: v for k, v in request.args.items() if k != "page" and v != ""}

    def link(n: int) -> str:
        return url_for(request.endpoint, **request.view_args, **args, page=n)

    return {
        "first": link(1) if page.page > 1 else None,
        "prev": link(page.page - 1) if page.page > 1 else None,
        "next": link(page.page + 1) if page.page < page.pages else None,
        "last": link(page.pages) if page.page < page.pages else None,
        "sorts": {
            key: url_for(
                request.endpoint,
                **request.view_args,
                **{k: v for k, v in args.items() if k not in ("sort", "desc")},
                sort=key,
                **({"desc": "0" if query.desc else "1"} if query.sort == key else {}),
            )
            for key in board_page.SORTS
        },
    }


@bp.route("/runs/<int:run_id>/applications/<path:ref>")
@role_required(Role.STAFF)
def explanation(run_id: int, ref: str):
    """How one application got its scores, rank, status and award, and staff's decision."""
    run = access.get(current_actor(), RankingRun, run_id)
    result = boards.result_for(run, ref)
    override = boards.overrides_of(run).get(result.application_id)
    form = OverrideForm(data=boards.override_defaults(result, override))
    return _explanation_page(run, result, override, form)


def _explanation_page(run, result, override, form, status: int = 200):
    return render_template(
        "staff/board/explanation.html",
        run=run,
        c=run.competition,
        result=result,
        override=override,
        parts=explanation_parts(run, result),
        form=form,
        slate=boards.slate_of(run),
        tab="board",
        decision=boards.effective(result, override),
        stable=stability.stability_of(run),
        figures=stability.application_figures(run, result.ref) if result.rank is not None else None,
    ), status


@bp.route("/runs/<int:run_id>/stability/extra-reviewers", methods=["POST"])
@role_required(Role.STAFF)
def toss_up_reviewers(run_id: int):
    """Ask for one more reviewer for every toss-up of the run (the existing task, one each)."""
    run = access.get(current_actor(), RankingRun, run_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        requested = stability.request_toss_up_reviewers(run, actor=current_actor())
    except InputError as exc:
        db.session.rollback()
        flash(sentence(exc.detail), "error")
    else:
        db.session.commit()
        for application_id, target in requested:
            extra_reviewer_after_commit(application_id, target, current_actor().id)
        flash(
            f"Finding one more reviewer for {len(requested)} toss-up application(s); "
            "they will be emailed.",
            "info",
        )
    return redirect(url_for(".board", competition_id=run.competition_id, run=run.id))

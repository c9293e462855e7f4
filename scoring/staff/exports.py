"""Staff: downloads — award list and score detail (CSV, XLSX), printable PDF, bundle JSON."""

from __future__ import annotations

import json

from flask import Response, abort, render_template, request

from scoring.auth import role_required
from scoring.errors import Conflict
from scoring.extensions import db
from scoring.models import Competition, RankingRun, Role, RunStatus
from scoring.services import exports as svc
from scoring.services.ranking import board as boards
from scoring.staff.board import chosen_run
from scoring.staff.board_forms import ExportForm
from scoring.staff.views import bp
from scoring.web import current_actor

TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "json": "application/json; charset=utf-8",
}


def download(body: bytes, filename: str, kind: str) -> Response:
    """An attachment that the browser saves rather than renders."""
    response = Response(body, mimetype=TYPES[kind].split(";")[0], content_type=TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _done_run(run_id: int) -> RankingRun:
    run = db.get_or_404(RankingRun, run_id)
    if run.status != RunStatus.DONE:
        raise Conflict(
            f"Ranking run {run.id} is {run.status.value}; there is nothing to export yet."
        )
    return run


@bp.route("/competitions/<int:competition_id>/exports")
@role_required(Role.STAFF)
def exports(competition_id: int):
    """The downloads of a competition's run (the current run unless another is chosen)."""
    competition = db.get_or_404(Competition, competition_id)
    _, run = chosen_run(competition)
    return render_template(
        "staff/exports.html",
        c=competition,
        run=run,
        tab="exports",
        runs=boards.runs_of(competition),
    )


@bp.route("/runs/<int:run_id>/export/awards.<kind>")
@role_required(Role.STAFF)
def export_awards(run_id: int, kind: str):
    """The award list of a run as CSV, XLSX or a printable PDF."""
    if kind not in ("csv", "xlsx", "pdf"):
        abort(404)
    run = _done_run(run_id)
    name = f"{run.competition.slug}-run{run.id}-awards.{kind}"
    if kind == "pdf":
        return download(svc.award_pdf(run), name, kind)
    table = svc.award_table(run)
    return download(svc.to_csv(table) if kind == "csv" else svc.to_xlsx([table]), name, kind)


@bp.route("/runs/<int:run_id>/export/scores.<kind>")
@role_required(Role.STAFF)
def export_scores(run_id: int, kind: str):
    """Every reviewer's points per criterion (comments optional) as CSV or XLSX."""
    if kind not in ("csv", "xlsx"):
        abort(404)
    run = _done_run(run_id)
    form = ExportForm(request.args)
    table = svc.score_table(run, comments=bool(form.comments.data), actor=current_actor())
    db.session.commit()  # the audit record of who took reviewers' scores out
    name = f"{run.competition.slug}-run{run.id}-scores.{kind}"
    if kind == "csv":
        return download(svc.to_csv(table), name, kind)
    return download(svc.to_xlsx([svc.award_table(run), table]), name, kind)


@bp.route("/competitions/<int:competition_id>/export/bundle.json")
@role_required(Role.STAFF)
def export_bundle(competition_id: int):
    """The whole competition as a bundle (docs/bundle.md)."""
    from scoring.services import bundles

    competition = db.get_or_404(Competition, competition_id)
    if not competition.sections:
        abort(409, description="This competition has no rubric yet, so it cannot be exported.")
    body = json.dumps(
        bundles.export_bundle(competition, actor=current_actor()), ensure_ascii=False, indent=2
    )
    db.session.commit()  # bundles records who exported it
    return download(body.encode("utf-8"), f"{competition.slug}-bundle.json", "json")

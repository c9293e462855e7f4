"""Staff: downloads. Award list, board and score detail of a run, written straight into the
response for a small competition, else built by the worker and downloaded when ready; the
competition's bundle as JSON."""

from __future__ import annotations

import io
import json

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Competition, ExportJob, ExportStatus, RankingRun, Role, RunStatus
from scoring.services import access
from scoring.services.exports import jobs, scores
from scoring.services.ranking import board as boards
from scoring.staff.board import chosen_run
from scoring.staff.board_forms import ExportForm
from scoring.staff.views import bp
from scoring.web import current_actor, export_after_commit

TYPES = {**jobs.TYPES, "json": "application/json; charset=utf-8"}


def download(body: bytes, filename: str, kind: str) -> Response:
    """An attachment that the browser saves rather than renders."""
    response = Response(body, mimetype=TYPES[kind].split(";")[0], content_type=TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/competitions/<int:competition_id>/exports")
@role_required(Role.STAFF)
def exports(competition_id: int):
    """The downloads of a competition's run (the official run unless another is chosen), with
    the files the worker built or is building."""
    competition = db.get_or_404(Competition, competition_id)
    _, run = chosen_run(competition)
    done = run is not None and run.status == RunStatus.DONE
    files = jobs.jobs_of(run) if done else []
    return render_template(
        "staff/exports.html",
        c=competition,
        run=run,
        tab="exports",
        runs=boards.runs_of(competition),
        small={k: jobs.is_small(run, k) for k in jobs.FORMATS} if done else {},
        files=files,
        pending=any(f.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for f in files),
        labels=jobs.LABELS,
        stability_note=scores.stability_note(run) if done else None,
    )


def _direct(run_id: int, kind: str, fmt: str, *, comments: bool = False):
    run = jobs.done_run(access.get(current_actor(), RankingRun, run_id).id)
    jobs.check(kind, fmt)
    if not jobs.is_small(run, kind):
        flash(
            f"This competition is too large to download the {jobs.LABELS[kind].lower()} "
            "directly: prepare the file below and download it when it is ready.",
            "info",
        )
        return redirect(url_for("staff.exports", competition_id=run.competition_id, run=run.id))
    if kind == "scores":
        scores.record_export(run, comments=comments, actor=current_actor(), format=fmt)
        db.session.commit()  # the audit record of who took reviewers' scores out
    buffer = io.BytesIO()
    jobs.write(buffer, run, kind, fmt, comments=comments)
    return download(buffer.getvalue(), jobs.filename(run, kind, fmt), fmt)


@bp.route("/runs/<int:run_id>/export/awards.<kind>")
@role_required(Role.STAFF)
def export_awards(run_id: int, kind: str):
    """The award list of a run as CSV, XLSX or a printable PDF."""
    if kind not in jobs.FORMATS["awards"]:
        abort(404)
    return _direct(run_id, "awards", kind)


@bp.route("/runs/<int:run_id>/export/board.<kind>")
@role_required(Role.STAFF)
def export_board(run_id: int, kind: str):
    """The board of a run as CSV (running total and funding line included)."""
    if kind not in jobs.FORMATS["board"]:
        abort(404)
    return _direct(run_id, "board", kind)


@bp.route("/runs/<int:run_id>/export/scores.<kind>")
@role_required(Role.STAFF)
def export_scores(run_id: int, kind: str):
    """Every reviewer's points per criterion (comments optional) as CSV or XLSX."""
    if kind not in jobs.FORMATS["scores"]:
        abort(404)
    form = ExportForm(request.args)
    return _direct(run_id, "scores", kind, comments=bool(form.comments.data))


@bp.route("/runs/<int:run_id>/export-files", methods=["POST"])
@role_required(Role.STAFF)
def prepare_export(run_id: int):
    """Ask the worker for a file of the run; the downloads page shows its progress."""
    # an unknown run is a 404 whatever the form says
    run = jobs.done_run(access.get(current_actor(), RankingRun, run_id).id)
    kind, fmt = request.form.get("kind", ""), request.form.get("fmt", "")
    if fmt not in jobs.FORMATS.get(kind, ()):
        abort(400, description="Choose one of the listed files.")
    comments = request.form.get("comments") == "y"
    job = jobs.request(run, kind, fmt, comments=comments, actor=current_actor())
    db.session.commit()
    export_after_commit(job.id)
    flash(f"The {jobs.LABELS[kind].lower()} ({fmt.upper()}) is being prepared.", "success")
    return redirect(url_for("staff.exports", competition_id=run.competition_id, run=run.id))


@bp.route("/export-files/<int:job_id>")
@role_required(Role.STAFF)
def export_file(job_id: int):
    """A finished file, sent from EXPORT_DIR."""
    job, path = jobs.file_of(access.get(current_actor(), ExportJob, job_id).id)
    response = send_file(
        path,
        mimetype=jobs.TYPES[job.fmt].split(";")[0],
        as_attachment=True,
        download_name=job.filename.split("-", 1)[1],
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


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

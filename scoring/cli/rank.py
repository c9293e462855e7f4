"""``flask --app scoring rank SLUG [--json]`` (through the task queue, waiting for the worker) and
``explain SLUG REF`` (how an application got its result in the latest completed ranking)."""

from __future__ import annotations

import contextlib
import logging
import time
from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from scoring.cli.common import UserError, competition_by_slug, database_errors
from scoring.errors import InputError, NotFound
from scoring.extensions import db
from scoring.models import RankingRun, RunStatus

#: Seconds between status polls while ``rank`` waits for the worker (first, then at most).
POLL_FIRST, POLL_MAX = 0.05, 1.0


def _dispatch(run_id: int) -> None:
    """Queue the task after the commit; in the embedded mode it has already run on return."""
    from celery.result import EagerResult

    from scoring.services import ranking
    from workers.tasks import rank_competition

    try:
        result = rank_competition.delay(run_id)
    except Exception as exc:  # broker down: the run would never start
        ranking.mark_failed(run_id, f"could not queue the task: {exc}")
        db.session.commit()
        raise UserError(f"ranking run {run_id} could not be queued: {exc}") from None
    if isinstance(result, EagerResult) and result.failed():
        ranking.mark_failed(run_id, f"internal error: {result.result!r}")
        db.session.commit()
        raise UserError(f"ranking run {run_id} failed: internal error: {result.result!r}")


def wait_for_run(run_id: int, timeout: float) -> RankingRun:
    """Poll the run's status, each time in a fresh transaction, until done, failed or timeout."""
    deadline, pause = time.monotonic() + timeout, POLL_FIRST
    while True:
        db.session.rollback()  # end the snapshot: the next read sees the worker's commit
        status = db.session.scalar(select(RankingRun.status).where(RankingRun.id == run_id))
        if status in (RunStatus.DONE, RunStatus.FAILED):
            return db.session.get(RankingRun, run_id, populate_existing=True)
        if time.monotonic() >= deadline:
            raise UserError(
                f"timed out after {timeout:g} s waiting for ranking run {run_id} "
                f"(still {status.value}); is a celery worker running?"
            )
        time.sleep(pause)
        pause = min(POLL_MAX, pause * 2)


@contextlib.contextmanager
def _quiet(*names: str):
    """Keep task log lines off the terminal while waiting (in the embedded mode the task runs
    in this process), so a failure shows as the one line of the error; the run's error and
    the audit trail keep the details."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _table(document: dict) -> str:
    header = ("rank", "ref", "school", "district", "final", "status", "award", "running total")
    rows, total = [], Decimal(0)
    for a in document["applications"]:
        total += Decimal(a["award"])
        final = "-" if a["final"] is None else f"{a['final']:.4f}"
        status = a["status"] + (f" ({a['reason']})" if a["reason"] else "")
        rows.append(
            (
                str(a["rank"] or "-"),
                a["ref"],
                a["school"],
                a["district"],
                final,
                status,
                f"{Decimal(a['award']):,.2f}",
                f"{total:,.2f}",
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    right = {0, 4, 6, 7}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths)), *map(line, rows)]
    out.append(
        f"run {document['run']} of {document['competition']}: total funds "
        f"{Decimal(document['total_funds']):,.2f}, awarded "
        f"{Decimal(document['total_awarded']):,.2f}, remaining "
        f"{Decimal(document['remaining']):,.2f}; inputs sha256 "
        f"{document['inputs_sha256']}"
    )
    return "\n".join(out)


@click.command("rank")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the result document (JSON).")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait for the worker.")
@with_appcontext
@database_errors
def rank_command(slug: str, as_json: bool, timeout: float) -> None:
    """Rank competition SLUG through the task queue and wait for the result."""
    from scoring.core.ranking import dumps_document
    from scoring.services import ranking

    try:
        run_id = ranking.create_run(competition_by_slug(slug)).id
    except InputError as exc:
        raise UserError(str(exc)) from None
    db.session.commit()
    with _quiet("celery", "kombu", "scoring.services.ranking"):
        _dispatch(run_id)
        run = wait_for_run(run_id, timeout)
    if run.status == RunStatus.FAILED:
        raise UserError(f"ranking run {run_id} failed: {run.error}")
    document = ranking.result_document_for_run(run)
    click.echo(dumps_document(document) if as_json else _table(document))


@click.command("explain")
@click.argument("slug")
@click.argument("ref")
@with_appcontext
@database_errors
def explain_command(slug: str, ref: str) -> None:
    """Explain how application REF got its result in the latest completed ranking of SLUG."""
    from scoring.services import ranking

    run = ranking.latest_done_run(competition_by_slug(slug))
    if run is None:
        raise UserError(
            f"competition {slug!r} has no completed ranking run; run "
            f"'flask --app scoring rank {slug}' first"
        )
    try:
        click.echo(ranking.explanation_text(run, ref))
    except NotFound as exc:
        raise UserError(str(exc)) from None

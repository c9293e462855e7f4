"""``flask --app scoring rank SLUG [--json]`` (through the task queue, waiting for the worker) and
``explain SLUG REF`` (how an application got its result in the latest completed ranking)."""

from __future__ import annotations

import contextlib
import logging
import time
from decimal import Decimal

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from scoring.cli.common import UserError, competition_by_slug, database_errors
from scoring.errors import InputError, NotFound
from scoring.extensions import db
from scoring.models import RankingRun, RunStatus

#: Seconds between status polls while ``rank`` waits for the worker (first, then at most).
POLL_FIRST, POLL_MAX = 0.05, 1.0


#: Seconds between two attempts to hand the run to an unreachable broker while waiting.
REDISPATCH_EVERY = 5.0


def _dispatch(run_id: int) -> bool:
    """Queue the task after the commit; in the embedded mode it has already run on return.
    Returns False when the broker is unreachable (the run stays queued: ``wait_for_run`` and
    the relay send it again)."""
    from celery.result import EagerResult

    from scoring.services import ranking
    from workers.tasks import rank_competition

    try:
        result = rank_competition.delay(run_id)
    except Exception:  # the broker is away: the run is a committed row, it waits
        return False
    if isinstance(result, EagerResult) and result.failed():
        ranking.mark_failed(run_id, f"internal error: {result.result!r}")
        db.session.commit()
        raise UserError(f"ranking run {run_id} failed: internal error: {result.result!r}")
    return True


class _Notes:
    """Tell the user once about each kind of blip (on standard error), not at every poll."""

    def __init__(self) -> None:
        self.told: set[str] = set()

    def once(self, key: str, text: str) -> None:
        if key not in self.told:
            self.told.add(key)
            click.echo(text, err=True)


def wait_for_run(run_id: int, timeout: float, dispatched: bool = True) -> RankingRun:
    """Poll the run's status, each time in a fresh transaction, until done, failed or timeout.

    A database or broker that is briefly away is waited for (said once on standard error); an
    undispatched run is sent again every ``REDISPATCH_EVERY`` seconds while it is queued.
    """
    from workers.tasks import DATABASE_ERRORS

    deadline, pause, notes = time.monotonic() + timeout, POLL_FIRST, _Notes()
    status, seen, next_send = None, "not read yet", time.monotonic() + REDISPATCH_EVERY
    while True:
        try:
            db.session.rollback()  # end the snapshot: the next read sees the worker's commit
            status = db.session.scalar(select(RankingRun.status).where(RankingRun.id == run_id))
            seen = f"still {status.value}"
            if status in (RunStatus.DONE, RunStatus.FAILED):
                return db.session.get(RankingRun, run_id, populate_existing=True)
        except DATABASE_ERRORS as exc:
            _forget_connection()
            seen = f"the database was unreachable: {str(exc).strip().splitlines()[0]}"
            notes.once("db", f"The database is not reachable; waiting for run {run_id}.")
        if not dispatched:
            notes.once("broker", f"The broker is not reachable; run {run_id} is queued.")
            if status == RunStatus.QUEUED and time.monotonic() >= next_send:
                dispatched, next_send = _dispatch(run_id), time.monotonic() + REDISPATCH_EVERY
        if time.monotonic() >= deadline:
            hint = "; is a celery worker running?" if status == RunStatus.QUEUED else ""
            raise UserError(
                f"timed out after {timeout:g} s waiting for ranking run {run_id} ({seen}){hint}"
            )
        time.sleep(pause)
        pause = min(POLL_MAX, pause * 2)


def wait_for(read, timeout: float, what: str):
    """Poll ``read()`` (a row with a ``status``), each time in a fresh transaction, until it is
    done or failed; ``UserError`` at the timeout."""
    deadline, pause = time.monotonic() + timeout, POLL_FIRST
    while True:
        db.session.rollback()  # end the snapshot: the next read sees the worker's commit
        row = read()
        if row is not None:
            db.session.refresh(row)
        if row is not None and row.status in (RunStatus.DONE, RunStatus.FAILED):
            return row
        if time.monotonic() >= deadline:
            state = row.status.value if row is not None else "not queued yet"
            raise UserError(
                f"timed out after {timeout:g} s waiting for {what} "
                f"(still {state}); is a celery worker running?"
            )
        time.sleep(pause)
        pause = min(POLL_MAX, pause * 2)


def _forget_connection() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone
        pass
    db.session.remove()


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
@click.option(
    "--stability",
    is_flag=True,
    help="With --json: wait for the rank stability (docs/stability.md) and add it to the JSON.",
)
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait for the worker.")
@with_appcontext
@database_errors
def rank_command(slug: str, as_json: bool, stability: bool, timeout: float) -> None:
    """Rank competition SLUG through the task queue and wait for the result."""
    from scoring.core.ranking import dumps_document
    from scoring.services import ranking

    if stability and not as_json:
        raise UserError("--stability goes with --json")
    try:
        run_id = ranking.create_run(competition_by_slug(slug)).id
    except InputError as exc:
        raise UserError(str(exc)) from None
    db.session.commit()
    with (
        _quiet("celery", "kombu", "scoring.services.ranking", "scoring.web"),
        ranking.keep_documents(),  # embedded mode: the run computes here, keep its document
    ):
        run = wait_for_run(run_id, timeout, dispatched=_dispatch(run_id))
        kept = ranking.take_document(run_id)
    if run.status == RunStatus.FAILED:
        raise UserError(f"ranking run {run_id} failed: {run.error}")
    document = kept if kept is not None else ranking.result_document_for_run(run)
    if stability:
        document = document | {"stability": _stability(run, timeout)}
    click.echo(dumps_document(document) if as_json else _table(document))


def _stability(run: RankingRun, timeout: float) -> dict:
    """The run's stability (queued here in the embedded mode, by the worker otherwise)."""
    from scoring.services.ranking import stability

    if current_app.config.get("TASKS_EMBEDDED"):
        from workers.tasks import rank_stability

        with _quiet("celery", "kombu", "scoring.services.ranking"):
            rank_stability.delay(run.id)
    row = wait_for(lambda: stability.stability_of(run), timeout, f"the stability of run {run.id}")
    if row.status == RunStatus.FAILED:
        raise UserError(f"the stability of ranking run {run.id} failed: {row.error}")
    return {
        "resamples": row.resamples,
        "seed": row.seed,
        "applications": stability.stability_records(run),
    }


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

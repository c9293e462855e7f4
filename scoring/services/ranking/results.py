"""Ranking results: write a run's rows (``write_results``) and read them back (the result
document, the latest done run, an application's explanation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from scoring.core.ranking import (
    compact_explanations,
    render_explanation,
    stored_explanation,
)
from scoring.errors import InputError, NotFound
from scoring.extensions import db
from scoring.models import Competition, RankingResult, RankingRun, RunStatus
from scoring.services.db import copy_in, is_postgres
from scoring.services.ranking.result_rows import COLUMNS, copy_chunks, sqlite_rows

__all__ = [
    "explanation_for",
    "explanation_text",
    "latest_done_run",
    "result_document_for_run",
    "write_results",
]


#: SQLite: the rows go straight to the driver (numbers as floats, JSON as text, see result_rows).
_SQLITE_INSERT = "INSERT INTO ranking_result ({}) VALUES ({})".format(
    ", ".join(f'"{c}"' for c in COLUMNS), ", ".join("?" * len(COLUMNS))
)


def write_results(run: RankingRun, result: Any, document: dict, inputs: Any) -> None:
    """Replace the run's results with one row per application, in document order.

    Each row's ``explanation`` is the application's compact record
    (``scoring.core.ranking.compact_explanations``, built for all applications at once); the
    run-level part is stored once in ``run.stats["explain"]`` (see ``_finish``), and
    ``explanation_for`` expands the two into the full ``explanation_data`` dict. The rows are
    built column by column (``result_rows``): PostgreSQL takes them as COPY text, SQLite by
    ``executemany``, both in the session's transaction.
    """
    db.session.execute(delete(RankingResult).where(RankingResult.run_id == run.id))
    records = compact_explanations(result)  # canonical (ref) order
    doc_order = [records[i] for i in result._c.doc_order.tolist()]  # document order
    apps = document["applications"]
    if is_postgres():
        with copy_in(RankingResult.__table__, COLUMNS) as copy:
            for chunk in copy_chunks(run.id, apps, inputs.app_ids, doc_order):
                copy.write(chunk)
        return
    cursor = db.session.connection().connection.driver_connection.cursor()
    try:
        for rows in sqlite_rows(run.id, apps, inputs.app_ids, doc_order):
            cursor.executemany(_SQLITE_INSERT, rows)
    finally:
        cursor.close()


# --------------------------------------------------------------------------- reading


def _number(value: Decimal) -> int | float:
    """As the core reports it: an int when integral, else a float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def result_document_for_run(run: RankingRun) -> dict:
    """The result document of a done run, rebuilt from its stored rows (identical to the one
    the core produced when the run executed)."""
    if run.status != RunStatus.DONE:
        raise InputError(f"run {run.id} is {run.status.value}, not done")
    competition = db.session.get(Competition, run.competition_id)
    rows = db.session.execute(
        select(
            RankingResult.ref,
            RankingResult.school_code,
            RankingResult.district_code,
            RankingResult.tier,
            RankingResult.reviews,
            RankingResult.review_scores,
            RankingResult.base,
            RankingResult.priority_points,
            RankingResult.final,
            RankingResult.sections,
            RankingResult.rank,
            RankingResult.flags,
            RankingResult.status,
            RankingResult.award,
            RankingResult.reason,
        )
        .where(RankingResult.run_id == run.id)
        .order_by(RankingResult.position)
    ).all()
    apps = [
        {
            "ref": ref,
            "school": school,
            "district": district,
            "tier": tier,
            "reviews": n,
            "review_scores": scores,
            "base": None if base is None else float(base),
            "priority_points": _number(pp),
            "final": None if final is None else float(final),
            "sections": sections,
            "rank": rank,
            "flags": flags,
            "status": status,
            "award": _money(award),
            "reason": reason,
        }
        for (
            ref,
            school,
            district,
            tier,
            n,
            scores,
            base,
            pp,
            final,
            sections,
            rank,
            flags,
            status,
            award,
            reason,
        ) in rows
    ]
    return {
        "competition": competition.slug,
        "run": run.id,
        "inputs_sha256": run.inputs_sha256,
        "policy": run.policy,
        "total_funds": _money(run.total_funds),
        "total_awarded": _money(run.total_awarded),
        "remaining": _money(run.remaining),
        "applications": apps,
    }


def latest_done_run(
    competition: Competition, *, include_what_if: bool = False
) -> RankingRun | None:
    """The most recent done run of ``competition`` (what-if runs excluded unless asked)."""
    stmt = select(RankingRun).where(
        RankingRun.competition_id == competition.id, RankingRun.status == RunStatus.DONE
    )
    if not include_what_if:
        stmt = stmt.where(RankingRun.what_if.is_(False))
    return db.session.scalars(
        stmt.order_by(RankingRun.finished_at.desc(), RankingRun.id.desc()).limit(1)
    ).first()


def explanation_text(run: RankingRun, ref: str) -> str:
    """The stored explanation of application ``ref`` in ``run``, as plain text."""
    data = db.session.scalar(
        select(RankingResult.explanation).where(
            RankingResult.run_id == run.id, RankingResult.ref == ref
        )
    )
    if data is None:
        raise NotFound(f"application {ref!r} has no result in ranking run {run.id}")
    return render_explanation(explanation_for(run, data))


def explanation_for(run: RankingRun, stored: Any) -> dict | None:
    """A result row's stored explanation as the full ``explanation_data`` dict (a compact
    record is expanded with the run's context; an older full dict is returned as it is)."""
    return stored_explanation(stored, (run.stats or {}).get("explain"))

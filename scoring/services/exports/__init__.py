"""Exports of a ranking run (award list, board, score detail as CSV, XLSX and a printable PDF)
and the audit trail as CSV. Rows are streamed from a server-side cursor into the file
(``writers``), so a file of any size is written in bounded memory; big files are built by the
worker (``jobs``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scoring.formatting import local_dt
from scoring.models import AuditEvent, RankingRun, User
from scoring.services.exports import awards, jobs, scores
from scoring.services.exports.writers import FORMULA_START, csv_bytes, neutralise

__all__ = [
    "FORMULA_START",
    "Table",
    "audit_table",
    "awards",
    "jobs",
    "neutralise",
    "score_table",
    "scores",
    "to_csv",
]


@dataclass
class Table:
    """A small table held in memory: a title, column names and rows of plain values."""

    title: str
    header: list[str]
    rows: list[list[Any]]


def to_csv(table: Table) -> bytes:
    """The table as CSV bytes (BOM, formulas made inert)."""
    return csv_bytes(table.header, table.rows)


def score_table(run: RankingRun, *, comments: bool, actor: User | None = None) -> Table:
    """The score detail in memory (small competitions, tests); records the export."""
    rows = list(scores.rows(run, comments=comments))
    scores.record_export(run, comments=comments, actor=actor)
    return Table("Score detail", [c.name for c in scores.columns(comments)], rows)


def audit_table(events: Iterable[AuditEvent]) -> Table:
    """The audit trail rows (times in UTC ISO 8601 and in Connecticut time)."""
    header = [
        "id",
        "at_utc",
        "at_local",
        "actor",
        "action",
        "entity",
        "entity_id",
        "competition_id",
        "before",
        "after",
        "note",
        "request_id",
    ]
    rows = [
        [
            e.id,
            e.at.isoformat(),
            local_dt(e.at),
            e.actor.email if e.actor else "system",
            e.action,
            e.entity,
            e.entity_id,
            e.competition_id,
            None if e.before is None else json.dumps(e.before, sort_keys=True, default=str),
            None if e.after is None else json.dumps(e.after, sort_keys=True, default=str),
            e.note,
            e.request_id,
        ]
        for e in events
    ]
    return Table("Audit trail", header, rows)

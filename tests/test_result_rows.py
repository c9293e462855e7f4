"""The column-built result rows (scoring/services/ranking/result_rows.py) store what the per-row
path stored: every column of every row, on SQLite and PostgreSQL (on PostgreSQL the very text of
each column), including strings that COPY's text format must escape."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text

from scoring.core.ranking import compact_explanations, rank_columns, result_document
from scoring.extensions import db
from scoring.models import Competition, RankingResult, RankingRun
from scoring.services import bundles, ranking
from scoring.services.db import bulk_insert, is_postgres
from scoring.services.ranking.result_rows import COLUMNS, json_columns
from scoring.services.ranking.results import write_results

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"
ODD = 'Late\t"by a day"\\n, back\\slash\nnew line\r},{ "\\u0000" é ✓'


def _bundle() -> dict:
    """The small bundle with an ineligible application whose reason needs escaping, and one
    application without reviews (no sections)."""
    data = json.loads(FIXTURE.read_text())
    apps = data["applications"]
    apps[1] |= {"eligible": False, "ineligible_reason": ODD}
    data["reviews"] = [r for r in data["reviews"] if r["application"] != apps[2]["ref"]]
    return data


def _old_rows(run_id: int, result, document: dict, inputs):
    """The rows as ``write_results`` built them before (one tuple of Python values per row)."""
    enc = (lambda v: orjson.dumps(v).decode()) if is_postgres() else (lambda v: v)
    records = compact_explanations(result)
    doc_order = [records[i] for i in result._c.doc_order.tolist()]
    for position, (a, record) in enumerate(
        zip(document["applications"], doc_order, strict=True), start=1
    ):
        yield (
            run_id,
            inputs.app_ids[a["ref"]],
            position,
            a["ref"],
            a["school"],
            a["district"],
            a["tier"],
            a["reviews"],
            enc(a["review_scores"]),
            None if a["base"] is None else Decimal(repr(a["base"])),
            Decimal(repr(a["priority_points"])),
            None if a["final"] is None else Decimal(repr(a["final"])),
            enc(a["sections"]),
            a["rank"],
            enc(a["flags"]),
            a["status"],
            Decimal(a["award"]),
            a["reason"],
            enc(record),
        )


def _stored(run_id: int) -> list[tuple]:
    """Every written column of the run's rows, as the ORM reads them, by position."""
    columns = [getattr(RankingResult, c) for c in COLUMNS[1:]]
    return [
        tuple(r)
        for r in db.session.execute(
            select(*columns).where(RankingResult.run_id == run_id).order_by(RankingResult.position)
        )
    ]


_JSON = ("review_scores", "sections", "flags", "explanation")


def _raw(run_id: int) -> list[tuple]:
    """Every written column as the database holds it (PostgreSQL: its text; SQLite: the value
    and its storage class)."""
    if is_postgres():
        cols = ", ".join(f'"{c}"::text' for c in COLUMNS[1:])
    else:
        cols = ", ".join(  # JSON text differs in spacing only (read back as equal values)
            f'typeof("{c}")' if c in _JSON else f'"{c}", typeof("{c}")' for c in COLUMNS[1:]
        )
    rows = db.session.execute(
        text(f"SELECT {cols} FROM ranking_result WHERE run_id = :r ORDER BY position"),
        {"r": run_id},
    )
    return [tuple(r) for r in rows]


def test_column_built_rows_equal_the_per_row_path(any_app):
    """A run's rows written by ``write_results`` equal the per-row path's, column by column."""
    with any_app.app_context():
        bundles.import_bundle(_bundle())
        db.session.commit()
        competition = db.session.scalar(select(Competition))
        new, old = ranking.create_run(competition), ranking.create_run(competition)
        db.session.flush()
        policy = ranking.policy_for(competition)
        inputs = ranking.read_inputs(competition, tie_breakers=policy.tie_breakers)
        result = rank_columns(
            inputs.rubric,
            policy,
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
        document = result_document(result, competition.slug, new.id)
        write_results(new, result, document, inputs)
        bulk_insert(RankingResult.__table__, COLUMNS, _old_rows(old.id, result, document, inputs))
        db.session.flush()
        stored = _stored(new.id)
        assert len(stored) == len(document["applications"]) == len(inputs.applications)
        assert stored == _stored(old.id)
        assert _raw(new.id) == _raw(old.id)
        reasons = [r[COLUMNS.index("reason") - 1] for r in stored]
        assert ODD in reasons
        assert any(r[COLUMNS.index("sections") - 1] is None for r in stored)  # JSON null


def test_executed_run_document_and_explanations(any_app):
    """A run executed end to end: its stored document is the one it computed, and every stored
    explanation expands to the core's ``explanation_data``."""
    with any_app.app_context():
        bundles.import_bundle(_bundle())
        db.session.commit()
        competition = db.session.scalar(select(Competition))
        run = ranking.create_run(competition)
        db.session.commit()
        with ranking.keep_documents():
            ranking.execute_run(run.id)
            kept = ranking.take_document(run.id)
        db.session.commit()
        run = db.session.get(RankingRun, run.id)
        assert ranking.result_document_for_run(run) == kept
        for ref in [a["ref"] for a in kept["applications"]]:
            assert ODD not in ref
            assert ranking.explanation_text(run, ref)


def test_json_columns_with_the_sentinel_in_a_string():
    """A string holding the sentinel itself falls back to one encoding per value."""
    apps = [
        {"review_scores": [1.5], "sections": {"a": 1.0}, "flags": ["tie"]},
        {"review_scores": [], "sections": None, "flags": []},
    ]
    records = [["x\x00y", 1], ['q"\\', None]]
    for copy in (False, True):
        got = json_columns(apps, records, copy=copy)
        want = [
            [orjson.dumps(a[k]).decode() for a in apps]
            for k in ("review_scores", "sections", "flags")
        ] + [[orjson.dumps(r).decode() for r in records]]
        if copy:
            want = [[s.replace("\\", "\\\\") for s in col] for col in want]
        assert got == want


@pytest.mark.parametrize("copy", [False, True])
def test_json_columns_one_call(copy):
    """The one-call encoding splits back into each value's own JSON text."""
    apps = [
        {"review_scores": [70.25, 81.0], "sections": {'s"1': 0.5, "},{": 2.0}, "flags": []},
        {"review_scores": [], "sections": None, "flags": ["discrepancy", "tie"]},
    ]
    records = [["R-1", [[0, 1.5]], None, {"k": "\\u0000"}], ["R-2", [], 3, "\t\n"]]
    got = json_columns(apps, records, copy=copy)
    assert [json.loads(s.replace("\\\\", "\\") if copy else s) for s in got[3]] == [
        json.loads(orjson.dumps(r)) for r in records
    ]
    assert [json.loads(s.replace("\\\\", "\\") if copy else s) for s in got[1]] == [
        a["sections"] for a in apps
    ]

"""The bulk paths of a bundle import (issue 14 item 3): built indexes, foreign keys checked per
statement instead of per row (PostgreSQL), the dropped trigger and raw inserts (SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from scoring.extensions import db
from scoring.models import Application, Review
from scoring.models._types import utcnow
from scoring.models.review_points import INSERT_TRIGGER
from scoring.services import bundles
from scoring.services import db as bulk
from scoring.services.bundles import BundleError, bulk_tables, importer
from tests.test_bundles import canonical, competition, load, row_counts


def schema_of(tables: tuple[str, ...]) -> list[tuple]:
    """Every index, constraint and trigger of these tables, by name and definition."""
    args = {"t": list(tables)}
    indexes = db.session.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE tablename = ANY(:t) ORDER BY 1, 2"
        ),
        args,
    ).all()
    constraints = db.session.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid::regclass::text = ANY(:t) ORDER BY 1, 2"
        ),
        args,
    ).all()
    triggers = db.session.execute(
        text(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid::regclass::text = ANY(:t) AND NOT tgisinternal ORDER BY 1, 2"
        ),
        args,
    ).all()
    return [tuple(r) for r in (*indexes, *constraints, *triggers)]


TABLES = ("criterion_score", *bulk_tables.UNCHECKED_TABLES)


def test_bulk_import_builds_indexes_after_the_copy_and_checks_keys_per_statement(
    pg_app, monkeypatch
):
    monkeypatch.setattr(importer, "BULK_FK_THRESHOLD", 1)
    seen = []
    real_drop = importer.drop_indexes
    monkeypatch.setattr(importer, "drop_indexes", lambda *a: seen.append(real_drop(*a)) or seen[-1])
    with pg_app.app_context():
        before = schema_of(TABLES)
        bundles.import_bundle(load())
        assert db.session.scalar(text("SHOW session_replication_role")) == "origin"
        db.session.commit()
        assert schema_of(TABLES) == before
        assert seen and seen[0] is not None  # an empty table: its indexes were dropped
        assert {c[0] for c in seen[0].constraints} == {
            "pk_criterion_score",
            "uq_criterion_score_review_id_criterion_id",
        }
        assert canonical(bundles.export_bundle(competition())) == canonical(load())
        # a table that already holds as many rows as an import adds keeps its indexes
        n = db.session.scalar(text("SELECT count(*) FROM criterion_score"))
        db.session.execute(text("LOCK TABLE criterion_score IN ACCESS EXCLUSIVE MODE"))
        assert bulk_tables.drop_indexes("criterion_score", n) is None
        db.session.rollback()


def test_bulk_import_failure_restores_indexes_and_role(pg_app, monkeypatch):
    monkeypatch.setattr(importer, "BULK_FK_THRESHOLD", 1)

    def boom(*args, **kwargs):
        raise RuntimeError("connection lost mid-COPY")

    monkeypatch.setattr(importer, "_copy_scores", boom)
    with pg_app.app_context():
        before, counts = schema_of(TABLES), row_counts()
        with pytest.raises(RuntimeError):
            bundles.import_bundle(load())
        db.session.rollback()
        assert schema_of(TABLES) == before
        assert db.session.scalar(text("SHOW session_replication_role")) == "origin"
        assert row_counts() == counts


def test_a_missing_key_is_refused_by_postgresql_itself(pg_app):
    """Rows written without per-row checks: a key to nothing fails as it would have."""
    with pg_app.app_context():
        bundles.import_bundle(load())
        db.session.commit()
        c = competition()
        review = db.session.scalar(select(Review).order_by(Review.id).limit(1))
        app_id = review.application_id
        missing_user = db.session.scalar(text('SELECT max(id) + 1000 FROM "user"'))
        assert bulk_tables.skip_row_checks()
        db.session.execute(
            text(
                "INSERT INTO review (application_id, reviewer_id, status, updated_at, version) "
                "VALUES (:a, :u, 'draft', now(), 1)"
            ),
            {"a": app_id, "u": missing_user},
        )
        with pytest.raises(IntegrityError, match='violates foreign key constraint "fk_review_'):
            bulk_tables.check_new_rows(c.id)
        db.session.rollback()


def test_sqlite_import_drops_and_restores_the_insert_trigger(app, monkeypatch):
    def trigger():
        return db.session.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": INSERT_TRIGGER},
        )

    with app.app_context():
        assert trigger() == 1
        bundles.import_bundle(load())
        db.session.commit()
        assert trigger() == 1
        counts = row_counts()

        def boom(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(importer, "_insert_scores", boom)
        other = load()
        other["competition"]["slug"] = "sig-other"
        with pytest.raises(RuntimeError):
            bundles.import_bundle(other)
        db.session.rollback()
        assert trigger() == 1
        assert row_counts() == counts


def test_sqlite_bulk_insert_stores_what_sqlalchemy_stores(app):
    """The driver's executemany with each type's bind processor = SQLAlchemy's insert."""
    with app.app_context():
        bundles.import_bundle(load())
        db.session.commit()
        a = db.session.scalar(select(Application).order_by(Application.id).limit(1))
        top = db.session.scalar(select(func.max(Application.id)))
        now = utcnow()
        columns = (
            "id",
            "competition_id",
            "ref",
            "school_id",
            "status",
            "requested_amount",
            "tier",
            "contacts",
            "eligible",
            "ineligible_reason",
            "submitted_at",
            "screened_at",
            "created_at",
            "updated_at",
            "version",
        )

        def row(i: int, ref: str) -> tuple:
            values = ("submitted", Decimal("1234.50"), 2, [{"name": "A"}], False, "late")
            return (i, a.competition_id, ref, a.school_id, *values, now, None, now, now, 1)

        assert bulk.bulk_insert(Application.__table__, columns, [row(top + 1, "X-1")]) == 1
        bulk._insert_orm_params(Application.__table__, columns, [row(top + 2, "X-2")], 10)
        shown = ", ".join(f"{c}, typeof({c})" for c in columns[3:])
        stored = db.session.execute(
            text(f"SELECT {shown} FROM application WHERE id > :top ORDER BY id"), {"top": top}
        ).all()
        assert len(stored) == 2 and stored[0] == stored[1]


def test_a_true_score_is_refused_after_the_same_criterion_scored_1(app):
    """The validator's fast path skips (criterion, value) pairs seen before: True == 1 in
    Python, yet a true/false score is still refused wherever it comes."""
    data = load()
    key = next(iter(data["reviews"][0]["scores"]))
    data["reviews"][0]["scores"][key] = 1
    data["reviews"][-1]["scores"][key] = True
    last = len(data["reviews"]) - 1
    with app.app_context(), pytest.raises(BundleError) as refused:
        bundles.import_bundle(data)
    assert (
        f"reviews[{last}].scores.{key}",
        "expected a number, got true/false",
    ) in refused.value.errors


def test_the_cli_reads_equal_numbers_as_one_exact_decimal(tmp_path):
    from scoring.cli.bundle import _read_json

    path = tmp_path / "b.json"
    path.write_text('{"a": [2.5, 2.5, 2.50, 1e-4, 3]}')
    data, _ = _read_json(str(path))
    a = data["a"]
    assert a == [Decimal("2.5"), Decimal("2.5"), Decimal("2.50"), Decimal("0.0001"), 3]
    assert a[0] is a[1] and str(a[2]) == "2.50" and type(a[4]) is int

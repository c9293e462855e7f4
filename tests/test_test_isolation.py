"""The PostgreSQL test fixtures keep tests apart: the schema is built once per test process and
emptied between tests (``tests/conftest.py``), so check that nothing of one app is seen by the
next one and that a test that changed the schema gets it built again."""

from __future__ import annotations

import sqlalchemy as sa

from scoring.extensions import db
from scoring.models import District
from tests.conftest import PostgresConfig, _dispose, _make_app, require_postgres


def _fresh(tmp_path, name: str):
    require_postgres()
    return _make_app(PostgresConfig, tmp_path / name)


def test_rows_and_ids_of_one_test_are_gone_for_the_next(tmp_path):
    first = _fresh(tmp_path, "one")
    with first.app_context():
        db.session.add_all(
            [District(code="015", name="Bridgeport"), District(code="064", name="Hartford")]
        )
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.max(District.id))) == 2
    _dispose(first)

    second = _fresh(tmp_path, "two")
    with second.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(District)) == 0
        district = District(code="093", name="New Haven")
        db.session.add(district)
        db.session.commit()
        assert district.id == 1  # identities restart as after a fresh create_all
    _dispose(second)


def _schema_of(app) -> tuple:
    with app.app_context(), db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("district")}
        triggers = conn.execute(
            sa.text(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal"
                " AND tgrelid = 'criterion_score'::regclass ORDER BY tgname"
            )
        ).all()
        tables = set(sa.inspect(conn).get_table_names())
    return columns, [tuple(t) for t in triggers], tables


def test_a_schema_changed_by_a_test_is_built_again(tmp_path):
    first = _fresh(tmp_path, "one")
    built = _schema_of(first)
    assert {"criterion_score_points_ins", "criterion_score_points_del"} <= {t for t, _ in built[1]}
    with first.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE district DROP COLUMN name"))
        conn.execute(
            sa.text("ALTER TABLE criterion_score DISABLE TRIGGER criterion_score_points_ins")
        )
        conn.execute(sa.text("CREATE TABLE leftover (id integer)"))
    _dispose(first)

    second = _fresh(tmp_path, "two")
    assert _schema_of(second) == built
    _dispose(second)


def test_a_dropped_table_is_built_again(tmp_path):
    first = _fresh(tmp_path, "one")
    with first.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE review_points"))
    _dispose(first)

    second = _fresh(tmp_path, "two")
    with second.app_context(), db.engine.connect() as conn:
        assert "review_points" in sa.inspect(conn).get_table_names()
    _dispose(second)

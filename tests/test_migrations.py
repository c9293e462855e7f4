"""Migrations build the schema on empty SQLite and PostgreSQL, with nothing left pending."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, ROOT, require_postgres


def _flask(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, SCORING_INSTANCE_DIR=str(tmp_path))
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scoring", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _upgrade_and_check(url: str, tmp_path: Path) -> set[str]:
    upgrade = _flask(["db", "upgrade"], url, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    check = _flask(["db", "check"], url, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return tables


EXPECTED = {
    "district",
    "school",
    "user",
    "user_token",
    "reviewer_conflict",
    "competition",
    "rubric_section",
    "criterion",
    "priority",
    "application",
    "application_narrative",
    "application_priority",
    "budget_line",
    "attachment",
    "reviewer_assignment",
    "review",
    "criterion_score",
    "reconciliation_note",
    "ranking_run",
    "ranking_result",
    "award_slate",
    "award_override",
    "audit_event",
    "outbox_message",
    "alembic_version",
}


def test_upgrade_on_empty_sqlite(tmp_path):
    tables = _upgrade_and_check(f"sqlite:///{tmp_path / 'm.sqlite3'}", tmp_path)
    assert EXPECTED <= tables


def test_upgrade_on_empty_postgresql(tmp_path):
    require_postgres()
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    tables = _upgrade_and_check(PG_URL, tmp_path)
    assert EXPECTED <= tables


@pytest.mark.parametrize("backend", ["sqlite"])
def test_foreign_keys_on_in_sqlite(tmp_path, backend):
    url = f"sqlite:///{tmp_path / 'fk.sqlite3'}"
    assert _flask(["db", "upgrade"], url, tmp_path).returncode == 0
    from config import TestConfig
    from scoring import create_app
    from scoring.extensions import db

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    with create_app(Cfg).app_context():
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()

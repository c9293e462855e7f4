"""Backups: a database dumped with pg_dump and restored with pg_restore into another database
ranks to the identical document (README "Backup and restore", issue 11)."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from scoring import create_app
from scoring.extensions import db
from scoring.models import Competition
from scoring.services import ranking
from tests.faults.conftest import PG_PORT, FaultConfig
from tests.faults.helpers import document_without_run, reference_document

pytestmark = pytest.mark.worker

RESTORED = f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/restored"


def _pg(private_pg, tool: str, *args: str) -> None:
    subprocess.run(
        [
            str(private_pg.bin / tool),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def test_a_restored_database_ranks_to_the_identical_document(fault_app, private_pg, tmp_path):
    original = reference_document(fault_app)
    dump = tmp_path / "scoring.dump"
    _pg(private_pg, "pg_dump", "-Fc", "-f", str(dump), "postgres")
    _pg(private_pg, "dropdb", "--if-exists", "restored")
    _pg(private_pg, "createdb", "restored")
    _pg(private_pg, "pg_restore", "--no-owner", "-d", "restored", str(dump))

    class Restored(FaultConfig):
        SQLALCHEMY_DATABASE_URI = RESTORED

    app = create_app(Restored)
    try:
        with app.app_context():
            run = ranking.create_run(db.session.scalar(select(Competition)))
            db.session.commit()
            ranking.execute_run(run.id)
            db.session.commit()
            run_id = run.id
        assert document_without_run(app, run_id) == original
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

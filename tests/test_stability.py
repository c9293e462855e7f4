"""Rank stability stored with a run (docs/stability.md): service, task, CLI, real worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select, update

from config import TestConfig
from scoring import create_app
from scoring.core.ranking import dumps_document
from scoring.core.ranking.stability import seed_from_sha
from scoring.extensions import db
from scoring.models import (
    AuditEvent,
    Competition,
    CriterionScore,
    RankingResult,
    RankingRun,
    RunStatus,
    StabilityResult,
    StabilityRun,
)
from scoring.services import bundles, ranking
from scoring.services.ranking import stability

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"


def done_run(resamples: int | None = None) -> RankingRun:
    """Import the fixture, rank it in process; return the done run."""
    bundles.import_bundle(json.loads(FIXTURE.read_text()))
    run = ranking.create_run(db.session.scalar(select(Competition)))
    db.session.commit()
    ranking.execute_run(run.id)
    db.session.commit()
    return run


def test_service_stores_one_row_per_application_and_is_idempotent(any_app):
    with any_app.app_context():
        run = done_run()
        row = stability.compute_stability(run.id, resamples=300)
        db.session.commit()
        assert (row.status, row.resamples, row.error) == (RunStatus.DONE, 300, None)
        assert row.seed == str(seed_from_sha(run.inputs_sha256))
        records = stability.stability_records(run)
        assert sorted(records) == [f"T-00{i}" for i in range(1, 9)]
        results = db.session.scalars(select(RankingResult).where(RankingResult.run_id == run.id))
        unranked = 0
        for result in results:  # two incomplete, one ineligible: never ranked, never funded
            figures = records[result.ref]
            if result.rank is None:
                unranked += 1
                assert figures["rank_interval"] is None and figures["funded_in"] == 0
            else:
                lo, hi = figures["rank_interval"]
                assert lo <= hi and 0 <= figures["p_funded"] <= 1
        assert unranked == 3
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "ranking.stability")
        )
        assert event.after["resamples"] == 300 and event.after["inputs_sha256"] == run.inputs_sha256
        # a second call leaves the done figures as they are
        again = stability.compute_stability(run.id, resamples=50)
        db.session.commit()
        assert again.id == row.id and again.resamples == 300
        assert stability.stability_records(run) == records
        assert db.session.scalar(select(func.count()).select_from(StabilityResult)) == 8


def test_same_inputs_same_figures_across_runs(any_app):
    with any_app.app_context():
        first = done_run()
        stability.compute_stability(first.id, resamples=200)
        second = ranking.create_run(db.session.scalar(select(Competition)))
        db.session.commit()
        ranking.execute_run(second.id)
        stability.compute_stability(second.id, resamples=200)
        db.session.commit()
        assert second.inputs_sha256 == first.inputs_sha256
        assert stability.stability_records(second) == stability.stability_records(first)


def test_changed_data_or_an_unfinished_run_fails_with_the_reason(any_app):
    with any_app.app_context():
        run = done_run()
        db.session.execute(update(CriterionScore).values(points=CriterionScore.points * 0))
        db.session.commit()
        row = stability.compute_stability(run.id)
        db.session.commit()
        assert row.status == RunStatus.FAILED
        assert row.error == "the reviews or applications changed since this run; rank again"
        assert stability.stability_records(run) is None
        queued = ranking.create_run(db.session.scalar(select(Competition)))
        db.session.commit()
        row = stability.compute_stability(queued.id)
        db.session.commit()
        assert (row.status, row.error) == (
            RunStatus.FAILED,
            f"ranking run {queued.id} is queued, not done",
        )
        assert stability.compute_stability(10**6) is None


@pytest.fixture
def file_app(tmp_path):
    """A file-backed SQLite app (a worker thread and the CLI use separate connections)."""

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        UPLOAD_DIR = tmp_path / "uploads"
        STABILITY_RESAMPLES = 500

    app = create_app(Cfg)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_task_queues_itself_after_a_run_and_cli_prints_it_only_when_asked(file_app):
    """A real in-thread worker: ``rank_competition`` queues ``rank_stability`` after the run."""
    app = file_app
    runner = app.test_cli_runner()
    with app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
    with start_worker(app.extensions["celery"], pool="solo", perform_ping_check=False):
        plain = runner.invoke(args=["rank", "sig-test", "--json"])
        assert plain.exit_code == 0, plain.stderr
        assert "stability" not in json.loads(plain.stdout)
        with_it = runner.invoke(
            args=["rank", "sig-test", "--json", "--stability", "--timeout", "60"]
        )
        assert with_it.exit_code == 0, with_it.stderr
    document = json.loads(with_it.stdout)
    figures = document.pop("stability")
    assert figures["resamples"] == 500
    assert sorted(figures["applications"]) == [f"T-00{i}" for i in range(1, 9)]
    with app.app_context():
        run = db.session.get(RankingRun, document["run"])
        assert figures["seed"] == str(seed_from_sha(run.inputs_sha256))
        assert figures["applications"] == stability.stability_records(run)
        # without the key the document is the result document, byte for byte
        assert dumps_document(document) == dumps_document(ranking.result_document_for_run(run))
    bad = runner.invoke(args=["rank", "sig-test", "--stability"])
    assert bad.exit_code == 1 and bad.stderr.strip() == "Error: --stability goes with --json"


@pytest.mark.worker
def test_a_worker_process_computes_the_stability_after_the_run(worker_app, celery_worker_process):
    from workers.tasks import rank_competition

    with worker_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        run_id = ranking.create_run(db.session.scalar(select(Competition))).id
        db.session.commit()
    rank_competition.delay(run_id)
    deadline, status = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        with worker_app.app_context():
            status = db.session.scalar(
                select(StabilityRun.status).where(StabilityRun.run_id == run_id)
            )
        if status in (RunStatus.DONE, RunStatus.FAILED):
            break
        time.sleep(0.2)
    assert status == RunStatus.DONE
    with worker_app.app_context():
        run = db.session.get(RankingRun, run_id)
        assert run.status == RunStatus.DONE
        stored = stability.stability_records(run)
        # the same figures as computed in this process from the same inputs
        db.session.execute(StabilityRun.__table__.delete().where(StabilityRun.run_id == run_id))
        stability.compute_stability(run_id)
        db.session.commit()
        assert stability.stability_records(run) == stored

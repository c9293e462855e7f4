"""The command line of docs/bundle.md: import, export, rank (--json), explain, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select, update

from config import TestConfig
from scoring import create_app
from scoring.core.ranking import dumps_document
from scoring.extensions import db
from scoring.models import Competition, RankingRun, RunStatus
from scoring.services import ranking

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "small_bundle.json"


@pytest.fixture
def cli_app(tmp_path):
    """A file-backed SQLite app (a worker thread and the CLI use separate connections)."""

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        UPLOAD_DIR = tmp_path / "uploads"

    app = create_app(Cfg)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(cli_app):
    return cli_app.test_cli_runner()


@pytest.fixture
def thread_worker(cli_app):
    """A real Celery worker in a thread, on the app's in-memory broker (no eager mode)."""
    with start_worker(cli_app.extensions["celery"], pool="solo", perform_ping_check=False):
        yield


def one_error_line(result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def imported(runner) -> None:
    result = runner.invoke(args=["bundle", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.stderr


def test_import_prints_one_json_line_and_export_round_trips(runner, tmp_path):
    result = runner.invoke(args=["bundle", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{"competition": "sig-test", "applications": 8, "reviews": 14}'
    ]
    out = tmp_path / "out.json"
    result = runner.invoke(args=["bundle", "export", "sig-test", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    original = json.loads(FIXTURE.read_text())
    assert json.loads(out.read_text()) == original
    result = runner.invoke(args=["bundle", "export", "sig-test"])
    assert json.loads(result.stdout) == original


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            '{"format": "grant-scoring-bundle/1",\n "competition": }',
            "not valid JSON: Expecting value at line 2 column 17",
        ),
        ('{"a": NaN}', "not valid JSON: NaN is not a number JSON allows"),
        (b"\xff\xfe", "not UTF-8 text (byte 0)"),
    ],
)
def test_bad_json_is_one_line_with_its_position(runner, tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = one_error_line(runner.invoke(args=["bundle", "import", str(path)]))
    assert line == f"Error: {path}: {expected}"


def test_refused_import_is_one_line_and_writes_nothing(runner, cli_app, tmp_path):
    data = json.loads(FIXTURE.read_text())
    data["reviews"][12]["scores"]["need.data"] = 5
    data["reviews"][0]["scores"]["plan.goals"] = "9"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data))
    line = one_error_line(runner.invoke(args=["bundle", "import", str(path)]))
    assert line == (
        f"Error: {path}: refused: reviews[0].scores.plan.goals: expected a number, "
        "got a string (and 1 more problem(s))"
    )
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Competition)) == 0


def test_missing_file_and_unknown_slugs(runner):
    assert (
        one_error_line(runner.invoke(args=["bundle", "import", "/nope/x.json"]))
        == "Error: /nope/x.json: no such file"
    )
    for args in (["bundle", "export", "nope"], ["rank", "nope"], ["explain", "nope", "T-1"]):
        assert one_error_line(runner.invoke(args=args)) == "Error: no competition with slug 'nope'"


def test_rank_json_through_a_worker_then_explain(runner, cli_app, thread_worker):
    imported(runner)
    result = runner.invoke(args=["rank", "sig-test", "--json"])
    assert result.exit_code == 0, result.stderr
    with cli_app.app_context():
        run = db.session.scalar(select(RankingRun))
        assert run.status == RunStatus.DONE
        assert result.stdout == dumps_document(ranking.result_document_for_run(run)) + "\n"
    document = json.loads(result.stdout)
    assert [(a["ref"], a["status"], a["award"]) for a in document["applications"][:3]] == [
        ("T-001", "funded", "300000.00"),
        ("T-003", "funded", "250000.00"),
        ("T-002", "partially_funded", "350000.00"),
    ]
    table = runner.invoke(args=["rank", "sig-test"]).stdout.splitlines()
    assert table[0].split() == [
        "rank",
        "ref",
        "school",
        "district",
        "final",
        "status",
        "award",
        "running",
        "total",
    ]
    assert table[2].split() == [
        "1",
        "T-001",
        "0010001",
        "001",
        "86.5000",
        "funded",
        "300,000.00",
        "300,000.00",
    ]
    assert table[6].split() == [
        "3",
        "T-004",
        "0010003",
        "001",
        "80.0000",
        "waitlisted",
        "(district_cap)",
        "0.00",
        "900,000.00",
    ]
    explained = runner.invoke(args=["explain", "sig-test", "T-004"])
    assert explained.exit_code == 0
    assert explained.stdout.startswith("Application T-004 (school 0010003, district 001, tier 2)")
    assert (
        one_error_line(runner.invoke(args=["explain", "sig-test", "T-999"]))
        == "Error: application 'T-999' has no result in ranking run 2"
    )
    # a ranking that fails (a policy the rubric cannot satisfy): one line, exit 1
    with cli_app.app_context():
        db.session.execute(update(Competition).values(tie_breakers=["section:nope"]))
        db.session.commit()
    line = one_error_line(runner.invoke(args=["rank", "sig-test"]))
    assert line == "Error: ranking run 3 failed: tie_breakers[0]: unknown section 'nope'"
    with cli_app.app_context():
        assert db.session.get(RankingRun, 3).status == RunStatus.FAILED


def test_explain_needs_a_completed_run(runner):
    imported(runner)
    assert one_error_line(runner.invoke(args=["explain", "sig-test", "T-001"])) == (
        "Error: competition 'sig-test' has no completed ranking run; run "
        "'flask --app scoring rank sig-test' first"
    )


def test_rank_without_a_worker_times_out_clearly(runner):
    imported(runner)
    line = one_error_line(runner.invoke(args=["rank", "sig-test", "--timeout", "0.3"]))
    assert line == (
        "Error: timed out after 0.3 s waiting for ranking run 1 (still queued); "
        "is a celery worker running?"
    )


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scoring", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_command_line_on_the_embedded_default(tmp_path):
    """`flask --app scoring ...` as a newcomer runs it: SQLite file, tasks in-process."""
    url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CELERY_BROKER_URL", "SCORING_ENV")
    }
    env.update(DATABASE_URL=url, SCORING_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    here = create_app(Cfg)  # the same database file, to set it up and to break it
    with here.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()

    done = _flask(["bundle", "import", str(FIXTURE)], env)
    assert (done.returncode, done.stdout) == (
        0,
        '{"competition": "sig-test", "applications": 8, "reviews": 14}\n',
    )
    ranked = _flask(["rank", "sig-test", "--json"], env)
    assert ranked.returncode == 0, ranked.stderr
    document = json.loads(ranked.stdout)
    assert (document["run"], document["total_awarded"]) == (1, "900000.00")
    assert [a["status"] for a in document["applications"]] == [
        "funded",
        "funded",
        "partially_funded",
        "below_threshold",
        "waitlisted",
        "incomplete",
        "incomplete",
        "ineligible",
    ]
    explained = _flask(["explain", "sig-test", "T-002"], env)
    assert explained.returncode == 0 and "partially_funded" in explained.stdout

    refused = _flask(["bundle", "import", str(FIXTURE)], env)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"Error: {FIXTURE}: refused: competition.slug: a competition 'sig-test' already exists"
    ]

    with here.app_context():  # a policy the rubric cannot satisfy: the ranking fails
        db.session.execute(update(Competition).values(tie_breakers=["section:x"]))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    failed = _flask(["rank", "sig-test"], env)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "Error: ranking run 2 failed: tie_breakers[0]: unknown section 'x'"
    ]

"""`flask --app scoring seed-demo` on a fresh database: the demo a newcomer sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from config import TestConfig
from scoring import clock, create_app
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    Competition,
    District,
    RankingRun,
    RunStatus,
    School,
)
from scoring.services.competitions.phases import phase_of
from tests.conftest import ROOT, AuthActions


def _flask(args, tmp_path):
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        SCORING_INSTANCE_DIR=str(tmp_path),
    )
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "scoring", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("seed")
    assert _flask(["db", "upgrade"], tmp_path).returncode == 0
    result = _flask(["seed-demo"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path, result


def _app(tmp_path):
    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'demo.sqlite3'}"

    return create_app(Cfg)


def test_last_line_lists_accounts_for_every_role(seeded):
    _, result = seeded
    last = result.stdout.strip().splitlines()[-1]
    accounts = json.loads(last)["accounts"]
    assert {a["role"] for a in accounts} >= {"staff", "reviewer", "applicant"}
    assert all(a["email"] and a["password"] for a in accounts)


def test_demo_holds_the_alliance_districts_and_five_rounds_of_four_programs(seeded):
    tmp_path, _ = seeded
    with _app(tmp_path).app_context():
        assert db.session.scalar(select(func.count()).select_from(District)) == 30
        assert db.session.scalar(select(func.count()).select_from(School)) == 90
        now = clock.now()
        phases = {c.slug: phase_of(c, now).key for c in db.session.scalars(select(Competition))}
        assert phases == {
            "1003a-2016-17": "ranked",
            "sig-cohort-4": "ranked",
            "hs-redesign-2016": "ranked",
            "time-cohort-4": "open",
            "1003a-2017-18": "in_review",  # the round a demo reviewer scores now
        }
        # Each demo applicant has a draft in the open round.
        drafts = select(func.count()).select_from(Application)
        assert db.session.scalar(drafts.where(Application.status == ApplicationStatus.DRAFT)) == 2
        programs = set(db.session.scalars(select(Competition.program)))
        assert {p.value for p in programs} == {
            "TIME Collaborative",
            "High School Redesign",
            "1003(a)",
            "SIG",
        }
        assert all(db.session.scalars(select(Competition.rubric_illustrative)))
        runs = db.session.scalars(select(RankingRun)).all()
        assert runs and all(r.status == RunStatus.DONE for r in runs)
        db.engine.dispose()


def test_every_demo_account_lands_on_its_home(seeded):
    tmp_path, result = seeded
    accounts = json.loads(result.stdout.strip().splitlines()[-1])["accounts"]
    app = _app(tmp_path)
    homes = {"staff": "/staff/", "admin": "/staff/", "reviewer": "/review/", "applicant": "/apply/"}
    for account in accounts:
        client = app.test_client()
        response = AuthActions(client).login(account["email"], account["password"])
        assert response.status_code == 302, account
        assert response.headers["Location"] == homes[account["role"]]
        assert client.get(homes[account["role"]]).status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_seeding_twice_is_refused_with_a_clear_message(seeded):
    tmp_path, _ = seeded
    again = _flask(["seed-demo"], tmp_path)
    assert again.returncode != 0
    assert "seed-demo --reset" in again.stderr
    assert "Traceback" not in again.stderr

"""``flask --app scoring users create|list|deactivate`` (docs/cli.md): the first staff account of
a fresh installation, with a one-time set-password link built from PUBLIC_URL; audited with the
actor "cli"; one line on standard error for every mistake. Through Flask's CliRunner on SQLite
and PostgreSQL, and once as the real ``flask`` command in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import AuditEvent, DistrictRole, Role, User
from tests import factories
from tests.conftest import ROOT, AuthActions, csrf_token_from


@pytest.fixture
def app(any_app):
    with any_app.app_context():
        d = factories.district("015", "Bridgeport")
        factories.user(Role.APPLICANT, "first@bridgeport.example.org", d)
        db.session.commit()
    return any_app


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    return line


def test_create_staff_prints_a_one_time_link_from_public_url_that_sets_the_password(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Chief@SDE.example.gov",
            "--role",
            "staff",
            "--can-approve",
            "--name",
            "Chris Chief",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "created staff account chief@sde.example.gov" in result.stdout
    link = result.stdout.strip().splitlines()[-1]
    assert link.startswith("https://grants.example.test/accounts/password/")
    user = _user(app, "chief@sde.example.gov")
    assert user.role == Role.STAFF and user.can_approve and user.password_hash is None
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create"))
        assert event.actor_id is None and event.note == "actor: cli"
        assert event.after["role"] == "staff" and event.after["can_approve"] is True

    # The link works once: choose a password, sign in as staff.
    client = app.test_client()
    path = link.removeprefix("https://grants.example.test")
    token = csrf_token_from(client.get(path, follow_redirects=True).get_data(as_text=True))
    password = "a long and unusual staff passphrase"
    response = client.post(
        "/accounts/password",
        data={"password": password, "confirm": password, "csrf_token": token},
    )
    assert response.status_code == 302
    assert client.get(path).status_code == 400  # used
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": "chief@sde.example.gov", "password": password, "csrf_token": token}
    )
    # The first staff member of a fresh installation sets up two-factor sign-in right away.
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/two-factor"
    AuthActions(client).enrol()
    assert client.get("/staff/").status_code == 200


def test_create_applicant_and_reviewer(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "w@bridgeport.example.org",
            "--role",
            "applicant",
            "--district",
            "015",
            "--district-role",
            "writer",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "writer of Bridgeport" in result.stdout
    assert _user(app, "w@bridgeport.example.org").district_role == DistrictRole.WRITER
    result = runner.invoke(args=["users", "create", "r@example.org", "--role", "reviewer"])
    assert result.exit_code == 0, result.output
    assert _user(app, "r@example.org").role == Role.REVIEWER


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["first@bridgeport.example.org", "--role", "staff"], "already has an account"),
        (["not-an-address", "--role", "staff"], "is not an email address"),
        (["a@b.example.org", "--role", "applicant"], "an applicant needs --district"),
        (["a@b.example.org", "--role", "staff", "--district", "015"], "other roles take none"),
        (["a@b.example.org", "--role", "applicant", "--district", "999"], "no district"),
        (["a@b.example.org", "--role", "reviewer", "--can-approve"], "--can-approve is for staff"),
        (["a@b.example.org", "--role", "staff", "--district-role", "writer"], "for applicants"),
    ],
)
def test_create_refuses_with_one_line_and_creates_nothing(app, runner, args, words):
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(User))
    line = _error(runner.invoke(args=["users", "create", *args]))
    assert words in line
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_list_is_a_table_filtered_by_role(app, runner):
    runner.invoke(args=["users", "create", "s@sde.example.gov", "--role", "staff"])
    out = runner.invoke(args=["users", "list"]).stdout
    assert re.search(r"^email\s+name\s+role\s+district", out, re.M)
    assert "first@bridgeport.example.org" in out and "s@sde.example.gov" in out
    assert "2 account(s)" in out
    out = runner.invoke(args=["users", "list", "--role", "staff"]).stdout
    assert "s@sde.example.gov" in out and "first@bridgeport" not in out
    assert "no password yet" in out and "1 account(s)" in out


def test_deactivate_is_audited_as_cli_and_keeps_the_last_submitter(app, runner):
    line = _error(runner.invoke(args=["users", "deactivate", "first@bridgeport.example.org"]))
    assert "last submitter" in line
    assert _user(app, "first@bridgeport.example.org").active
    _error(runner.invoke(args=["users", "deactivate", "nobody@example.org"]))
    runner.invoke(args=["users", "create", "s@sde.example.gov", "--role", "staff"])
    result = runner.invoke(args=["users", "deactivate", "S@sde.example.gov"])
    assert result.exit_code == 0 and "deactivated s@sde.example.gov" in result.stdout
    assert not _user(app, "s@sde.example.gov").active
    with app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.deactivate")
        )
        assert event.actor_id is None and event.note == "actor: cli"
    out = runner.invoke(args=["users", "list", "--active-only"]).stdout
    assert "s@sde.example.gov" not in out


def test_the_real_flask_command_creates_the_first_staff_account(tmp_path):
    """A fresh installation: ``db upgrade``, then ``users create``, as an operator types them."""
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        SCORING_INSTANCE_DIR=str(tmp_path),
        PUBLIC_URL="https://grants.ct.example",
    )
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    flask = [sys.executable, "-m", "flask", "--app", "scoring"]

    def run(*args):
        return subprocess.run(
            [*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    assert run("db", "upgrade").returncode == 0
    created = run("users", "create", "first.staff@ct.example", "--role", "staff", "--can-approve")
    assert created.returncode == 0, created.stderr
    assert (
        created.stdout.strip()
        .splitlines()[-1]
        .startswith("https://grants.ct.example/accounts/password/")
    )
    listed = run("users", "list", "--role", "staff")
    assert "first.staff@ct.example" in listed.stdout and "yes" in listed.stdout
    again = run("users", "create", "first.staff@ct.example", "--role", "staff")
    assert again.returncode == 1 and again.stderr.strip().startswith("Error:")
    assert "Traceback" not in again.stderr

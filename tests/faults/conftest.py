"""The fault suite's own services, which it may stop and start: a private PostgreSQL cluster
(``initdb`` as a non-root user, port 55432) and a private ``redis-server`` (port 56379, no
persistence), both session-scoped, never the shared ones on 5432/6379. Under pytest-xdist each
worker process gwN that runs fault tests has its own pair, on ports 55432+N and 56379+N.

Under ``CI=true`` these tests must run: a missing ``initdb``/``redis-server`` or a missing
non-root user fails them instead of skipping.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestConfig, celery_settings
from scoring import create_app
from scoring.extensions import db
from tests.conftest import CI, ROOT, WORKER_INDEX, start_worker_process, stop_worker_process

PG_PORT, REDIS_PORT = 55432 + WORKER_INDEX, 56379 + WORKER_INDEX
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/postgres"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
FIXTURE = ROOT / "tests" / "fixtures" / "small_bundle.json"
#: Short lease and relay times, so a lost run is requeued within seconds.
FAST = {
    "RUN_LEASE_SECONDS": "4",
    "RELAY_AFTER_SECONDS": "1",
    "RELAY_INTERVAL_SECONDS": "1",
    "MAIL_RETRY_SECONDS": "1",
    "CELERY_VISIBILITY_TIMEOUT": "15",
}


def _missing(what: str) -> None:
    if CI:
        pytest.fail(f"{what} (CI=true: the fault suite must run)")
    pytest.skip(what)


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class PrivatePostgres:
    """A throw-away cluster owned by the ``postgres`` (non-root) user; ``stop()`` is a fast
    shutdown, so open sessions get ``AdminShutdown`` as in a real outage."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            _missing("initdb is not installed (apt-get install postgresql)")
        self.bin = bins[-1].parent
        self.user = "postgres"
        try:
            owner = pwd.getpwnam(self.user)
        except KeyError:
            _missing("no non-root 'postgres' user for initdb")
        self.base = Path(tempfile.mkdtemp(prefix="fault-pg-"))
        os.chmod(self.base, 0o755)
        self.data, self.log = self.base / "data", self.base / "pg.log"
        os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._as_user(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _as_user(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, cwd=self.base)

    def start(self) -> None:
        opts = (
            f"-p {PG_PORT} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._as_user(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_user(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if _up(PG_PORT):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis:
    def __init__(self) -> None:
        self.exe = shutil.which("redis-server")
        if not self.exe:
            _missing("redis-server is not installed")
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _up(REDIS_PORT), 10, "redis-server")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        _wait(lambda: not _up(REDIS_PORT), 10, "redis-server to stop")


@pytest.fixture(scope="session")
def private_pg():
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture(scope="session")
def private_redis():
    r = PrivateRedis()
    r.start()
    yield r
    r.stop()


class FaultConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = PG_URL
    CELERY = celery_settings(REDIS_URL)
    TASKS_EMBEDDED = False
    RATELIMIT_STORAGE_URI = REDIS_URL
    RUN_LEASE_SECONDS = 4
    RELAY_AFTER_SECONDS = 1
    MAIL_RETRY_SECONDS = 1
    DB_CONNECT_TIMEOUT = 2


@pytest.fixture
def fault_app(private_pg, private_redis, tmp_path):
    """The app on the private PostgreSQL and Redis, an empty schema, the small bundle loaded."""
    if not _up(PG_PORT):
        private_pg.start()
    if private_redis.proc is None or private_redis.proc.poll() is not None:
        private_redis.start()
    import redis

    redis.Redis.from_url(REDIS_URL).flushall()

    class Cfg(FaultConfig):
        UPLOAD_DIR = tmp_path / "uploads"

    app = create_app(Cfg)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        db.create_all()
        from scoring.services import bundles

        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def fault_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=PG_URL, REDIS_URL=REDIS_URL, PYTHONPATH=str(ROOT), **FAST)
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra or {})
    return env


class Workers:
    """Worker processes (each with the relay's beat embedded, ``-B``) a test starts and kills."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path, self.procs = tmp_path, []

    def start(self, **env: str):
        schedule = self.tmp_path / f"beat-{len(self.procs)}"
        proc, log = start_worker_process(
            self.tmp_path, "-B", "-s", str(schedule), env=fault_env(env)
        )
        self.procs.append((proc, log))
        return proc, log

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            stop_worker_process(proc)


@pytest.fixture
def workers(fault_app, tmp_path):
    w = Workers(tmp_path)
    yield w
    w.stop_all()

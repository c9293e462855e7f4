"""Shared fixtures: apps on SQLite and PostgreSQL, a real Celery worker on Redis, a browser.

With ``CI=true`` every test that needs PostgreSQL, Redis or a real worker runs and never skips:
a service that cannot be reached fails the test instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest

from config import TestConfig, celery_settings
from scoring import create_app
from scoring.extensions import db

ROOT = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").lower() == "true"
#: Under pytest-xdist each worker process ("gw0", "gw1", ...) has a database and a Redis db of
#: its own, derived from TEST_PG_URL / TEST_REDIS_URL (see ``_per_worker``); "" without xdist.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
#: N of worker "gwN" (0 without xdist): the fault suite's private servers listen on ports + N.
WORKER_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0


def _per_worker(pg_url: str, redis_url: str) -> tuple[str, str]:
    """Worker gwN uses database ``<name>_gwN`` and Redis db ``(<db> + N) % 16``."""
    if not XDIST_WORKER.startswith("gw"):
        return pg_url, redis_url
    from sqlalchemy.engine import make_url

    pg = make_url(pg_url)
    pg = pg.set(database=f"{pg.database}_{XDIST_WORKER}")
    base, _, number = redis_url.rpartition("/")
    redis_db = (int(number or 0) + WORKER_INDEX) % 16
    return pg.render_as_string(hide_password=False), f"{base}/{redis_db}"


PG_URL, REDIS_URL = _per_worker(
    os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12"),
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a service is down on a developer's machine; fail under CI."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if CI:
        pytest.fail(message + " (CI=true: tests needing it must run)")
    pytest.skip(message)


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    _create_worker_database()


def _create_worker_database() -> None:
    """Under xdist: create this worker's database (``<name>_gwN``) the first time it is needed."""
    if not XDIST_WORKER or _PG_STATE.get("database"):
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        )
        if not found:
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()
    _PG_STATE["database"] = url.database


def require_redis() -> None:
    require_service("Redis", "127.0.0.1", 6379)


class SqliteConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite://"


class PostgresConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = PG_URL


class PostgresRedisConfig(PostgresConfig):
    """The production path: PostgreSQL and a Redis broker served by separate worker processes."""

    CELERY = celery_settings(REDIS_URL)
    TASKS_EMBEDDED = False


#: This process's PostgreSQL schema: the fingerprint of the schema ``create_all`` built last.
_PG_STATE: dict[str, str] = {}

#: One digest of everything in the database's own schemas that ``create_all`` makes (tables,
#: columns, defaults, constraints, indexes, sequences, triggers and whether they are enabled,
#: functions, types): a test that dropped, altered or added anything changes it.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT concat_ws(':', 'n', nspname) FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
  UNION ALL
  SELECT concat_ws(':', 'r', c.relname, c.relkind)
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'a', a.attrelid::regclass, a.attname,
                   format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relnamespace = 'public'::regnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(':', 'k', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'i', indexdef) FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT concat_ws(':', 't', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'f', p.oid::regprocedure, md5(p.prosrc))
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'y', t.typname, (
           SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
             FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
) AS schema(item)
"""


#: RESTART IDENTITY for every sequence of the schema: the next id is the sequence's start.
_RESTART_SEQUENCES = """
SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'public'::regnamespace
"""


def _reset_postgres() -> None:
    """An empty public schema (the tests own the `test` database)."""
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _empty_postgres() -> None:
    """Every table of the app, empty, with its identities restarted, as ``create_all`` left it.

    The schema is built once per test process; between tests every row of every table is
    deleted and every sequence restarted (no row of one test is ever seen by the next). When
    the schema differs in any way from the one this process built (a migration test, a test
    that dropped or altered something, a run of other code on the same database), it is
    dropped and built again.
    """
    import sqlalchemy as sa

    expected = _PG_STATE.get("fingerprint")
    if expected is not None:
        with db.engine.connect() as conn:
            found = conn.scalars(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).all()
            ordered = list(reversed(db.metadata.sorted_tables))  # children before parents
            if sorted(found) == sorted(t.name for t in ordered) and (
                conn.scalar(sa.text(_FINGERPRINT)) == expected
            ):
                # DELETE (a few ms) rather than TRUNCATE (~0.5 s for 33 tables and their files)
                conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in ordered))
                conn.execute(sa.text(_RESTART_SEQUENCES)).all()
                conn.commit()
                return
    db.engine.dispose()
    _reset_postgres()
    db.create_all()
    with db.engine.connect() as conn:
        _PG_STATE["fingerprint"] = conn.scalar(sa.text(_FINGERPRINT))


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app of this test process (each test
    builds its own app, whose environment would otherwise compile each template again); Jinja
    checks each entry against the template's source before using it."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Jinja's hook: fill ``bucket`` with the code compiled before, if any."""
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Jinja's hook: keep the code just compiled."""
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def _make_app(config_class, tmp_path: Path):
    class Cfg(config_class):
        UPLOAD_DIR = tmp_path / "uploads"
        EXPORT_DIR = tmp_path / "exports"

    app = create_app(Cfg)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            _empty_postgres()
        else:
            db.create_all()
    return app


def _dispose(app) -> None:
    """Close the app's connections; on PostgreSQL the next test empties the tables (or builds
    the schema again, see ``_empty_postgres``), on SQLite in memory the database goes away."""
    with app.app_context():
        db.session.remove()
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    """The app on SQLite in memory."""
    app = _make_app(SqliteConfig, tmp_path)
    yield app
    _dispose(app)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request, tmp_path):
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "postgresql":
        require_postgres()
        app = _make_app(PostgresConfig, tmp_path)
    else:
        app = _make_app(SqliteConfig, tmp_path)
    yield app
    _dispose(app)


@pytest.fixture
def pg_app(tmp_path):
    require_postgres()
    app = _make_app(PostgresConfig, tmp_path)
    yield app
    _dispose(app)


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form (or the meta tag) of a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """Sign in and out through the real login form, CSRF token included (flaskr's AuthActions)."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, email: str, password: str, follow: bool = False):
        """Password, then (staff and anyone enrolled) the two-factor step, as a browser does."""
        response = self.password(email, password)
        location = response.headers.get("Location", "") if response.status_code == 302 else ""
        if location.startswith("/login/code"):
            response = self.code(email, follow=follow)
        elif location.startswith("/accounts/two-factor"):
            response = self.enrol(follow=follow)
        elif follow:
            response = self._client.get(location, follow_redirects=True) if location else response
        return response

    def password(self, email: str, password: str):
        """The first step only: the sign-in form with email and password."""
        page = self._client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def code(self, email: str, follow: bool = False, code: str | None = None):
        """The code step with the next unused code of ``email``'s app (the clock moved on to
        its time step if this test already used the current one)."""
        page = self._client.get("/login/code")
        token = csrf_token_from(page.get_data(as_text=True))
        with totp_step(self._client.application, email) as fresh:
            return self._client.post(
                "/login/code",
                data={"code": code or fresh, "csrf_token": token},
                follow_redirects=follow,
            )

    def enrol(self, follow: bool = False):
        """Set up two-factor sign-in from the enrolment page (reads the key shown there)."""
        page = self._client.get("/accounts/two-factor").get_data(as_text=True)
        secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        import pyotp

        from scoring import clock

        response = self._client.post(
            "/accounts/two-factor",
            data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_token_from(page)},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return self._client.get("/", follow_redirects=follow)

    def logout(self):
        page = self._client.get("/", follow_redirects=True)
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post("/logout", data={"csrf_token": token})


@contextmanager
def totp_step(app, email: str):
    """The code of ``email``'s authenticator app for the first time step not used yet; the
    service's clock is moved to that step while the block runs if it is not the current one."""
    import pyotp

    from scoring import clock
    from scoring.services.accounts import users

    with app.app_context():
        user = users.find_by_email(email)
        secret, last = user.totp_secret, user.totp_last_counter
    totp = pyotp.TOTP(secret)
    now = clock.now()
    step = max(totp.timecode(now), (last or 0) + 1)
    if step == totp.timecode(now):
        yield totp.generate_otp(step)
        return
    with clock.frozen(datetime.fromtimestamp(step * totp.interval + 1, UTC)):
        yield totp.generate_otp(step)


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- A real Celery worker process on Redis, against PostgreSQL -------------------------------


@pytest.fixture
def worker_app(tmp_path):
    """App on PostgreSQL with Redis as the broker (tasks run only in a worker process)."""
    require_postgres()
    require_redis()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = _make_app(PostgresRedisConfig, tmp_path)
    yield app
    _dispose(app)


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=PG_URL,
        REDIS_URL=REDIS_URL,
        PYTHONPATH=str(ROOT),
        CELERY_VISIBILITY_TIMEOUT="15",
    )
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra or {})
    return env


def start_worker_process(tmp_path: Path, *extra_args: str, env: dict[str, str] | None = None):
    """Start ``celery -A workers.celery_app worker`` and wait until it is ready."""
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-l",
            "INFO",
            "-c",
            "1",
            "-P",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *extra_args,
        ],
        cwd=ROOT,
        env=env or worker_env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "ready." in log.read_text(errors="replace"):
            return proc, log
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("celery worker did not start:\n" + log.read_text(errors="replace")[-4000:])


def stop_worker_process(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def celery_worker_process(worker_app, tmp_path):
    proc, log = start_worker_process(tmp_path)
    yield proc
    stop_worker_process(proc)


# --- A live server and a real browser (Debian's chromium via Playwright) --------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def live_app(tmp_path):
    """The embedded default (file SQLite, tasks in-process) served by a threaded server."""
    from config import Config

    class LiveConfig(Config):
        TESTING = True
        SECRET_KEY = "live-test"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'live.sqlite3'}"
        UPLOAD_DIR = tmp_path / "uploads"
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True
        RATELIMIT_STORAGE_URI = "memory://"
        MAIL_SERVER = None

    app = create_app(LiveConfig)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        db.create_all()
    _LIVE_APP[:] = [app]
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


_LIVE_APP: list = []  # the app the live server serves (its database holds the users' keys)


def pass_second_factor(page, email: str) -> None:
    """In the browser, after the password: type the code (or set up two-factor sign-in, reading
    the key from the page as a person would read it into their app), as staff must."""
    import pyotp

    from scoring import clock

    page.wait_for_load_state()
    if page.url.endswith("/login/code"):
        with totp_step(_LIVE_APP[0], email) as code, page.expect_navigation():
            page.fill("#code", code)
            page.click("form button[type=submit]")
    elif page.url.endswith("/accounts/two-factor"):
        secret = page.inner_text("#secret").replace(" ", "")
        with page.expect_navigation():
            page.fill("#code", pyotp.TOTP(secret).at(clock.now()))
            page.click("form button[type=submit]")
        with page.expect_navigation():
            page.get_by_role("link", name="I have kept them: continue").click()
    page.wait_for_load_state()


@pytest.fixture
def live_server(live_app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    live_app.config["PUBLIC_URL"] = base  # links in mail point at this server
    yield base
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail("chromium is not installed (CI=true: browser tests must run)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()

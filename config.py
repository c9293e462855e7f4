"""Configuration: the embedded default and the production setting, chosen by environment variables.

Embedded default (nothing set): SQLite file under ``instance/``, Celery tasks run in-process.
Production: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (Redis broker; ``CELERY_BROKER_URL``
overrides it). With a broker configured, tasks run only in separate ``celery worker`` processes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SCORING_INSTANCE_DIR", BASE_DIR / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'scoring.sqlite3'}"
    # Heroku-style URLs and plain postgresql:// both go through psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: The hard time limit of every task (seconds); the broker's visibility_timeout sits above it.
TASK_TIME_LIMIT = 1800


def celery_settings(broker_url: str | None) -> dict:
    """Celery settings; ``broker_url=None`` means the embedded, in-process mode."""
    common = {
        "include": ["workers.tasks"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "task_time_limit": TASK_TIME_LIMIT,
        "task_soft_time_limit": TASK_TIME_LIMIT - 100,
        # A publish while the broker is away gives up within about a second (the request
        # succeeds; the work is a committed row and the relay sends it later).
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # The relay (services/recovery.py) runs under `celery -A workers.celery_app beat`.
        "beat_schedule": {
            "relay": {
                "task": "workers.tasks.relay",
                "schedule": float(os.environ.get("RELAY_INTERVAL_SECONDS", "15")),
            }
        },
    }
    if broker_url is None:
        # Embedded default only: no broker to install, tasks run in the calling process.
        # The state a user sees (RankingRun.status, outbox) lives in the database either way.
        return common | {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "task_always_eager": True,
            "task_eager_propagates": False,
        }
    return common | {
        "broker_url": broker_url,
        "result_backend": None,
        # Redis has no real acks: a message a dead worker held comes back after
        # visibility_timeout, which must exceed the longest task's hard limit (else a long run
        # is delivered twice). README "Production: Redis and Celery".
        "broker_transport_options": {
            "visibility_timeout": int(
                os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(TASK_TIME_LIMIT + 600))
            ),
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
    }


def _host_list(value: str | None) -> list[str] | None:
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    return hosts or None


def _broker_url() -> str | None:
    return os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or None


class Config:
    """Settings shared by every mode, read from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = _database_url()
    # pool_pre_ping: a connection the database dropped is replaced, not handed to a request.
    # PostgreSQL also gets connect_timeout (scoring.register_extensions) and, in web requests,
    # statement_timeout, so a request never hangs as long as the database does.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
    WEB_STATEMENT_TIMEOUT_MS = int(os.environ.get("WEB_STATEMENT_TIMEOUT_MS", "30000"))
    CELERY = celery_settings(_broker_url())
    TASKS_EMBEDDED = _broker_url() is None

    #: argon2id parameters of new password hashes; None: argon2-cffi's defaults (RFC 9106's
    #: low-memory choice: 64 MiB, 3 passes, 4 lanes).
    PASSWORD_HASH_PARAMS: dict[str, int] | None = None

    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis away: limits are kept in memory (logged once) instead of failing every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}

    # Reliability (README "Nothing stuck, nothing lost"): a running ranking run's lease, the
    # attempts before it is failed, how long a queued run or new mail waits before the relay
    # sends it again, and the mail retries.
    RUN_LEASE_SECONDS = float(os.environ.get("RUN_LEASE_SECONDS", "60"))
    RUN_MAX_ATTEMPTS = int(os.environ.get("RUN_MAX_ATTEMPTS", "3"))
    RELAY_AFTER_SECONDS = float(os.environ.get("RELAY_AFTER_SECONDS", "30"))
    MAIL_RETRY_SECONDS = float(os.environ.get("MAIL_RETRY_SECONDS", "60"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
    #: No worker seen for this long: the run page and /api/health say so.
    WORKER_SILENT_SECONDS = float(os.environ.get("WORKER_SILENT_SECONDS", "60"))

    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    MAX_FORM_PARTS = 2000
    #: The longest a budget workbook upload is read for, in seconds (issue 12).
    WORKBOOK_PARSE_SECONDS = float(os.environ.get("WORKBOOK_PARSE_SECONDS", "5"))
    UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", INSTANCE_DIR / "uploads"))
    # Export files built by the worker, kept with their run; staff download them when ready.
    EXPORT_DIR = Path(os.environ.get("EXPORT_DIR", INSTANCE_DIR / "exports"))
    # Exports up to this many rows are written straight into the response; bigger ones are
    # built by the worker (award list and board: applications; score detail: score rows).
    EXPORT_DIRECT_MAX_ROWS = int(os.environ.get("EXPORT_DIRECT_MAX_ROWS", "20000"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    # Sign-in security (docs/security.md): a session ends after this long without a request,
    # and this long after sign-in whatever happens; a lockout for one account from one address
    # grows 1, 2, 4 ... minutes up to this.
    SESSION_IDLE_MINUTES = float(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = float(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    LOGIN_LOCK_MAX_MINUTES = int(os.environ.get("LOGIN_LOCK_MAX_MINUTES", "60"))

    MAIL_SERVER = os.environ.get("MAIL_SERVER")  # None: mail is written to the log
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_FROM = os.environ.get("MAIL_FROM", "grants@scoring.local")

    TIMEZONE = "America/New_York"
    # How often the application form's script autosaves a changed draft (static/draft_autosave.js).
    AUTOSAVE_SECONDS = float(os.environ.get("AUTOSAVE_SECONDS", "60"))
    PREFERRED_URL_SCHEME = "http"
    # The address users reach the service at: every link in a mail is built from it, never from
    # the request's Host header (reset-link poisoning).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # Requests naming another Host are refused with 400 (Flask's TRUSTED_HOSTS); comma-separated.
    TRUSTED_HOSTS = _host_list(os.environ.get("TRUSTED_HOSTS"))
    # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (ProxyFix). 0 trusts
    # none; behind the README's one HTTPS proxy set PROXY_COUNT=1. A wrong count lets clients
    # choose their own address (and so their rate-limit budget).
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Settings without which the app refuses to start (production).
    REQUIRED_SETTINGS: tuple[str, ...] = ()
    # Bootstrap resamples of the rank stability after each run (docs/stability.md).
    STABILITY_RESAMPLES = int(os.environ.get("STABILITY_RESAMPLES", "1000"))


class ProductionConfig(Config):
    """Behind HTTPS: secure cookies with the __Host- prefix (ASVS 3.3.1)."""

    SECRET_KEY = os.environ.get("SECRET_KEY")  # no default: the app refuses to start without it
    PUBLIC_URL = os.environ.get("PUBLIC_URL")
    REQUIRED_SETTINGS = ("SECRET_KEY", "PUBLIC_URL")
    TRUSTED_HOSTS = _host_list(os.environ.get("TRUSTED_HOSTS")) or _host_list(
        urlsplit(os.environ.get("PUBLIC_URL") or "").hostname
    )
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    """Tests: a database from TEST_DATABASE_URL (SQLite in memory by default)."""

    TESTING = True
    SECRET_KEY = "test-secret"
    PUBLIC_URL = "https://grants.example.test"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_SERVER = None
    #: argon2id at its smallest cost: the tests check what is hashed and when, not the cost
    #: (production keeps argon2-cffi's defaults, 64 MiB and 3 passes, ~0.1 s a hash and login).
    PASSWORD_HASH_PARAMS = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
    # No task_always_eager in tests (Celery's testing guide): .delay() puts the message on the
    # in-memory broker, and a test runs it with a real in-thread worker or calls the task itself.
    CELERY = celery_settings("memory://")
    TASKS_EMBEDDED = False


def config_for_environment() -> type[Config]:
    """Pick the config class from ``SCORING_ENV`` (``production`` or the default)."""
    return ProductionConfig if os.environ.get("SCORING_ENV") == "production" else Config

"""The JSON API (read-only); errors come back as JSON."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from scoring import clock
from scoring.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api")


def _broker_ok() -> tuple[bool, str]:
    """Whether the Celery broker answers (the embedded mode has none to ask)."""
    if current_app.config.get("TASKS_EMBEDDED"):
        return True, "embedded"
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any failure to reach it is "down"
        return False, f"unreachable: {str(exc)[:200]}"


@bp.route("/health")
def health():
    """The database, the broker, the last worker heartbeat and the oldest queued run's age:
    200 when the database and the broker answer, else 503 (for a load balancer)."""
    from scoring.services import recovery

    now, body = clock.now(), {}
    try:
        db.session.execute(text("SELECT 1"))
        seen, oldest = recovery.last_worker_seen(), recovery.oldest_queued_run()
        db.session.rollback()
        body["database"] = "ok"
        body["last_worker_seen_seconds"] = (
            None if seen is None else round((now - seen).total_seconds())
        )
        body["oldest_queued_run_seconds"] = (
            None if oldest is None else round((now - oldest).total_seconds())
        )
        silent = timedelta(seconds=current_app.config.get("WORKER_SILENT_SECONDS", 60))
        body["worker"] = "ok" if seen is not None and now - seen <= silent else "silent"
    except Exception as exc:  # the database is away
        try:
            db.session.rollback()
        except Exception:  # the connection is gone with it
            pass
        body["database"] = f"unreachable: {str(exc).splitlines()[0][:200]}"
    broker_ok, body["broker"] = _broker_ok()
    healthy = body["database"] == "ok" and broker_ok
    body["status"] = "ok" if healthy else "degraded"
    return jsonify(body), 200 if healthy else 503

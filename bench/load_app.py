"""The app that bench/load.py serves with gunicorn: the real app, with the login rate limit off
(50 simulated people sign in from one loopback address), its PostgreSQL connections named
``bench_load`` (load.py reads their backends' CPU), plus one bare Flask route (no database, no
template, no session), the baseline of the same server. For benchmarks only."""

from __future__ import annotations

from config import Config
from scoring import create_app


class LoadConfig(Config):
    """The real configuration with the login rate limit off."""

    RATELIMIT_ENABLED = False
    SQLALCHEMY_ENGINE_OPTIONS = {
        **Config.SQLALCHEMY_ENGINE_OPTIONS,
        "connect_args": {"application_name": "bench_load"},
    }


app = create_app(LoadConfig)


@app.route("/bench/bare")
def bare():
    """The baseline: a bare route of the same server (no database, template or session)."""
    return "ok"

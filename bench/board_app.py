"""The app that bench/bench_board.py serves with gunicorn: the real app (login rate limit off),
plus one bare Flask route (no database, no template, no session) timed as the baseline of the
same server. For benchmarks only."""

from __future__ import annotations

from config import Config
from scoring import create_app


class BoardBenchConfig(Config):
    """The real configuration with the login rate limit off."""

    RATELIMIT_ENABLED = False


app = create_app(BoardBenchConfig)


@app.route("/bench/bare")
def bare():
    """The baseline: a bare route of the same server."""
    return "ok"

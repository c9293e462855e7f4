"""The app that bench/load.py serves with gunicorn: the real app, with the login rate limit off
(50 simulated people sign in from one loopback address). For benchmarks only."""

from __future__ import annotations

from config import Config
from scoring import create_app


class LoadConfig(Config):
    """The real configuration with the login rate limit off."""

    RATELIMIT_ENABLED = False


app = create_app(LoadConfig)

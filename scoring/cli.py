"""Command-line commands: ``flask --app scoring seed-demo``, ``bundle``, ``rank``, ``explain``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from scoring.seed import seed_demo_command

    app.cli.add_command(seed_demo_command)
    from scoring.ranking_cli import register as register_ranking; register_ranking(app)  # noqa: E702

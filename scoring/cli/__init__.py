"""The command line, ``flask --app scoring <command>`` (each module imports what it needs lazily):

seed.py     seed-demo [--reset]
bundle.py   bundle import PATH, bundle export SLUG [-o FILE]
rank.py     rank SLUG [--json [--stability]] [--timeout S], explain SLUG REF
ops.py      ops recover (requeue lapsed runs, resend due work)
users.py    users create EMAIL --role ROLE, users list, users deactivate EMAIL
common.py   one line on standard error for a user's mistake, never a traceback
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add the commands to ``flask --app scoring``."""
    from scoring.cli.bundle import bundle_cli
    from scoring.cli.ops import ops_cli
    from scoring.cli.rank import explain_command, rank_command
    from scoring.cli.seed import seed_demo_command
    from scoring.cli.users import users_cli

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(bundle_cli)
    app.cli.add_command(rank_command)
    app.cli.add_command(explain_command)
    app.cli.add_command(ops_cli)
    app.cli.add_command(users_cli)

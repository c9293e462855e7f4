"""``flask --app scoring seed-demo [--reset]``: load the demo (``scoring/demo.py``) into the
database.

The last line printed is one JSON object listing the demo accounts.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import Competition


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Drop every table and seed again.")
def seed_demo_command(reset: bool) -> None:
    """Load demo data; the last line printed is a JSON object with the demo accounts."""
    from scoring import demo

    if reset:
        from flask_migrate import upgrade
        from sqlalchemy import text

        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade()
    if db.session.scalar(select(func.count()).select_from(Competition)):
        raise click.ClickException(
            "The database already has competitions; run `flask --app scoring seed-demo --reset` "
            "to start the demo again (this deletes everything)."
        )
    accounts = demo.seed_demo()
    db.session.commit()
    demo.rank_seeded()
    current_app.logger.info("demo data loaded")
    click.echo("Demo data loaded. Every rubric, amount and application is illustrative [I].")
    click.echo(
        json.dumps(
            {
                "accounts": [
                    {k: a[k] for k in ("role", "email", "password", "totp_secret") if k in a}
                    for a in accounts
                ]
            }
        )
    )

"""``flask --app scoring ops recover``: what the periodic relay does, once, by hand.

Requeues ranking runs whose lease lapsed and sends the queued runs and the due mail the broker
never got (``services.recovery``); prints what it did. Safe to run at any time, any number of
times: every task is idempotent.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from scoring.cli.common import database_errors
from scoring.extensions import db


@click.group("ops")
def ops_cli() -> None:
    """Operations: recover work the broker or a dead worker lost."""


@ops_cli.command("recover")
@with_appcontext
@database_errors
def recover_command() -> None:
    """Requeue runs whose lease lapsed; resend queued runs and due mail to the broker."""
    from scoring.services import recovery
    from workers.tasks import rank_competition, send_all, send_mail

    due = recovery.collect_due()
    db.session.commit()
    runs = send_all(rank_competition, due.run_ids)
    mails = send_all(send_mail, due.message_ids)
    click.echo(
        f"requeued {len(due.requeued_run_ids)} run(s) whose lease lapsed; "
        f"sent {runs} of {len(due.run_ids)} run(s) and {mails} of {len(due.message_ids)} mail(s)"
        " to the broker"
    )
    if runs < len(due.run_ids) or mails < len(due.message_ids):
        raise click.ClickException("the broker is not reachable; run this again when it is")

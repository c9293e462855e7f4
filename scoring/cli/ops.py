"""``flask --app scoring ops recover``: what the periodic relay does, once, by hand.

Requeues ranking runs whose lease lapsed and sends the queued runs, the due mail and the extra
reviewers asked for that the broker never got (``services.recovery``); prints what it did. Safe
to run at any time, any number of times: every task is idempotent.
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
    from workers.tasks import assign_extra_reviewer, rank_competition, send_all, send_mail

    due = recovery.collect_due()
    db.session.commit()
    runs = send_all(rank_competition, due.run_ids)
    mails = send_all(send_mail, due.message_ids)
    extra = send_all(assign_extra_reviewer, due.extra_reviewers)
    click.echo(
        f"requeued {len(due.requeued_run_ids)} run(s) whose lease lapsed; "
        f"sent {runs} of {len(due.run_ids)} run(s), {mails} of {len(due.message_ids)} mail(s) "
        f"and {extra} of {len(due.extra_reviewers)} extra reviewer request(s) to the broker"
    )
    if (runs, mails, extra) != (len(due.run_ids), len(due.message_ids), len(due.extra_reviewers)):
        raise click.ClickException("the broker is not reachable; run this again when it is")

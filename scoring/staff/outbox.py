"""Staff: mail that could not be delivered after every retry, with "Send again"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Role
from scoring.services import mail
from scoring.staff.forms import ConfirmForm
from scoring.staff.views import bp
from scoring.web import current_actor, send_after_commit


@bp.route("/outbox")
@role_required(Role.STAFF)
def outbox():
    """Messages that failed for good (after ``MAIL_MAX_ATTEMPTS``), newest first."""
    return render_template(
        "staff/outbox.html", messages=mail.failed_messages(), form=ConfirmForm(), c=None
    )


@bp.route("/outbox/<int:message_id>/send-again", methods=["POST"])
@role_required(Role.STAFF)
def outbox_send_again(message_id: int):
    """Put a failed message back in the queue with fresh attempts (audited)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    message = mail.send_again(message_id, actor=current_actor())
    db.session.commit()
    if message is None:
        flash("That message is not waiting to be sent again.", "info")
    else:
        send_after_commit([message.id])
        flash(f"The message to {message.to_addr} is queued again.", "info")
    return redirect(url_for(".outbox"))

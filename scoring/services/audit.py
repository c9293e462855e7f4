"""Recording the audit trail: one event per change, committed with it (read it with
:mod:`scoring.services.audit_log`)."""

from __future__ import annotations

from typing import Any

from scoring.extensions import db
from scoring.models import AuditEvent, User
from scoring.runtime import request_id


def record(
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    actor: User | None = None,
    competition_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session (the caller's transaction commits it with the change)."""
    event = AuditEvent(
        action=action,
        entity=entity,
        entity_id=entity_id,
        actor_id=actor.id if actor is not None else None,
        competition_id=competition_id,
        before=before,
        after=after,
        note=note,
        request_id=request_id(),
    )
    db.session.add(event)
    return event

"""The "add a reviewer" task runs in a real celery worker process on Redis, against PostgreSQL."""

from __future__ import annotations

import time

import pytest

from scoring.extensions import db
from scoring.models import AssignmentStatus, AuditEvent, ReviewerAssignment
from tests import review_support as rs

pytestmark = pytest.mark.worker


def test_a_real_worker_adds_the_extra_reviewer_after_the_commit(worker_app, celery_worker_process):
    app = worker_app
    world = rs.build(app)
    rs.submitted_review(app, world.apps["SIG-003"], world.users["r3"], [10, 5, 15])
    rs.submitted_review(app, world.apps["SIG-003"], world.users["r4"], [1, 1, 1])
    client = app.test_client()
    rs.login(client, world.emails["staff"])
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-003']}"
    response = rs.post(client, url + "/extra", {"back": "application"}, token_from=url)
    assert response.status_code == 302
    deadline, rows = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        with app.app_context():
            rows = db.session.scalars(
                db.select(ReviewerAssignment).filter_by(
                    application_id=world.apps["SIG-003"], status=AssignmentStatus.ASSIGNED
                )
            ).all()
            rows = [(r.reviewer_id, r.id) for r in rows]
        if len(rows) == 3:
            break
        time.sleep(0.2)
    assert len(rows) == 3, "the worker did not add the reviewer"
    added = [rid for rid, _ in rows if rid not in (world.users["r3"], world.users["r4"])]
    assert added == [
        world.users["r1"]
    ]  # New Haven application: r1 and r2 eligible, equal load, lower id
    with app.app_context():
        assert (
            db.session.scalar(db.select(AuditEvent).filter_by(action="assignment.extra_requested"))
            is not None
        )
        creates = db.session.scalars(
            db.select(AuditEvent).filter_by(action="assignment.create")
        ).all()
        assert [e.after["method"] for e in creates] == ["discrepancy"]

"""The access rule's per-request memo (``scoring/services/access.py``): within one request the
reviewer rule reads the assignment and the blocked districts once, and forgets them as soon as
the session writes (a flushed change, a bulk statement), commits or rolls back, and when the
request ends. Run on SQLite and PostgreSQL on the demo's round in review."""

from __future__ import annotations

from sqlalchemy import event, select, update

from scoring import demo
from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    User,
)
from scoring.services import access


def _draft(app) -> tuple[int, int]:
    """(reviewer id, assignment id) of reviewer1's declared draft in the round in review."""
    with app.app_context():
        demo.seed_demo()
        db.session.commit()
        reviewer = db.session.scalar(select(User).where(User.email == "reviewer1@demo.scoring"))
        assignment_id = db.session.scalar(
            select(ReviewerAssignment.id)
            .join(
                Review,
                (Review.application_id == ReviewerAssignment.application_id)
                & (Review.reviewer_id == reviewer.id),
            )
            .where(ReviewerAssignment.reviewer_id == reviewer.id)
            .where(Review.status == ReviewStatus.DRAFT)
        )
        return reviewer.id, assignment_id


class Statements:
    """Counts the statements sent while it is open."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        self.seen.append(statement)


def test_a_request_reads_the_rule_once_and_forgets_it_on_every_write(any_app):
    reviewer_id, assignment_id = _draft(any_app)
    with any_app.test_request_context("/review/"):
        reviewer = db.session.get(User, reviewer_id)
        application = db.session.get(ReviewerAssignment, assignment_id).application
        assert access.application(reviewer, application).read
        with Statements() as again:
            for _ in range(3):
                assert access.application(reviewer, application).read
                assert access.active_assignment(reviewer, application).id == assignment_id
        assert again.seen == []  # remembered for the rest of the request

        # A declared conflict with the application's district, flushed: the rule sees it.
        db.session.add(
            ReviewerConflict(user_id=reviewer_id, district_id=application.school.district_id)
        )
        db.session.flush()
        assert access.application(reviewer, application) == access.NONE
        db.session.rollback()  # gone again: so is the memo
        assert access.application(reviewer, application).read

        # A bulk UPDATE flushes no object: the statement itself makes the memo forget.
        db.session.execute(
            update(ReviewerAssignment)
            .where(ReviewerAssignment.id == assignment_id)
            .values(status=AssignmentStatus.REMOVED)
        )
        assert access.active_assignment(reviewer, application) is None
        assert not access.application(reviewer, application).see
        db.session.commit()
        assert not access.application(reviewer, application).see


def test_nothing_is_remembered_outside_a_request_nor_from_one_request_to_the_next(any_app):
    reviewer_id, assignment_id = _draft(any_app)
    with any_app.app_context():
        reviewer = db.session.get(User, reviewer_id)
        application = db.session.get(ReviewerAssignment, assignment_id).application
        assert access.application(reviewer, application).read
        with Statements() as outside:
            assert access.application(reviewer, application).read
        assert outside.seen  # no request: read every time
        with any_app.test_request_context("/review/"):
            assert access.application(reviewer, application).read
        # Another connection's change between two requests in the same app context (so the same
        # ``g``): the first request's memo ended with it.
        with db.engine.begin() as conn:
            conn.execute(
                update(ReviewerAssignment.__table__)
                .where(ReviewerAssignment.__table__.c.id == assignment_id)
                .values(status=AssignmentStatus.CONFLICT)
            )
        with any_app.test_request_context("/review/"):
            assert not access.application(reviewer, application).see

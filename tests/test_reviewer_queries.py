"""The rules written once as queries (scoring.services.queries) agree with the same rule computed
in plain Python over the ORM objects, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    ApplicationStatus,
    AssignmentStatus,
    ReviewerAssignment,
    ReviewerConflict,
    Role,
    User,
)
from scoring.models._types import utcnow
from scoring.services.queries import blocked_districts, reviewer_worklist
from tests import factories as f


def _world():
    """Three districts; reviewers with and without a home district and declared conflicts;
    assignments in every status, on drafts and submitted applications, out of id order in time."""
    d1, d2, d3 = (
        f.district("015", "Bridgeport"),
        f.district("064", "Hartford"),
        f.district("093", "New Haven"),
    )
    s1, s2, s3 = f.school(d1), f.school(d2), f.school(d3)
    home = f.user(Role.REVIEWER, "home@example.org", d1)  # works in d1, declared d2
    free = f.user(Role.REVIEWER, "free@example.org")  # no district, no conflict
    both = f.user(Role.REVIEWER, "both@example.org", d3)  # works in d3 and declared it too
    f.user(Role.STAFF, "staff@example.org")
    db.session.add_all(
        [
            ReviewerConflict(user=home, district=d2),
            ReviewerConflict(user=both, district=d3),
            ReviewerConflict(user=both, district=d1),
        ]
    )
    c = f.competition()
    apps = [
        f.application(c, s, f"A-{i}", status=status)
        for i, (s, status) in enumerate(
            [
                (s1, ApplicationStatus.SUBMITTED),
                (s2, ApplicationStatus.DRAFT),
                (s3, ApplicationStatus.SUBMITTED),
                (s1, ApplicationStatus.WITHDRAWN),
                (s2, ApplicationStatus.SUBMITTED),
            ]
        )
    ]
    now = utcnow()
    plan = [
        (0, home, AssignmentStatus.ASSIGNED, 5),
        (1, home, AssignmentStatus.ASSIGNED, 4),
        (2, home, AssignmentStatus.CONFLICT, 3),
        (3, home, AssignmentStatus.ASSIGNED, 9),
        (4, home, AssignmentStatus.ASSIGNED, 1),
        (4, free, AssignmentStatus.REMOVED, 2),
        (2, free, AssignmentStatus.ASSIGNED, 7),
        (0, free, AssignmentStatus.ASSIGNED, 7),
    ]
    for app_index, reviewer, status, hours in plan:
        db.session.add(
            ReviewerAssignment(
                application=apps[app_index],
                reviewer=reviewer,
                status=status,
                assigned_at=now - timedelta(hours=hours),
            )
        )
    db.session.flush()
    return [home, free, both]


def test_blocked_districts_and_worklist_agree_with_python(any_app):
    with any_app.app_context():
        reviewers = _world()
        everyone = db.session.scalars(select(User)).all()

        # blocked districts: declared conflicts, plus the home district unless own_district=False
        for own in (True, False):
            python = {(u.id, c.district_id) for u in everyone for c in u.conflicts}
            if own:
                python |= {(u.id, u.district_id) for u in everyone if u.district_id is not None}
            assert set(db.session.execute(blocked_districts(own_district=own)).all()) == python
            some = [reviewers[0].id, reviewers[1].id]
            narrowed = set(db.session.execute(blocked_districts(some, own_district=own)).all())
            assert narrowed == {pair for pair in python if pair[0] in some}
        assert set(db.session.execute(blocked_districts()).all()) >= {
            (reviewers[2].id, reviewers[2].district_id)
        }

        # worklist: active assignments on non-draft applications, oldest first (ties by id)
        rows = db.session.scalars(select(ReviewerAssignment)).all()
        for reviewer in reviewers:
            python = sorted(
                (
                    a
                    for a in rows
                    if a.reviewer_id == reviewer.id
                    and a.status == AssignmentStatus.ASSIGNED
                    and a.application.status != ApplicationStatus.DRAFT
                ),
                key=lambda a: (a.assigned_at, a.id),
            )
            assert db.session.scalars(reviewer_worklist(reviewer.id)).all() == python
        assert [
            a.application.ref for a in db.session.scalars(reviewer_worklist(reviewers[0].id))
        ] == ["A-3", "A-0", "A-4"]

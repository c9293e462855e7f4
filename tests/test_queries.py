"""Rules written once as queries (scoring/services/queries.py) agree with the rule in Python.

"Counted review" (docs/ranking.md §1) is checked on the test bundle after giving it every kind of
review that must not count: a draft, a withdrawn review, a conflicted assignment and a district
conflict. The plain-Python reading of the rule, the query, and each place that uses it (the
ranking run's read path, the reviewer statistics, the score export and the bundle export) must
name the same reviews.
"""

import json
from datetime import UTC, datetime

from sqlalchemy import select, update

from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    AwardSlate,
    Competition,
    District,
    RankingRun,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    SlateStatus,
    User,
)
from scoring.services import bundles, exports, queries, ranking
from scoring.services.reviews import reviewer_stats
from tests.test_ranking_service import FIXTURE, run_once


def _load(app) -> int:
    with app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        return db.session.scalar(select(Competition.id))


def _add_every_kind_of_uncounted_review() -> None:
    def user(email):
        return db.session.scalar(select(User.id).where(User.email == email))

    apps = dict(db.session.execute(select(Application.ref, Application.id)).all())
    # a conflicted assignment: r2 on T-001
    db.session.execute(
        update(ReviewerAssignment)
        .where(
            ReviewerAssignment.application_id == apps["T-001"],
            ReviewerAssignment.reviewer_id == user("r2@example.org"),
        )
        .values(status=AssignmentStatus.CONFLICT)
    )
    # a district conflict: r1 on district 002 (T-003's)
    beta = db.session.scalar(select(District.id).where(District.code == "002"))
    db.session.add(ReviewerConflict(user_id=user("r1@example.org"), district_id=beta))
    # a withdrawn review and a draft
    db.session.execute(
        update(Review)
        .where(Review.application_id == apps["T-007"], Review.reviewer_id == user("r3@example.org"))
        .values(status=ReviewStatus.WITHDRAWN)
    )
    db.session.execute(
        update(Review)
        .where(Review.application_id == apps["T-006"], Review.reviewer_id == user("r1@example.org"))
        .values(status=ReviewStatus.DRAFT)
    )
    db.session.commit()


def _counted_in_python(competition_id: int) -> set[tuple[str, str]]:
    """docs/ranking.md §1 read literally, over ORM objects: (application ref, reviewer email)."""
    out = set()
    reviews = db.session.scalars(
        select(Review).join(Application).where(Application.competition_id == competition_id)
    ).all()
    for review in reviews:
        assignment = db.session.scalar(
            select(ReviewerAssignment).where(
                ReviewerAssignment.application_id == review.application_id,
                ReviewerAssignment.reviewer_id == review.reviewer_id,
            )
        )
        district_conflicts = {c.district_id for c in review.reviewer.conflicts}
        if (
            review.status == ReviewStatus.SUBMITTED
            and not (assignment and assignment.status == AssignmentStatus.CONFLICT)
            and review.application.school.district_id not in district_conflicts
        ):
            out.add((review.application.ref, review.reviewer.email))
    return out


def test_counted_reviews_are_the_same_everywhere(any_app):
    competition_id = _load(any_app)
    with any_app.app_context():
        _add_every_kind_of_uncounted_review()
        expected = _counted_in_python(competition_id)
        assert not expected & {
            ("T-001", "r2@example.org"),
            ("T-003", "r1@example.org"),
            ("T-007", "r3@example.org"),
            ("T-006", "r1@example.org"),
        }
        assert len(expected) == 9  # of the bundle's 13 counted reviews

        def pair(review_id):
            review = db.session.get(Review, review_id)
            return review.application.ref, review.reviewer.email

        query = {
            pair(rid)
            for rid, _, _ in db.session.execute(queries.counted_reviews(competition_id)).all()
        }
        assert query == expected

        competition = db.session.get(Competition, competition_id)
        inputs = ranking.read_inputs(competition)
        refs = [a.ref for a in inputs.applications]
        assert {
            (refs[a], email)
            for a, email in zip(inputs.review_app.tolist(), inputs.review_reviewer, strict=True)
        } == expected

        stats = {
            (r.application.ref, r.reviewer.email)
            for r in reviewer_stats.counted_reviews(competition)
        }
        assert stats == expected

        run = db.session.get(RankingRun, run_once(competition_id))
        table = exports.score_table(run, comments=False)
        ref_i, email_i, counted_i = (table.header.index(k) for k in ("ref", "reviewer", "counted"))
        assert {
            (row[ref_i], row[email_i]) for row in table.rows if row[counted_i] == "yes"
        } == expected

        exported = bundles.export_bundle(competition)
        assert {
            (r["application"], r["reviewer"]) for r in exported["reviews"] if r["submitted"]
        } == expected
        db.session.rollback()


def test_the_official_run_is_the_decided_one_else_the_latest_done_one(any_app):
    competition_id = _load(any_app)
    with any_app.app_context():

        def official():
            return db.session.scalar(queries.official_run(competition_id))

        assert official() is None
        first = run_once(competition_id)
        assert official().id == first
        second = run_once(competition_id)
        run_once(competition_id, overrides={"total_funds": "500000"})  # a what-if run
        assert official().id == second
        staff = db.session.scalar(select(User.id).order_by(User.id).limit(1))
        db.session.add(
            AwardSlate(
                competition_id=competition_id,
                run_id=first,
                prepared_by_id=staff,
                status=SlateStatus.PREPARED,
                prepared_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        assert official().id == second  # a prepared list is not a decision yet
        db.session.execute(update(AwardSlate).values(status=SlateStatus.APPROVED))
        db.session.commit()
        assert official().id == first
        db.session.execute(update(AwardSlate).values(status=SlateStatus.PUBLISHED))
        db.session.commit()
        assert official().id == first

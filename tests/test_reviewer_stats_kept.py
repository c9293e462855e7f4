"""The reviewer statistics (the staff board's leniency chart, the panel pages) are kept per
process while the counted reviews' points, the rubric and the competition are unchanged
(``reviewer_stats._KEPT``): the kept figures equal a fresh computation, and a changed point, a
declared conflict or a renamed reviewer is seen at once. On SQLite and PostgreSQL, on the demo."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from scoring import demo
from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    Competition,
    CriterionScore,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    User,
)
from scoring.services.ranking import board as boards
from scoring.services.reviews import reviewer_stats

SLUG = "1003a-2016-17"


def _plain(stats: reviewer_stats.Stats) -> tuple:
    """Everything the pages show of the statistics, without ORM identity."""
    return (
        stats.reviews,
        stats.panel_mean,
        stats.panel_sd,
        [(i.reviewer.id, i.reviewer.name, i.stat, i.label) for i in stats.reviewers],
        stats.reliability,
    )


def _counted_review(competition: Competition) -> Review:
    return db.session.scalar(
        select(Review)
        .join(Review.application)
        .where(Review.status == ReviewStatus.SUBMITTED)
        .where(Application.competition_id == competition.id)
        .order_by(Review.id)
        .limit(1)
    )


def test_kept_statistics_equal_a_fresh_computation_and_follow_the_inputs(any_app):
    with any_app.app_context():
        demo.seed_demo()
        db.session.commit()
        competition = db.session.scalar(select(Competition).where(Competition.slug == SLUG))
        reviewer_stats._KEPT.clear()

        first = _plain(reviewer_stats.compute(competition))
        assert len(reviewer_stats._KEPT) == 1
        assert first[0] >= 35  # counted reviews with an overall score
        kept = _plain(reviewer_stats.compute(competition))
        assert len(reviewer_stats._KEPT) == 1  # the same key: nothing computed again
        assert kept == first == _plain(reviewer_stats.compute(competition, fresh=True))

        # a point changed on a counted review: a new key, the new figures
        review = _counted_review(competition)
        score = db.session.scalar(
            select(CriterionScore)
            .where(CriterionScore.review_id == review.id)
            .order_by(CriterionScore.id)
            .limit(1)
        )
        score.points = Decimal(0) if score.points else score.max_points
        db.session.commit()
        changed = _plain(reviewer_stats.compute(competition))
        assert len(reviewer_stats._KEPT) == 2
        assert changed != first
        assert changed == _plain(reviewer_stats.compute(competition, fresh=True))

        # the reviewer declares a conflict on that application: the review no longer counts
        assignment = db.session.scalar(
            select(ReviewerAssignment).where(
                ReviewerAssignment.application_id == review.application_id,
                ReviewerAssignment.reviewer_id == review.reviewer_id,
            )
        )
        assignment.status = AssignmentStatus.CONFLICT
        db.session.commit()
        conflict = _plain(reviewer_stats.compute(competition))
        assert conflict[0] == changed[0] - 1
        assert conflict == _plain(reviewer_stats.compute(competition, fresh=True))

        # a reviewer renamed: the names are read at every view
        reviewer = db.session.get(User, conflict[3][0][0])
        reviewer.name = "Renamed Reviewer"
        db.session.commit()
        renamed = reviewer_stats.compute(competition)
        assert "Renamed Reviewer" in [i.reviewer.name for i in renamed.reviewers]
        assert _plain(renamed) == _plain(reviewer_stats.compute(competition, fresh=True))

        # the board's leniency chart is drawn from the same kept figures
        run = SimpleNamespace(competition=competition)  # the demo ranks nothing yet
        fresh = reviewer_stats.leniency_chart(reviewer_stats.compute(competition, fresh=True))
        assert boards.leniency_chart(run) == fresh
        assert "Renamed Reviewer" in str(fresh)


def test_the_digest_sees_a_point_moved_between_two_criteria(any_app):
    """Two changes that leave every total unchanged still give a new key (the digest is of the
    rows, not of sums)."""
    with any_app.app_context():
        demo.seed_demo()
        db.session.commit()
        competition = db.session.scalar(select(Competition).where(Competition.slug == SLUG))
        before = reviewer_stats._points_digest(competition)
        assert before == reviewer_stats._points_digest(competition)
        review = _counted_review(competition)
        scores = sorted(
            (s for s in review.scores if s.points is not None), key=lambda s: s.criterion_id
        )
        a, b = next(
            (x, y)
            for x in scores
            for y in scores
            if x.points != y.points and x.points <= y.max_points and y.points <= x.max_points
        )
        a.points, b.points = b.points, a.points
        db.session.commit()
        assert reviewer_stats._points_digest(competition) != before

"""No statement per row where one statement reads them all (bench/README.md, "50 users"): the
reviewer statistics (the staff board draws their leniency chart) and the applicant's form (the
rubric beside the narratives). On SQLite and PostgreSQL, on the demo."""

from __future__ import annotations

import math
import re

from sqlalchemy import select

from scoring import demo
from scoring.core import reliability
from scoring.extensions import db
from scoring.models import Application, Competition, Review, ReviewStatus, RubricSection
from scoring.services.reviews import reviewer_stats
from scoring.services.reviews.reviews import review_score, rubric_criteria
from tests.conftest import AuthActions
from tests.test_access_memo import Statements


def _reference(competition):
    """The statistics as computed before the one-statement read: from the counted reviews as
    ORM objects, scored one by one (``review_score``)."""
    reviews = reviewer_stats.counted_reviews(competition)
    overall = [
        (r.reviewer_id, r.application_id, s)
        for r in reviews
        if (s := review_score(competition, r)) is not None
    ]
    per_criterion = [
        [
            (r.reviewer_id, r.application_id, float(s.points))
            for r in reviews
            for s in r.scores
            if s.criterion_id == c.id and s.points is not None
        ]
        for c in rubric_criteria(competition.id)
    ]
    lenient = reliability.leniency(overall)
    return overall, per_criterion, {k: v for k, v in lenient.items()}


def test_reviewer_statistics_equal_the_row_by_row_computation_in_fixed_statements(any_app):
    with any_app.app_context():
        demo.seed_demo()
        db.session.commit()
        # one submitted review loses a score: no overall score, its other criteria still count
        partial = db.session.scalar(
            select(Review)
            .join(Review.application)
            .where(Review.status == ReviewStatus.SUBMITTED)
            .where(Application.competition.has(slug="1003a-2016-17"))
            .order_by(Review.id)
            .limit(1)
        )
        db.session.delete(partial.scores[0])
        db.session.commit()
        for slug in ("1003a-2016-17", "sig-cohort-4", "hs-redesign-2016", "1003a-2017-18"):
            competition = db.session.scalar(select(Competition).where(Competition.slug == slug))
            overall, per_criterion, lenient = _reference(competition)
            db.session.expire_all()
            with Statements() as seen:
                stats = reviewer_stats.compute(competition)
            # competition, scores, reviewers, the rubric (3): none per review or per section
            # (16 with a statement per section; more than 60 with one per review too)
            assert len(seen.seen) <= 7, (slug, len(seen.seen))
            values = [v for _, _, v in overall]
            assert stats.reviews == len(values)
            if values:
                assert stats.panel_mean == math.fsum(values) / len(values)
            assert {i.reviewer.id: i.stat for i in stats.reviewers} == lenient
            assert stats.reliability[0] == reviewer_stats._row(
                "Overall review score (0-100)", overall
            )
            assert [(r.alpha, r.icc, r.units, r.ratings) for r in stats.reliability[1:]] == [
                (x.alpha, x.icc, x.units, x.ratings)
                for x in (reviewer_stats._row("", rows) for rows in per_criterion)
            ]
        assert len(overall) == 0  # the round in review: drafts only, nothing counted
        first = db.session.scalar(select(Competition).where(Competition.slug == "1003a-2016-17"))
        assert len(_reference(first)[0]) >= 35  # 40 reviews, one made partial above


def test_the_applicants_form_reads_the_rubric_in_fixed_statements(any_app):
    with any_app.app_context():
        demo.seed_demo()
        db.session.commit()
        open_round = db.session.scalar(
            select(Competition).where(Competition.slug == "time-cohort-4")
        )
        sections = db.session.scalars(
            select(RubricSection).where(RubricSection.competition_id == open_round.id)
        ).all()
        assert len(sections) >= 3
    client = any_app.test_client()
    account = next(a for a in demo.DEMO_ACCOUNTS if a[0] == "applicant")
    AuthActions(client).login(account[1], account[3])
    home = client.get("/apply/").get_data(as_text=True)
    url = re.findall(r'href="(/apply/applications/\d+)"', home)[0]
    with any_app.app_context(), Statements() as seen:
        page = client.get(url)
    assert page.status_code == 200
    assert "Scored on:" in page.get_data(as_text=True)
    criterion_reads = [s for s in seen.seen if s.lstrip().startswith("SELECT criterion.")]
    assert len(criterion_reads) <= 2, len(criterion_reads)  # one per section before

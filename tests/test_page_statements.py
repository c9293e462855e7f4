"""No statement per row where one statement reads them all (bench/README.md, "50 users"): the
reviewer statistics (the staff board draws their leniency chart) and the applicant's form (the
rubric beside the narratives). On SQLite and PostgreSQL, on the demo."""

from __future__ import annotations

import re

from sqlalchemy import select

from scoring import demo
from scoring.extensions import db
from scoring.models import Competition, RubricSection
from scoring.services.reviews import reviewer_stats
from tests.conftest import AuthActions
from tests.test_access_memo import Statements


def test_reviewer_statistics_read_reviews_scores_and_reviewers_at_once(any_app):
    with any_app.app_context():
        demo.seed_demo()
        db.session.commit()
        competition = db.session.scalar(
            select(Competition).where(Competition.slug == "1003a-2016-17")
        )
        reviews = reviewer_stats.counted_reviews(competition)
        before = [
            (r.id, r.reviewer.email, sorted((s.criterion.key, s.points) for s in r.scores))
            for r in reviews
        ]
        db.session.expire_all()
        with Statements() as seen:
            stats = reviewer_stats.compute(competition)
        again = [
            (r.id, r.reviewer.email, sorted((s.criterion.key, s.points) for s in r.scores))
            for r in reviewer_stats.counted_reviews(competition)
        ]
        assert again == before and len(before) >= 40
        assert stats.reviews == len([r for r in reviews if r.scores])
        # competition, reviews, reviewers, scores, criteria, the rubric (3): none per review or
        # per section (16 with a statement per section; more than 60 with one per review too)
        assert len(seen.seen) <= 9, len(seen.seen)


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

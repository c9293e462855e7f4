"""The demo gives a volunteer reviewer work to do: a round in review now, with assignments due.

Seeds the demo in-process (``scoring.demo.seed_demo``, without the ranking runs) on SQLite and
PostgreSQL, then signs in as a demo reviewer through the login form and scores.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, func, select

from scoring import clock, demo
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import (
    Competition,
    Criterion,
    Review,
    ReviewerAssignment,
    ReviewPoints,
    ReviewStatus,
    User,
)
from scoring.services.competitions.phases import phase_of
from scoring.services.reviews import vectors
from tests.conftest import AuthActions, csrf_token_from

REVIEWER = next(a for a in demo.DEMO_ACCOUNTS if a[1] == "reviewer1@demo.scoring")


def _seed(app) -> int:
    with app.app_context():
        demo.seed_demo()
        db.session.commit()
        live = db.session.scalar(select(Competition).where(Competition.slug == "1003a-2017-18"))
        return live.id


def test_the_live_round_is_in_review_with_work_for_every_demo_reviewer(any_app):
    live_id = _seed(any_app)
    with any_app.app_context():
        live = db.session.get(Competition, live_id)
        now = clock.now()
        assert phase_of(live, now).key == "in_review"
        assert now - timedelta(days=5) < live.closes_at < now
        assert timedelta(days=13) < live.review_due_at - now < timedelta(days=15)
        assert live.rubric_illustrative
        reviewers = db.session.scalars(
            select(User).where(User.email.like("reviewer%@demo.scoring"))
        ).all()
        assert len(reviewers) == 5
        for reviewer in reviewers:
            mine = db.session.scalars(
                select(ReviewerAssignment)
                .join(ReviewerAssignment.application)
                .where(
                    ReviewerAssignment.reviewer_id == reviewer.id,
                    ReviewerAssignment.application.has(competition_id=live_id),
                )
            ).all()
            assert 2 <= len(mine) <= 3, reviewer.email
            statuses = [
                db.session.scalar(
                    select(Review.status).where(
                        Review.application_id == a.application_id,
                        Review.reviewer_id == reviewer.id,
                    )
                )
                for a in mine
            ]
            assert ReviewStatus.SUBMITTED not in statuses
            assert ReviewStatus.DRAFT in statuses and None in statuses
        # The older rounds keep their 90 submitted reviews; the live round has none submitted.
        submitted = select(func.count()).select_from(Review)
        assert db.session.scalar(submitted.where(Review.status == ReviewStatus.SUBMITTED)) == 90
        assert db.session.scalar(submitted.where(Review.status == ReviewStatus.DRAFT)) == 5


def _score_page(client, assignment_id: int) -> str:
    page = client.get(f"/review/a/{assignment_id}")
    if page.status_code == 302:  # not declared yet: declare no conflict first
        declare = client.get(f"/review/a/{assignment_id}/declare").get_data(as_text=True)
        answer = client.post(
            f"/review/a/{assignment_id}/declare",
            data={"decision": "none", "csrf_token": csrf_token_from(declare)},
        )
        assert answer.status_code == 302
        page = client.get(f"/review/a/{assignment_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _post(client, assignment_id, page, criteria, button):
    data = {
        "csrf_token": csrf_token_from(page),
        "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1),
        "overall_comment": "Clear plan; budget tied to the strategies.",
        button: "y",
    }
    data |= {f"points_{c.id}": str(c.max_points - 2) for c in criteria}
    return client.post(f"/review/a/{assignment_id}", data=data)


def test_a_demo_reviewer_opens_saves_and_submits_a_live_review(any_app):
    live_id = _seed(any_app)
    client = any_app.test_client()
    assert AuthActions(client).login(REVIEWER[1], REVIEWER[3]).status_code == 302
    home = client.get("/review/").get_data(as_text=True)
    assert "1003(a) School Improvement, 2017-18" in home
    with any_app.app_context():
        reviewer = db.session.scalar(select(User).where(User.email == REVIEWER[1]))
        mine = db.session.scalars(
            select(ReviewerAssignment.id)
            .join(ReviewerAssignment.application)
            .where(
                ReviewerAssignment.reviewer_id == reviewer.id,
                ReviewerAssignment.application.has(competition_id=live_id),
            )
            .order_by(ReviewerAssignment.id)
        ).all()
        criteria = db.session.scalars(
            select(Criterion).where(Criterion.competition_id == live_id)
        ).all()
        due = db.session.get(Competition, live_id).review_due_at
    assert local_dt(due) in home  # the due date is on the reviewer's list
    for assignment_id in mine:  # the started draft and a not-yet-declared one
        page = _score_page(client, assignment_id)
        assert 'name="points_' in page and "Save draft" in page
        saved = _post(client, assignment_id, page, criteria, "save")
        assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
        page = _score_page(client, assignment_id)
        assert "Clear plan; budget tied to the strategies." in page
    submitted = _post(client, mine[0], _score_page(client, mine[0]), criteria, "submit")
    assert submitted.status_code == 302
    with any_app.app_context():
        statuses = db.session.scalars(
            select(Review.status)
            .join(ReviewerAssignment, ReviewerAssignment.application_id == Review.application_id)
            .where(ReviewerAssignment.id.in_(mine), Review.reviewer_id == reviewer.id)
        ).all()
        assert sorted(s.value for s in statuses) == sorted(
            ["submitted"] + ["draft"] * (len(mine) - 1)
        )


def test_opening_and_saving_a_review_reads_the_rubric_in_a_fixed_number_of_statements(any_app):
    """No query per rubric section (the N+1 of bench/README.md "Where a reviewer's save goes"):
    the live round has 8 sections; one form GET and one save each read criteria at most twice
    (the ordered list, then every section's criteria at once) and stay under a total bound."""
    _seed(any_app)
    client = any_app.test_client()
    AuthActions(client).login(REVIEWER[1], REVIEWER[3])
    with any_app.app_context():
        reviewer = db.session.scalar(select(User).where(User.email == REVIEWER[1]))
        draft = db.session.scalar(
            select(ReviewerAssignment.id)
            .join(
                Review,
                (Review.application_id == ReviewerAssignment.application_id)
                & (Review.reviewer_id == reviewer.id),
            )
            .where(ReviewerAssignment.reviewer_id == reviewer.id)
            .where(Review.status == ReviewStatus.DRAFT)
        )
        criteria = db.session.scalars(
            select(Criterion)
            .join(Criterion.section)
            .where(Criterion.competition.has(slug="1003a-2017-18"))
        ).all()
        assert len({c.section_id for c in criteria}) == 8
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/review/a/{draft}")
        assert page.status_code == 200, page.status_code
        got = list(seen)
        seen.clear()
        saved = _post(client, draft, page.get_data(as_text=True), criteria, "save")
        posted = list(seen)
        page = client.get(f"/review/a/{draft}").get_data(as_text=True)
        seen.clear()
        again = _post(client, draft, page, criteria, "save")  # the same points again
        posted_again = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert saved.status_code == 302 and again.status_code == 302
    # Rubric reads only: the rest of a request (session, access checks) belongs to other parts.
    for statements, lists in ((got, 1), (posted, 2)):  # rubric_criteria: view (+ record_review)
        criterion_reads = [s for s in statements if s.startswith("SELECT criterion.")]
        assert len(criterion_reads) <= 2 * lists, criterion_reads  # one per section: 9 and more
        section_reads = [s for s in statements if s.startswith("SELECT rubric_section.")]
        assert len(section_reads) <= 1 + lists, section_reads
    # The access rule reads the reviewer's assignment and blocked districts once per request
    # (services/access.py's memo; a GET read them 4 times each before it): the assignment by id,
    # then the worklist row and the conflicts once.
    for statements in (got, posted, posted_again):
        assignments = [s for s in statements if s.startswith("SELECT reviewer_assignment.")]
        assert len(assignments) == 2, assignments
        assert len([s for s in statements if "FROM reviewer_conflict" in s]) == 1
    # The save uses the review and rubric the view loaded (record_review read them again),
    # and redirects without reloading the assignment the commit expired.
    for statements in (posted, posted_again):
        assert len([s for s in statements if s.startswith("SELECT review.")]) == 1
        assert not any(s.startswith("SELECT criterion.") for s in statements[-3:])
    # The first save changed the points: the vector is written again; the second changed no
    # score row, so the vector (still current: no trigger dropped it) is left alone.
    assert any(s.startswith("DELETE FROM review_points") for s in posted)
    assert not any("review_points" in s for s in posted_again)
    with any_app.app_context():
        review = db.session.scalar(
            select(Review)
            .join(ReviewerAssignment, ReviewerAssignment.application_id == Review.application_id)
            .where(ReviewerAssignment.id == draft, Review.reviewer_id == reviewer.id)
        )
        pairs = [(s.criterion_id, float(s.points)) for s in review.scores if s.points is not None]
        assert len(pairs) == len(criteria)
        assert db.session.get(ReviewPoints, review.id).packed == vectors.pack(pairs)
    # Statements in all (bench/README.md "Where a reviewer's save goes": 28 and 24 on
    # PostgreSQL before; SQLite has no SET LOCAL statement_timeout).
    bound = STATEMENTS[engine.dialect.name]
    assert len(got) <= bound[0], len(got)
    assert len(posted_again) <= bound[1], len(posted_again)


#: The most statements of a scoring form GET and of a draft save that changes no point.
STATEMENTS = {"postgresql": (21, 14), "sqlite": (20, 13)}

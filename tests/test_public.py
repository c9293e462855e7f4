"""The public award list: no login, only once published, pinned to the published run, with staff
exceptions shown as exceptions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, Competition, RankingRun, User
from scoring.services.decisions import decisions, publication
from tests.staff_world import APPROVER, PREPARER, build, rank_now, text_of


def _decide_and_publish(app, run_id: int, override: tuple | None = None) -> None:
    """Exception (optional), submit, approve and publish with the services, as staff would."""
    with app.app_context():
        run = db.session.get(RankingRun, run_id)
        preparer = db.session.scalar(select(User).where(User.email == PREPARER))
        approver = db.session.scalar(select(User).where(User.email == APPROVER))
        if override:
            ref, status, amount, why = override
            app_id = db.session.scalar(select(Application.id).where(Application.ref == ref))
            decisions.set_override(
                run,
                app_id,
                status=status,
                amount=Decimal(amount),
                justification=why,
                actor=preparer,
            )
        slate = decisions.prepare_slate(run, actor=preparer)
        decisions.approve_slate(slate, actor=approver)
        publication.publish_run(run, actor=approver, public_url="http://localhost/public/awards/x")
        db.session.commit()


@pytest.fixture
def world(app):
    return build(app)


def test_nothing_is_public_before_publication(app, world):
    anonymous = app.test_client()
    assert anonymous.get(f"/public/awards/{world.slug}").status_code == 404
    assert anonymous.get("/public/awards/no-such-competition").status_code == 404
    assert "No award list has been published yet." in text_of(anonymous.get("/public/"))


def test_the_published_award_list_needs_no_login(app, world):
    _decide_and_publish(
        app,
        world.run_id,
        ("T-002", "partially_funded", "150000", "Reduced: the budget double-counts staff costs."),
    )
    anonymous = app.test_client()
    index = text_of(anonymous.get("/public/"))
    assert "School Improvement Grant, test cohort" in index
    page = anonymous.get(f"/public/awards/{world.slug}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Sign out" not in text
    assert "Funds available $900,000.00 Awarded $700,000.00 Awards 3" in text
    awarded = text.split("Award ", 1)[1]
    for school, ref, amount in (
        ("Alpha One", "T-001", "$300,000.00"),
        ("Beta One", "T-003", "$250,000.00"),
        ("Alpha Two", "T-002", "$150,000.00"),
    ):
        assert f"{school} {ref}" in awarded and amount in awarded
    assert "T-007" not in text and "T-004" not in text  # not awarded: not listed
    assert "Exceptions to the computed ranking" in text
    assert (
        "T-002 (Alpha Two): computed partly funded $350,000.00, decided partly funded "
        "$150,000.00. Reduced: the budget double-counts staff costs."
    ) in text


def test_the_public_page_stays_pinned_to_the_published_run(app, world):
    _decide_and_publish(app, world.run_id)
    with app.app_context():
        db.session.get(Competition, world.competition_id).total_funds = Decimal("300000.00")
        db.session.commit()
    later = rank_now(app, world.competition_id)  # a new official run with less money
    with app.app_context():
        assert db.session.get(RankingRun, later).total_awarded == Decimal("300000.00")
    text = text_of(app.test_client().get(f"/public/awards/{world.slug}"))
    assert f"ranking run {world.run_id}" in text
    assert "Awarded $900,000.00" in text and "$250,000.00" in text

"""Constraints that live in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from scoring.extensions import db
from scoring.models import (
    Application,
    BudgetLine,
    Criterion,
    CriterionScore,
    Review,
    Role,
    School,
)
from tests import factories


@pytest.fixture
def world(any_app):
    with any_app.app_context():
        d = factories.district()
        s = factories.school(d)
        c = factories.competition()
        a = factories.application(c, s)
        reviewer = factories.user(Role.REVIEWER)
        db.session.commit()
        yield {
            "app": a.id,
            "criterion": c.sections[0].criteria[0].id,
            "reviewer": reviewer.id,
            "school": s.id,
            "competition": c.id,
        }
        db.session.rollback()


def _review(world) -> Review:
    review = Review(application_id=world["app"], reviewer_id=world["reviewer"])
    db.session.add(review)
    db.session.flush()
    return review


def _refused(fn) -> None:
    with pytest.raises(IntegrityError):
        fn()
        db.session.flush()
    db.session.rollback()


def test_one_score_per_review_and_criterion(world):
    review = _review(world)
    db.session.add(
        CriterionScore(
            review_id=review.id,
            criterion_id=world["criterion"],
            points=Decimal(3),
            max_points=Decimal(4),
        )
    )
    db.session.flush()
    _refused(
        lambda: db.session.add(
            CriterionScore(
                review_id=review.id,
                criterion_id=world["criterion"],
                points=Decimal(2),
                max_points=Decimal(4),
            )
        )
    )


@pytest.mark.parametrize("points", [Decimal("-0.5"), Decimal("4.5")])
def test_score_outside_its_range_is_refused(world, points):
    review = _review(world)
    _refused(
        lambda: db.session.add(
            CriterionScore(
                review_id=review.id,
                criterion_id=world["criterion"],
                points=points,
                max_points=Decimal(4),
            )
        )
    )


def test_foreign_keys_are_enforced(world):
    _refused(lambda: db.session.add(School(code="X1", name="Orphan", district_id=999_999)))


def test_duplicate_ref_in_a_competition_is_refused(world):
    _refused(
        lambda: db.session.add(
            Application(
                competition_id=world["competition"],
                school_id=world["school"],
                ref="APP-001",
                requested_amount=Decimal(1),
            )
        )
    )


def test_budget_object_code_must_be_a_major_category(world):
    _refused(
        lambda: db.session.add(
            BudgetLine(application_id=world["app"], object_code=150, year=1, amount=Decimal("1.00"))
        )
    )


def test_criterion_needs_positive_max_points(world):
    criterion = db.session.get(Criterion, world["criterion"])
    _refused(
        lambda: db.session.add(
            Criterion(
                competition_id=world["competition"],
                section_id=criterion.section_id,
                key="x",
                title="x",
                max_points=Decimal(0),
                step=Decimal(1),
            )
        )
    )


def test_money_is_exact_decimal(world):
    app = db.session.get(Application, world["app"])
    app.requested_amount = Decimal("1999999.99") + Decimal("0.01")
    db.session.commit()
    db.session.expire_all()
    value = db.session.scalar(
        select(Application.requested_amount).where(Application.id == world["app"])
    )
    assert isinstance(value, Decimal) and value == Decimal("2000000.00")


def test_ineligible_needs_a_reason(world):
    app = db.session.get(Application, world["app"])
    app.eligible = False
    _refused(lambda: None)


def test_applicant_needs_a_district(world):
    from scoring.models import User

    _refused(lambda: db.session.add(User(email="a@x.org", name="A", role=Role.APPLICANT)))


def test_stale_write_is_refused_by_version(any_app, world):
    first = db.session.get(Application, world["app"])
    with any_app.app_context():  # a second session, as a second browser tab
        other = db.session.get(Application, world["app"])
        other.title = "saved first"
        db.session.commit()
    first.title = "saved second from a stale copy"
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()

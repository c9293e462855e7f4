"""The app's clock (``scoring.clock``) can be set by a test, and services and models see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scoring import clock
from scoring.extensions import db
from scoring.models import Role
from scoring.models._types import utcnow
from scoring.services.accounts import users

AT = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def test_now_is_aware_utc_and_moves():
    first = clock.now()
    assert first.tzinfo is not None and first.utcoffset() == timedelta(0)
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_sets_the_time_and_restores_it():
    with clock.frozen(AT) as at:
        assert at == AT and clock.now() == AT and utcnow() == AT
        with clock.frozen(AT + timedelta(days=1)):
            assert clock.now() == AT + timedelta(days=1)
        assert clock.now() == AT
    assert clock.now() != AT


def test_frozen_refuses_a_naive_time():
    with pytest.raises(ValueError):
        with clock.frozen(datetime(2025, 3, 1, 12, 30)):
            pass


def test_a_service_and_the_model_defaults_see_the_set_clock(app_ctx):
    with clock.frozen(AT - timedelta(days=2)):
        user = users.create_user(
            "clock@example.org", "Clock Test", Role.STAFF, password="a long passphrase 42"
        )
        db.session.commit()
    with clock.frozen(AT):
        assert users.authenticate("clock@example.org", "a long passphrase 42") is user
        db.session.commit()
    db.session.expire_all()
    assert user.created_at == AT - timedelta(days=2)  # a column default
    assert user.last_login_at == AT  # a service

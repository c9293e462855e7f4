"""Lockout that slows a guesser without locking the owner out (issue 12 §9): failures counted
per (account, address) in the database, growing delays, a message saying when to try again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import LoginThrottle, Role
from tests import factories
from tests.conftest import AuthActions, csrf_token_from

OWNER = "owner@example.org"
STAFF = "staff@example.org"
A, B = "203.0.113.5", "198.51.100.9"


@pytest.fixture
def app(any_app):
    with any_app.app_context():
        factories.user(Role.REVIEWER, OWNER)
        factories.user(Role.STAFF, STAFF)
        db.session.commit()
    return any_app


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _try(client, password, email=OWNER):
    return AuthActions(client).password(email, password)


def _lock(app, email=OWNER, address=A) -> LoginThrottle | None:
    with app.app_context():
        row = db.session.scalar(
            select(LoginThrottle).where(
                LoginThrottle.account == email, LoginThrottle.address == address
            )
        )
        if row is not None:
            db.session.expunge(row)
        return row


def test_six_failures_from_one_address_block_it_but_the_owner_signs_in_from_another(app):
    attacker = _from(app, A)
    codes = [_try(attacker, f"guess number {n}").status_code for n in range(6)]
    assert codes == [200] * 5 + [429]
    refused = _try(attacker, factories.PASSWORD)  # even the right password, from A
    assert refused.status_code == 429
    text = refused.get_data(as_text=True)
    assert "Too many attempts" in text and "Try again at" in text and "in 1 minute" in text
    assert attacker.get("/review/").status_code == 302
    owner = _from(app, B)
    assert _try(owner, factories.PASSWORD).headers["Location"] == "/review/"
    assert owner.get("/review/").status_code == 200
    assert _lock(app).locked_until is not None  # A stays locked out of that account


def test_delays_grow_1_2_4_minutes_and_end(app):
    attacker = _from(app, A)
    start = clock.now()
    with clock.frozen(start):
        for n in range(5):
            _try(attacker, f"guess {n}")
    assert _lock(app).locked_until == start + timedelta(minutes=1)
    at = start + timedelta(minutes=1, seconds=1)
    with clock.frozen(at):
        assert _try(attacker, "another guess").status_code == 200  # one more try, then ...
        assert _try(attacker, "and another").status_code == 429
    assert _lock(app).locked_until == at + timedelta(minutes=2)
    at += timedelta(minutes=2, seconds=1)
    with clock.frozen(at):
        _try(attacker, "third lock")
    assert _lock(app).locked_until == at + timedelta(minutes=4)
    with clock.frozen(at + timedelta(minutes=4, seconds=1)):  # the lock ended: the owner is in
        assert _try(attacker, factories.PASSWORD).status_code == 302
    assert _lock(app) is None  # a completed sign-in forgets the failures


def test_an_unknown_account_is_counted_the_same(app):
    client = _from(app, A)
    codes = [
        _try(client, "whatever it is", email="ghost@example.org").status_code for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]
    assert _lock(app, "ghost@example.org").failures == 5


def test_wrong_two_factor_codes_count_too(app):
    AuthActions(_from(app, B)).login(STAFF, factories.PASSWORD)  # enrolled from B
    guesser = _from(app, A)  # knows the password, not the phone
    _try(guesser, factories.PASSWORD, STAFF)
    token = csrf_token_from(guesser.get("/login/code").get_data(as_text=True))
    for _ in range(5):
        guesser.post("/login/code", data={"code": "000000", "csrf_token": token})
    assert _try(guesser, factories.PASSWORD, STAFF).status_code == 429
    owner = _from(app, B)
    _try(owner, factories.PASSWORD, STAFF)
    assert AuthActions(owner).code(STAFF).headers["Location"] == "/staff/"

"""Lockout that slows a guesser without locking the owner out.

Failed sign-ins (a wrong password or a wrong two-factor code) are counted per typed account name
AND client address, in the database (``login_throttle``), so a web worker restart or a second
worker changes nothing. After ``FAILURES`` (5) failures that address is refused for that account
for 1 minute; every further failure after a lock locks again for twice as long (2, 4, 8 ...
minutes, at most ``LOGIN_LOCK_MAX_MINUTES``, 60). A quiet ``RESET_MINUTES`` (15) after the last
failure or lock forgets it all, and so does a completed sign-in from that address. The owner
signing in from another address is never refused by what a guesser did elsewhere. The account
name is counted as typed (lower-cased), so an unknown address is treated exactly like a known
one. The per-address limits of the sign-in page (Flask-Limiter) stay on top of this.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from scoring import clock
from scoring.extensions import db
from scoring.models import LoginThrottle
from scoring.runtime import app_config

FAILURES = 5
RESET_MINUTES = 15
MAX_LOCK_MINUTES = 60
#: Rows untouched for this long are deleted (on the next failure anywhere).
KEEP_HOURS = 24


def _key(account: str, address: str | None) -> tuple[str, str]:
    return (account or "").strip().lower()[:254], (address or "unknown")[:45]


def _row(account: str, address: str) -> LoginThrottle | None:
    return db.session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.account == account, LoginThrottle.address == address
        )
    )


def locked_until(account: str, address: str | None) -> datetime | None:
    """Until when this address may not try this account, or None (it may try now)."""
    row = _row(*_key(account, address))
    if row is None or row.locked_until is None or row.locked_until <= clock.now():
        return None
    return row.locked_until


def _lock_minutes(locks: int) -> int:
    cap = int(app_config().get("LOGIN_LOCK_MAX_MINUTES", MAX_LOCK_MINUTES))
    return min(2 ** min(locks, 16), cap)


def failed(account: str, address: str | None) -> datetime | None:
    """Count a failed sign-in; return until when the address is now locked out, or None."""
    account, address = _key(account, address)
    now = clock.now()
    row = _row(account, address)
    if row is None:
        row = LoginThrottle(account=account, address=address, failures=0, locks=0)
        try:
            with db.session.begin_nested():  # two first failures at once: one row wins
                db.session.add(row)
        except IntegrityError:
            row = _row(account, address)
    quiet_since = max(row.last_failure_at or now, row.locked_until or now)
    if now - quiet_since > timedelta(minutes=RESET_MINUTES):
        row.failures, row.locks, row.locked_until = 0, 0, None
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= FAILURES:
        row.locked_until = now + timedelta(minutes=_lock_minutes(row.locks))
        row.locks += 1
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - timedelta(hours=KEEP_HOURS)
        )
    )
    db.session.flush()
    return row.locked_until if row.failures >= FAILURES else None


def succeeded(account: str, address: str | None) -> None:
    """A completed sign-in from this address forgets its failures for this account."""
    account, address = _key(account, address)
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.account == account, LoginThrottle.address == address
        )
    )

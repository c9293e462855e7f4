"""Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238) and one-time recovery codes.

Who must use it is one rule, :func:`required`: everyone who may approve or publish an award
list (``services/decisions``). Others may enrol. Enrolment is two steps: a secret is shown
(``begin``) and takes effect only when a code made from it is typed back (``confirm``), which
also makes ten recovery codes, shown once and stored as SHA-256 (they are random, 49 bits
each). A code works once: the time step of the last accepted code is kept and only later steps
are accepted. Another staff member (never the user) can reset it (``reset``), which forces a new
enrolment. Enrolment, reset, the use of a recovery code and every wrong code are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from urllib.parse import quote

import pyotp
from sqlalchemy import delete, func, select

from scoring import clock
from scoring.errors import Forbidden, InputError
from scoring.extensions import db
from scoring.models import RecoveryCode, Role, User
from scoring.models._types import utcnow
from scoring.services import audit
from scoring.services.accounts import users
from scoring.services.decisions.permissions import may_approve, may_publish

ISSUER = "Grant scoring"
RECOVERY_CODES = 10
#: Recovery codes: 10 characters from 31 unambiguous ones (49 bits), shown as ``xxxxx-xxxxx``.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Codes of the step before and after the current one are accepted (clock drift, typing time).
WINDOW = 1


def required(user: User) -> bool:
    """Whether ``user`` must sign in with a second factor: whoever may approve or publish."""
    return may_approve(user) or may_publish(user)


def enrolled(user: User) -> bool:
    """Whether ``user`` has a confirmed two-factor secret."""
    return bool(user.totp_secret and user.totp_enrolled_at)


def begin(user: User) -> str:
    """The secret waiting for confirmation (made now if there is none); flushed."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = pyotp.random_base32()
        db.session.flush()
    return user.totp_pending_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=quote(user.email, safe="@"), issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())[:32]


def _matching_step(secret: str, code: str, last: int | None, at: datetime) -> int | None:
    """The time step ``code`` belongs to (within the window, after ``last``), or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last is not None and step <= last:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace ``user``'s recovery codes with ten new ones; return them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    db.session.flush()
    return codes


def confirm(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with the pending secret if ``code`` matches it.

    Return the ten recovery codes (shown once). :raise InputError: wrong or missing code.
    """
    secret = user.totp_pending_secret
    step = _matching_step(secret, _normalise(code), None, clock.now()) if secret else None
    if step is None:
        audit.record("user.2fa_failed", "user", user.id, actor=user, note="enrolment")
        raise InputError("is not the code your app shows now; try the next one", "code")
    user.totp_secret, user.totp_pending_secret = secret, None
    user.totp_enrolled_at, user.totp_last_counter = utcnow(), step
    codes = new_recovery_codes(user)
    audit.record("user.2fa_enrol", "user", user.id, actor=user)
    return codes


def renew_recovery_codes(user: User, code: str) -> list[str]:
    """Replace an enrolled user's recovery codes, proven by a current code from the app (not a
    recovery code: whoever holds only those must not be able to mint more). Return the ten new
    codes (shown once); the old ones stop working. Audited.

    :raise InputError: not enrolled, or the code is wrong or already used (the attempt audited).
    """
    if not enrolled(user):
        raise InputError("two-factor sign-in is not on for your account", "code")
    step = _matching_step(user.totp_secret, _normalise(code), user.totp_last_counter, clock.now())
    if step is None:
        audit.record("user.2fa_failed", "user", user.id, actor=user, note="new recovery codes")
        raise InputError("is not the code your app shows now; try the next one", "code")
    user.totp_last_counter = step
    before = recovery_codes_left(user)
    codes = new_recovery_codes(user)
    audit.record(
        "user.2fa_recovery_renewed",
        "user",
        user.id,
        actor=user,
        before={"recovery_codes_left": before},
        after={"recovery_codes_left": len(codes)},
    )
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a sign-in code: ``"totp"``, ``"recovery"`` (that code is now used) or None.

    A wrong code is audited; an accepted one cannot be used again.
    """
    typed = _normalise(code)
    if not enrolled(user):
        return None
    step = _matching_step(user.totp_secret, typed, user.totp_last_counter, clock.now())
    if step is not None:
        user.totp_last_counter = step
        db.session.flush()
        return "totp"
    if len(typed) == 10:
        used = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash(typed),
                RecoveryCode.used_at.is_(None),
            )
        )
        if used is not None:
            used.used_at = utcnow()
            audit.record(
                "user.2fa_recovery_used",
                "user",
                user.id,
                actor=user,
                after={"recovery_codes_left": recovery_codes_left(user)},
            )
            return "recovery"
    audit.record("user.2fa_failed", "user", user.id, actor=user, note="sign-in")
    return None


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes ``user`` has."""
    db.session.flush()
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def may_reset(actor: User, target: User) -> str | None:
    """Why ``actor`` may not reset ``target``'s two-factor sign-in, or None if they may."""
    if actor.id == target.id:
        return "You cannot reset your own two-factor sign-in: ask another staff member."
    if actor.role not in (Role.STAFF, Role.ADMIN) or not enrolled(actor):
        return "Only staff who sign in with two factors can reset someone's two-factor sign-in."
    if target.role == Role.ADMIN and actor.role != Role.ADMIN:
        return "Only an administrator can reset an administrator's two-factor sign-in."
    return None


def reset(target: User, *, actor: User) -> None:
    """Another staff member turns ``target``'s two-factor sign-in off and ends their sessions;
    they must enrol again at their next sign-in. :raise Forbidden: see ``may_reset``."""
    refusal = may_reset(actor, target)
    if refusal:
        raise Forbidden(refusal)
    was = enrolled(target)
    target.totp_secret = target.totp_pending_secret = None
    target.totp_enrolled_at = target.totp_last_counter = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == target.id))
    users.end_all_sessions(target, "2fa_reset", actor=actor)
    audit.record(
        "user.2fa_reset",
        "user",
        target.id,
        actor=actor,
        before={"enrolled": was},
        after={"enrolled": False, "email": target.email},
    )
    db.session.flush()

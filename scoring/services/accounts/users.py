"""Users: password hashing (argon2id), authentication, and the password rules."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import DistrictRole, Role, User
from scoring.models._types import utcnow
from scoring.runtime import app_config
from scoring.services import audit
from scoring.services.accounts import sessions


@cache
def _hasher_with(params: tuple[tuple[str, int], ...]) -> PasswordHasher:
    return PasswordHasher(**dict(params))


def _hasher() -> PasswordHasher:
    """argon2id with the app's ``PASSWORD_HASH_PARAMS`` (None: argon2-cffi's defaults, m=64 MiB,
    t=3, p=4, as in production; the tests' config makes it cheap)."""
    try:
        params = app_config().get("PASSWORD_HASH_PARAMS")
    except RuntimeError:  # no app (a script hashing outside one): the defaults
        params = None
    return _hasher_with(tuple(sorted((params or {}).items())))


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the user is unknown, so both cases take the same time
    (made on first use, not at import: every command would pay 64 MiB and three passes)."""
    return hasher.hash("not-a-real-password")


#: NIST SP 800-63B: a length floor and a check against known passwords, no composition rules.
MIN_PASSWORD = 12
MAX_PASSWORD = 256
#: The 30,000 most common passwords of breach corpora, as shipped by the ``zxcvbn`` package
#: (MIT licence; its ``passwords`` list is drawn from Xato's 10 million leaked passwords), plus
#: a few this service's users are likely to try.
COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(
    """grantscoring scoringgrants connecticut ctschools""".split()
)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher().hash(password)


def check_password_policy(password: str) -> None:
    """Raise InputError if the password is too short, too long or too common (ASVS 6.2)."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"must be at least {MIN_PASSWORD} characters", "password")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"must be at most {MAX_PASSWORD} characters", "password")
    folded = password.lower()
    if (
        folded in COMMON_PASSWORDS
        or folded.rstrip("0123456789!.?") in COMMON_PASSWORDS
        or (len(set(folded)) < 4)
    ):
        raise InputError("is too common; choose another", "password")


def set_password(user: User, password: str, *, keep_session: int | None = None) -> None:
    """Check the policy, store the new password's hash and end the user's sessions but
    ``keep_session`` (the one that changed it)."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    if user.id is not None:
        sessions.end_all(user, "password", keep=keep_session, actor=user)


def change_password(user: User, current: str, new: str, *, keep_session: int | None) -> None:
    """A signed-in user changes their password; their other sessions end (audited).

    :raise InputError: the current password is wrong, or the new one is refused.
    """
    if authenticate(user.email, current) is None:
        raise InputError("is not your current password", "current")
    set_password(user, new, keep_session=keep_session)
    audit.record("user.password_change", "user", user.id, actor=user)


def end_all_sessions(user: User, reason: str, *, actor: User | None = None) -> None:
    """End every session of ``user`` (deactivation, a reset of their two-factor sign-in)."""
    sessions.end_all(user, reason, actor=actor)


def deactivate(user: User, *, actor: User | None, details: dict, note: str | None = None) -> None:
    """Deactivate the account, end all its sessions and audit ``user.deactivate`` (``details``
    go into the audit's after-state: what the caller's rules also did)."""
    end_all_sessions(user, "deactivated", actor=actor)
    _set_active(user, False, actor=actor, details=details, note=note)


def reactivate(user: User, *, actor: User | None, details: dict) -> None:
    """Let a deactivated account sign in again with its password; audit ``user.reactivate``.
    Its old sessions stay ended, so the person signs in afresh."""
    _set_active(user, True, actor=actor, details=details)


def _set_active(
    user: User, active: bool, *, actor: User | None, details: dict, note: str | None = None
) -> None:
    user.active = active
    audit.record(
        "user.reactivate" if active else "user.deactivate",
        "user",
        user.id,
        actor=actor,
        before={"active": not active},
        after={"active": active, **details},
        note=note,
    )


def find_by_email(email: str) -> User | None:
    """The user with this email (case-insensitive, spaces trimmed), or None."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same cost either way)."""
    user = find_by_email(email)
    hasher = _hasher()
    candidate = (
        user.password_hash if user is not None and user.password_hash else _dummy_hash(hasher)
    )
    try:
        hasher.verify(candidate, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def create_user(
    email: str,
    name: str,
    role: Role,
    *,
    password: str | None = None,
    district_id: int | None = None,
    can_approve: bool = False,
    district_role: DistrictRole | None = None,
) -> User:
    """Add a user (email lower-cased), with a password or none yet (invitation); flushed.

    An applicant gets ``district_role``, or by default submitter when the district has no
    active submitter yet (its first account) and writer otherwise.
    """
    if role == Role.APPLICANT and district_role is None:
        district_role = default_district_role(district_id)
    user = User(
        email=email.strip().lower(),
        name=name,
        role=role,
        district_id=district_id,
        can_approve=can_approve,
        district_role=district_role if role == Role.APPLICANT else None,
    )
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def default_district_role(district_id: int | None) -> DistrictRole:
    """Submitter for a district's first account (no active submitter yet), writer after."""
    has_submitter = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.district_id == district_id,
            User.role == Role.APPLICANT,
            User.active.is_(True),
            User.district_role == DistrictRole.SUBMITTER,
        )
    )
    return DistrictRole.WRITER if has_submitter else DistrictRole.SUBMITTER

"""Users, roles, one-time tokens and reviewers' declared district conflicts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import UTCDateTime, str_enum, utcnow
from scoring.models.geo import District


class Role(enum.StrEnum):
    """What a user may do: apply, review, run competitions (staff) or administer."""

    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    STAFF = "staff"
    ADMIN = "admin"


class DistrictRole(enum.StrEnum):
    """What a district user may do: ``writer`` edits drafts; ``submitter`` also submits and
    withdraws, and manages the district's people."""

    WRITER = "writer"
    SUBMITTER = "submitter"


class User(db.Model):
    """An account (applicant, reviewer, staff or admin); signs in with Flask-Login."""

    __table_args__ = (
        CheckConstraint(
            "role != 'applicant' OR district_id IS NOT NULL", name="applicant_has_district"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    #: An applicant's role in their district (None for other roles).
    district_role: Mapped[DistrictRole | None] = mapped_column(
        str_enum(DistrictRole, "district_role")
    )
    #: argon2id hash; None until an invited user sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: Staff who may approve an award slate prepared by someone else.
    can_approve: Mapped[bool] = mapped_column(default=False)
    #: Two-factor sign-in (TOTP, RFC 6238): the confirmed secret (base32), when it was
    #: confirmed, and the last time step a code was accepted for (each code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger)
    #: A secret shown on the enrolment page, waiting for its first code.
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the secret in the reviewer's private calendar feed URL; None: no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    district: Mapped[District | None] = relationship()
    conflicts: Mapped[list[ReviewerConflict]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    #: The key of the session this object was loaded for (``session_id:secret``), set by the
    #: session loader and at sign-in; not a column (a user has a session per device).
    session_key = None

    # Flask-Login protocol ("Alternative Tokens"): the id is the per-device session's key.
    @property
    def is_active(self) -> bool:
        """Whether the account is active (Flask-Login refuses inactive users)."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """Always True for a stored user (Flask-Login)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Always False for a stored user (Flask-Login)."""
        return False

    def get_id(self) -> str:
        """The key of this device's session (``user_session`` id and secret), not the user id."""
        if not self.session_key:
            raise RuntimeError("sign in through scoring.auth.sign_in (it opens a session)")
        return self.session_key

    @property
    def session_id(self) -> int | None:
        """The id of the session this request came with (to mark "this device")."""
        return int(self.session_key.partition(":")[0]) if self.session_key else None

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class TokenPurpose(enum.StrEnum):
    """What a one-time token is for: an invitation or a password reset."""

    INVITE = "invite"
    RESET = "reset"


class UserToken(db.Model):
    """A one-time, expiring token (invitation or password reset); only its hash is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the link was first opened: the token then moved into that browser's session.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One signed-in device: the browser holds ``id:secret``; only the secret's hash is kept."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: A short description of the browser ("Firefox on Windows") and the address it came from.
    device: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(45))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: logout, ended, everywhere, password, deactivated, 2fa_reset, idle, expired
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginThrottle(db.Model):
    """Failed sign-ins for one typed account name from one address, and the lock they earned
    (``services/accounts/throttle.py``): slows a guesser without locking the owner out."""

    __table_args__ = (UniqueConstraint("account", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(45))
    failures: Mapped[int] = mapped_column(default=0)
    #: How many locks in a row (each one twice as long as the one before).
    locks: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCode(db.Model):
    """A one-time two-factor recovery code; only its SHA-256 is stored (the code is random)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewerConflict(db.Model):
    """A district a reviewer must never review (bundle `conflicts`)."""

    __table_args__ = (UniqueConstraint("user_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(back_populates="conflicts")
    district: Mapped[District] = relationship()

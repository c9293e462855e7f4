"""Accounts: invitations and password resets by one-time, expiring, emailed tokens.

Only the SHA-256 of a token is stored (``UserToken.token_hash``); the raw token exists only in the
mail, and in the session of the browser that first opens the link (``open_link``): the link
answers with a redirect to a token-free address, so the address bar, Referer headers and access
logs never hold a live token (the first request's path does reach the access log, but the token
is then bound to that browser). A token works once: using it marks it used and voids the user's
other open tokens. Links are built by the caller (``make_link(raw_token) -> url``) so this
module needs no request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import (
    District,
    DistrictRole,
    OutboxMessage,
    Role,
    TokenPurpose,
    User,
    UserToken,
)
from scoring.models._types import utcnow
from scoring.runtime import app_config, render_text
from scoring.services import audit, mail
from scoring.services.accounts import users

#: Default lifetimes; ``INVITE_TOKEN_HOURS`` and ``RESET_TOKEN_MINUTES`` in the config
#: override them.
INVITE_HOURS = 7 * 24
RESET_MINUTES = 60

LinkMaker = Callable[[str], str]
EMAIL = re.compile(r"[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+")

#: What each role in a district may do, in words (the invitation mail, the People page).
ROLE_WORDS = {
    DistrictRole.WRITER: "a writer: you can edit the district's draft applications",
    DistrictRole.SUBMITTER: (
        "a submitter: you can edit, submit and withdraw the district's applications, "
        "and invite the district's other people"
    ),
}


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _lifetime(purpose: TokenPurpose) -> timedelta:
    cfg = app_config()
    if purpose == TokenPurpose.INVITE:
        return timedelta(hours=int(cfg.get("INVITE_TOKEN_HOURS", INVITE_HOURS)))
    return timedelta(minutes=int(cfg.get("RESET_TOKEN_MINUTES", RESET_MINUTES)))


def invite_hours() -> int:
    """How long an invitation link works, in hours."""
    return int(_lifetime(TokenPurpose.INVITE).total_seconds() // 3600)


def _void_open_tokens(user: User) -> None:
    """Mark every unused token of ``user`` used: a new link or a new password ends old links."""
    db.session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def issue_token(user: User, purpose: TokenPurpose) -> str:
    """Create a token for ``user``; return the raw token (store nothing but its hash)."""
    _void_open_tokens(user)
    raw = secrets.token_urlsafe(32)
    db.session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(raw),
            expires_at=utcnow() + _lifetime(purpose),
        )
    )
    db.session.flush()
    return raw


def valid_token(raw: str) -> UserToken | None:
    """The unused, unexpired token with this raw value, or None."""
    if not raw or len(raw) > 128:
        return None
    token = db.session.scalar(select(UserToken).where(UserToken.token_hash == _hash(raw)))
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token


def open_link(raw: str, *, held_here: bool) -> UserToken | None:
    """The link of a mail is opened: its token moves into this browser's session.

    Return the valid token (marked opened), or None if it is not valid. ``held_here``: this
    browser already holds it (a reload). :raise Conflict: another browser opened it first (the
    token stays valid there until its form is sent or it expires).
    """
    token = valid_token(raw)
    if token is None:
        return None
    if token.opened_at is not None and not held_here:
        raise Conflict(
            "This link was already opened in another browser, and it can be used only there. "
            "Finish there, or ask for a new link."
        )
    if token.opened_at is None:
        token.opened_at = utcnow()
        db.session.flush()
    return token


def _compose(template: str, **context) -> tuple[str, str]:
    """Render a plain-text mail template; its first line is the subject."""
    text = render_text(template, **context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def invite_district_user(
    email: str,
    name: str,
    district: District,
    *,
    invited_by: User,
    make_link: LinkMaker,
    district_role: DistrictRole | None = None,
) -> OutboxMessage:
    """Invite a district user (role applicant) by mail; a pending invitee gets a fresh link.

    ``district_role`` is the role in the district (default: submitter for the district's first
    account, writer after); re-inviting a pending invitee with a role sets that role.

    :raise InputError: the address belongs to an account that already has a password or was
        deactivated (reactivate it instead), or to a user of another role or district.
    """
    user = users.find_by_email(email)
    if user is None:
        user = users.create_user(
            email, name, Role.APPLICANT, district_id=district.id, district_role=district_role
        )
        action = "user.invite"
    elif user.role != Role.APPLICANT or user.district_id != district.id:
        raise InputError("belongs to another kind of account; use a different address", "email")
    elif not user.active:
        raise InputError(
            "belongs to a deactivated person of this district; press “Reactivate” beside "
            "their name in the list to let them sign in again",
            "email",
        )
    elif user.password_hash:
        raise InputError(
            "already has an account with a password; they can use “Forgot your password?”", "email"
        )
    else:
        action = "user.reinvite"
        user.district_role = district_role or user.district_role
    raw = issue_token(user, TokenPurpose.INVITE)
    subject, body = _compose(
        "emails/invite.txt",
        user=user,
        district=district,
        link=make_link(raw),
        hours=invite_hours(),
        inviter=invited_by,
        role_words=ROLE_WORDS[user.district_role],
    )
    audit.record(
        action,
        "user",
        user.id,
        actor=invited_by,
        after={
            "email": user.email,
            "district": district.code,
            "role": user.role.value,
            "district_role": user.district_role.value,
        },
    )
    return mail.queue(user.email, subject, body)


def create_account(
    email: str,
    name: str,
    role: Role,
    *,
    district: District | None = None,
    district_role: DistrictRole | None = None,
    can_approve: bool = False,
    via: str = "cli",
) -> tuple[User, str]:
    """Create an account with no password and a one-time set-password token (the raw token is
    returned for the caller to turn into a link). Audited with ``via`` as the actor.

    :raise InputError: the address is taken or malformed, or the options do not fit the role.
    """
    email = (email or "").strip()
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise InputError(f"{email!r} is not an email address like name@agency.gov", "email")
    if users.find_by_email(email) is not None:
        raise InputError(f"{email} already has an account", "email")
    if (role == Role.APPLICANT) != (district is not None):
        raise InputError("an applicant needs --district; other roles take none", "district")
    if district_role is not None and role != Role.APPLICANT:
        raise InputError("--district-role is for applicants only", "district_role")
    if can_approve and role not in (Role.STAFF, Role.ADMIN):
        raise InputError("--can-approve is for staff only", "can_approve")
    user = users.create_user(
        email,
        (name or "").strip() or email.split("@")[0],
        role,
        district_id=district.id if district else None,
        district_role=district_role,
        can_approve=can_approve,
    )
    raw = issue_token(user, TokenPurpose.INVITE)
    audit.record(
        "user.create",
        "user",
        user.id,
        after={
            "email": user.email,
            "role": role.value,
            "can_approve": can_approve,
            "district": district.code if district else None,
            "district_role": user.district_role.value if user.district_role else None,
        },
        note=f"actor: {via}",
    )
    return user, raw


def request_reset(email: str, *, make_link: LinkMaker) -> OutboxMessage | None:
    """Mail a reset link if an active account has this address; None otherwise.

    The caller must answer the same way in both cases, so the page reveals nothing.
    """
    user = users.find_by_email(email)
    if user is None or not user.active:
        return None
    raw = issue_token(user, TokenPurpose.RESET)
    minutes = int(_lifetime(TokenPurpose.RESET).total_seconds() // 60)
    subject, body = _compose("emails/reset.txt", user=user, link=make_link(raw), minutes=minutes)
    audit.record("user.reset_requested", "user", user.id, actor=None)
    return mail.queue(user.email, subject, body)


def redeem_token(raw: str, password: str) -> User:
    """Set the password of the token's user and use the token up; ends the user's sessions.

    :raise InputError: the link is not valid (expired, used, unknown) or the password is refused.
    """
    token = valid_token(raw)
    if token is None:
        raise InputError("This link has expired or was already used. Ask for a new one.")
    user = token.user
    users.set_password(user, password)
    _void_open_tokens(user)
    audit.record(
        "user.password_set" if token.purpose == TokenPurpose.INVITE else "user.password_reset",
        "user",
        user.id,
        actor=user,
    )
    db.session.flush()
    return user

"""A district's people: several users per district, each with a role in it.

* ``writer`` edits drafts; ``submitter`` edits, submits and withdraws, and manages the district's
  people (invite, change a role, deactivate, reactivate). Staff manage the people of any district.
* A district always keeps at least one active submitter: the last one can be neither demoted
  nor deactivated.
* The first account of a district becomes its submitter, any later one a writer unless the
  inviter chooses otherwise.

Every change is audited. Links in the invitation mail are built by the caller from
``PUBLIC_URL`` (``make_link``), never from a request.
"""

from __future__ import annotations

from sqlalchemy import func, select

from scoring.errors import Conflict, Forbidden, InputError, NotFound
from scoring.extensions import db
from scoring.models import District, DistrictRole, OutboxMessage, Role, User
from scoring.services import audit
from scoring.services.accounts import accounts, users

SUBMIT_REFUSED = (
    "only a submitter of your district can submit or withdraw an application; "
    "your role is writer. Ask {names} to submit it, or to make you a submitter"
)


def district_people(district_id: int) -> list[User]:
    """The district's users, active first, then by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.district_id == district_id, User.role == Role.APPLICANT)
            .order_by(User.active.desc(), func.lower(User.name), User.id)
        )
    )


def _submitters(district_id: int) -> list[User]:
    return [
        u
        for u in district_people(district_id)
        if u.active and u.district_role == DistrictRole.SUBMITTER
    ]


def can_manage(actor: User, district_id: int) -> bool:
    """Staff manage every district's people; an active submitter manages their own district's."""
    if actor.role in (Role.STAFF, Role.ADMIN):
        return True
    return (
        actor.role == Role.APPLICANT
        and actor.active
        and actor.district_id == district_id
        and actor.district_role == DistrictRole.SUBMITTER
    )


def require_manager(actor: User, district_id: int) -> None:
    """:raise Forbidden: ``actor`` may not manage this district's people."""
    if not can_manage(actor, district_id):
        raise Forbidden("Only a submitter of the district or staff can manage its people.")


def may_submit(user: User) -> bool:
    """Whether ``user`` may submit and withdraw (a district writer may not)."""
    return user.role != Role.APPLICANT or user.district_role == DistrictRole.SUBMITTER


def require_submitter(user: User) -> None:
    """:raise Forbidden: a district writer tried to submit or withdraw (staff never reach this)."""
    if not may_submit(user):
        names = " or ".join(u.name for u in _submitters(user.district_id)) or "staff"
        raise Forbidden(SUBMIT_REFUSED.format(names=names))


def person_of(district_id: int, user_id: int) -> User:
    """A user of the district; :raise NotFound: none with that id there."""
    user = db.session.get(User, user_id)
    if user is None or user.district_id != district_id or user.role != Role.APPLICANT:
        raise NotFound("There is nobody with that id in this district.")
    return user


def invite(
    district: District,
    email: str,
    name: str,
    role: DistrictRole,
    *,
    actor: User,
    make_link: accounts.LinkMaker,
) -> OutboxMessage:
    """Invite a person to the district with ``role``; mails a one-time set-password link."""
    require_manager(actor, district.id)
    return accounts.invite_district_user(
        email, name, district, invited_by=actor, make_link=make_link, district_role=role
    )


def _keep_a_submitter(person: User) -> None:
    if person.district_role == DistrictRole.SUBMITTER and person.active:
        if len(_submitters(person.district_id)) <= 1:
            raise Conflict(
                f"{person.name} is the district's last submitter; make someone else a "
                "submitter first, so that the district can still submit."
            )


def change_role(person: User, role: DistrictRole, *, actor: User) -> User:
    """Make a district user a writer or a submitter (never demote the last submitter)."""
    require_manager(actor, person.district_id)
    try:
        role = DistrictRole(role)
    except ValueError:
        raise InputError("Choose writer or submitter.", "role") from None
    before = person.district_role
    if before == role:
        return person
    if role == DistrictRole.WRITER:
        _keep_a_submitter(person)
    person.district_role = role
    audit.record(
        "user.district_role",
        "user",
        person.id,
        actor=actor,
        before={"district_role": before.value if before else None},
        after={"district_role": role.value, "email": person.email},
    )
    db.session.flush()
    return person


def deactivate(person: User, *, actor: User | None, via: str | None = None) -> User:
    """Deactivate an account: it can no longer sign in and its sessions end. A district's last
    submitter stays. ``actor`` None with ``via`` names who acted (``"cli"``)."""
    if actor is not None and person.role == Role.APPLICANT:
        require_manager(actor, person.district_id)
    if actor is not None and actor.id == person.id:
        raise Conflict("You cannot deactivate your own account here.")
    if not person.active:
        return person
    if person.role == Role.APPLICANT:
        _keep_a_submitter(person)
    users.deactivate(
        person, actor=actor, details={"email": person.email}, note=f"actor: {via}" if via else None
    )
    db.session.flush()
    return person


def reactivate(person: User, *, actor: User) -> User:
    """Let a deactivated person of the district sign in again, with the role they had."""
    require_manager(actor, person.district_id)
    if person.active:
        return person
    users.reactivate(
        person,
        actor=actor,
        details={
            "email": person.email,
            "district_role": person.district_role.value if person.district_role else None,
        },
    )
    db.session.flush()
    return person

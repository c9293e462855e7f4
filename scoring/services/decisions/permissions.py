"""Who may approve and who may publish an award list: one rule each, read by the approval
and publication services and by two-factor sign-in (``services/accounts/two_factor``)."""

from __future__ import annotations

from scoring.models import Role, User

#: The roles of the staff area; every one of them may publish an approved award list.
STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})


def may_approve(user: User) -> bool:
    """Staff with approval rights may approve a list someone else prepared (four eyes)."""
    return user.role in STAFF_ROLES and bool(user.can_approve)


def may_publish(user: User) -> bool:
    """Any staff member may publish an award list once it is approved."""
    return user.role in STAFF_ROLES

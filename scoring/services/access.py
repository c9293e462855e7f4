"""Who may see or change each object: one rule per object kind, used by every route that serves
that object (issue 12, item 3).

Each rule answers with an :class:`Access`:

* ``see``: the object exists for this user (else every route answers 404, never 403, so nothing
  leaks about other districts' or reviewers' work);
* ``read``: its content (narratives, budget, attached PDFs, scores);
* ``edit``: the user may ask to change it (whether the phase of the round still allows it is the
  service's answer, e.g. ``applications.require_editable``: a 409 with the reason);
* ``names``: the school's and district's names, the application's title, an attachment's original
  file name and the PDFs' metadata may be shown. Under blind review a reviewer never gets them.

What the reviewer rule reads from the database (the active assignment, the blocked districts)
is remembered for the rest of the request (:func:`_memo`): one page asks the rule several times
(the route's check, the assignment's, every "may the names be shown" of the template), and the
answer cannot change until the session writes, commits or rolls back, which forgets it.

The rules:

=============== ======================================================================
application     staff and admins see and read; the applicant's district sees, reads and
                edits; a reviewer sees it while an active assignment to it is on their
                worklist and its district is not blocked for them (their own district or a
                declared district conflict), and reads it once they declared no conflict.
attachment      as its application's ``read``.
review          staff see and read; its reviewer sees, reads and edits it while they may
                read the application.
ranking run     staff and admins (see, read, edit: prepare, approve, publish are further
                rules of ``decisions``); the public reads a published list by its slug.
export file     as its run.
district        its people: staff and the district's own people see them; staff and
                the district's active submitters manage them.
=============== ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from scoring import runtime
from scoring.errors import NotFound
from scoring.extensions import db
from scoring.models import (
    Application,
    Attachment,
    District,
    ExportJob,
    RankingRun,
    Review,
    ReviewerAssignment,
    Role,
)
from scoring.services.queries import blocked_districts, reviewer_worklist

NOT_FOUND = "There is nothing here, or you do not have access to it."
STAFF = frozenset({Role.STAFF, Role.ADMIN})


@dataclass(frozen=True)
class Access:
    """What one user may do with one object (see the module's table)."""

    see: bool = False
    read: bool = False
    edit: bool = False
    names: bool = False


NONE = Access()
STAFF_ACCESS = Access(see=True, read=True, edit=False, names=True)


def _role(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.role


def is_staff(user: Any) -> bool:
    """Staff or an admin, signed in."""
    return _role(user) in STAFF


def active_assignment(user: Any, application: Application) -> ReviewerAssignment | None:
    """The reviewer's active assignment to ``application`` (on their worklist, its district not
    blocked for them), else None. Read once per request (:func:`_memo`)."""
    if _role(user) != Role.REVIEWER:
        return None
    memo, key = _memo(), ("assignment", user.id, application.id)
    if key in memo:
        return memo[key]
    assignment = db.session.scalar(
        reviewer_worklist(user.id).where(ReviewerAssignment.application_id == application.id)
    )
    if assignment is not None and application.school.district_id in _blocked(user.id, memo):
        assignment = None
    memo[key] = assignment
    return assignment


def _blocked(user_id: int, memo: dict) -> set[int]:
    key = ("blocked", user_id)
    if key not in memo:
        memo[key] = {district for _, district in db.session.execute(blocked_districts([user_id]))}
    return memo[key]


# --------------------------------------------------------------------------- one request's memo

_MEMO = "access"


def _memo() -> dict:
    """This request's memo of the reviewer rule's reads (a throwaway dict outside a request:
    nothing is remembered there). ``scoring.runtime`` forgets it when a request starts and ends."""
    return runtime.request_memo(_MEMO)


def forget(*_args: Any, **_kwargs: Any) -> None:
    """Drop the memo whenever the session flushes a change, runs a statement that writes,
    commits or rolls back."""
    runtime.forget_request_memo(_MEMO)


def _forget_on_write(state: Any) -> None:
    if not state.is_select:
        forget()


for _name in ("after_flush", "after_commit", "after_soft_rollback"):
    event.listen(Session, _name, forget)
event.listen(Session, "do_orm_execute", _forget_on_write)


def application(user: Any, app: Application) -> Access:
    """The rule for an application (see the module's table)."""
    role = _role(user)
    if role in STAFF:
        return STAFF_ACCESS
    if role == Role.APPLICANT:
        if user.district_id is not None and app.school.district_id == user.district_id:
            return Access(see=True, read=True, edit=True, names=True)
        return NONE
    if role == Role.REVIEWER:
        assignment = active_assignment(user, app)
        if assignment is None:
            return NONE
        declared = assignment.no_conflict_declared_at is not None
        return Access(see=True, read=declared, names=not app.competition.blind_review)
    return NONE


def attachment(user: Any, file: Attachment) -> Access:
    """The rule for an attached PDF: its application's ``read``."""
    of_app = application(user, file.application)
    if not of_app.read:
        return NONE
    return Access(see=True, read=True, edit=of_app.edit, names=of_app.names)


def review(user: Any, item: Review) -> Access:
    """The rule for a review: staff, or its own reviewer while they may read the application."""
    if is_staff(user):
        return STAFF_ACCESS
    if _role(user) == Role.REVIEWER and item.reviewer_id == user.id:
        of_app = application(user, item.application)
        if of_app.read:
            return Access(see=True, read=True, edit=True, names=of_app.names)
    return NONE


def run(user: Any, item: RankingRun) -> Access:
    """The rule for a ranking run: staff and admins only."""
    return Access(see=True, read=True, edit=True, names=True) if is_staff(user) else NONE


def export_file(user: Any, job: ExportJob) -> Access:
    """The rule for an export file: as its run."""
    return run(user, job.run)


def district(user: Any, item: District) -> Access:
    """The rule for a district's people: staff and its own people see them; staff and its
    active submitters manage them (``people.can_manage``)."""
    from scoring.services.accounts.people import can_manage

    role = _role(user)
    if role in STAFF or (role == Role.APPLICANT and user.district_id == item.id):
        return Access(see=True, read=True, edit=can_manage(user, item.id), names=True)
    return NONE


# --------------------------------------------------------------------------- what routes call

_RULES = {
    Application: application,
    Attachment: attachment,
    Review: review,
    RankingRun: run,
    ExportJob: export_file,
    District: district,
}


def require(user: Any, obj: Any, need: str = "see") -> Any:
    """``obj`` if the rule of its kind gives ``user`` ``need`` (see, read, edit), else
    :class:`NotFound` (also when ``obj`` is None)."""
    if obj is None or not getattr(_RULES[type(obj)](user, obj), need):
        raise NotFound(NOT_FOUND)
    return obj


def get(user: Any, model: type, object_id: int, need: str = "see") -> Any:
    """Load ``model`` by id and :func:`require` it."""
    return require(user, db.session.get(model, object_id), need)


def shows_names(user: Any, app: Application) -> bool:
    """Whether pages for ``user`` may name the school, the district and the title of ``app``."""
    return application(user, app).names


def download_name(user: Any, file: Attachment) -> str:
    """The file name an attachment is sent under: its original name, or under blind review (for
    a reviewer) a neutral one made of the application's ref."""
    if attachment(user, file).names:
        return file.filename
    return f"{file.application.ref}-attachment-{file.id}.pdf"


__all__ = [
    "NOT_FOUND",
    "Access",
    "application",
    "attachment",
    "district",
    "download_name",
    "export_file",
    "get",
    "require",
    "review",
    "run",
    "shows_names",
]

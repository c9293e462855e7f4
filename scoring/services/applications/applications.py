"""Applications: drafts, submission inside the window, withdrawal, screening, what applicants see.

Rules, all checked here and not in forms or views:

* Who may see or change an application is one rule, ``scoring.services.access.application``.
* A draft may be saved at any time before the competition closes, incomplete or not.
* Submission happens only inside the window ``opens_at <= now < closes_at`` on the server clock,
  and only when ``application_checks.submission_problems`` finds nothing: required narratives
  present, the request within the award bounds and equal to the budget total. It is then
  read-only.
* Withdrawal is allowed before the deadline.
* Only a district's submitters submit and withdraw; writers edit drafts (``accounts.people``).
* Screening (eligibility, tier, priorities) and extensions are in ``screening``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Competition,
    OutboxMessage,
    School,
    User,
)
from scoring.models._types import utcnow
from scoring.runtime import render_text
from scoring.services import audit, mail
from scoring.services.accounts.people import require_submitter
from scoring.services.applications.checks import snapshot, submission_problems, summary
from scoring.services.applications.content import (
    ApplicationInput,
    apply_draft,
    sync_budget,
)
from scoring.services.applications.eligibility import (
    eligible_schools,
    require_accepting,
    window_state,
)
from scoring.services.applications.status import published_decision
from scoring.services.competitions.phases import application_deadline, phase_of


class StaleDraft(Conflict):
    """Someone saved this draft after the form was opened (HTTP 409): nothing of this save was
    written; the caller shows the saved version and what was typed side by side."""

    def __init__(self, application_id: int) -> None:
        super().__init__(
            "This application was changed in another window or by a colleague after you opened "
            "it. Your changes are not saved yet: compare them with the saved version below."
        )
        self.application_id = application_id


class SubmissionRefused(InputError):
    """The draft is saved but cannot be submitted; ``problems`` maps form fields to what to fix."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("The application cannot be submitted yet: " + " ".join(problems.values()))
        self.problems = problems


# --- Lists ----------------------------------------------------------------------------------


def district_applications(district_id: int | None) -> list[Application]:
    """Every application of the district's schools, newest first."""
    return list(
        db.session.scalars(
            select(Application)
            .join(School)
            .where(School.district_id == district_id)
            .order_by(Application.created_at.desc(), Application.id.desc())
        )
    )


def submitted_applications(competition_id: int | None = None) -> list[Application]:
    """Submitted applications for staff screening, by competition then ref."""
    query = select(Application).where(Application.status == ApplicationStatus.SUBMITTED)
    if competition_id is not None:
        query = query.where(Application.competition_id == competition_id)
    return list(db.session.scalars(query.order_by(Application.competition_id, Application.ref)))


def is_editable(application: Application, now: datetime) -> bool:
    """A draft whose window (the competition's, or its documented extension) has not closed, in
    a competition whose decisions are not published."""
    closes = application_deadline(application)
    return (
        application.status == ApplicationStatus.DRAFT
        and closes is not None
        and now < closes
        and phase_of(application.competition, now).key != "published"
    )


def require_editable(application: Application, now: datetime) -> None:
    """:raise Conflict: the application is submitted, withdrawn, or its competition closed."""
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict(
            f"Application {application.ref} is {application.status.value} "
            "and can no longer be changed."
        )
    if not is_editable(application, now):
        raise Conflict(
            f"The deadline ({local_dt(application_deadline(application))}) has passed; "
            "the application can no longer be changed."
        )


# --- Drafts ---------------------------------------------------------------------------------


def start_application(
    competition: Competition,
    user: User,
    data: ApplicationInput,
    now: datetime,
    *,
    invalid: dict[str, dict] | None = None,
    typed: dict | None = None,
) -> Application:
    """Create a draft for one of the user's district's eligible schools, every entry as typed
    (the invalid ones kept aside in ``draft_invalid``, see :func:`save_draft`).

    :raise Conflict: the competition is closed or has no window.
    :raise InputError: the school is not acceptable (a draft needs one).
    """
    require_accepting(competition, now)
    application = Application(
        competition=competition,
        ref=f"new-{uuid.uuid4().hex[:12]}",
        created_by_id=user.id,
        school_id=data.school_id,
    )
    _check_school(application, user, data.school_id)
    db.session.add(application)
    _write_draft(application, data, invalid, typed)
    db.session.flush()
    prefix = competition.slug.split("-")[0].upper()[:12]
    application.ref = f"{prefix}-{application.id:05d}"
    _audit("application.create", application, user, None)
    db.session.flush()
    return application


def _write_draft(
    application: Application, data: ApplicationInput, invalid: dict | None, typed: dict | None
) -> None:
    kept = apply_draft(application, data, invalid or {}, typed or {})
    application.draft_invalid = kept or None


def save_draft(
    application: Application,
    user: User,
    data: ApplicationInput,
    now: datetime,
    *,
    invalid: dict[str, dict] | None = None,
    typed: dict | None = None,
) -> Application:
    """Replace the draft's content with ``data``, every entry as typed: the valid ones in the
    columns, the ones refused (by the form: ``invalid``; by the rules here) left empty there
    and kept in ``draft_invalid`` as typed (``typed``) with the reason. Nothing typed is lost.

    :raise Conflict: not editable. :raise StaleDraft: the form was opened on an older version,
        or another save of the same version committed first.
    """
    require_editable(application, now)
    if data.version is not None and data.version != application.version:
        raise StaleDraft(application.id)
    before = summary(application)
    try:
        _check_school(application, user, data.school_id)
    except InputError as exc:  # keep the saved school; the choice is shown as refused
        invalid = {"school": {"typed": str(data.school_id), "error": exc.detail}, **(invalid or {})}
        data = replace(data, school_id=application.school_id)
    _write_draft(application, data, invalid, typed)
    application.updated_at = utcnow()  # bumps the version even when only child rows changed
    _flush_or_conflict(stale_id=application.id)
    _audit("application.save", application, user, before)
    return application


def last_save(application: Application):
    """The audit event of the draft's latest save or creation (who saved it, when), or None."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.entity == "application",
            AuditEvent.entity_id == application.id,
            AuditEvent.action.in_(("application.save", "application.create")),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def replace_budget(
    application: Application,
    user: User,
    lines: dict[tuple[int, int], Decimal],
    notes: dict[int, str],
    now: datetime,
    *,
    source: str,
) -> Application:
    """Replace every budget line of a draft (from the workbook upload)."""
    require_editable(application, now)
    before = summary(application)
    sync_budget(application, lines, notes)
    if application.draft_invalid:  # the workbook replaced every budget entry typed before
        kept = {
            k: v for k, v in application.draft_invalid.items() if not k.startswith(("b_", "note_"))
        }
        application.draft_invalid = kept or None
    application.updated_at = utcnow()
    _flush_or_conflict()
    _audit("application.budget_replace", application, user, before, note=source)
    return application


def _audit(
    action: str,
    application: Application,
    user: User,
    before: dict | None,
    *,
    after: dict | None = None,
    note: str | None = None,
) -> None:
    """One audit event for a change of ``application`` (after: its summary unless given)."""
    audit.record(
        action,
        "application",
        application.id,
        actor=user,
        competition_id=application.competition_id,
        before=before,
        after=after if after is not None else summary(application),
        note=note,
    )


def _flush_or_conflict(stale_id: int | None = None) -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:  # another transaction saved the same version first
        if stale_id is not None:  # the session is unusable until rolled back: only the id
            raise StaleDraft(stale_id) from exc
        raise Conflict(
            "Someone saved this application at the same moment. Reload the page and try again."
        ) from exc


def _check_school(application: Application, user: User, school_id: int) -> None:
    schools = {s.id for s in eligible_schools(application.competition, user.district_id)}
    if school_id not in schools:
        raise InputError(
            "Choose one of your district's schools that may apply to this competition.", "school"
        )
    query = select(Application).where(
        Application.competition_id == application.competition.id,
        Application.school_id == school_id,
        Application.status != ApplicationStatus.WITHDRAWN,
    )
    if application.id is not None:
        query = query.where(Application.id != application.id)
    other = db.session.scalar(query.limit(1))
    if other is not None:
        raise InputError(
            f"This school already has application {other.ref} in this competition; "
            "open that one instead.",
            "school",
        )


# --- Submission -----------------------------------------------------------------------------


def submit(application: Application, user: User, now: datetime) -> OutboxMessage:
    """Submit a complete draft inside the window; returns the receipt mail to dispatch.

    :raise Forbidden: the user is the district's writer, not a submitter.
    :raise Conflict: not a draft, or outside the window on the server clock.
    :raise SubmissionRefused: the draft is incomplete (``problems`` names each field).
    """
    competition = application.competition
    require_submitter(user)
    require_editable(application, now)
    if window_state(competition, now) == "upcoming":
        raise Conflict(
            f"The window opens {local_dt(competition.opens_at)}; save a draft until then."
        )
    problems = submission_problems(application)
    if problems:
        raise SubmissionRefused(problems)
    before = summary(application)
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = now
    suffix = secrets.token_hex(2).upper()  # unguessable, so a number cannot be made up from the ids
    application.confirmation_number = f"CT-{competition.id:03d}-{application.id:06d}-{suffix}"
    _flush_or_conflict()
    _audit("application.submit", application, user, before, after=snapshot(application))
    body = render_text("emails/receipt.txt", application=application, user=user)
    subject, _, text = body.strip().partition("\n")
    return mail.queue(
        user.email, subject.strip(), text.strip() + "\n", dedupe_key=f"receipt:{application.id}"
    )


def can_withdraw(application: Application, now: datetime) -> bool:
    """Before the deadline, and before any decision on it is published."""
    closes = application_deadline(application)
    return (
        application.status != ApplicationStatus.WITHDRAWN
        and closes is not None
        and now < closes
        and published_decision(application) is None
    )


def withdraw(application: Application, user: User, now: datetime) -> Application:
    """Withdraw a draft or a submitted application before the deadline.

    :raise Conflict: already withdrawn, or the deadline has passed.
    """
    require_submitter(user)
    closes = application_deadline(application)
    if application.status == ApplicationStatus.WITHDRAWN:
        raise Conflict(f"Application {application.ref} is already withdrawn.")
    if closes is None or now >= closes:
        raise Conflict(
            f"The deadline ({local_dt(closes)}) has passed; "
            "to withdraw now, write to the Turnaround Office."
        )
    if published_decision(application) is not None:
        raise Conflict(
            "The decision on this application is published; write to the Turnaround Office instead."
        )
    before = summary(application)
    application.status = ApplicationStatus.WITHDRAWN
    application.withdrawn_at = now
    _flush_or_conflict()
    _audit("application.withdraw", application, user, before)
    return application

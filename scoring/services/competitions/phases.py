"""The phase of a competition, derived in one place from its dates and its staff actions.

    draft → open → closed → in review → ranked → approved → published

* **draft**: no window yet, or the window has not opened (staff only; applicants see when it
  opens and may not apply).
* **open**: ``opens_at <= now < closes_at`` on the server clock (``scoring.clock``).
* **closed**: after the close, some submitted applications are not screened yet.
* **in review**: after the close, every submitted application is screened (eligibility, tier,
  priorities); reviews are being scored.
* **ranked**: an official ranking run is done (not what-if).
* **approved**: its award list is approved (four eyes).
* **published**: an award list is published.

The gates the services call are here too: :func:`official_refusal` says why an official ranking,
an approval or a publication may not happen yet (what-if runs are always allowed), and
:func:`screening_refusal` says why screening may not start yet (before the close), and
:func:`application_deadline` is the close of one application's window (with its audited
extension, never after publication).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from scoring.errors import Conflict
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import (
    Application,
    ApplicationStatus,
    AwardSlate,
    Competition,
    SlateStatus,
)
from scoring.services.queries import official_run

ORDER = ("draft", "open", "closed", "in_review", "ranked", "approved", "published")

LABELS = {
    "draft": "Draft",
    "open": "Open for applications",
    "closed": "Closed — screening",
    "in_review": "In review",
    "ranked": "Ranked",
    "approved": "Award list approved",
    "published": "Awards published",
}

#: What each role may do in each phase (shown on every page of the competition).
MAY = {
    "draft": {
        "staff": "set up the rubric, priorities and dates",
        "applicant": "nothing yet: the competition is not open",
        "reviewer": "nothing yet",
    },
    "open": {
        "staff": "answer questions, grant a documented extension; what-if runs only",
        "applicant": "write, submit and withdraw applications until the close",
        "reviewer": "declare conflicts; reviews start after the close",
    },
    "closed": {
        "staff": "screen every submitted application (eligibility, tier, priorities)",
        "applicant": "read their submitted application; no changes",
        "reviewer": "score assigned applications",
    },
    "in_review": {
        "staff": "follow review progress, run the official ranking",
        "applicant": "read their submitted application; no changes",
        "reviewer": "score assigned applications before the review deadline",
    },
    "ranked": {
        "staff": "record exceptions, submit the award list for approval",
        "applicant": "wait for the decision",
        "reviewer": "nothing more unless asked",
    },
    "approved": {
        "staff": "publish the approved award list",
        "applicant": "wait for the decision",
        "reviewer": "nothing more",
    },
    "published": {
        "staff": "answer questions; the decisions are public",
        "applicant": "read the decision and its reason",
        "reviewer": "nothing more",
    },
}


@dataclass(frozen=True)
class Phase:
    """A phase: its key (``ORDER``), label, a sentence about the dates, what each role may do."""

    key: str
    label: str
    #: One sentence about the dates ("Closes 2026-03-01 4:00 PM EST").
    detail: str
    may: dict[str, str]

    def at_least(self, key: str) -> bool:
        """This phase is ``key`` or a later one."""
        return ORDER.index(self.key) >= ORDER.index(key)


def unscreened(competition_id: int) -> list[str]:
    """Refs of submitted applications of the competition that staff have not screened yet."""
    return list(
        db.session.scalars(
            select(Application.ref)
            .where(
                Application.competition_id == competition_id,
                Application.status == ApplicationStatus.SUBMITTED,
                Application.screened_at.is_(None),
            )
            .order_by(Application.ref)
        )
    )


def _open_extensions(competition_id: int, now: datetime) -> list[str]:
    return list(
        db.session.scalars(
            select(Application.ref)
            .where(
                Application.competition_id == competition_id,
                Application.status == ApplicationStatus.DRAFT,
                Application.extended_until > now,
            )
            .order_by(Application.ref)
        )
    )


def _slate_status(competition_id: int) -> SlateStatus | None:
    statuses = set(
        db.session.scalars(
            select(AwardSlate.status).where(AwardSlate.competition_id == competition_id)
        )
    )
    for status in (SlateStatus.PUBLISHED, SlateStatus.APPROVED):
        if status in statuses:
            return status
    return None


def phase_of(competition: Competition, now: datetime) -> Phase:
    """The competition's phase at ``now`` (the one function that decides it)."""
    key, detail = _derive(competition, now)
    return Phase(key, LABELS[key], detail, MAY[key])


def _derive(competition: Competition, now: datetime) -> tuple[str, str]:
    opens, closes = competition.opens_at, competition.closes_at
    slate = _slate_status(competition.id)
    if slate == SlateStatus.PUBLISHED:
        return "published", "The decisions are published."
    if opens is None or closes is None:
        return "draft", "No application window is set yet."
    if now < opens:
        return "draft", f"Opens {local_dt(opens)}, closes {local_dt(closes)}."
    if now < closes:
        return "open", f"Open until {local_dt(closes)}."
    if slate == SlateStatus.APPROVED:
        return "approved", "The award list is approved and waiting for publication."
    if db.session.scalar(official_run(competition.id)) is not None:
        return "ranked", f"Closed {local_dt(closes)}; an official ranking is done."
    pending = unscreened(competition.id)
    if pending:
        return "closed", f"Closed {local_dt(closes)}; {len(pending)} application(s) to screen."
    return "in_review", f"Closed {local_dt(closes)}; screening complete."


def official_refusal(competition: Competition, now: datetime, action: str) -> str | None:
    """Why ``action`` (an official ranking, an approval, a publication) may not happen yet, or
    None. What-if runs never ask."""
    closes = competition.closes_at
    if closes is None or now < closes:
        when = f"closes {local_dt(closes)}" if closes else "has no closing date yet"
        return (
            f"The application window {when}: {action} is possible only after the close "
            "and once screening is complete. A what-if run is allowed at any time."
        )
    extended = _open_extensions(competition.id, now)
    if extended:
        return (
            f"Application(s) {', '.join(extended)} still have an extension running: "
            f"{action} must wait until it ends."
        )
    pending = unscreened(competition.id)
    if pending:
        shown = ", ".join(pending[:10]) + (" …" if len(pending) > 10 else "")
        return (
            f"Screening is not complete: {len(pending)} submitted application(s) are not "
            f"screened yet ({shown}). {action[:1].upper() + action[1:]} waits for it."
        )
    return None


def screening_refusal(competition: Competition, now: datetime) -> str | None:
    """Why staff may not screen the competition's applications yet (screening is after the
    close: until then an applicant may still change, withdraw or submit), or None."""
    closes = competition.closes_at
    if closes is not None and now >= closes:
        return None
    when = f"closes {local_dt(closes)}" if closes else "has no closing date yet"
    return (
        f"Screening starts after the close: the application window of {competition.title} "
        f"{when}, and applicants may change, withdraw or submit until then."
    )


#: Phases in which a draft may still be given an extension (open, or closed but not ranked).
EXTENSION_PHASES = ("open", "closed", "in_review")


def require_official(competition: Competition, now: datetime, action: str) -> None:
    """:raise Conflict: :func:`official_refusal` gives a reason."""
    refusal = official_refusal(competition, now, action)
    if refusal:
        raise Conflict(refusal)


def application_deadline(application: Application) -> datetime | None:
    """When this application's window closes: the competition's close, or its documented
    extension if later."""
    closes = application.competition.closes_at
    extended = application.extended_until
    if closes is None or extended is None:
        return closes
    return max(closes, extended)


def screening_counts(competition_id: int) -> tuple[int, int]:
    """(screened, submitted) applications of the competition."""
    row = db.session.execute(
        select(func.count(Application.screened_at), func.count(Application.id)).where(
            Application.competition_id == competition_id,
            Application.status == ApplicationStatus.SUBMITTED,
        )
    ).one()
    return int(row[0]), int(row[1])

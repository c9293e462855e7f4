"""Which competitions take applications (the window, on the server clock) and which schools may
apply (the competition's eligibility rules), in code and in plain words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from scoring.errors import Conflict
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import Competition, District, School


def window_state(competition: Competition, now: datetime) -> str:
    """``unscheduled``, ``upcoming``, ``open`` or ``closed`` on the server clock."""
    if competition.opens_at is None or competition.closes_at is None:
        return "unscheduled"
    if now < competition.opens_at:
        return "upcoming"
    return "open" if now < competition.closes_at else "closed"


def listed_competitions(now: datetime) -> list[Competition]:
    """Competitions open now or opening later, soonest deadline first."""
    return list(
        db.session.scalars(
            select(Competition)
            .where(Competition.closes_at.is_not(None), Competition.opens_at.is_not(None))
            .where(Competition.closes_at > now)
            .order_by(Competition.closes_at, Competition.id)
        )
    )


def require_accepting(competition: Competition, now: datetime) -> None:
    """:raise Conflict: the competition takes no new applications (closed or never scheduled)."""
    state = window_state(competition, now)
    if state == "closed":
        raise Conflict(
            f"{competition.title} closed {local_dt(competition.closes_at)}; "
            "it takes no new applications."
        )
    if state == "unscheduled":
        raise Conflict(f"{competition.title} has no application window yet.")


def eligible_schools(competition: Competition, district_id: int | None) -> list[School]:
    """The schools of ``district_id`` that meet the competition's eligibility rules."""
    query = select(School).join(District).where(School.district_id == district_id)
    if competition.alliance_only:
        query = query.where(District.alliance.is_(True))
    if competition.eligible_classifications:
        query = query.where(School.classification.in_(competition.eligible_classifications))
    return list(db.session.scalars(query.order_by(School.name)))


def eligibility_words(competition: Competition) -> str:
    """The structured eligibility rules in plain words."""
    kinds = competition.eligible_classifications
    who = "Schools" if not kinds else "Schools classified " + _join_or(kinds)
    where = " of Alliance Districts" if competition.alliance_only else " of any district"
    return f"{who}{where}."


def _join_or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]

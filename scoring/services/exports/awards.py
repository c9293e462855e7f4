"""The award list and the board of a run, read as a stream (a server-side cursor) in funding
order: the computed and the effective decision side by side, the requested amount, the reason
in plain words, and a totals row. The same rows feed the CSV, the XLSX and the PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, func, select

from scoring.core.wording import reason_words, status_words
from scoring.extensions import db
from scoring.models import (
    Application,
    AwardOverride,
    District,
    RankingResult,
    RankingRun,
    School,
    User,
)
from scoring.services.exports.writers import Column
from scoring.services.ranking.board import effective

ZERO = Decimal("0.00")
FUNDED = ("funded", "partially_funded")
CHUNK = 2000  # rows fetched per round trip from the server-side cursor

AWARD_COLUMNS = (
    Column("Position", "int"),
    Column("Rank", "int"),
    Column("Ref", "text"),
    Column("School code", "text", 12),
    Column("School", "wide"),
    Column("District code", "text", 10),
    Column("District", "text", 24),
    Column("Tier", "int", 6),
    Column("Counted reviews", "int"),
    Column("Review scores", "text", 24),
    Column("Base score", "score"),
    Column("Priority points", "score"),
    Column("Final score", "score"),
    Column("Flags", "text"),
    Column("Requested", "money"),
    Column("Computed decision", "text", 24),
    Column("Computed award", "money"),
    Column("Decision", "text", 24),
    Column("Award", "money"),
    Column("Staff exception", "yes"),
    Column("Justification", "wide"),
    Column("Reason", "reason"),
)

BOARD_COLUMNS = (
    Column("Position", "int"),
    Column("Rank", "int"),
    Column("Ref", "text"),
    Column("School", "wide"),
    Column("District", "text", 24),
    Column("Tier", "int", 6),
    Column("Final score", "score"),
    Column("Flags", "text"),
    Column("Requested", "money"),
    Column("Decision", "text", 24),
    Column("Award", "money"),
    Column("Running total", "money"),
    Column("Above the funding line", "yes"),
    Column("Staff exception", "yes"),
    Column("Reason", "reason"),
)


class _Computed(NamedTuple):
    status: str
    award: Decimal


class _Override(NamedTuple):
    status: str
    amount: Decimal


@dataclass
class AwardLine:
    """One application of the award list, with the words already chosen."""

    position: int
    rank: int | None
    ref: str
    school_code: str
    school: str
    district_code: str
    district: str
    tier: int
    reviews: int
    review_scores: list
    base: Decimal | None
    priority_points: Decimal
    final: Decimal | None
    flags: list
    requested: Decimal
    computed_status: str
    computed_award: Decimal
    status: str
    award: Decimal
    exception: bool
    justification: str | None
    reason: str
    decided_by: str | None = None
    decided_at: Any = None


@dataclass
class Totals:
    """Counts and sums of an award list (its last row)."""

    applications: int = 0
    requested: Decimal = ZERO
    computed: Decimal = ZERO
    awarded: Decimal = ZERO
    funded: int = 0
    exceptions: int = 0

    def add(self, line: AwardLine) -> None:
        """Count one application."""
        self.applications += 1
        self.requested += line.requested
        self.computed += line.computed_award
        self.awarded += line.award
        self.funded += line.award > 0
        self.exceptions += line.exception


def district_awards(run: RankingRun) -> dict[str, tuple[int, Decimal]]:
    """Each district's computed awards in the run: (count, amount), for the reason words."""
    rows = db.session.execute(
        select(RankingResult.district_code, func.count(), func.sum(RankingResult.award))
        .where(RankingResult.run_id == run.id, RankingResult.status.in_(FUNDED))
        .group_by(RankingResult.district_code)
    )
    return {code: (n, Decimal(str(amount or 0))) for code, n, amount in rows}


def count(run: RankingRun) -> int:
    """The number of applications in the run."""
    return db.session.scalar(
        select(func.count()).select_from(RankingResult).where(RankingResult.run_id == run.id)
    )


def lines(run: RankingRun) -> Iterator[AwardLine]:
    """The run's applications in document order (funding order, then unranked), streamed."""
    policy = run.policy or {}
    per_district = district_awards(run)
    decider = User.__table__.alias("decider")
    stmt = (
        select(
            RankingResult.position,
            RankingResult.rank,
            RankingResult.ref,
            RankingResult.school_code,
            School.name,
            RankingResult.district_code,
            District.name,
            RankingResult.tier,
            RankingResult.reviews,
            RankingResult.review_scores,
            RankingResult.base,
            RankingResult.priority_points,
            RankingResult.final,
            RankingResult.flags,
            Application.requested_amount,
            RankingResult.status,
            RankingResult.award,
            RankingResult.reason,
            AwardOverride.status,
            AwardOverride.amount,
            AwardOverride.justification,
            decider.c.name,
            AwardOverride.decided_at,
        )
        .join(Application, Application.id == RankingResult.application_id)
        .join(School, School.id == Application.school_id)
        .outerjoin(District, District.code == RankingResult.district_code)
        .outerjoin(
            AwardOverride,
            and_(
                AwardOverride.run_id == RankingResult.run_id,
                AwardOverride.application_id == RankingResult.application_id,
            ),
        )
        .outerjoin(decider, decider.c.id == AwardOverride.decided_by_id)
        .where(RankingResult.run_id == run.id)
        .order_by(RankingResult.position)
        .execution_options(yield_per=CHUNK)
    )
    for (
        position, rank, ref, school_code, school, district_code, district, tier, reviews,
        review_scores, base, priority, final, flags, requested, status, award, reason,
        o_status, o_amount, justification, decided_by, decided_at,
    ) in db.session.execute(stmt):  # fmt: skip
        override = None if o_status is None else _Override(o_status, o_amount)
        eff_status, eff_award = effective(_Computed(status, award), override)
        n, amount = per_district.get(district_code, (0, ZERO))
        yield AwardLine(
            position, rank, ref, school_code, school, district_code, district or "", tier,
            reviews, review_scores or [], base, priority, final, flags or [], requested,
            status, award, eff_status, eff_award, override is not None, justification,
            reason_words(
                status, reason, policy, requested=requested, district_awards=n,
                district_amount=amount,
            ),
            decided_by, decided_at,
        )  # fmt: skip


def plain_number(value: Any) -> str:
    """``86.5000`` → ``86.5``."""
    return format(Decimal(str(value)).normalize(), "f")


def award_rows(run: RankingRun, totals: Totals | None = None) -> Iterator[list[Any]]:
    """The award list's rows (:data:`AWARD_COLUMNS`), then its totals row."""
    totals = totals if totals is not None else Totals()
    for a in lines(run):
        totals.add(a)
        yield [
            a.position, a.rank, a.ref, a.school_code, a.school, a.district_code, a.district,
            a.tier, a.reviews, " ".join(plain_number(s) for s in a.review_scores), a.base,
            a.priority_points, a.final, " ".join(a.flags), a.requested,
            status_words(a.computed_status), a.computed_award, status_words(a.status), a.award,
            "Yes" if a.exception else "No", a.justification, a.reason,
        ]  # fmt: skip
    yield totals_row(AWARD_COLUMNS, totals)


def totals_row(columns, totals: Totals) -> list[Any]:
    """The last row: counts and sums under the columns they belong to."""
    values = {
        "Ref": "Total",
        "School": f"{totals.applications} applications",
        "Requested": totals.requested,
        "Computed award": totals.computed,
        "Award": totals.awarded,
        "Decision": f"{totals.funded} with an award",
        "Staff exception": str(totals.exceptions),
    }
    return [values.get(c.name) for c in columns]


def board_rows(run: RankingRun) -> Iterator[list[Any]]:
    """The board as a table (:data:`BOARD_COLUMNS`): running total of the effective awards in
    funding order and the funding line (under the last ranked application that gets money)."""
    line_after = funding_line(run)
    running, totals = ZERO, Totals()
    for a in lines(run):
        totals.add(a)
        if a.rank is not None:
            running += a.award
        yield [
            a.position, a.rank, a.ref, a.school, a.district, a.tier, a.final, " ".join(a.flags),
            a.requested, status_words(a.status), a.award,
            running if a.rank is not None else None,
            "Yes" if (line_after is not None and a.rank is not None and a.position <= line_after)
            else "No",
            "Yes" if a.exception else "No", a.reason,
        ]  # fmt: skip
    yield totals_row(BOARD_COLUMNS, totals)


def funding_line(run: RankingRun) -> int | None:
    """Position of the last ranked application whose effective award is above zero."""
    amount = func.coalesce(AwardOverride.amount, RankingResult.award)
    return db.session.scalar(
        select(func.max(RankingResult.position))
        .outerjoin(
            AwardOverride,
            and_(
                AwardOverride.run_id == RankingResult.run_id,
                AwardOverride.application_id == RankingResult.application_id,
            ),
        )
        .where(RankingResult.run_id == run.id, RankingResult.rank.is_not(None), amount > 0)
    )


def totals_of(run: RankingRun) -> Totals:
    """The award list's totals from aggregates (the PDF's heading, before its rows)."""
    amount = func.coalesce(AwardOverride.amount, RankingResult.award)
    n, requested, computed, awarded, funded, exceptions = db.session.execute(
        select(
            func.count(),
            func.sum(Application.requested_amount),
            func.sum(RankingResult.award),
            func.sum(amount),
            func.count().filter(amount > 0),
            func.count(AwardOverride.id),
        )
        .join(Application, Application.id == RankingResult.application_id)
        .outerjoin(
            AwardOverride,
            and_(
                AwardOverride.run_id == RankingResult.run_id,
                AwardOverride.application_id == RankingResult.application_id,
            ),
        )
        .where(RankingResult.run_id == run.id)
    ).one()
    d = lambda v: Decimal(str(v or 0)).quantize(ZERO)  # noqa: E731
    return Totals(n, d(requested), d(computed), d(awarded), funded, exceptions)


Progress = Callable[[int], None]

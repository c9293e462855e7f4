"""One page of the ranking board, read with SQL over the stored results (issue 14).

The board of a 100,000-application run cannot be built row by row: a page is chosen, sorted and
filtered in the database (``page_of``), and what the board says about the whole run (the totals,
counts by decision, the funding line, the cut score, the chart's histogram) comes from
aggregates (``summary_of``, ``score_bins``). No explanation JSON is read for a page, except the
page's own rows when the run normalised with z-scores (to show each review raw → normalised).

Sorting keys (each then by funding position ascending, so the order is total and ties keep
funding order): ``position`` (funding
order), ``rank``, ``score`` (final), ``district`` (name), ``requested``, ``awarded`` (the
effective award) and ``stability`` (share of resamples in which it was funded). Filters: the
effective status, a district code, a flag (``discrepancy``, ``tie``, ``override`` = a staff
exception, ``toss_up``) and a search of the ref or the school name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select

from scoring.core.ranking import stored_review_scores
from scoring.extensions import db
from scoring.models import (
    Application,
    AwardOverride,
    District,
    RankingResult,
    RankingRun,
    RunStatus,
    School,
    StabilityResult,
    StabilityRun,
)

PAGE_SIZE = 100
SORTS = ("position", "rank", "score", "district", "requested", "awarded", "stability")
#: The direction each sort starts with (the other is asked for with ``desc=0``/``1``).
DESCENDING_FIRST = {"score", "requested", "awarded", "stability"}
ZERO = Decimal("0.00")
LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class BoardQuery:
    """What a board request asks for: filters, a sort and a page (all already checked)."""

    status: str = ""
    district: str = ""
    flag: str = ""
    q: str = ""
    sort: str = "position"
    descending: bool | None = None  # None: the sort's natural direction
    page: int = 1
    per_page: int | None = PAGE_SIZE  # None: every row (tests, exports)

    @property
    def desc(self) -> bool:
        """Whether the sort runs from high to low."""
        if self.descending is None:
            return self.sort in DESCENDING_FIRST
        return self.descending


@dataclass
class PageRow:
    """One application on a page of the board."""

    application_id: int
    position: int
    rank: int | None
    ref: str
    school_name: str
    district_code: str
    district_name: str
    tier: int
    review_scores: list
    base: Decimal | None
    priority_points: Decimal
    final: Decimal | None
    flags: list
    computed_status: str
    computed_award: Decimal
    reason: str | None
    requested: Decimal
    status: str
    award: Decimal
    override_justification: str | None
    exception: bool
    running_total: Decimal | None = None
    funded_side: bool = False
    review_pairs: list = field(default_factory=list)


@dataclass
class Page:
    """The rows of one page, how many rows the filters keep, and the page numbers."""

    rows: list[PageRow]
    matching: int
    page: int
    pages: int
    per_page: int | None


# --------------------------------------------------------------------------- expressions


def override_join():
    """The outer join of a result to its staff exception (same run, same application)."""
    return and_(
        AwardOverride.run_id == RankingResult.run_id,
        AwardOverride.application_id == RankingResult.application_id,
    )


def effective_status():
    """The status that counts: the exception's if there is one."""
    return func.coalesce(AwardOverride.status, RankingResult.status)


def effective_award():
    """The award that counts: the exception's if there is one."""
    return func.coalesce(AwardOverride.amount, RankingResult.award)


def cents_sum(expr):
    """A sum of money in whole cents (exact on SQLite too, which keeps NUMERIC as a float)."""
    return func.sum(func.round(expr * 100))


def money(cents: Any) -> Decimal:
    """Whole cents from a SQL sum as exact dollars and cents."""
    return (Decimal(int(cents or 0)) / 100).quantize(ZERO)


def done_stability(run: RankingRun) -> StabilityRun | None:
    """The run's stability if it is done (else ``None``)."""
    row = db.session.scalar(select(StabilityRun).where(StabilityRun.run_id == run.id))
    return row if row is not None and row.status == RunStatus.DONE else None


def _like(text: str) -> str:
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_").lower()
    )
    return f"%{escaped}%"


def _filtered(run: RankingRun, query: BoardQuery, stability: StabilityRun | None, stmt):
    """``stmt`` (selecting from RankingResult) with the joins and WHERE clauses of ``query``."""
    stmt = stmt.outerjoin(AwardOverride, override_join()).where(RankingResult.run_id == run.id)
    needs_school = bool(query.q)
    if query.sort == "district":
        stmt = stmt.outerjoin(District, District.code == RankingResult.district_code)
    if query.sort == "requested":
        stmt = stmt.join(Application, Application.id == RankingResult.application_id)
    if needs_school:
        stmt = stmt.outerjoin(School, School.code == RankingResult.school_code)
    if query.sort == "stability" or query.flag == "toss_up":
        stmt = stmt.outerjoin(
            StabilityResult,
            and_(
                StabilityResult.stability_id == (stability.id if stability else -1),
                StabilityResult.ref == RankingResult.ref,
            ),
        )
    if query.status:
        stmt = stmt.where(effective_status() == query.status)
    if query.district:
        stmt = stmt.where(RankingResult.district_code == query.district)
    if query.flag == "override":
        stmt = stmt.where(AwardOverride.id.is_not(None))
    elif query.flag == "toss_up":
        resamples = stability.resamples if stability else 0
        stmt = stmt.where(
            StabilityResult.rank_lo.is_not(None),
            resamples > 0,
            StabilityResult.funded_in * 5 >= resamples,
            StabilityResult.funded_in * 5 <= 4 * resamples,
        )
    elif query.flag:
        stmt = stmt.where(cast(RankingResult.flags, String).like(f'%"{query.flag}"%'))
    if query.q:
        pattern = _like(query.q)
        stmt = stmt.where(
            or_(
                func.lower(RankingResult.ref).like(pattern, escape=LIKE_ESCAPE),
                func.lower(School.name).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt


def _order(query: BoardQuery) -> list:
    key = {
        "position": RankingResult.position,
        "rank": RankingResult.rank,
        "score": RankingResult.final,
        "district": func.coalesce(District.name, RankingResult.district_code),
        "requested": Application.requested_amount,
        "awarded": effective_award(),
        "stability": StabilityResult.funded_in,
    }[query.sort]
    first = key.desc() if query.desc else key.asc()
    if query.sort != "position":
        first = first.nulls_last()
    return [first] if query.sort == "position" else [first, RankingResult.position.asc()]


# --------------------------------------------------------------------------- a page


def page_of(
    run: RankingRun, query: BoardQuery, line_after: int | None, total: int | None = None
) -> Page:
    """The rows of ``query``'s page (sorted and filtered in SQL) and the number that match;
    ``line_after`` is the funding line's position and ``total`` the run's number of results
    (``board_totals.summary_of``; without a filter no count is run)."""
    stability = done_stability(run)
    unfiltered = not (query.status or query.district or query.flag or query.q)
    if unfiltered and total is not None:
        matching = total
    else:
        matching = db.session.scalar(
            _filtered(run, query, stability, select(func.count(RankingResult.id)))
        )
    per = query.per_page
    pages = max(1, -(-matching // per)) if per else 1
    page = min(max(1, query.page), pages)
    ids_stmt = _filtered(run, query, stability, select(RankingResult.id)).order_by(*_order(query))
    if per:
        ids_stmt = ids_stmt.limit(per).offset((page - 1) * per)
    ids = list(db.session.scalars(ids_stmt))
    rows = _rows(run, ids)
    _running_totals(run, rows)
    for row in rows:
        row.funded_side = (
            line_after is not None and row.rank is not None and (row.position <= line_after)
        )
    return Page(rows, matching, page, pages, per)


def _rows(run: RankingRun, ids: list[int]) -> list[PageRow]:
    """The display columns of result rows ``ids``, in that order."""
    if not ids:
        return []
    stmt = (
        select(
            RankingResult.id,
            RankingResult.application_id,
            RankingResult.position,
            RankingResult.rank,
            RankingResult.ref,
            School.name,
            RankingResult.district_code,
            District.name,
            RankingResult.tier,
            RankingResult.review_scores,
            RankingResult.base,
            RankingResult.priority_points,
            RankingResult.final,
            RankingResult.flags,
            RankingResult.status,
            RankingResult.award,
            RankingResult.reason,
            Application.requested_amount,
            AwardOverride.status,
            AwardOverride.amount,
            AwardOverride.justification,
        )
        .join(Application, Application.id == RankingResult.application_id)
        .outerjoin(School, School.code == RankingResult.school_code)
        .outerjoin(District, District.code == RankingResult.district_code)
        .outerjoin(AwardOverride, override_join())
        .where(RankingResult.id.in_(ids))
    )
    by_id = {}
    for (
        rid, app_id, position, rank, ref, school, d_code, d_name, tier, scores, base, priority,
        final, flags, status, award, reason, requested, o_status, o_amount, justification,
    ) in db.session.execute(stmt):  # fmt: skip
        override = o_status is not None
        by_id[rid] = PageRow(
            app_id, position, rank, ref, school or "", d_code, d_name or "", tier, scores or [],
            base, priority, final, flags or [], status, award, reason, requested,
            o_status if override else status, o_amount if override else award,
            justification, override,
        )  # fmt: skip
    if (run.policy or {}).get("normalization") == "zscore":
        explanations = db.session.execute(
            select(RankingResult.id, RankingResult.explanation).where(RankingResult.id.in_(ids))
        )
        for rid, stored in explanations:
            by_id[rid].review_pairs = stored_review_scores(stored)
    return [by_id[i] for i in ids]


def _running_totals(run: RankingRun, rows: list[PageRow]) -> None:
    """Each ranked row's running total: the effective awards in funding order up to it (a
    window sum over the ranked rows up to the page's last position)."""
    ranked = [r for r in rows if r.rank is not None]
    if not ranked:
        return
    window = (
        select(
            RankingResult.id.label("rid"),
            RankingResult.position.label("pos"),
            func.sum(func.round(effective_award() * 100))
            .over(order_by=RankingResult.position)
            .label("cents"),
        )
        .outerjoin(AwardOverride, override_join())
        .where(
            RankingResult.run_id == run.id,
            RankingResult.rank.is_not(None),
            RankingResult.position <= max(r.position for r in ranked),
        )
        .subquery()
    )
    wanted = [r.position for r in ranked]
    totals = dict(
        db.session.execute(
            select(window.c.pos, window.c.cents).where(window.c.pos.in_(wanted))
        ).all()
    )
    for row in ranked:
        row.running_total = money(totals.get(row.position))

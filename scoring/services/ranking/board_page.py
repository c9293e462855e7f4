"""One page of the ranking board (issue 14).

The board of a 100,000-application run cannot be built row by row: a page is chosen, sorted and
filtered over the run's narrow columns kept in the process (``board_index``: one read per run,
the staff exceptions, stability, amounts requested and names applied at each request), and
only the page's rows are read from the database (``page_of``); what the board says about the
whole run (the totals, counts by decision, the funding line, the cut score, the chart's
histogram) comes from aggregates (``board_totals``). No explanation JSON is read for a page,
except the page's own rows when the run normalised with z-scores (to show each review raw →
normalised).

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

import numpy as np
from sqlalchemy import and_, func, select

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
    StabilityRun,
)
from scoring.services.ranking import board_index

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


def _school_hits(cols: board_index.RunColumns, text: str) -> np.ndarray:
    """Which rows' school name contains ``text`` (case-insensitive; the school table, so a
    renamed school is found by its new name)."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_").lower()
    )
    codes = db.session.scalars(
        select(School.code).where(func.lower(School.name).like(f"%{escaped}%", escape=LIKE_ESCAPE))
    ).all()
    wanted = np.isin(np.array(cols.school_codes, dtype=str), np.array(codes, dtype=str))
    return wanted[cols.school] if len(cols) else np.zeros(0, dtype=bool)


def _mask(run, cols, eff, tossed, query: BoardQuery) -> np.ndarray | None:
    """Which rows ``query``'s filters keep (``None``: every row)."""
    keep = None

    def narrow(rows: np.ndarray) -> None:
        nonlocal keep
        keep = rows if keep is None else keep & rows

    if query.status:
        narrow(eff.status == query.status)
    if query.district:
        codes = cols.district_codes
        narrow(
            cols.district == codes.index(query.district)
            if query.district in codes
            else np.zeros(len(cols), dtype=bool)
        )
    if query.flag == "override":
        narrow(eff.exception)
    elif query.flag == "toss_up":
        narrow(tossed)
    elif query.flag:
        narrow(cols.flags.get(query.flag, np.zeros(len(cols), dtype=bool)))
    if query.q:
        text = query.q.lower()
        narrow((np.char.find(cols.refs_lower, text) >= 0) | _school_hits(cols, query.q))
    return keep


def _sort_key(run, cols, eff, funded_in, sort: str) -> np.ndarray:
    """The sort's value of each row as float64 (NaN: no value, sorted last)."""
    if sort == "rank":
        return cols.rank
    if sort == "score":
        return cols.final
    if sort == "awarded":
        return eff.award.astype(np.float64)
    if sort == "stability":
        return funded_in
    if sort == "requested":
        return board_index.requested_cents(run, cols).astype(np.float64)
    names = board_index.district_names(cols)  # "district": by name, else by code
    keys = [code if names.get(code) is None else names[code] for code in cols.district_codes]
    ranks = {k: i for i, k in enumerate(sorted(set(keys)))}
    by_code = np.array([ranks[k] for k in keys], dtype=np.float64)
    return by_code[cols.district] if len(cols) else np.zeros(0)


def _ordered(run, cols, eff, funded_in, query: BoardQuery) -> np.ndarray | None:
    """Row indexes in ``query``'s order, then by position (``None``: position order)."""
    if query.sort == "position":
        return None if not query.desc else np.arange(len(cols))[::-1]
    key = _sort_key(run, cols, eff, funded_in, query.sort)
    key = np.where(np.isnan(key), np.inf, -key if query.desc else key)
    return np.lexsort((cols.position, key))


# --------------------------------------------------------------------------- a page


def page_of(
    run: RankingRun, query: BoardQuery, line_after: int | None, total: int | None = None
) -> Page:
    """The rows of ``query``'s page and the number that match, chosen over the run's narrow
    columns (``board_index``; only the page's rows are read from the database);
    ``line_after`` is the funding line's position (``board_totals.summary_of``). ``total`` is
    accepted for callers that know the run's size; the columns give it."""
    cols = board_index.columns_of(run)
    eff = board_index.effective(run, cols)
    wanted = query.sort == "stability" or query.flag == "toss_up"
    stability = done_stability(run) if wanted else None
    funded_in, tossed = board_index.stability_columns(run, cols, stability)
    keep = _mask(run, cols, eff, tossed, query)
    order = _ordered(run, cols, eff, funded_in, query)
    if order is None:
        chosen = np.flatnonzero(keep) if keep is not None else None
    else:
        chosen = order[keep[order]] if keep is not None else order
    matching = len(cols) if chosen is None else len(chosen)
    per = query.per_page
    pages = max(1, -(-matching // per)) if per else 1
    page = min(max(1, query.page), pages)
    start, stop = ((page - 1) * per, page * per) if per else (0, matching)
    shown = np.arange(start, min(stop, matching)) if chosen is None else chosen[start:stop]
    rows = _rows(run, cols.ids[shown].tolist())
    ranked = ~np.isnan(cols.rank)
    running = np.cumsum(np.where(ranked, eff.award, 0))
    for row, i in zip(rows, shown.tolist(), strict=True):
        if ranked[i]:
            row.running_total = money(int(running[i]))
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

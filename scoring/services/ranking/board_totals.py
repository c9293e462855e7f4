"""The ranking board's figures for the whole run, from SQL aggregates (issue 14): totals and
counts by decision, the funding line and the cut score, the chart's histogram, the districts
and the toss-up count. No row per application is read.

A done run's results do not change; what can change its figures is a staff exception (an
``AwardOverride`` row) or its stability being computed. ``totals_of`` keeps the figures of the
last few runs in this process, keyed by the run, every exception of it (id, status, amount)
and its stability's state, so a board page after the first reads only that key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, cast, func, select

from scoring import charts
from scoring.core.ranking.columns import STATUSES
from scoring.extensions import db
from scoring.models import (
    AwardOverride,
    RankingResult,
    RankingRun,
    StabilityResult,
    StabilityRun,
)
from scoring.services.kept import Kept
from scoring.services.ranking import board_index
from scoring.services.ranking.board_page import (
    ZERO,
    cents_sum,
    done_stability,
    effective_award,
    effective_status,
    money,
    override_join,
)


@dataclass(frozen=True)
class Summary:
    """The whole run in aggregates: totals, counts by decision, the funding line, the cut."""

    applications: int
    ranked: int
    requested: Decimal
    computed_total: Decimal
    effective_total: Decimal
    exceptions: int
    by_status: dict[str, int]
    line_after: int | None
    cut_score: Decimal | None
    total_funds: Decimal

    @property
    def remaining(self) -> Decimal:
        """Funds left after the effective awards."""
        return self.total_funds - self.effective_total


def summary_of(run: RankingRun) -> Summary:
    """Totals, counts by effective decision, the funding line and the lowest funded final
    score of the whole run, and the amount requested, from aggregate queries."""
    return replace(_result_summary(run), requested=requested_of(run))


def requested_of(run: RankingRun) -> Decimal:
    """What the run's applications ask for, as they stand now (the application table)."""
    return money(int(board_index.requested_cents(run, board_index.columns_of(run)).sum()))


def _result_summary(run: RankingRun) -> Summary:
    """``Summary`` from the run's stored results and exceptions only (``requested`` zero)."""
    eff = effective_award()
    status = effective_status()
    columns = [
        func.count(RankingResult.id),
        func.count(RankingResult.rank),
        cents_sum(RankingResult.award),
        cents_sum(eff),
        func.count(AwardOverride.id),
        func.max(RankingResult.position).filter(RankingResult.rank.is_not(None), eff > 0),
        func.min(RankingResult.final).filter(RankingResult.rank.is_not(None), eff > 0),
        *(func.count(RankingResult.id).filter(status == s) for s in STATUSES),
    ]
    row = db.session.execute(
        select(*columns)
        .outerjoin(AwardOverride, override_join())
        .where(RankingResult.run_id == run.id)
    ).one()
    n, ranked, computed, effective, exceptions, line_after, cut = row[:7]
    by_status = {s: c for s, c in zip(STATUSES, row[7:], strict=True) if c}
    return Summary(
        n,
        ranked,
        ZERO,
        money(computed),
        money(effective),
        exceptions,
        by_status,
        line_after,
        None if cut is None else Decimal(str(cut)),
        run.total_funds or ZERO,
    )


def score_bins(run: RankingRun) -> tuple[dict[int, tuple[int, int]], Decimal | None]:
    """The ranked applications' final scores in one-point bins: ``{floor(final): (funded,
    not funded)}`` (funded: an effective award above zero), and the highest final score."""
    funded = (effective_award() > 0).label("funded")
    final = RankingResult.final
    whole = (
        func.floor(final) if db.engine.dialect.name == "postgresql" else cast(final, Integer)
    ).label("bin")  # SQLite truncates: the same for the chart, which clamps below 0 to bin 0
    counts: dict[int, list[int]] = {}
    top = None  # the highest of the groups' highest scores: no second query (nor an index)
    rows = db.session.execute(
        select(whole, funded, func.count(RankingResult.id), func.max(final))
        .outerjoin(AwardOverride, override_join())
        .where(RankingResult.run_id == run.id, RankingResult.rank.is_not(None), final.is_not(None))
        .group_by(whole, funded)
    )
    for b, is_funded, n, highest in rows:
        pair = counts.setdefault(int(b), [0, 0])
        pair[0 if is_funded else 1] += n
        top = highest if top is None or highest > top else top
    return {b: (f, o) for b, (f, o) in counts.items()}, top


def distribution_chart(run: RankingRun, summary: Summary):
    """The final-score histogram with the funding line, from SQL bins: a wide SVG and a narrow
    one for phones (the stylesheet shows one of them)."""
    bins, top = score_bins(run)
    min_score = (run.policy or {}).get("min_score")
    kw = {
        "cut_score": summary.cut_score,
        "min_score": None if min_score is None else Decimal(str(min_score)),
    }
    return charts.score_histogram(bins, top, css="wide", **kw) + charts.score_histogram(
        bins, top, bin_width=10, width=360, height=240, css="narrow", **kw
    )


@dataclass(frozen=True)
class Figures:
    """What the board shows about the whole run besides ``Summary``."""

    chart: Any
    districts: list[tuple[str, str]]
    toss_ups: int | None


MEMO_SIZE = 16
_MEMO: Kept[tuple[Summary, Any, int | None]] = Kept(MEMO_SIZE)


def _key(run: RankingRun) -> tuple:
    """Everything the remembered figures depend on: the run's inputs and policy (the engine is
    deterministic, so equal keys mean equal results), every staff exception and the
    stability's state."""
    exceptions = db.session.execute(
        select(AwardOverride.application_id, AwardOverride.status, AwardOverride.amount)
        .where(AwardOverride.run_id == run.id)
        .order_by(AwardOverride.application_id)
    ).all()
    stable = db.session.execute(
        select(
            StabilityRun.id, StabilityRun.status, StabilityRun.resamples, StabilityRun.finished_at
        ).where(StabilityRun.run_id == run.id)
    ).all()
    policy = json.dumps(run.policy or {}, sort_keys=True, default=str)
    return (
        str(db.engine.url),
        run.id,
        run.status,
        run.finished_at,
        run.inputs_sha256,
        policy,
        tuple(exceptions),
        tuple(stable),
    )


def totals_of(run: RankingRun) -> tuple[Summary, Figures]:
    """``summary_of`` and ``Figures`` of a run. The parts read from the stored results (totals,
    counts, funding line, chart, toss-ups) are remembered in this process while ``_key`` is
    unchanged (``services.kept``: shared by a threaded server's threads; ``Summary`` is frozen
    and ``by_status`` never changed after it is made); the requested amounts and the districts'
    names are read each time."""
    base, chart, toss_ups = _MEMO.get(_key(run), lambda: _figures(run))
    summary = replace(base, requested=requested_of(run))
    return summary, Figures(chart, districts_of(run), toss_ups)


def _figures(run: RankingRun) -> tuple[Summary, Any, int | None]:
    """The remembered part of ``totals_of``: the stored results' summary, chart and toss-ups."""
    base = _result_summary(run)
    return base, distribution_chart(run, base), toss_up_count(run)


def districts_of(run: RankingRun) -> list[tuple[str, str]]:
    """(code, name) of the districts in the run, for the district filter."""
    cols = board_index.columns_of(run)
    names = board_index.district_names(cols)
    return sorted((code, names.get(code) or "") for code in cols.district_codes)


def toss_up_count(run: RankingRun) -> int | None:
    """How many ranked applications are toss-ups (``None`` while the stability is not done)."""
    stability = done_stability(run)
    if stability is None:
        return None
    r = stability.resamples
    if r <= 0:
        return 0
    return db.session.scalar(
        select(func.count(StabilityResult.id)).where(
            StabilityResult.stability_id == stability.id,
            StabilityResult.rank_lo.is_not(None),
            StabilityResult.funded_in * 5 >= r,
            StabilityResult.funded_in * 5 <= 4 * r,
        )
    )

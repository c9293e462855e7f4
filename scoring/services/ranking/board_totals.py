"""The ranking board's figures for the whole run, from SQL aggregates (issue 14): totals and
counts by decision, the funding line and the cut score, the chart's histogram, the districts
and the toss-up count. No row per application is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Integer, cast, func, select

from scoring import charts
from scoring.extensions import db
from scoring.models import (
    Application,
    AwardOverride,
    District,
    RankingResult,
    RankingRun,
    StabilityResult,
)
from scoring.services.ranking.board_page import (
    ZERO,
    cents_sum,
    done_stability,
    effective_award,
    effective_status,
    money,
    override_join,
)


@dataclass
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
    score of the whole run, in three aggregate queries."""
    eff = effective_award()
    n, ranked, requested, computed, effective, exceptions, line_after, cut = db.session.execute(
        select(
            func.count(RankingResult.id),
            func.count(RankingResult.rank),
            cents_sum(Application.requested_amount),
            cents_sum(RankingResult.award),
            cents_sum(eff),
            func.count(AwardOverride.id),
            func.max(RankingResult.position).filter(RankingResult.rank.is_not(None), eff > 0),
            func.min(RankingResult.final).filter(RankingResult.rank.is_not(None), eff > 0),
        )
        .join(Application, Application.id == RankingResult.application_id)
        .outerjoin(AwardOverride, override_join())
        .where(RankingResult.run_id == run.id)
    ).one()
    by_status = dict(
        db.session.execute(
            select(effective_status(), func.count(RankingResult.id))
            .outerjoin(AwardOverride, override_join())
            .where(RankingResult.run_id == run.id)
            .group_by(effective_status())
        ).all()
    )
    return Summary(
        n,
        ranked,
        money(requested),
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
    rows = db.session.execute(
        select(whole, funded, func.count(RankingResult.id))
        .outerjoin(AwardOverride, override_join())
        .where(RankingResult.run_id == run.id, RankingResult.rank.is_not(None), final.is_not(None))
        .group_by(whole, funded)
    )
    for b, is_funded, n in rows:
        pair = counts.setdefault(int(b), [0, 0])
        pair[0 if is_funded else 1] += n
    top = db.session.scalar(
        select(func.max(final)).where(
            RankingResult.run_id == run.id, RankingResult.rank.is_not(None)
        )
    )
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


def districts_of(run: RankingRun) -> list[tuple[str, str]]:
    """(code, name) of the districts in the run, for the district filter."""
    rows = db.session.execute(
        select(RankingResult.district_code, District.name)
        .outerjoin(District, District.code == RankingResult.district_code)
        .where(RankingResult.run_id == run.id)
        .distinct()
    )
    return sorted((code, name or "") for code, name in rows)


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

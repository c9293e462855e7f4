"""Explanations: a hand-checkable account of one application (``explanation_data``/``explain``).

Scores are rounded to 4 places as reported (``scoring.core.numbers``); ``final_6`` is the
6-place value used in comparisons. ``scoring.core.explain`` renders the data as text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from scoring.core.explain import render_explanation
from scoring.core.numbers import (
    cents_str,
    json_number,
    micro,
    money_cents,
    nano,
    report,
    round_score,
)
from scoring.core.ranking.columns import Columns, index_of
from scoring.core.ranking.document import ApplicationResult, RankingResult
from scoring.core.ranking.registry import NORMALISATIONS

__all__ = ["explain", "explanation_data"]


def r4(x: float | None) -> float | None:
    return None if x is None else round_score(x, 4)


class ExplainCache:
    """Rounded copies of the run's arrays, made once per result for ``explanation_data``.

    A service that stores an explanation for each of 100,000 applications then pays a few
    list slices per application instead of thousands of scalar numpy operations.
    """

    __slots__ = (
        "raw4",
        "norm4",
        "points4",
        "pct4",
        "frac6",
        "base4",
        "final4",
        "sect4",
        "spread6",
        "stats",
        "final6",
        "rank_order",
        "decided",
        "rubric",
        "policy",
        "tie_lo",
        "tie_hi",
    )

    def __init__(self, c: Columns) -> None:
        maxima = np.array([float(s.max_points) for s in c.rubric.sections])
        self.raw4, self.norm4 = report(nano(c.raw)), report(nano(c.norm))
        self.points4, self.pct4 = report(nano(c.sect_points)), report(nano(c.sect_pct))
        self.frac6 = micro(nano(c.sect_points / maxima)) / 1e6
        self.base4, self.final4 = report(nano(c.base)), report(c.final_nano)
        self.sect4 = report(nano(c.sections))
        raw6 = micro(nano(c.raw))
        self.spread6 = np.zeros(len(c.refs))
        nz = np.nonzero(c.counts)[0]
        if len(nz):
            self.spread6[nz] = (
                np.maximum.reduceat(raw6, c.starts[nz]) - np.minimum.reduceat(raw6, c.starts[nz])
            ) / 1e6
        self.stats = [self._reviewer(c, k) for k in range(len(c.names))]
        self.final6, self.decided = c.final6.tolist(), c.decided.tolist()
        self.rank_order = c.rank_order.tolist()
        f6 = c.final6[c.rank_order]  # equal finals are contiguous in rank order
        new = np.r_[True, f6[1:] != f6[:-1]] if len(f6) else np.zeros(0, bool)
        group = np.cumsum(new) - 1
        first = np.nonzero(new)[0]
        last = np.r_[first[1:], len(f6)] - 1
        self.tie_lo, self.tie_hi = first[group].tolist(), last[group].tolist()
        total = sum((s.effective_weight for s in c.rubric.sections), Decimal(0))
        self.rubric = {
            "sections": [s.key for s in c.rubric.sections],
            "max_points": [json_number(s.max_points) for s in c.rubric.sections],
            "weights": [json_number(s.effective_weight) for s in c.rubric.sections],
            "default_weights": [s.weight is None for s in c.rubric.sections],
            "total_weight": json_number(total),
        }
        p = c.policy

        def money(v: Decimal | None) -> str | None:
            return None if v is None else cents_str(money_cents(v, ""))

        self.policy = {
            "max_award": money(p.max_award),
            "total_funds": money(p.total_funds),
            "min_score": json_number(p.min_score, 6),
            "fund_down": p.fund_down,
            "partial_funding": p.partial_funding,
            "partial_min": money(p.effective_partial_min),
            "district_max_awards": p.district_max_awards,
            "district_max_amount": money(p.district_max_amount),
        }

    @staticmethod
    def _reviewer(c: Columns, k: int) -> dict[str, Any]:
        n, applied = int(c.n_v[k]), bool(c.applied_v[k])
        why_not = None
        if NORMALISATIONS[c.policy.normalization].rescale is None:
            why_not = "normalization is none"
        elif not applied:
            why_not = (
                f"reviewer has {n} counted reviews (fewer than 3)"
                if n < 3
                else "reviewer's scores are all equal (sigma_v = 0)"
            )
        return {
            "n": n,
            "mean": r4(float(c.mu_v[k])),
            "std": r4(float(c.sigma_v[k])),
            "applied": applied,
            "why_not": why_not,
        }


MAX_TIED = 20  # an explanation names at most this many applications it is tied with


def explain_cache(c: Columns) -> ExplainCache:
    if c.explain is None:
        c.explain = ExplainCache(c)
    return c.explain


def explanation_data(result: RankingResult, ref: str) -> dict[str, Any]:
    """JSON-ready account of how one application got its numbers, status and award.

    Store it with the run and render it later with ``render_explanation`` (the text needs
    nothing else). Scores are rounded to 4 places as reported; ``final_6`` is the 6-place
    value used in comparisons. Cheap enough to call for every application of a large run.
    Raise ``KeyError`` for an unknown ref.
    """
    c = result._c
    x = explain_cache(c)
    i = index_of(c, ref)
    a = ApplicationResult(c, i)
    p = c.policy
    block = a._block
    n = block.stop - block.start
    reviews = [
        {
            "reviewer": c.names[k],
            "points": pts,
            "fraction": frac,
            "pct": pct,
            "score": raw,
            "normalised": norm,
            "reviewer_stats": x.stats[k],
        }
        for k, pts, frac, pct, raw, norm in zip(
            c.rev_code[block].tolist(),
            x.points4[block].tolist(),
            x.frac6[block].tolist(),
            x.pct4[block].tolist(),
            x.raw4[block].tolist(),
            x.norm4[block].tolist(),
            strict=True,
        )
    ]
    keys = x.rubric["sections"]
    return {
        "ref": a.ref,
        "school": a.school,
        "district": a.district,
        "tier": a.tier,
        "status": a.status,
        "reason": a.reason,
        "rank": a.rank,
        "flags": list(a.flags),
        "rubric": {
            **x.rubric,
            "sections": list(keys),
            "max_points": list(x.rubric["max_points"]),
            "weights": list(x.rubric["weights"]),
            "default_weights": list(x.rubric["default_weights"]),
        },
        "reviews": reviews,
        "normalization": {"method": p.normalization, "mean": r4(c.mu), "std": r4(c.sigma)},
        "aggregation": {
            "method": p.aggregation,
            "min_reviews": p.min_reviews,
            "values": [r["normalised"] for r in reviews],
        },
        "base": float(x.base4[i]) if n else None,
        "sections": dict(zip(keys, x.sect4[i].tolist(), strict=True)) if n else None,
        "priorities": [{"key": k, "points": json_number(c.prio_points[k])} for k in c.prio_keys[i]],
        "priority_points": json_number(a.priority_points),
        "final": float(x.final4[i]) if n else None,
        "final_6": x.final6[i] / 1e6 if n else None,
        "discrepancy": {
            "threshold": json_number(p.discrepancy_threshold, 6),
            "spread_6": float(x.spread6[i]) if n >= 2 else None,
        },
        "ranking": _ranking_data(c, x, i),
        "funding": _funding_data(c, x, i),
    }


def _ranking_data(c: Columns, x: ExplainCache, i: int) -> dict[str, Any] | None:
    if not c.rank[i]:
        return None
    pos = int(c.rank[i]) - 1
    order, f6 = x.rank_order, x.final6
    above = order[pos - 1] if pos else None
    lo, hi = x.tie_lo[pos], x.tie_hi[pos]
    tied = [c.refs[j] for j in order[lo : min(hi + 1, lo + MAX_TIED + 1)] if j != i]
    return {
        "rank": pos + 1,
        "of": len(order),
        "above": None if above is None else {"ref": c.refs[above], "final_6": f6[above] / 1e6},
        "decided_by": None if x.decided[i] < 0 else c.labels[x.decided[i]],
        "tie_breakers": list(c.policy.tie_breakers),
        "tied_with": tied[:MAX_TIED],
        "tied_count": hi - lo,
    }


def _funding_data(c: Columns, x: ExplainCache, i: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        **x.policy,
        "requested_amount": cents_str(int(c.requested[i])),
        "request": cents_str(int(c.request[i])),
        "award": cents_str(int(c.rem_before[i] - c.rem_after[i])),
        "position": None,
        "of": len(c.fund_order),
    }
    if not c.position[i]:
        return data
    pos = int(c.position[i]) - 1
    room, n_d, amt_d = c.by_position[:, pos].tolist()
    stopped = 0 <= c.stop < pos
    data.update(
        {
            "position": pos + 1,
            "remaining_before": cents_str(int(c.rem_before[i])),
            "remaining_after": cents_str(int(c.rem_after[i])),
            "room": None if room < 0 else cents_str(room),
            "district_awards_before": n_d,
            "district_amount_before": cents_str(amt_d),
            "stopped_at": c.refs[int(c.fund_order[c.stop])] if stopped else None,
        }
    )
    return data


def explain(result: RankingResult, ref: str) -> str:
    """Plain-text explanation of one application a grant officer can check by hand."""
    return render_explanation(explanation_data(result, ref))

"""Compact storage of explanations (one record per application plus one run-level context).

A service storing an explanation for each of 100,000 applications does not store 100,000
self-contained dicts (~2.4 KB each, mostly the rubric, policy and reviewer statistics
repeated): it stores the run-level ``explanation_context`` once (with the run) and one
``compact_explanations`` record per application (a JSON list), and ``expand_explanation``
rebuilds exactly the dict ``explanation_data`` returns when a person opens one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scoring.core.numbers import cents_str, json_number
from scoring.core.ranking.columns import INELIGIBLE, REASONS, STATUSES, index_of
from scoring.core.ranking.document import RankingResult
from scoring.core.ranking.explanations import MAX_TIED, explain_cache, r4

__all__ = [
    "COMPACT_VERSION",
    "compact_explanation",
    "compact_explanations",
    "expand_explanation",
    "explanation_context",
    "is_compact_explanation",
    "stored_explanation",
    "stored_review_scores",
]

# Record layout (a list; every value JSON-ready):
#   0 ref, 1 school, 2 district, 3 tier, 4 status, 5 reason, 6 rank, 7 flags,
#   8 reviews: [[reviewer index, score, normalised, points × S, fraction × S, pct × S], ...],
#   9 base, 10 sections (list, S values) or None, 11 priority keys, 12 priority points,
#   13 final, 14 final in micro-points (int) or None, 15 spread_6 or None,
#   16 ranking: None or [rank, above ref, above final micro-points, decided-by index,
#                        first refs of its tie group (up to 21, itself included; empty when
#                        not tied), tied count] (above ref None for rank 1),
#   17 funding: [requested cents, request cents, award cents, position or None,
#                remaining before cents, remaining after cents, room cents (-1: none),
#                district awards before, district amount before cents]

COMPACT_VERSION = 1


def explanation_context(result: RankingResult) -> dict[str, Any]:
    """The run-level part of every explanation of ``result`` (JSON-ready; store it once)."""
    c = result._c
    x = explain_cache(c)
    p = c.policy
    stop = int(c.stop)
    return {
        "version": COMPACT_VERSION,
        "reviewers": list(c.names),
        "reviewer_stats": [dict(s) for s in x.stats],
        "rubric": {k: (list(v) if isinstance(v, list) else v) for k, v in x.rubric.items()},
        "normalization": {"method": p.normalization, "mean": r4(c.mu), "std": r4(c.sigma)},
        "aggregation": {"method": p.aggregation, "min_reviews": p.min_reviews},
        "priorities": {k: json_number(v) for k, v in c.prio_points.items()},
        "discrepancy_threshold": json_number(p.discrepancy_threshold, 6),
        "labels": list(c.labels),
        "tie_breakers": list(p.tie_breakers),
        "ranked": len(x.rank_order),
        "policy": dict(x.policy),
        "funding_of": len(c.fund_order),
        "stop": stop,
        "stopped_at": c.refs[int(c.fund_order[stop])] if stop >= 0 else None,
    }


def compact_explanations(result: RankingResult) -> list[tuple[Any, ...]]:
    """One compact explanation record per application, in canonical (ref) order, built
    column by column from the run's arrays (see the layout above; tuples encode as JSON
    arrays). Tied applications share one list of the first refs of their tie group; the
    expansion drops the application's own ref and keeps twenty."""
    c = result._c
    x = explain_cache(c)
    n_apps = len(c.refs)
    if not n_apps:
        return []

    def objects(values: Any, mask: np.ndarray | None = None) -> list[Any]:
        out = np.empty(n_apps, dtype=object)
        out[:] = values if not isinstance(values, list) else _object_list(values)
        if mask is not None:
            out[~mask] = None
        return out.tolist()

    rows = (
        np.column_stack(
            [c.rev_code.astype(np.float64), x.raw4, x.norm4, x.points4, x.frac6, x.pct4]
        ).tolist()
        if len(c.raw)
        else []
    )
    for row in rows:
        row[0] = int(row[0])
    counts = c.counts
    has, two = counts > 0, counts >= 2
    reviews = [rows[s : s + n] for s, n in zip(c.starts.tolist(), counts.tolist(), strict=True)]
    cache = {v: json_number(v) for v in set(c.pp)}
    flag_sets = np.empty(4, dtype=object)
    flag_sets[:] = [(), ("discrepancy",), ("tie",), ("discrepancy", "tie")]
    flags = flag_sets[c.discrepancy.astype(np.int8) + 2 * c.tie.astype(np.int8)].tolist()
    statuses = np.array(STATUSES, dtype=object)[c.status].tolist()
    reason_names = np.array(REASONS, dtype=object)[c.reason_code]
    inel = np.nonzero(c.status == INELIGIBLE)[0]
    reason_names[inel] = [c.reasons[i] for i in inel.tolist()]
    ranked = c.rank > 0
    rank = objects(c.rank, ranked)
    sections = np.empty(n_apps, dtype=object)
    sections[:] = list(map(tuple, x.sect4.tolist()))
    sections[~has] = None
    # ranking: [rank, above ref, above final micro-points, decided, tie head, tied count]
    ranking = np.empty(n_apps, dtype=object)
    ro = np.asarray(x.rank_order, dtype=np.int64)
    if len(ro):
        refs_ro = np.array(c.refs, dtype=object)[ro]
        f6 = c.final6[ro].tolist()
        lo, hi = np.asarray(x.tie_lo), np.asarray(x.tie_hi)
        heads: dict[int, tuple[str, ...]] = {}
        empty: tuple[str, ...] = ()
        head = [empty] * len(ro)
        for p0 in np.nonzero(hi > lo)[0].tolist():
            g = int(lo[p0])
            if g not in heads:
                heads[g] = tuple(refs_ro[g : min(int(hi[p0]) + 1, g + MAX_TIED + 1)].tolist())
            head[p0] = heads[g]
        above = [None] + refs_ro[:-1].tolist()
        above6 = [None] + f6[:-1]
        ranking[ro] = list(
            zip(
                (np.arange(len(ro)) + 1).tolist(),
                above,
                above6,
                c.decided[ro].tolist(),
                head,
                (hi - lo).tolist(),
                strict=True,
            )
        )
    # funding: requested, request, award, position, before, after, room, district n, amount
    pos = c.position
    funded = pos > 0
    by = np.full((3, n_apps), 0, dtype=np.int64)
    by[0] = -1
    by[:, funded] = c.by_position[:, pos[funded] - 1]
    before = np.where(funded, c.rem_before, 0)
    after = np.where(funded, c.rem_after, 0)
    funding = list(
        zip(
            c.requested.tolist(),
            c.request.tolist(),
            (c.rem_before - c.rem_after).tolist(),
            objects(pos, funded),
            before.tolist(),
            after.tolist(),
            by[0].tolist(),
            by[1].tolist(),
            by[2].tolist(),
            strict=True,
        )
    )
    return list(
        zip(
            c.refs,
            c.schools,
            c.districts,
            c.tiers.tolist(),
            statuses,
            reason_names.tolist(),
            rank,
            flags,
            reviews,
            objects(x.base4, has),
            sections.tolist(),
            c.prio_keys,
            [cache[v] for v in c.pp],
            objects(x.final4, has),
            objects(c.final6, has),
            objects(x.spread6, two),
            ranking.tolist(),
            funding,
            strict=True,
        )
    )


def _object_list(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def compact_explanation(result: RankingResult, ref: str) -> list[Any]:
    """The compact record of one application (``KeyError`` for an unknown ref)."""
    c = result._c
    return compact_explanations(result)[index_of(c, ref)]


def is_compact_explanation(stored: Any) -> bool:
    """Whether a stored explanation is a compact record (else a full ``explanation_data``)."""
    return isinstance(stored, list)


def expand_explanation(record: list[Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild exactly the ``explanation_data`` dict from a compact record and its run's
    ``explanation_context`` (both as stored, i.e. after a JSON round trip)."""
    (
        ref,
        school,
        district,
        tier,
        status,
        reason,
        rank_,
        flags,
        revs,
        base,
        sect,
        prio_keys,
        pp,
        final,
        final6,
        spread6,
        ranking,
        funding,
    ) = record
    rubric = context["rubric"]
    keys = rubric["sections"]
    s = len(keys)
    names, stats = context["reviewers"], context["reviewer_stats"]
    reviews = [
        {
            "reviewer": names[int(r[0])],
            "points": list(r[3 : 3 + s]),
            "fraction": list(r[3 + s : 3 + 2 * s]),
            "pct": list(r[3 + 2 * s : 3 + 3 * s]),
            "score": r[1],
            "normalised": r[2],
            "reviewer_stats": dict(stats[int(r[0])]),
        }
        for r in revs
    ]
    n = len(reviews)
    agg = context["aggregation"]
    prio = context["priorities"]
    ranking_data = None
    if ranking is not None:
        rk, above_ref, above_f6, decided, tied, tied_count = ranking
        ranking_data = {
            "rank": rk,
            "of": context["ranked"],
            "above": None if above_ref is None else {"ref": above_ref, "final_6": above_f6 / 1e6},
            "decided_by": None if decided < 0 else context["labels"][decided],
            "tie_breakers": list(context["tie_breakers"]),
            "tied_with": [r for r in tied if r != ref][:MAX_TIED],
            "tied_count": tied_count,
        }
    requested, request, award, pos, before, after, room, n_d, amt_d = funding
    funding_data: dict[str, Any] = {
        **context["policy"],
        "requested_amount": cents_str(requested),
        "request": cents_str(request),
        "award": cents_str(award),
        "position": None,
        "of": context["funding_of"],
    }
    if pos is not None:
        stop = context["stop"]
        funding_data.update(
            {
                "position": pos,
                "remaining_before": cents_str(before),
                "remaining_after": cents_str(after),
                "room": None if room < 0 else cents_str(room),
                "district_awards_before": n_d,
                "district_amount_before": cents_str(amt_d),
                "stopped_at": context["stopped_at"] if 0 <= stop < pos - 1 else None,
            }
        )
    return {
        "ref": ref,
        "school": school,
        "district": district,
        "tier": tier,
        "status": status,
        "reason": reason,
        "rank": rank_,
        "flags": list(flags),
        "rubric": {
            **rubric,
            "sections": list(keys),
            "max_points": list(rubric["max_points"]),
            "weights": list(rubric["weights"]),
            "default_weights": list(rubric["default_weights"]),
        },
        "reviews": reviews,
        "normalization": dict(context["normalization"]),
        "aggregation": {
            "method": agg["method"],
            "min_reviews": agg["min_reviews"],
            "values": [r["normalised"] for r in reviews],
        },
        "base": base,
        "sections": dict(zip(keys, sect, strict=True)) if n else None,
        "priorities": [{"key": k, "points": prio[k]} for k in prio_keys],
        "priority_points": pp,
        "final": final,
        "final_6": final6 / 1e6 if n else None,
        "discrepancy": {"threshold": context["discrepancy_threshold"], "spread_6": spread6},
        "ranking": ranking_data,
        "funding": funding_data,
    }


def stored_explanation(stored: Any, context: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored explanation as the ``explanation_data`` dict: compact records are expanded
    with the run's context; a full dict (older runs) is returned as it is."""
    if stored is None or not is_compact_explanation(stored):
        return stored
    if not context:
        raise ValueError("a compact explanation needs its run's explanation context")
    return expand_explanation(stored, context)


def stored_review_scores(stored: Any) -> list[tuple[float, float]]:
    """(score, normalised) of each counted review of a stored explanation (either form)."""
    if not stored:
        return []
    if is_compact_explanation(stored):
        return [(r[1], r[2]) for r in stored[8]]
    return [(r["score"], r["normalised"]) for r in stored.get("reviews") or []]

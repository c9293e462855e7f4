"""Ordering (docs/ranking.md §4-§5): status before funding, then one lexicographic rank key.

Order (the same everywhere)::

    final score (6 places) descending,
    then each policy tie-breaker in turn (its key from ``registry.TIE_BREAKERS``),
    then ref ascending (so the order is total)

Each ranked application also records which key separated it from its neighbour above
(``decided``, an index into ``labels``) and whether it ties on the final score.
"""

from __future__ import annotations

import numpy as np

from scoring.core.ranking.columns import INCOMPLETE, INELIGIBLE, Columns
from scoring.core.ranking.registry import tie_breaker

__all__ = ["order_ranked", "tie_breaker_key"]


def tie_breaker_key(c: Columns, tb: str, idx: np.ndarray) -> np.ndarray:
    """Ascending sort key (smaller sorts first) for one tie-breaker over ``idx``."""
    entry, arg = tie_breaker(tb)
    return entry.key(c, idx, arg)


def order_ranked(c: Columns) -> None:
    """§4 status before funding, flags and §5 rank, with the deciding key per neighbour."""
    n = len(c.refs)
    ranked = c.eligible & (c.counts >= c.policy.min_reviews)
    c.status = np.where(c.eligible, INCOMPLETE, INELIGIBLE).astype(np.int8)
    idx = np.nonzero(ranked)[0]
    keys = [-c.final6[idx]] + [tie_breaker_key(c, tb, idx) for tb in c.policy.tie_breakers]
    order = np.lexsort([idx] + keys[::-1])  # lexsort: last key is primary; ref = index order
    c.rank_order = idx[order]
    c.rank = np.zeros(n, dtype=np.int64)
    c.rank[c.rank_order] = np.arange(1, len(idx) + 1)
    c.labels = ("final score",) + tuple(c.policy.tie_breakers) + ("ref",)
    c.decided = np.full(n, -1, dtype=np.int32)
    c.tie = np.zeros(n, dtype=bool)
    if len(idx) > 1:
        table = np.stack([k[order] for k in keys], axis=1)
        differs = table[1:] != table[:-1]
        first = np.where(differs.any(axis=1), differs.argmax(axis=1), len(keys))
        c.decided[c.rank_order[1:]] = first
        same = np.nonzero(~differs[:, 0])[0]
        c.tie[c.rank_order[same]] = True
        c.tie[c.rank_order[same + 1]] = True

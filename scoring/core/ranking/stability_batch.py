"""Ordering and fund-down of many bootstrap resamples at once (docs/stability.md §1).

``stability.resamples_of`` runs the engine's own ``order_ranked`` and ``fund_down`` once per
resample: exact, but a Python loop over every application in every resample. This module gives
the same ranks and the same funded/not-funded decisions for a whole batch of resamples (a
``(b, n)`` matrix of final scores) with numpy over the resample axis:

* **ordering** (§5): the ranked set does not change between resamples (eligibility and review
  counts are fixed), and neither do the tie-breaker keys that read no resampled column. The
  keys after the last resampled one, and the ref, are folded once into one static rank; then
  each resample's order is one ``argsort`` of ``final`` and that rank packed in one integer
  (or a row-wise ``lexsort`` when a ``section:`` tie-breaker, whose key is resampled, comes
  before them). Every key together is a total order, so any exact sort gives the same order
  as ``order_ranked``'s ``lexsort``.
* **funding order**: a stable sort by tier of the rank order (skipped when there is one tier).
* **fund-down** (§6): the spec's loop is sequential (each decision depends on the funds and the
  district's awards left by the earlier ones), so it walks the funding positions in order and
  decides position ``j`` of every resample at once, with the same tests in the same order as
  ``funding.fund_down``. It stops early once every resample has stopped (strict) or cannot
  give any further award (funds below the smallest request, and no partial award possible).

``tests/unit/test_stability_batch.py`` checks, for random competitions over every policy knob,
that ranks and decisions equal those of ``resamples_of`` resample by resample.
"""

from __future__ import annotations

from decimal import ROUND_CEILING

import numpy as np

from scoring.core.numbers import money_cents
from scoring.core.ranking.columns import Columns
from scoring.core.ranking.registry import tie_breaker

__all__ = ["BatchPlan"]

_EXHAUSTED_EVERY = 32  # positions between two checks of "nothing more can be awarded"


class BatchPlan:
    """What does not change between resamples of one run, and ``run`` for a batch of them."""

    def __init__(self, c: Columns) -> None:
        p = c.policy
        self.c = c
        self.n = len(c.refs)
        self.idx = np.nonzero(c.eligible & (c.counts >= p.min_reviews))[0]
        m = len(self.idx)
        entries = [tie_breaker(tb) for tb in p.tie_breakers]
        varying = [k for k, (entry, _) in enumerate(entries) if entry.resampled]
        self.cut = (max(varying) + 1) if varying else 0
        #: keys before the cut, in policy order: an array (static) or (entry, arg) (resampled)
        self.middle = [
            (e, a) if e.resampled else e.key(c, self.idx, a) for e, a in entries[: self.cut]
        ]
        tail = [e.key(c, self.idx, a) for e, a in entries[self.cut :]]
        order = np.lexsort([np.arange(m)] + tail[::-1])
        self.static_rank = np.empty(m, dtype=np.int64)
        self.static_rank[order] = np.arange(m)
        self.static_order = order
        self.one_tier = m == 0 or bool((c.tiers[self.idx] == c.tiers[self.idx][0]).all())
        self.min6 = int(p.min_score.scaleb(6).to_integral_value(ROUND_CEILING))
        self.request = (
            c.requested
            if p.max_award is None
            else np.minimum(c.requested, money_cents(p.max_award, "max_award"))
        )
        ids = {d: k for k, d in enumerate(dict.fromkeys(c.districts))}
        self.district = np.fromiter(
            map(ids.__getitem__, c.districts), dtype=np.int64, count=len(c.districts)
        )
        self.n_districts = len(ids)
        self.max_n = p.district_max_awards
        self.max_amt = (
            None if p.district_max_amount is None else money_cents(p.district_max_amount, "")
        )
        self.partial_min = money_cents(p.effective_partial_min, "partial_min")
        self.partial, self.strict = p.partial_funding, p.fund_down == "strict"
        self.total = money_cents(p.total_funds, "total_funds")
        self.min_request = int(self.request[self.idx].min()) if m else 0

    def resampled_keys(self, sect6: np.ndarray | None) -> list[np.ndarray]:
        """The resampled tie-breaker keys of a block, each ``(b, m)`` (``sect6``: ``(b, n, s)``)."""
        out = []
        for item in self.middle:
            if isinstance(item, np.ndarray):
                continue
            entry, arg = item
            proxy = Columns()
            proxy.rubric = self.c.rubric
            rows = []
            for j in range(len(sect6)):
                proxy.sect6 = sect6[j]
                rows.append(entry.key(proxy, self.idx, arg))
            out.append(np.array(rows, dtype=np.int64).reshape(len(sect6), len(self.idx)))
        return out

    def run(self, final6: np.ndarray, resampled: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Ranks ``(b, n)`` (0 when not ranked) and "got an award" ``(b, n)`` of a batch:
        ``final6`` is ``(b, n)``, ``resampled`` the batch's ``resampled_keys``."""
        b, m = len(final6), len(self.idx)
        ranks = np.zeros((b, self.n), dtype=np.int32)
        got = np.zeros((b, self.n), dtype=bool)
        if m == 0 or b == 0:
            return ranks, got
        rows = np.arange(b)[:, None]
        rank_order = self.idx[self._order(final6[:, self.idx], resampled)]
        ranks[rows, rank_order] = np.arange(1, m + 1, dtype=np.int32)
        fo = rank_order
        if not self.one_tier:
            by_tier = np.argsort(self.c.tiers[rank_order], axis=1, kind="stable")
            fo = np.take_along_axis(rank_order, by_tier, axis=1)
        below = np.take_along_axis(final6, fo, axis=1) < self.min6
        got[rows, fo] = self._walk(fo, below)
        return ranks, got

    def _order(self, final: np.ndarray, resampled: list[np.ndarray]) -> np.ndarray:
        """Each row's order of the ranked applications (positions into ``idx``)."""
        m = final.shape[1]
        if not self.middle:
            top = int(final.max())
            span = top - int(final.min()) + 1
            if span * m < 2**62:
                return np.argsort((top - final) * m + self.static_rank, axis=1)
        shape = final.shape
        keys = [-final]
        it = iter(resampled)
        for item in self.middle:
            keys.append(np.broadcast_to(item, shape) if isinstance(item, np.ndarray) else next(it))
        packed = _packed(keys, self.static_order)
        if packed is not None:  # one stable sort of the keys packed in one integer, columns
            # already in the static order (so equal keys keep it)
            return self.static_order[np.argsort(packed, axis=1, kind="stable")]
        keys.append(np.broadcast_to(self.static_rank, shape))
        return np.lexsort(keys[::-1], axis=1)

    def _walk(self, fo: np.ndarray, below: np.ndarray) -> np.ndarray:
        """§6 over funding positions, every resample at once; ``(b, m)`` "got an award"."""
        b, m = fo.shape
        below_t = np.ascontiguousarray(below.T)
        req_t = np.ascontiguousarray(self.request[fo].T)
        dist_t = np.ascontiguousarray(self.district[fo].T) if self._caps else None
        got_t = np.zeros((m, b), dtype=bool)
        remaining = np.full(b, self.total, dtype=np.int64)
        stopped = np.zeros(b, dtype=bool)
        rows = np.arange(b)
        funded_n = np.zeros((b, self.n_districts), dtype=np.int64)
        awarded = np.zeros((b, self.n_districts), dtype=np.int64)
        max_n, max_amt, partial, strict = self.max_n, self.max_amt, self.partial, self.strict
        for j in range(m):
            if j % _EXHAUSTED_EVERY == 0 and self._exhausted(remaining, stopped):
                break
            live = ~(stopped | below_t[j])
            request = req_t[j]
            if max_n is not None:
                live &= funded_n[rows, dist_t[j]] < max_n
            if max_amt is not None:
                room = np.minimum(remaining, max_amt - awarded[rows, dist_t[j]])
            else:
                room = remaining
            ok = live & (request <= room)
            award = np.where(ok, request, 0)
            if partial:
                part = live & ~ok & (room >= self.partial_min)
                award = np.where(part, room, award)
                ok |= part
            if strict:
                stopped |= live & ~ok & (room >= remaining)
            remaining = remaining - award
            got_t[j] = ok
            if max_n is not None:
                funded_n[rows, dist_t[j]] += award > 0
            if max_amt is not None:
                awarded[rows, dist_t[j]] += award
        return got_t.T

    @property
    def _caps(self) -> bool:
        return self.max_n is not None or self.max_amt is not None

    def _exhausted(self, remaining: np.ndarray, stopped: np.ndarray) -> bool:
        """True when no resample can give another award (stopped, or the funds left are below
        every request and below a partial award)."""
        can_full = remaining >= self.min_request
        can_part = (remaining >= self.partial_min) if self.partial else False
        return bool((stopped | ~(can_full | can_part)).all())


def _packed(keys: list[np.ndarray], columns: np.ndarray) -> np.ndarray | None:
    """The keys (most significant first) of ``columns`` packed into one int64 per cell, in the
    same order as the tuple of keys; ``None`` when their ranges do not fit in 62 bits."""
    out = None
    room = 1
    for key in keys:
        part = key[:, columns]
        low = int(part.min()) if part.size else 0
        span = (int(part.max()) - low + 1) if part.size else 1
        room *= span
        if room >= 2**62:
            return None
        part = part - low
        out = part if out is None else out * span + part
    return out

"""Rank stability under reviewer noise (docs/stability.md): a bootstrap over counted reviews.

For a finished ranking (``RankingResult``), draw ``B`` resamples. In each, every application's
``k`` counted reviews are replaced by ``k`` reviews drawn from them with replacement; then the
run's own steps are repeated exactly as the policy says: aggregation (``registry.AGGREGATORS``),
``final = round9(base) + round9(priority_points)``, §4/§5 ordering (``ordering.order_ranked``)
and the §6 fund-down (``funding.fund_down``). Nothing of the rules is written again here.

What is resampled (docs/stability.md §2): the **normalised** review scores ``S'_r`` of §3.2,
computed once with the run's own reviewer statistics ``μ_v, σ_v`` and the competition's
``μ, σ``. A reviewer's statistics describe the reviewer's whole workload, not one application's
draw, so they are held fixed; resampling the raw scores and renormalising in each resample
would let one application's draw move every other application that reviewer scored. With
``normalization = none`` ``S' = S``. Section percentages (for ``section:<key>`` tie-breakers)
are resampled with the same draws, so a resampled review keeps its score and its sections.

Reproducible: each draw is a counter-based hash (splitmix64) of the seed, the resample number,
the application's own review scores and the review's place among them (``draws``); the seed is
derived from the run's ``inputs_sha256`` (``seed_from_sha``). So the numbers do not depend on
input order or on how many resamples are aggregated at once, and two applications that swap
their reviews swap their draws, hence their figures (up to ties broken by the policy).

Cost: aggregation runs on a block of resamples at once (one ``combine`` over all of them);
ordering and fund-down run on a batch of resamples at once (``stability_batch``: one argsort
of a ``(b, n)`` matrix, and the §6 loop walked once over the funding positions with numpy
over the resamples), so ``B`` resamples cost about ``B`` times the compute step of one run.
``resamples_of`` still runs the engine's own ``order_ranked``/``fund_down`` per resample: it is
the reference the batch path is tested against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.core.numbers import micro, nano
from scoring.core.ranking.columns import FUNDED, PARTIAL, Columns
from scoring.core.ranking.funding import fund_down
from scoring.core.ranking.ordering import order_ranked
from scoring.core.ranking.registry import AGGREGATORS
from scoring.core.ranking.stability_batch import BatchPlan

__all__ = [
    "DEFAULT_RESAMPLES",
    "TOSS_UP",
    "Stability",
    "draws",
    "figures_record",
    "one_more_review",
    "resamples_of",
    "seed_from_sha",
    "stability",
    "stability_columns",
]

DEFAULT_RESAMPLES = 1000
TOSS_UP = (0.2, 0.8)  # a decision funded in 20%-80% of resamples is a toss-up (inclusive)
INTERVAL = (0.05, 0.95)  # the 90% rank interval
_BLOCK_VALUES = 4_000_000  # resampled review scores aggregated at once (memory bound)
_BATCH_VALUES = 6_000_000  # final scores of resamples ordered and funded down at once
_QUANTILE_COLUMNS = 8192  # applications whose rank quantiles are taken at once


def seed_from_sha(inputs_sha256: str) -> int:
    """The resampling seed: the first 16 hex digits of sha256("stability:" + inputs hash)."""
    return int(hashlib.sha256(f"stability:{inputs_sha256}".encode()).hexdigest()[:16], 16)


@dataclass(frozen=True, slots=True)
class Stability:
    """Per application (canonical order: ``refs`` sorted), over ``resamples`` resamples.

    ``funded[i]``: resamples in which application ``i`` got an award (funded or partially
    funded); ``flips[i]``: resamples whose funded/not-funded decision differs from the run's;
    ``rank_lo``/``rank_hi``: the 90% rank interval (5th and 95th percentile, inverted CDF;
    0 for an application that is not ranked); ``ranked``: ranked in the run.
    """

    refs: tuple[str, ...]
    resamples: int
    seed: int
    funded: np.ndarray
    flips: np.ndarray
    rank_lo: np.ndarray
    rank_hi: np.ndarray
    ranked: np.ndarray
    decided_funded: np.ndarray

    def p_funded(self, i: int) -> float:
        """Share of resamples in which application ``i`` got an award."""
        return int(self.funded[i]) / self.resamples if self.resamples else 0.0

    def record(self, i: int) -> dict[str, Any]:
        """One application's figures as JSON-ready values (what is stored and exported)."""
        ranked = bool(self.ranked[i])
        return figures_record(
            int(self.funded[i]),
            int(self.flips[i]),
            int(self.rank_lo[i]) if ranked else None,
            int(self.rank_hi[i]) if ranked else None,
            self.resamples,
        )

    def records(self) -> dict[str, dict[str, Any]]:
        """ref → ``record``, for every application."""
        return {ref: self.record(i) for i, ref in enumerate(self.refs)}


def figures_record(
    funded_in: int, crosses_line: int, rank_lo: int | None, rank_hi: int | None, resamples: int
) -> dict[str, Any]:
    """An application's figures as exported: ``p_funded`` (4 places), counts, the 90% rank
    interval (``None`` when not ranked) and ``toss_up`` (ranked, funded in 20%-80%)."""
    p = funded_in / resamples if resamples else 0.0
    ranked = rank_lo is not None
    return {
        "p_funded": round(p, 4),
        "funded_in": funded_in,
        "crosses_line": crosses_line,
        "rank_interval": [rank_lo, rank_hi] if ranked else None,
        "toss_up": ranked and TOSS_UP[0] <= p <= TOSS_UP[1],
    }


def _copy(c: Columns) -> Columns:
    """A light copy sharing the run's arrays (a resample replaces the score columns)."""
    out = Columns()
    for name in Columns.__slots__:
        if hasattr(c, name):
            setattr(out, name, getattr(c, name))
    out.explain = None
    return out


def _needs_sections(c: Columns) -> bool:
    return any(tb.startswith("section:") for tb in c.policy.tie_breakers)


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over uint64 (wrapping arithmetic): a counter-based hash."""
    with np.errstate(over="ignore"):
        x = x + _GOLD
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def _slot_keys(c: Columns, seed: int) -> np.ndarray:
    """One uint64 per review slot: the seed, the application's scores (S', in canonical order)
    and the slot's place in the block; not the ref, so two applications that swap reviews swap
    their draws too (docs/stability.md §2)."""
    values = nano(c.norm).astype(np.uint64)
    h = np.full(len(c.refs), np.uint64(seed % 2**64), dtype=np.uint64)
    for j in range(int(c.counts.max()) if len(c.counts) else 0):
        has = c.counts > j
        h[has] = _mix(h[has] ^ values[c.starts[has] + j])
    place = (np.arange(len(c.rev_app)) - c.starts[c.rev_app]).astype(np.uint64)
    return _mix(h[c.rev_app] ^ _mix(place))


def draws(c: Columns, first: int, count: int, seed: int) -> np.ndarray:
    """Review rows drawn for resamples ``first`` … ``first + count - 1``: shape (count, reviews).

    Slot ``r`` of resample ``b`` takes row ``start + floor(u × k)`` of its own application's
    block, ``u`` a uniform number from a hash of (slot key, b): the same for any blocking.
    """
    keys = _slot_keys(c, seed)
    b = _mix(np.arange(first, first + count, dtype=np.uint64))[:, None]
    u = (_mix(keys[None, :] ^ b) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    k = c.counts[c.rev_app]
    return c.starts[c.rev_app] + np.minimum((u * k).astype(np.int64), k - 1)


def _blocks(c: Columns, resamples: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(base, sect6 or None) per resample block, each of shape (block, n_apps[, n_sections])."""
    n_rev, n_app = len(c.rev_app), len(c.refs)
    combine = AGGREGATORS[c.policy.aggregation].combine
    sections = _needs_sections(c)
    width = 1 + (c.sect_pct.shape[1] if sections else 0)  # values drawn per review slot
    per = max(1, _BLOCK_VALUES // max(n_rev * width, 1))
    done = 0
    while done < resamples:
        b = min(per, resamples - done)
        pick = draws(c, done, b, seed)
        offs = (np.arange(b, dtype=np.int64) * n_rev)[:, None]
        starts = (c.starts[None, :] + offs).ravel()
        counts = np.tile(c.counts, b)
        base = combine(c.norm[pick].ravel(), starts, counts).reshape(b, n_app)
        sect6 = None
        if sections:
            n_s = c.sect_pct.shape[1]
            agg = combine(c.sect_pct[pick].reshape(-1, n_s), starts, counts)
            sect6 = micro(nano(agg.reshape(-1))).reshape(b, n_app, n_s)
        yield base, sect6
        done += b


def resamples_of(c: Columns, resamples: int, seed: int) -> Iterator[Columns]:
    """Each resample's columns after ordering and fund-down (a light copy of the run's)."""
    has = c.counts > 0
    for base, sect6 in _blocks(c, resamples, seed):
        for j in range(len(base)):
            r = _copy(c)
            r.base = base[j]
            r.final_nano = np.where(has, nano(base[j]) + c.pp_nano, 0)
            r.final6 = micro(r.final_nano)
            if sect6 is not None:
                r.sect6 = sect6[j]
            order_ranked(r)
            fund_down(r)
            yield r


def _batches(c: Columns, resamples: int, seed: int, plan: BatchPlan):
    """(final6, resampled tie-breaker keys) for batches of about ``_BATCH_VALUES // n``
    resamples: the draw blocks of ``_blocks`` gathered so that one fund-down walk serves many."""
    has = c.counts > 0
    per = max(1, _BATCH_VALUES // max(len(c.refs), 1))
    finals: list[np.ndarray] = []
    keys: list[list[np.ndarray]] = []
    for base, sect6 in _blocks(c, resamples, seed):
        finals.append(micro(np.where(has, nano(base) + c.pp_nano, 0)))
        keys.append(plan.resampled_keys(sect6))
        if sum(len(f) for f in finals) >= per:
            yield np.concatenate(finals), [np.concatenate(k) for k in zip(*keys, strict=True)]
            finals, keys = [], []
    if finals:
        yield np.concatenate(finals), [np.concatenate(k) for k in zip(*keys, strict=True)]


def stability_columns(c: Columns, resamples: int, seed: int) -> Stability:
    """The bootstrap over a finished run's columns (see the module docstring): the ordering
    and fund-down of a batch of resamples at once (``stability_batch``), the same ranks and
    decisions as ``resamples_of`` gives one by one."""
    n = len(c.refs)
    ranked = c.rank > 0
    decided = np.isin(c.status, (FUNDED, PARTIAL))
    funded = np.zeros(n, dtype=np.int64)
    ranks = np.zeros((resamples, n), dtype=np.int32)
    plan = BatchPlan(c)
    row = 0
    for final6, keys in _batches(c, resamples, seed, plan):
        batch_ranks, got = plan.run(final6, keys)
        funded += got.sum(axis=0)
        ranks[row : row + len(final6)] = batch_ranks
        row += len(final6)
    flips = np.where(decided, resamples - funded, funded)
    lo = hi = np.zeros(n, dtype=np.int64)
    if resamples:
        lo, hi = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        for first in range(0, n, _QUANTILE_COLUMNS):  # column chunks: a bounded copy
            part = ranks[:, first : first + _QUANTILE_COLUMNS]
            q = np.quantile(part, INTERVAL, axis=0, method="inverted_cdf").astype(np.int64)
            lo[first : first + part.shape[1]], hi[first : first + part.shape[1]] = q
    return Stability(
        tuple(c.refs),
        resamples,
        seed,
        funded,
        flips,
        np.where(ranked, lo, 0),
        np.where(ranked, hi, 0),
        ranked,
        decided,
    )


def stability(
    result: Any, resamples: int = DEFAULT_RESAMPLES, seed: int | None = None
) -> Stability:
    """Stability of a ``RankingResult``; the seed defaults to ``seed_from_sha(inputs_sha256)``."""
    if resamples < 0:
        raise ValueError("resamples must be >= 0")
    if seed is None:
        seed = seed_from_sha(result.inputs_sha256)
    return stability_columns(result._c, int(resamples), int(seed))


def one_more_review(
    scores: Any, aggregation: str, priority_points: float, line: float | None
) -> dict[str, Any]:
    """What one more review would do to an application's final score (docs/stability.md §4).

    ``scores`` are its counted reviews' S' (normalised) scores; the extra review's score ``x``
    runs over 0..100 on the same scale (for a z-scored competition the new review would itself
    be normalised, so read it as "a review worth x after normalisation"). Returns the final
    score with an extra 0 (``lowest``) and an extra 100 (``highest``) and, when ``line`` (the
    lowest funded final score) lies between them, ``needed``: the smallest whole score ``x``
    with which the final reaches the line. The aggregator is the policy's own.
    """
    combine = AGGREGATORS[aggregation].combine
    base = np.asarray(list(scores), dtype=np.float64)
    n = len(base)

    def final(x: float) -> float:
        values = np.append(base, x)
        agg = combine(values, np.array([0]), np.array([n + 1]))[0]
        return float(micro(nano(np.array([agg])))[0]) / 1e6 + float(priority_points)

    lowest, highest = final(0.0), final(100.0)
    needed = None
    if line is not None and lowest < line <= highest:
        needed = next(x for x in range(101) if final(float(x)) >= line)
    return {
        "reviews": n,
        "lowest": round(lowest, 4),
        "highest": round(highest, 4),
        "line": line,
        "needed": needed,
    }

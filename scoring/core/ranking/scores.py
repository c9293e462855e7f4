"""Scores (docs/ranking.md §3): review scores, normalisation (§3.2), aggregation (§3.3), flags.

Normalisation uses, literally, all counted reviews passed in (those of ineligible and
incomplete applications too); ``σ_v`` and ``σ`` are population standard deviations; which
normalisation and aggregator run is looked up in ``registry``.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR

import numpy as np

from scoring.core.numbers import micro, nano
from scoring.core.ranking.columns import Columns
from scoring.core.ranking.registry import AGGREGATORS, NORMALISATIONS, ReviewerColumns
from scoring.core.rubric import score_rows

__all__ = ["compute_scores", "raw_sorted"]


def sort_blocks(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``values`` with each application's block sorted ascending (blocks stay in place)."""
    out = values.copy()
    for k in np.unique(counts[counts > 1]).tolist():
        rows = starts[counts == k][:, None] + np.arange(k)
        out[rows] = np.sort(values[rows], axis=1)
    return out


def raw_sorted(c: Columns) -> np.ndarray:
    """Raw review scores, ascending within each application's block (cached)."""
    if c.raw_sorted is None:
        c.raw_sorted = sort_blocks(c.raw, c.starts, c.counts)
    return c.raw_sorted


def normalise(c: Columns) -> None:
    """§3.2: the reviewer statistics, then the policy's normalisation; fills ``c.norm``."""
    raw, code, n_rev = c.raw, c.rev_code, len(c.names)
    n_v = np.bincount(code, minlength=n_rev)
    mu_v = np.bincount(code, weights=raw, minlength=n_rev) / np.maximum(n_v, 1)
    dev = raw - mu_v[code]
    sigma_v = np.sqrt(np.bincount(code, weights=dev * dev, minlength=n_rev) / np.maximum(n_v, 1))
    raw9 = nano(raw)
    lo = np.full(n_rev, np.iinfo(np.int64).max)
    hi = np.full(n_rev, np.iinfo(np.int64).min)
    np.minimum.at(lo, code, raw9)
    np.maximum.at(hi, code, raw9)
    c.mu = float(raw.mean()) if len(raw) else None
    c.sigma = float(raw.std()) if len(raw) else None
    rescale = NORMALISATIONS[c.policy.normalization].rescale
    if rescale is None:
        applied, norm = np.zeros(n_rev, dtype=bool), raw.copy()
    else:
        applied, norm = rescale(
            ReviewerColumns(raw, code, n_v, mu_v, sigma_v, lo, hi, c.mu, c.sigma)
        )
    c.n_v, c.mu_v, c.sigma_v, c.applied_v, c.norm = n_v, mu_v, sigma_v, applied, norm


def compute_scores(c: Columns, points: np.ndarray, order: np.ndarray) -> None:
    """§3: review scores, normalisation, base/final/section aggregation, rounded keys."""
    raw, sect_points, sect_pct = score_rows(c.rubric, points)  # rows are independent
    c.raw, c.sect_points, c.sect_pct = raw[order], sect_points[order], sect_pct[order]
    normalise(c)
    aggregate = AGGREGATORS[c.policy.aggregation].combine
    c.base = aggregate(c.norm, c.starts, c.counts)
    c.sections = aggregate(c.sect_pct, c.starts, c.counts)
    has = c.counts > 0
    c.final_nano = np.where(has, nano(c.base) + c.pp_nano, 0)
    c.final6 = micro(c.final_nano)
    c.sect6 = micro(nano(c.sections.reshape(-1)).reshape(c.sections.shape))
    c.raw_sorted = None  # made on first use (document, views)
    c.discrepancy = np.zeros(len(c.refs), dtype=bool)
    multi = np.nonzero(c.counts >= 2)[0]
    if len(multi):
        raw6 = micro(nano(c.raw))
        nz = np.nonzero(has)[0]
        spread = np.maximum.reduceat(raw6, c.starts[nz]) - np.minimum.reduceat(raw6, c.starts[nz])
        full = np.zeros(len(c.refs), dtype=np.int64)
        full[nz] = spread
        limit = int((c.policy.discrepancy_threshold.scaleb(6)).to_integral_value(ROUND_FLOOR))
        c.discrepancy[multi] = full[multi] > limit

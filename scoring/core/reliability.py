"""Reviewer leniency and inter-rater reliability (pure: standard library only).

Data shape: a *unit* is one application; its ratings are the values given by the reviewers who
scored it (review scores on the 0-100 scale of docs/ranking.md §3.1, or one criterion's points).
Reviewers rate different subsets of applications, so the design is incomplete and unbalanced;
both reliability measures below are the ones defined for that case.

Reliability
-----------
- **Krippendorff's alpha, interval metric** (Krippendorff 2011, "Computing Krippendorff's
  alpha-reliability"): ``alpha = 1 - D_o / D_e`` over the *pairable* values (units with at least
  two ratings). ``D_o`` is the mean squared difference within units, ``D_e`` the mean squared
  difference between any two pairable values. 1 is perfect agreement, 0 agreement at chance
  level; Krippendorff suggests relying on data with alpha >= 0.800 and drawing tentative
  conclusions only from 0.667.
- **ICC(1)**: one-way random effects, single rater, absolute agreement (Shrout & Fleiss 1979,
  case 1), because each application is rated by a different set of reviewers. With unequal
  numbers of ratings per unit the one-way ANOVA uses ``k0 = (N - Σ m_u² / N) / (g - 1)`` in place
  of ``k``: ``ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW)``. Only units with at least two
  ratings are used, as for alpha.

Both return ``None`` when they are undefined: fewer than two pairable units, or no variation at
all. Neither rounds; the page rounds for display.

Leniency
--------
For each reviewer: the number of counted reviews, their mean and population standard deviation,
and the *offset against the panel*: the mean, over the reviewer's applications that someone else
also scored, of (own score − mean of the other reviewers' scores on that application). A
positive offset means the reviewer scores higher than colleagues on the same applications.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Leniency", "icc1", "krippendorff_alpha_interval", "leniency", "pairable", "units_from"]


def pairable(units: Iterable[Sequence[float]]) -> list[list[float]]:
    """The units with at least two ratings, as lists of floats."""
    return [[float(v) for v in u] for u in units if len(u) >= 2]


def _sum_sq_pair_diffs(values: Sequence[float]) -> float:
    """Σ over ordered pairs i != j of (v_i - v_j)² = 2 (m Σv² − (Σv)²), computed stably."""
    mean = math.fsum(values) / len(values)
    return 2 * len(values) * math.fsum((v - mean) ** 2 for v in values)


def krippendorff_alpha_interval(units: Iterable[Sequence[float]]) -> float | None:
    """Krippendorff's alpha with the interval difference ``(a - b)²``; ``None`` if undefined."""
    data = pairable(units)
    n = sum(len(u) for u in data)
    if len(data) < 2:
        return None
    observed = math.fsum(_sum_sq_pair_diffs(u) / (len(u) - 1) for u in data) / n
    expected = _sum_sq_pair_diffs([v for u in data for v in u]) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected


def icc1(units: Iterable[Sequence[float]]) -> float | None:
    """ICC(1), one-way random, single rater, for unbalanced data; ``None`` if undefined."""
    data = pairable(units)
    g = len(data)
    n = sum(len(u) for u in data)
    if g < 2 or n - g < 1:
        return None
    grand = math.fsum(v for u in data for v in u) / n
    means = [math.fsum(u) / len(u) for u in data]
    ssb = math.fsum(len(u) * (m - grand) ** 2 for u, m in zip(data, means, strict=True))
    ssw = math.fsum((v - m) ** 2 for u, m in zip(data, means, strict=True) for v in u)
    msb, msw = ssb / (g - 1), ssw / (n - g)
    k0 = (n - math.fsum(len(u) ** 2 for u in data) / n) / (g - 1)
    denominator = msb + (k0 - 1) * msw
    if denominator == 0:
        return None
    return (msb - msw) / denominator


@dataclass(frozen=True, slots=True)
class Leniency:
    """One reviewer's scores against the panel (0-100 scale)."""

    reviewer: Hashable
    n: int
    mean: float
    sd: float
    #: Mean of (own − others' mean) over shared applications; None if none is shared.
    offset: float | None
    compared: int


def leniency(ratings: Iterable[tuple[Hashable, Hashable, float]]) -> dict[Hashable, Leniency]:
    """Leniency per reviewer from ``(reviewer, unit, score)`` triples (one per review).

    Returns the reviewers in sorted order of their keys. Raise ``ValueError`` if a reviewer
    rates the same unit twice.
    """
    by_unit: dict[Hashable, dict[Hashable, float]] = defaultdict(dict)
    for reviewer, unit, score in ratings:
        if reviewer in by_unit[unit]:
            raise ValueError(f"reviewer {reviewer!r} rated unit {unit!r} twice")
        by_unit[unit][reviewer] = float(score)
    own: dict[Hashable, list[float]] = defaultdict(list)
    diffs: dict[Hashable, list[float]] = defaultdict(list)
    for scores in by_unit.values():
        for reviewer, score in scores.items():
            own[reviewer].append(score)
            others = [s for r, s in scores.items() if r != reviewer]
            if others:
                diffs[reviewer].append(score - math.fsum(others) / len(others))
    return {r: _summary(r, own[r], diffs.get(r, [])) for r in sorted(own, key=_sort_key)}


def _summary(reviewer: Hashable, scores: list[float], diffs: list[float]) -> Leniency:
    mean = math.fsum(scores) / len(scores)
    sd = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
    offset = math.fsum(diffs) / len(diffs) if diffs else None
    return Leniency(reviewer, len(scores), mean, sd, offset, len(diffs))


def _sort_key(value: Hashable) -> tuple[str, str]:
    return (type(value).__name__, str(value).zfill(20) if isinstance(value, int) else str(value))


def units_from(
    ratings: Iterable[tuple[Hashable, Hashable, float]],
) -> Mapping[Hashable, list[float]]:
    """Group ``(reviewer, unit, value)`` triples into ``unit → values`` (sorted by unit key)."""
    grouped: dict[Hashable, list[float]] = defaultdict(list)
    for _, unit, value in ratings:
        grouped[unit].append(float(value))
    return dict(sorted(grouped.items(), key=lambda kv: _sort_key(kv[0])))

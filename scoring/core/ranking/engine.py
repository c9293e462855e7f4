"""The entry points: ``rank`` (value objects in) and ``rank_columns`` (columns in, at scale).

Both run the steps in order: inputs → scores → ordering → funding, and return a
``RankingResult``. No I/O, clock, randomness or configuration is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from scoring.core.numbers import cents_dec, money_cents
from scoring.core.ranking.columns import Columns
from scoring.core.ranking.document import (
    ApplicationResults,
    RankingResult,
    ReviewerStats,
)
from scoring.core.ranking.funding import fund_down
from scoring.core.ranking.inputs import (
    ApplicationInput,
    ReviewInput,
    inputs_sha256,
    prepare_apps,
    prepare_reviews,
)
from scoring.core.ranking.ordering import order_ranked
from scoring.core.ranking.policy import Policy
from scoring.core.ranking.registry import columns_needed
from scoring.core.ranking.scores import compute_scores
from scoring.core.rubric import Rubric, points_row

__all__ = ["rank", "rank_columns", "rank_columns_beside"]


def rank_columns(
    rubric: Rubric,
    policy: Policy,
    applications: Sequence[ApplicationInput],
    review_app: Any,
    review_reviewer: Sequence[str],
    points: Any,
    priorities: Mapping[str, Decimal],
) -> RankingResult:
    """Rank a competition given as columns (the scale entry point).

    ``review_app[r]`` indexes ``applications``; ``review_reviewer[r]`` names the reviewer;
    ``points[r]`` holds the review's points in ``rubric.criteria`` order (float64, shape
    ``(n_reviews, n_criteria)``). Every review passed in is a counted review; checking points
    against max/step is the caller's job. ``priorities`` maps priority key → bonus points.

    Rank order (one lexicographic key)::

        final score, rounded to 6 places    higher first
        each policy tie-breaker in turn:
          section:<key>      aggregated section percentage (6 places), higher first
          priority_points    exact, more first
          requested_amount   exact cents, smaller first
          submitted_at       earlier first, an application without one last
        ref                                 ascending (so the order is total)

    Applications already sorted by ref are fastest (``ORDER BY ref``); any input order gives
    the same result. Raise ``PolicyError``/``RubricError``/``ValueError`` on bad input
    (duplicate ref or review, shape mismatch, an index out of range, non-finite points,
    money that is not whole cents, an unknown priority key).
    """
    c, points, order = _prepared(
        rubric, policy, applications, review_app, review_reviewer, points, priorities
    )
    return _ranked(c, points, order, priorities)


def rank_columns_beside(
    rubric: Rubric,
    policy: Policy,
    other: Policy,
    applications: Sequence[ApplicationInput],
    review_app: Any,
    review_reviewer: Sequence[str],
    points: Any,
    priorities: Mapping[str, Decimal],
) -> tuple[RankingResult, str]:
    """``rank_columns`` with ``policy``, and the inputs hash the same data gives under policy
    ``other`` (``inputs_digest``), from one preparation of the columns (the what-if asks
    whether the data changed since the run it compares with: ``other``'s hash is the
    ``inputs_sha256`` that ``rank_columns`` with ``other`` would give)."""
    other.validate(rubric)
    c, points, order = _prepared(
        rubric, policy, applications, review_app, review_reviewer, points, priorities
    )
    extra = c.extra
    c.policy = other
    c.extra = _extra_columns(c, applications, other)
    other_sha = inputs_sha256(c, priorities, points, order)
    c.policy, c.extra = policy, extra
    return _ranked(c, points, order, priorities), other_sha


def _extra_columns(c: Columns, applications: Sequence[ApplicationInput], policy: Policy) -> dict:
    """The extra application columns ``policy``'s tie-breakers read, in the columns' (ref)
    order, as ``prepare_apps`` keeps them."""
    names = columns_needed(policy.tie_breakers)
    if not names:
        return {}
    by_ref = {a.ref: a for a in applications}
    apps = [by_ref[ref] for ref in c.refs]
    return {name: [None if a.extra is None else a.extra.get(name) for a in apps] for name in names}


def _ranked(c: Columns, points: np.ndarray, order: np.ndarray, priorities) -> RankingResult:
    """Score, order and fund prepared columns; the result."""
    policy, rubric = c.policy, c.rubric
    sha = inputs_sha256(c, priorities, points, order)
    compute_scores(c, points, order)
    order_ranked(c)
    fund_down(c)
    total = money_cents(policy.total_funds, "total_funds")
    awarded = int((c.rem_before - c.rem_after).sum())
    stats = {
        name: ReviewerStats(
            name, int(c.n_v[k]), float(c.mu_v[k]), float(c.sigma_v[k]), bool(c.applied_v[k])
        )
        for k, name in enumerate(c.names)
    }
    apps = ApplicationResults(c, c.doc_order)
    return RankingResult(
        policy,
        rubric,
        sha,
        cents_dec(total),
        cents_dec(awarded),
        cents_dec(total - awarded),
        c.mu,
        c.sigma,
        stats,
        apps,
        c,
    )


def _prepared(rubric, policy, applications, review_app, review_reviewer, points, priorities):
    """The checked inputs as columns: ``(Columns, points as float64, review order)``."""
    rubric.validate()
    policy.validate(rubric)
    c = Columns()
    c.rubric, c.policy, c.explain = rubric, policy, None
    inv = prepare_apps(c, applications, priorities)
    points = np.asarray(points, dtype=np.float64)
    order = prepare_reviews(c, inv, review_app, review_reviewer, points)
    return c, points, order


def rank(
    rubric: Rubric,
    policy: Policy,
    applications: Sequence[ApplicationInput],
    reviews: Sequence[ReviewInput],
    priorities: Mapping[str, Decimal],
) -> RankingResult:
    """Rank from value objects: build the columns and call ``rank_columns`` (same order).

    Every review must give points for every criterion and no other key (``RubricError``
    otherwise); a review of an unknown application or a duplicate ref raises ``ValueError``.
    """
    rubric.validate()
    apps = list(applications)
    index = {a.ref: i for i, a in enumerate(apps)}
    if len(index) != len(apps):
        seen: set[str] = set()
        dup = next(a.ref for a in apps if a.ref in seen or seen.add(a.ref))
        raise ValueError(f"duplicate application ref {dup!r}")
    reviews = list(reviews)
    review_app = np.empty(len(reviews), dtype=np.int64)
    rows = np.empty((len(reviews), len(rubric.criteria)), dtype=np.float64)
    for r, review in enumerate(reviews):
        if review.application not in index:
            raise ValueError(
                f"review by {review.reviewer!r} of unknown application {review.application!r}"
            )
        review_app[r] = index[review.application]
        try:
            rows[r] = points_row(rubric, review.points)
        except ValueError as exc:
            raise type(exc)(
                f"review of {review.application!r} by {review.reviewer!r}: {exc}"
            ) from None
    return rank_columns(
        rubric, policy, apps, review_app, [r.reviewer for r in reviews], rows, priorities
    )

"""Ranking and award rules of docs/ranking.md (pure: stdlib + numpy only), split by step.

Callers import from here: ``from scoring.core.ranking import rank, Policy, ...``.

Entry points: ``rank()`` (value objects in) and ``rank_columns()`` (narrow columns in, used at
scale); both return a ``RankingResult``. ``result_document()``/``dumps_document()`` give the
docs/bundle.md "Ranking result document"; ``explanation_data()``/``explain()`` give a hand-checkable
account of one application. No I/O, clock, randomness or configuration is used here.

Map of the package (one module per step, in the order a run takes them)
------------------------------------------------------------------------
``registry``      tie-breakers, normalisations, aggregators: the one list each (add one here)
``policy``        ``Policy`` (docs/ranking.md §2) and ``PolicyError``
``inputs``        ``ApplicationInput``/``ReviewInput``, canonical columns, ``inputs_sha256``
``columns``       the run's shared columnar state and status codes
``scores``        §3 review scores, §3.2 normalisation, §3.3 aggregation, discrepancy flags
``ordering``      §4 status before funding, §5 rank with the tie-breakers
``funding``       §6 funding order and fund-down
``engine``        ``rank``/``rank_columns``: the steps in order
``document``      result objects, ``result_document``, ``dumps_document``
``explanations``  ``explanation_data``/``explain``
``compact``       compact storage of explanations (context + one record per application)
Exact decimals, cents and score rounding are in ``scoring.core.numbers``.

Order (docs/ranking.md §5, one lexicographic key, the same everywhere)::

    final score (6 places) descending,
    then each policy tie-breaker in turn (``registry.TIE_BREAKERS``):
        section:<key>     aggregated section percentage (6 places), higher first
        priority_points   exact Decimal, more first
        requested_amount  exact cents, smaller first
        submitted_at      earlier first; an application without one comes after all that have one
    then ref ascending (so the order is total)

Funding order is ``(tier ascending, rank ascending)``; fund-down is §6 line by line.

Numeric choices (each an interpretation of a point the spec leaves open)
-------------------------------------------------------------------------
* Scores are float64 (see ``scoring.core.rubric`` for the review score). To stop float noise
  (~1e-14) from flipping a comparison, every score is first rounded to 9 places (an integer
  number of nano-points), then rounded **half up, toward +∞** from that integer: to 6 places
  for every comparison (integer micro-points) and to 4 places for reporting (from the 9-place
  value, not from the 6-place value). ``final`` is computed in nano-points as
  ``round9(base) + round9(priority_points)``. ``min_score`` is compared as ``final6 <
  min_score`` exactly; the discrepancy test is ``round6(max S_r) − round6(min S_r) >
  discrepancy_threshold`` exactly.
* Inputs are put in canonical order first (applications by ``ref``, reviews by
  ``(application ref, reviewer)``), so no result ever depends on input order; sums and
  means run in that order.
* Normalisation (§3.2) uses, literally, all counted reviews passed in (those of ineligible and
  incomplete applications too). ``σ_v`` and ``σ`` are population standard deviations.
  ``σ_v > 0`` is decided on the 9-place scores (a reviewer whose scores are all equal to 9
  places is "σ_v = 0"), so noise cannot turn a constant reviewer into a huge rescaling.
* Median of an even count is the mean of the two middle values.
* Money is integer cents internally and ``Decimal`` at the edges. Money that is not a whole
  number of cents (or is negative) is refused, not rounded, so every total reproduces by hand.
  Every ``room`` is then a whole number of cents and a partial award (= room) is already
  "rounded down to the cent".
* ``min_award`` is used only as the default ``partial_min`` (§2). The engine does not re-check
  it for full awards (the spec's pseudo-code does not); forms should refuse smaller requests.
* An application's priority keys are a set (a key listed twice counts once); an unknown key
  is an error. ``priority_points`` are compared exactly as Decimals (and enter ``final`` as
  nano-points, exact for up to 9 decimals).
* ``submitted_at``: earlier first, compared as instants; a missing one sorts after every
  application that has one; a mix of timezone-aware and naive datetimes is refused.
* ``min_score`` and ``discrepancy_threshold`` may have at most 6 decimals (they meet 6-place
  scores), so ``Policy.to_dict`` states them exactly.
* ``ineligible_reason`` is reported only for an ineligible application (status first).
* A review passed in is a counted review; its points are not checked against max/step here
  (``Rubric.check_points`` does that at the input boundary).

Result values and documents
---------------------------
``RankingResult.applications`` is a sequence of light views over columnar arrays (building
100,000 objects up front would cost more than the ranking). The result document and the
explanation round with the same rule (``round_score``). ``inputs_sha256`` is a sha256 over a
length-prefixed canonical encoding of every input (see ``inputs.inputs_sha256``).

The engine, its document and its explanation share one set of columnar arrays
(``columns.Columns``); ``scoring.core.explain`` holds only the text rendering of a stored
explanation.
"""

from __future__ import annotations

from scoring.core.explain import render_explanation
from scoring.core.numbers import round_score
from scoring.core.ranking.compact import (
    COMPACT_VERSION,
    compact_explanation,
    compact_explanations,
    expand_explanation,
    explanation_context,
    is_compact_explanation,
    stored_explanation,
    stored_review_scores,
)
from scoring.core.ranking.document import (
    ApplicationResult,
    ApplicationResults,
    RankingResult,
    ReviewDetail,
    ReviewerStats,
    dumps_document,
    result_document,
)
from scoring.core.ranking.engine import rank, rank_columns, rank_columns_beside
from scoring.core.ranking.explanations import explain, explanation_data
from scoring.core.ranking.inputs import ApplicationInput, ReviewInput
from scoring.core.ranking.policy import FUND_DOWN, Policy, PolicyError
from scoring.core.ranking.registry import AGGREGATORS, NORMALISATIONS, TIE_BREAKERS

__all__ = [
    "AGGREGATORS",
    "COMPACT_VERSION",
    "FUND_DOWN",
    "NORMALISATIONS",
    "TIE_BREAKERS",
    "ApplicationInput",
    "ApplicationResult",
    "ApplicationResults",
    "Policy",
    "PolicyError",
    "RankingResult",
    "ReviewDetail",
    "ReviewInput",
    "ReviewerStats",
    "compact_explanation",
    "compact_explanations",
    "dumps_document",
    "expand_explanation",
    "explain",
    "explanation_context",
    "explanation_data",
    "is_compact_explanation",
    "rank",
    "rank_columns",
    "rank_columns_beside",
    "render_explanation",
    "result_document",
    "round_score",
    "stored_explanation",
    "stored_review_scores",
]

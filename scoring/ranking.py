"""Ranking and award rules of ``docs/ranking.md`` (pure: stdlib + numpy only).

Entry points: ``rank()`` (value objects in) and ``rank_columns()`` (narrow columns in, used at
scale); both return a ``RankingResult``. ``result_document()``/``dumps_document()`` give the
docs/bundle.md "Ranking result document"; ``explanation_data()``/``explain()`` give a hand-checkable
account of one application. No I/O, clock, randomness or configuration is used here.

Order (docs/ranking.md §5, one lexicographic key, the same everywhere)::

    final score (6 places) descending,
    then each policy tie-breaker in turn:
        section:<key>     aggregated section percentage (6 places), higher first
        priority_points   exact Decimal, more first
        requested_amount  exact cents, smaller first
        submitted_at      earlier first; an application without one comes after all that have one
    then ref ascending (so the order is total)

Funding order is ``(tier ascending, rank ascending)``; fund-down is §6 line by line.

Numeric choices (each an interpretation of a point the spec leaves open)
-------------------------------------------------------------------------
* Scores are float64 (see ``scoring.rubric`` for the review score). To stop float noise
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
length-prefixed canonical encoding of every input (see ``_inputs_sha256``).

This module is larger than the style guide's 300 lines because the spec's engine, its
document and its explanation share one set of columnar arrays; ``scoring.explain`` holds only
the text rendering of a stored explanation.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, Inexact, localcontext
from itertools import islice, repeat
from operator import attrgetter, lt
from typing import Any

import numpy as np

from scoring.explain import render_explanation
from scoring.rubric import Rubric, fmt_decimal, points_row, score_rows, to_decimal

__all__ = [
    "AGGREGATORS",
    "ApplicationInput",
    "ApplicationResult",
    "ApplicationResults",
    "Policy",
    "PolicyError",
    "RankingResult",
    "ReviewDetail",
    "ReviewInput",
    "ReviewerStats",
    "dumps_document",
    "explain",
    "explanation_data",
    "rank",
    "rank_columns",
    "render_explanation",
    "result_document",
    "round_score",
]

NORMALIZATIONS = ("none", "zscore")
FUND_DOWN = ("strict", "skip")
SIMPLE_TIE_BREAKERS = ("priority_points", "requested_amount", "submitted_at")
STATUSES = ("funded", "partially_funded", "waitlisted", "below_threshold", "incomplete",
            "ineligible")
FUNDED, PARTIAL, WAITLISTED, BELOW, INCOMPLETE, INELIGIBLE = range(6)
FLAGS = ("discrepancy", "tie")  # fixed order in the document
_NO_REASON, _FUNDS, _DISTRICT_CAP = 0, 1, 2
_CENT = Decimal("0.01")
_MAX_CENTS = 10**17  # a bound that keeps every sum of cents far inside int64
_MAX_SCORE = 10**9  # |score| and priority points bound: nano-points stay inside int64
_NANO = Decimal(10) ** 9


class PolicyError(ValueError):
    """A ranking policy knob with a bad value (docs/ranking.md §2)."""


# --------------------------------------------------------------------------- policy


def _money_cents(value: Any, what: str, error: type[ValueError] = ValueError) -> int:
    """Exact Decimal money → integer cents; refuse negative or sub-cent amounts."""
    try:
        d = value if type(value) is Decimal and value.is_finite() else to_decimal(value)
    except ValueError as exc:
        raise error(f"{what}: {exc}") from None
    c = d.scaleb(2)
    cents = int(c)
    if cents != c:
        raise error(f"{what}: {fmt_decimal(d)} is not a whole number of cents")
    if cents < 0:
        raise error(f"{what}: {fmt_decimal(d)} is negative")
    if cents >= _MAX_CENTS:
        raise error(f"{what}: {fmt_decimal(d)} is too large")
    return cents


def _cents_str(cents: int) -> str:
    """Integer cents → money string with two decimals (``"1500000.00"``)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _cents_dec(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _json_number(value: Decimal, places: int = 4) -> int | float:
    """Return a Decimal as a JSON number rounded half up to ``places`` (int if integral)."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(q) if q == q.to_integral_value() else float(q)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


_DECIMAL_FIELDS = ("discrepancy_threshold", "min_score", "total_funds", "min_award",
                   "max_award", "partial_min", "district_max_amount")
_MONEY_FIELDS = ("total_funds", "min_award", "max_award", "partial_min", "district_max_amount")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Every knob of docs/ranking.md §2 with its default; ``total_funds`` is required.

    Numbers given as ``int``/``str``/``float`` are converted to ``Decimal`` on construction;
    call ``validate()`` (``rank`` does) to check the values.
    """

    aggregation: str = "mean"
    normalization: str = "none"
    min_reviews: int = 2
    discrepancy_threshold: Decimal = Decimal(15)
    min_score: Decimal = Decimal(0)
    tie_breakers: tuple[str, ...] = ()
    total_funds: Decimal
    min_award: Decimal | None = None
    max_award: Decimal | None = None
    fund_down: str = "strict"
    partial_funding: bool = False
    partial_min: Decimal | None = None
    district_max_awards: int | None = None
    district_max_amount: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                try:
                    object.__setattr__(self, name, to_decimal(value))
                except ValueError:
                    pass  # validate() reports it
        if isinstance(self.tie_breakers, list):
            object.__setattr__(self, "tie_breakers", tuple(self.tie_breakers))

    @property
    def effective_partial_min(self) -> Decimal:
        """``partial_min``, else ``min_award``, else 0.01 (§2)."""
        if self.partial_min is not None:
            return self.partial_min
        return self.min_award if self.min_award is not None else _CENT

    def validate(self, rubric: Rubric | None = None) -> Policy:
        """Check every knob and return ``self``; raise ``PolicyError`` with a clear message.

        With a rubric, ``section:<key>`` tie-breakers must name one of its sections.
        """
        _choice("aggregation", self.aggregation, tuple(AGGREGATORS))
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("fund_down", self.fund_down, FUND_DOWN)
        if not _is_int(self.min_reviews) or self.min_reviews < 1:
            raise PolicyError(f"min_reviews must be an integer >= 1 (got {self.min_reviews!r})")
        for name in ("discrepancy_threshold", "min_score"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise PolicyError(f"{name}: {value!r} is not a number")
            if value.normalize().as_tuple().exponent < -6:
                raise PolicyError(f"{name}: at most 6 decimal places (scores compare at 6)")
        if self.discrepancy_threshold < 0:
            raise PolicyError("discrepancy_threshold must be >= 0")
        self._validate_tie_breakers(rubric)
        self._validate_money()
        if not isinstance(self.partial_funding, bool):
            raise PolicyError(
                f"partial_funding must be true or false (got {self.partial_funding!r})")
        dma = self.district_max_awards
        if dma is not None and (not _is_int(dma) or dma < 0):
            raise PolicyError(f"district_max_awards must be an integer >= 0 or null (got {dma!r})")
        return self

    def _validate_tie_breakers(self, rubric: Rubric | None) -> None:
        if not isinstance(self.tie_breakers, tuple):
            raise PolicyError("tie_breakers must be a list")
        seen: set[str] = set()
        for i, tb in enumerate(self.tie_breakers):
            where = f"tie_breakers[{i}]"
            if not isinstance(tb, str):
                raise PolicyError(f"{where}: {tb!r} is not a string")
            if tb.startswith("section:"):
                key = tb[len("section:"):]
                if not key:
                    raise PolicyError(f"{where}: 'section:' needs a section key")
                if rubric is not None and key not in {s.key for s in rubric.sections}:
                    raise PolicyError(f"{where}: unknown section {key!r}")
            elif tb not in SIMPLE_TIE_BREAKERS:
                raise PolicyError(
                    f"{where}: {tb!r} is not one of section:<key>, priority_points, "
                    "requested_amount, submitted_at")
            if tb in seen:
                raise PolicyError(f"{where}: {tb!r} is listed twice")
            seen.add(tb)

    def _validate_money(self) -> None:
        if self.total_funds is None:
            raise PolicyError("total_funds is required")
        for name in _MONEY_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            cents = _money_cents(value, name, PolicyError)
            if name in ("min_award", "max_award", "partial_min") and cents == 0:
                raise PolicyError(f"{name} must be at least 0.01 (leave it unset for no bound)")
        if (self.min_award is not None and self.max_award is not None
                and self.min_award > self.max_award):
            raise PolicyError("min_award is above max_award")

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-ready policy (the "policy used"): money as 2-decimal strings."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _MONEY_FIELDS:
                value = None if value is None else _cents_str(_money_cents(value, f.name))
            elif f.name in ("discrepancy_threshold", "min_score"):
                value = _json_number(value, 6)
            elif f.name == "tie_breakers":
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build and validate a policy from a JSON-like mapping; raise ``PolicyError``.

        Unknown keys are refused; ``total_funds`` is required; money may be a string or a number.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise PolicyError(f"unknown policy key {unknown[0]!r}")
        if data.get("total_funds") is None:
            raise PolicyError("total_funds is required")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in _DECIMAL_FIELDS and value is not None:
                try:
                    value = to_decimal(value)
                except ValueError as exc:
                    raise PolicyError(f"{name}: {exc}") from None
            elif name == "tie_breakers":
                if not isinstance(value, (list, tuple)):
                    raise PolicyError("tie_breakers must be a list")
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs).validate()


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise PolicyError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class ApplicationInput:
    """One application of the competition (docs/ranking.md §1)."""

    ref: str
    school: str
    district: str
    requested_amount: Decimal
    tier: int = 1
    priorities: tuple[str, ...] = ()
    eligible: bool = True
    ineligible_reason: str | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewInput:
    """One COUNTED review (the caller drops drafts, withdrawn and conflicted reviews)."""

    application: str
    reviewer: str
    points: Mapping[str, Decimal]


# --------------------------------------------------------------------------- aggregation


def _group_mean(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of each application's contiguous block of rows (NaN when it has none)."""
    out = np.full((len(counts),) + values.shape[1:], np.nan)
    nz = np.nonzero(counts)[0]
    if len(nz):
        sums = np.add.reduceat(values, starts[nz], axis=0)
        div = counts[nz].reshape((-1,) + (1,) * (values.ndim - 1))
        out[nz] = sums / div
    return out


def _sort_blocks(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``values`` with each application's block sorted ascending (blocks stay in place)."""
    out = values.copy()
    for k in np.unique(counts[counts > 1]).tolist():
        rows = starts[counts == k][:, None] + np.arange(k)
        out[rows] = np.sort(values[rows], axis=1)
    return out


def _raw_sorted(c: _Columns) -> np.ndarray:
    """Raw review scores, ascending within each application's block (cached)."""
    if c.raw_sorted is None:
        c.raw_sorted = _sort_blocks(c.raw, c.starts, c.counts)
    return c.raw_sorted


def _group_median(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each block; an even count gives the mean of the two middle values."""
    out = np.full((len(counts),) + values.shape[1:], np.nan)
    for k in np.unique(counts[counts > 0]).tolist():
        apps = np.nonzero(counts == k)[0]
        block = np.sort(values[starts[apps][:, None] + np.arange(k)], axis=1)
        if k % 2:
            out[apps] = block[:, k // 2]
        else:
            out[apps] = (block[:, k // 2 - 1] + block[:, k // 2]) / 2.0
    return out


#: Aggregation registry (§3.3): name → f(values, block starts, block counts).
AGGREGATORS = {"mean": _group_mean, "median": _group_median}


# --------------------------------------------------------------------------- rounding


def _nano(x: np.ndarray) -> np.ndarray:
    """Round to 9 places: integer nano-points (removes float noise)."""
    x = np.where(np.isfinite(x), x, 0.0)  # NaN marks "no counted review"; masked by callers
    if x.size and np.abs(x).max() >= _MAX_SCORE:
        raise ValueError("a score is out of range (>= 1e9)")
    return np.rint(x * 1e9).astype(np.int64)


def _micro(nano: np.ndarray) -> np.ndarray:
    """Nano-points → micro-points (6 places), half up toward +∞."""
    return np.floor_divide(nano + 500, 1000)


def _report(nano: np.ndarray) -> np.ndarray:
    """Nano-points → float rounded half up (toward +∞) to 4 places, for reporting."""
    return np.floor_divide(nano + 50_000, 100_000) / 1e4


# --------------------------------------------------------------------------- columns


class _Columns:
    """Everything the run computed, in canonical application order (sorted by ref)."""

    __slots__ = (
        "rubric", "policy", "refs", "schools", "districts", "requested", "request", "tiers",
        "eligible", "reasons", "submitted", "prio_keys", "prio_points", "pp", "pp_nano",
        "names", "rev_app", "rev_code", "starts", "counts", "raw", "norm", "sect_points",
        "sect_pct", "raw_sorted", "base", "sections", "final_nano", "final6", "sect6",
        "n_v", "mu_v", "sigma_v", "applied_v", "mu", "sigma",
        "status", "reason_code", "rank", "discrepancy", "tie", "decided", "labels",
        "rank_order", "fund_order", "position", "rem_before", "rem_after", "by_position",
        "doc_order", "district_code", "stop", "explain",
    )


def _first_bad(values: list[Any], ok: Any, allowed: set[type]) -> int | None:
    """Index of the first value that fails ``ok`` (fast C-level type check first)."""
    if set(map(type, values)) <= allowed:
        return None
    return next((i for i, v in enumerate(values) if not ok(v)), None)


def _require(values: list[Any], refs: list[str], what: str, ok: Any, allowed: set[type],
             must: str) -> None:
    bad = _first_bad(values, ok, allowed)
    if bad is not None:
        raise ValueError(f"application {refs[bad]!r}: {what} must be {must} "
                         f"(got {values[bad]!r})")


def _cents_column(values: list[Any], refs: list[str]) -> np.ndarray:
    """requested_amount column → int64 cents (C-level fast path for Decimals; exact)."""
    try:
        if values and set(map(type, values)) <= {Decimal} and min(values) >= 0:
            # int() truncates, so for values >= 0 each cents <= 100 × value, with equality
            # exactly when the value is whole cents: the exact sums agree iff all of them are.
            cents = list(map(int, map(Decimal.scaleb, values, repeat(2))))
            with localcontext() as ctx:
                ctx.traps[Inexact] = True
                exact = sum(values).scaleb(2) == sum(cents)
            if exact and max(cents) < _MAX_CENTS:
                return np.array(cents, dtype=np.int64)
    except (ArithmeticError, ValueError):
        pass
    return np.array([_money_cents(v, f"application {r!r}: requested_amount")
                     for v, r in zip(values, refs, strict=True)], dtype=np.int64)


def _priority_column(c: _Columns, raw: list[Any], refs: list[str],
                     priorities: Mapping[str, Any]) -> None:
    """Canonical priority keys (a sorted set) and priority_points per application.

    Each distinct key tuple is worked out once, then mapped over the column at C speed.
    """
    prio = {}
    for key, pts in priorities.items():
        if not isinstance(key, str):
            raise ValueError(f"priority key {key!r} is not a string")
        d = to_decimal(pts)
        if d < 0:
            raise ValueError(f"priority {key!r}: points {fmt_decimal(d)} are below 0")
        if d >= _MAX_SCORE:  # a safety bound: final scores are int64 nano-points
            raise ValueError(f"priority {key!r}: points {fmt_decimal(d)} are too large")
        prio[key] = d
    raw = [k if type(k) is tuple else tuple(k) for k in raw] if (
        set(map(type, raw)) - {tuple}) else raw
    keys_of: dict[tuple, tuple[str, ...]] = {}
    for keys in dict.fromkeys(raw):
        canon = tuple(sorted(set(keys)))
        missing = [k for k in canon if k not in prio]
        if missing:
            ref = refs[raw.index(keys)]
            raise ValueError(f"application {ref!r}: unknown priority {missing[0]!r}")
        keys_of[keys] = canon
    pp_of = {keys: sum((prio[k] for k in canon), Decimal(0)) for keys, canon in keys_of.items()}
    nano_of = {keys: int((v * _NANO).to_integral_value(ROUND_HALF_UP))
               for keys, v in pp_of.items()}
    c.prio_points = prio
    c.prio_keys = list(map(keys_of.__getitem__, raw))
    c.pp = list(map(pp_of.__getitem__, raw))
    c.pp_nano = np.fromiter(map(nano_of.__getitem__, raw), dtype=np.int64, count=len(raw))


def _column(apps: list[Any], name: str) -> list[Any]:
    return list(map(attrgetter(name), apps))


def _prepare_apps(c: _Columns, applications: Sequence[ApplicationInput],
                  priorities: Mapping[str, Decimal]) -> np.ndarray:
    """Fill the application columns in ref order; return original index → canonical index.

    Checks are columnar (one C-level type scan per column) so 100,000 applications cost
    tens of milliseconds; a failing column is rescanned to name the first bad application.
    Applications that already come sorted by ref (``ORDER BY ref``) skip the reordering.
    ``ineligible_reason`` is kept as given (it is reported only for an ineligible one).
    """
    apps = list(applications)
    refs = _column(apps, "ref")
    bad = _first_bad(refs, lambda r: isinstance(r, str) and r != "", {str})
    if bad is not None or not all(refs):
        bad = bad if bad is not None else refs.index("")
        raise ValueError(f"application ref {refs[bad]!r} must be a non-empty string")
    perm = None  # already strictly ascending (so also unique): the fast path
    if not all(map(lt, refs, islice(refs, 1, None))):
        perm = sorted(range(len(apps)), key=refs.__getitem__)
        apps = list(map(apps.__getitem__, perm))
        refs = list(map(refs.__getitem__, perm))
        if len(set(refs)) != len(refs):
            dup = next(refs[i] for i in range(1, len(refs)) if refs[i] == refs[i - 1])
            raise ValueError(f"duplicate application ref {dup!r}")
    c.refs = refs
    c.schools, c.districts = _column(apps, "school"), _column(apps, "district")
    _require(c.schools, refs, "school", lambda v: isinstance(v, str), {str}, "a string")
    _require(c.districts, refs, "district", lambda v: isinstance(v, str), {str}, "a string")
    c.requested = _cents_column(_column(apps, "requested_amount"), refs)
    tiers = _column(apps, "tier")
    _require(tiers, refs, "tier", _is_int, {int}, "an integer")
    c.tiers = np.array(tiers, dtype=np.int64)
    eligible = _column(apps, "eligible")
    _require(eligible, refs, "eligible", lambda v: isinstance(v, bool), {bool}, "true or false")
    c.eligible = np.array(eligible, dtype=bool)
    c.reasons = _column(apps, "ineligible_reason")
    _require(c.reasons, refs, "ineligible_reason", lambda v: v is None or isinstance(v, str),
             {type(None), str}, "a string or null")
    c.submitted = _column(apps, "submitted_at")
    _require(c.submitted, refs, "submitted_at", lambda v: v is None or isinstance(v, datetime),
             {type(None), datetime}, "a datetime or null")
    if len({t.utcoffset() is None for t in c.submitted if t is not None}) > 1:
        raise ValueError("submitted_at values mix timezone-aware and naive datetimes")
    _priority_column(c, _column(apps, "priorities"), refs, priorities)
    inv = np.arange(len(apps), dtype=np.int64)
    if perm is not None:
        inv[np.array(perm, dtype=np.int64)] = inv.copy()
    return inv


def _prepare_reviews(c: _Columns, inv: np.ndarray, review_app: Any,
                     review_reviewer: Sequence[str], points: Any) -> np.ndarray:
    """Fill the review columns in (application ref, reviewer) order; return that order.

    The points array itself is not reordered (it is the largest input): scores are computed
    row by row in input order and only the small results are reordered.
    """
    review_app = np.asarray(review_app)
    n = len(review_app) if review_app.ndim == 1 else -1
    if n < 0 or (n and not np.issubdtype(review_app.dtype, np.integer)):
        raise ValueError("review_app must be a 1-d array of application indexes")
    points = np.asarray(points, dtype=np.float64)
    n_criteria = len(c.rubric.criteria)
    if points.shape != (n, n_criteria):
        raise ValueError(f"points must have shape ({n}, {n_criteria}); got {points.shape}")
    if len(review_reviewer) != n:
        raise ValueError(f"review_reviewer has {len(review_reviewer)} entries for {n} reviews")
    app = review_app.astype(np.int64)
    if n and (app.min() < 0 or app.max() >= len(inv)):
        raise ValueError("review_app holds an index outside the applications")
    if n and not np.isfinite(points.sum()):  # one SIMD pass; NaN/inf make the sum non-finite
        raise ValueError("points must be finite numbers (found NaN, infinity or an overflow)")
    names = list(dict.fromkeys(review_reviewer))  # C-level de-duplication
    if not all(isinstance(r, str) and r for r in names):
        raise ValueError("reviewers must be non-empty strings")
    names.sort()
    lookup = {r: k for k, r in enumerate(names)}
    code = np.fromiter(map(lookup.__getitem__, review_reviewer), dtype=np.int64, count=n)
    app = inv[app] if n else app
    key = app * max(len(names), 1) + code  # (application ref, reviewer) as one int64
    order = np.argsort(key, kind="stable")
    app, code, key = app[order], code[order], key[order]
    dup = np.nonzero(key[1:] == key[:-1])[0]
    if len(dup):
        i = int(dup[0])
        raise ValueError(f"duplicate review of {c.refs[app[i]]!r} by {names[code[i]]!r}")
    c.names, c.rev_app, c.rev_code = [str(r) for r in names], app, code
    c.counts = np.bincount(app, minlength=len(inv)).astype(np.int64)
    c.starts = np.concatenate(([0], np.cumsum(c.counts)[:-1])).astype(np.int64)
    return order


def _hash_points(h: Any, points: np.ndarray, order: np.ndarray) -> None:
    """Feed the points rows to ``h`` in canonical order, about 1 MiB at a time."""
    step = max(1, (1 << 20) // (8 * points.shape[1]))
    buf = np.empty((step, points.shape[1]), dtype="<f8")
    for start in range(0, len(order), step):
        out = buf[:len(order[start:start + step])]
        np.take(points, order[start:start + step], axis=0, out=out)
        out += 0.0  # -0.0 becomes 0.0, so equal inputs give equal bytes
        h.update(memoryview(out).cast("B"))


def _inputs_sha256(c: _Columns, priorities: Mapping[str, Decimal], points: np.ndarray,
                   order: np.ndarray) -> str:
    """sha256 over a canonical, input-order-independent encoding of every input.

    Parts, each length-prefixed: a format tag, the rubric, the policy (``to_dict``), the
    priorities sorted by key, the application columns in ref order (money in cents), the
    sorted reviewer names, and the reviews in (ref, reviewer) order as little-endian int64
    application/reviewer indexes and float64 points.
    """
    h = hashlib.sha256()

    def part(tag: str, data: bytes | memoryview) -> None:
        h.update(f"{tag}:{len(data)}:".encode())
        h.update(data)

    def js(obj: Any) -> bytes:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False).encode()

    rubric = [[s.key, s.title, None if s.weight is None else fmt_decimal(s.weight),
               [[x.key, x.title, fmt_decimal(x.max_points), fmt_decimal(x.step)]
                for x in s.criteria]] for s in c.rubric.sections]
    part("format", b"grant-scoring-ranking-inputs/1")
    part("rubric", js(rubric))
    part("policy", js(c.policy.to_dict()))
    part("priorities", js(sorted([k, fmt_decimal(to_decimal(v))] for k, v in priorities.items())))
    part("ref", js(c.refs))
    part("school", js(c.schools))
    part("district", js(c.districts))
    part("requested_cents", c.requested.astype("<i8").tobytes())
    part("tier", c.tiers.astype("<i8").tobytes())
    part("priorities", js(c.prio_keys))
    part("eligible", c.eligible.astype(np.uint8).tobytes())
    part("ineligible_reason", js(c.reasons))
    part("submitted_at", js([None if t is None else t.isoformat() for t in c.submitted]))
    part("reviewers", js(c.names))
    part("review_application", c.rev_app.astype("<i8").tobytes())
    part("review_reviewer", c.rev_code.astype("<i8").tobytes())
    h.update(f"points:{len(order) * points.shape[1] * 8}:".encode())
    _hash_points(h, points, order)
    return h.hexdigest()


# --------------------------------------------------------------------------- scoring


def _normalise(c: _Columns) -> None:
    """§3.2 per-reviewer z-score (or none); fills the reviewer stats and ``c.norm``."""
    raw, code, n_rev = c.raw, c.rev_code, len(c.names)
    n_v = np.bincount(code, minlength=n_rev)
    mu_v = np.bincount(code, weights=raw, minlength=n_rev) / np.maximum(n_v, 1)
    dev = raw - mu_v[code]
    sigma_v = np.sqrt(np.bincount(code, weights=dev * dev, minlength=n_rev) / np.maximum(n_v, 1))
    nano = _nano(raw)
    lo = np.full(n_rev, np.iinfo(np.int64).max)
    hi = np.full(n_rev, np.iinfo(np.int64).min)
    np.minimum.at(lo, code, nano)
    np.maximum.at(hi, code, nano)
    applied = (n_v >= 3) & (hi > lo) & (c.policy.normalization == "zscore")
    c.mu = float(raw.mean()) if len(raw) else None
    c.sigma = float(raw.std()) if len(raw) else None
    norm = raw.copy()
    m = applied[code]
    if m.any():
        norm[m] = c.mu + c.sigma * (raw[m] - mu_v[code[m]]) / sigma_v[code[m]]
    c.n_v, c.mu_v, c.sigma_v, c.applied_v, c.norm = n_v, mu_v, sigma_v, applied, norm


def _scores(c: _Columns, points: np.ndarray, order: np.ndarray) -> None:
    """§3: review scores, normalisation, base/final/section aggregation, rounded keys."""
    raw, sect_points, sect_pct = score_rows(c.rubric, points)  # rows are independent
    c.raw, c.sect_points, c.sect_pct = raw[order], sect_points[order], sect_pct[order]
    _normalise(c)
    aggregate = AGGREGATORS[c.policy.aggregation]
    c.base = aggregate(c.norm, c.starts, c.counts)
    c.sections = aggregate(c.sect_pct, c.starts, c.counts)
    has = c.counts > 0
    c.final_nano = np.where(has, _nano(c.base) + c.pp_nano, 0)
    c.final6 = _micro(c.final_nano)
    c.sect6 = _micro(_nano(c.sections.reshape(-1)).reshape(c.sections.shape))
    c.raw_sorted = None  # made on first use (document, views)
    c.discrepancy = np.zeros(len(c.refs), dtype=bool)
    multi = np.nonzero(c.counts >= 2)[0]
    if len(multi):
        raw6 = _micro(_nano(c.raw))
        nz = np.nonzero(has)[0]
        spread = (np.maximum.reduceat(raw6, c.starts[nz])
                  - np.minimum.reduceat(raw6, c.starts[nz]))
        full = np.zeros(len(c.refs), dtype=np.int64)
        full[nz] = spread
        limit = int((c.policy.discrepancy_threshold.scaleb(6)).to_integral_value(ROUND_FLOOR))
        c.discrepancy[multi] = full[multi] > limit


# --------------------------------------------------------------------------- rank


def _tie_breaker_key(c: _Columns, tb: str, idx: np.ndarray) -> np.ndarray:
    """Ascending sort key (smaller sorts first) for one tie-breaker over ``idx``."""
    if tb.startswith("section:"):
        s = [x.key for x in c.rubric.sections].index(tb[len("section:"):])
        return -c.sect6[idx, s]
    if tb == "priority_points":
        levels = {v: i for i, v in enumerate(sorted(set(c.pp)))}
        return -np.array([levels[c.pp[i]] for i in idx.tolist()], dtype=np.int64)
    if tb == "requested_amount":
        return c.requested[idx]
    values = [c.submitted[i] for i in idx.tolist()]
    levels = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
    missing = len(levels)  # no submitted_at: after every dated application
    return np.array([missing if v is None else levels[v] for v in values], dtype=np.int64)


def _rank(c: _Columns) -> None:
    """§4 status before funding, flags and §5 rank, with the deciding key per neighbour."""
    n = len(c.refs)
    ranked = c.eligible & (c.counts >= c.policy.min_reviews)
    c.status = np.where(c.eligible, INCOMPLETE, INELIGIBLE).astype(np.int8)
    idx = np.nonzero(ranked)[0]
    keys = [-c.final6[idx]] + [_tie_breaker_key(c, tb, idx) for tb in c.policy.tie_breakers]
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


_W_FUNDS, _W_DISTRICT = 10, 11  # loop codes for "waitlisted" with its reason


def _fund_down(c: _Columns) -> None:
    """§6: funding order and the fund-down loop, in exact integer cents.

    The loop is the spec's pseudo-code line by line (the ``min_score`` test comes before the
    ``stopped`` test; the district count cap does not stop a strict fund-down). Once a strict
    fund-down stops, every later application is ``below_threshold`` or ``waitlisted (funds)``,
    so the loop ends there and the tail is filled in at once. What the explanation needs
    (remaining before, room, the district's count and amount before) is derived afterwards.
    """
    p = c.policy
    fo = c.rank_order[np.argsort(c.tiers[c.rank_order], kind="stable")]
    c.fund_order = fo
    min6 = int(p.min_score.scaleb(6).to_integral_value(ROUND_CEILING))
    below_a = c.final6[fo] < min6
    c.request = c.requested if p.max_award is None else np.minimum(
        c.requested, _money_cents(p.max_award, "max_award"))
    ids = {d: k for k, d in enumerate(dict.fromkeys(c.districts))}
    c.district_code = np.fromiter(map(ids.__getitem__, c.districts), dtype=np.int64,
                                  count=len(c.districts))
    max_n = p.district_max_awards
    max_amt = None if p.district_max_amount is None else _money_cents(p.district_max_amount, "")
    partial_min = _money_cents(p.effective_partial_min, "partial_min")
    partial, strict = p.partial_funding, p.fund_down == "strict"
    remaining = total = _money_cents(p.total_funds, "total_funds")
    funded_n, awarded = [0] * len(ids), [0] * len(ids)
    codes: list[int] = []
    awards: list[int] = []
    stop = -1
    for j, (below, request, d) in enumerate(zip(below_a.tolist(), c.request[fo].tolist(),
                                                c.district_code[fo].tolist(), strict=True)):
        if below:
            codes.append(BELOW)
            awards.append(0)
            continue
        n_d = funded_n[d]
        if max_n is not None and n_d >= max_n:
            codes.append(_W_DISTRICT)
            awards.append(0)
            continue
        room = remaining if max_amt is None else min(remaining, max_amt - awarded[d])
        if request <= room:
            code, award = FUNDED, request
        elif partial and room >= partial_min:
            code, award = PARTIAL, room
        else:
            code, award = (_W_DISTRICT if room < remaining else _W_FUNDS), 0
            if strict and code == _W_FUNDS:
                codes.append(code)
                awards.append(0)
                stop = j
                break
        codes.append(code)
        awards.append(award)
        remaining -= award
        if award > 0:
            funded_n[d] = n_d + 1
            awarded[d] += award
    tail = np.where(below_a[len(codes):], BELOW, _W_FUNDS)
    _store_funding(c, np.concatenate((np.array(codes, dtype=np.int64), tail)),
                   np.array(awards + [0] * len(tail), dtype=np.int64), total, stop)


def _store_funding(c: _Columns, codes: np.ndarray, award_fo: np.ndarray, total: int,
                   stop: int) -> None:
    """Scatter the fund-down results into per-application columns; fix the document order."""
    n, fo, p = len(c.refs), c.fund_order, c.policy
    status = np.where(codes >= _W_FUNDS, WAITLISTED, codes)
    c.status[fo] = status
    c.reason_code = np.zeros(n, dtype=np.int8)
    c.reason_code[fo] = np.select([codes == _W_FUNDS, codes == _W_DISTRICT],
                                  [_FUNDS, _DISTRICT_CAP], _NO_REASON)
    before = total - (np.cumsum(award_fo) - award_fo)
    c.position = np.zeros(n, dtype=np.int64)
    c.position[fo] = np.arange(1, len(fo) + 1)
    c.rem_before = np.zeros(n, dtype=np.int64)
    c.rem_before[fo] = before
    c.rem_after = c.rem_before.copy()
    c.rem_after[fo] = before - award_fo
    # per funding position: the district's awards and amount before it (exclusive sums
    # within the district, in funding order), the room where §6 computed one, and the stop
    dist = c.district_code[fo]
    by = np.lexsort((np.arange(len(fo)), dist))
    n_before, amt_before = np.zeros(len(fo), np.int64), np.zeros(len(fo), np.int64)
    for target, values in ((n_before, (award_fo > 0).astype(np.int64)), (amt_before, award_fo)):
        v = values[by]
        excl = np.cumsum(v) - v
        first = np.r_[True, dist[by][1:] != dist[by][:-1]] if len(by) else np.zeros(0, bool)
        target[by] = excl - np.maximum.accumulate(np.where(first, excl, 0))
    computed = (status != BELOW) & ((np.arange(len(fo)) <= stop) | (stop < 0))
    if p.district_max_awards is not None:
        computed &= n_before < p.district_max_awards
    room = before if p.district_max_amount is None else np.minimum(
        before, _money_cents(p.district_max_amount, "") - amt_before)
    c.by_position = np.stack([np.where(computed, room, -1), n_before, amt_before])
    c.stop = stop
    incomplete = np.nonzero(c.status == INCOMPLETE)[0]
    ineligible = np.nonzero(c.status == INELIGIBLE)[0]
    c.doc_order = np.concatenate((fo, incomplete, ineligible)).astype(np.int64)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ReviewerStats:
    """§3.2 statistics of one reviewer over their counted reviews in the run."""

    reviewer: str
    n: int
    mean: float
    std: float
    applied: bool  # True when the z-score was applied to this reviewer's scores


@dataclass(frozen=True, slots=True)
class ReviewDetail:
    """One counted review of an application, for the explanation (unrounded floats)."""

    reviewer: str
    raw: float
    normalised: float
    section_points: dict[str, float]
    section_pct: dict[str, float]


class ApplicationResult:
    """Read-only view of one application's result (values computed on access, unrounded).

    ``base``, ``final`` and ``sections`` are ``None`` without a counted review; ``award`` is a
    Decimal with two places; ``rank`` is ``None`` unless ranked.
    """

    __slots__ = ("_c", "_i")

    def __init__(self, columns: _Columns, index: int) -> None:
        self._c, self._i = columns, index

    def __repr__(self) -> str:
        return (f"ApplicationResult(ref={self.ref!r}, rank={self.rank}, status={self.status!r}, "
                f"award={self.award})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApplicationResult):
            return NotImplemented
        return self._c is other._c and self._i == other._i

    def __hash__(self) -> int:
        return hash((id(self._c), self._i))

    ref = property(lambda self: self._c.refs[self._i])
    school = property(lambda self: self._c.schools[self._i])
    district = property(lambda self: self._c.districts[self._i])
    tier = property(lambda self: int(self._c.tiers[self._i]))
    reviews = property(lambda self: int(self._c.counts[self._i]))
    priority_points = property(lambda self: self._c.pp[self._i])
    requested_amount = property(lambda self: _cents_dec(int(self._c.requested[self._i])))
    request = property(lambda self: _cents_dec(int(self._c.request[self._i])))
    status = property(lambda self: STATUSES[self._c.status[self._i]])
    award = property(lambda self: _cents_dec(int(self._c.rem_before[self._i]
                                                 - self._c.rem_after[self._i])))

    @property
    def _block(self) -> slice:
        start = int(self._c.starts[self._i])
        return slice(start, start + int(self._c.counts[self._i]))

    @property
    def review_scores(self) -> tuple[float, ...]:
        """Raw review scores (before normalisation), ascending."""
        return tuple(_raw_sorted(self._c)[self._block].tolist())

    @property
    def base(self) -> float | None:
        """Aggregated (normalised) review score, unrounded; ``None`` without a review."""
        return float(self._c.base[self._i]) if self.reviews else None

    @property
    def final(self) -> float | None:
        """``base + priority_points``, unrounded; ``None`` without a review."""
        return float(self._c.base[self._i]) + float(self.priority_points) if self.reviews else None

    @property
    def sections(self) -> dict[str, float] | None:
        """Aggregated section percentages in rubric order; ``None`` without a review."""
        if not self.reviews:
            return None
        values = self._c.sections[self._i].tolist()
        return {s.key: v for s, v in zip(self._c.rubric.sections, values, strict=True)}

    @property
    def rank(self) -> int | None:
        """Position 1..N among ranked applications; ``None`` when not ranked."""
        return int(self._c.rank[self._i]) or None

    @property
    def flags(self) -> tuple[str, ...]:
        """``discrepancy`` and/or ``tie``, in that fixed order."""
        on = (self._c.discrepancy[self._i], self._c.tie[self._i])
        return tuple(f for f, v in zip(FLAGS, on, strict=True) if v)

    @property
    def reason(self) -> str | None:
        """``funds``, ``district_cap``, the ineligibility reason, or ``None``."""
        c, i = self._c, self._i
        if c.status[i] == INELIGIBLE:
            return c.reasons[i]
        return (None, "funds", "district_cap")[c.reason_code[i]]

    @property
    def decided_by(self) -> str | None:
        """Which key placed it below its ranked neighbour above ("final score", ..., "ref")."""
        d = int(self._c.decided[self._i])
        return None if d < 0 else self._c.labels[d]

    @property
    def funding_position(self) -> int | None:
        """Position 1..N in funding order (tier, rank); ``None`` when not ranked."""
        return int(self._c.position[self._i]) or None

    @property
    def remaining_before(self) -> Decimal | None:
        """Funds remaining when the fund-down reached it; ``None`` when not ranked."""
        return _cents_dec(int(self._c.rem_before[self._i])) if self.funding_position else None

    @property
    def remaining_after(self) -> Decimal | None:
        """Funds remaining after its award; ``None`` when not ranked."""
        return _cents_dec(int(self._c.rem_after[self._i])) if self.funding_position else None

    @property
    def review_details(self) -> tuple[ReviewDetail, ...]:
        """Each counted review (reviewer order): raw and normalised score, P_s and percentages."""
        c, keys = self._c, [s.key for s in self._c.rubric.sections]
        out = []
        for r in range(self._block.start, self._block.stop):
            out.append(ReviewDetail(
                c.names[c.rev_code[r]], float(c.raw[r]), float(c.norm[r]),
                dict(zip(keys, c.sect_points[r].tolist(), strict=True)),
                dict(zip(keys, c.sect_pct[r].tolist(), strict=True))))
        return tuple(out)


class ApplicationResults(Sequence[ApplicationResult]):
    """The per-application results in document order (a read-only sequence).

    Views are made on access, so a run over 100,000 applications does not build 100,000
    objects up front; ``list(result.applications)`` gives a plain list when one is wanted.
    """

    __slots__ = ("_c", "_order")

    def __init__(self, columns: _Columns, order: np.ndarray) -> None:
        self._c, self._order = columns, order

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [ApplicationResult(self._c, i) for i in self._order[k].tolist()]
        return ApplicationResult(self._c, int(self._order[k]))

    def __iter__(self) -> Any:
        c = self._c
        return (ApplicationResult(c, i) for i in self._order.tolist())

    def __repr__(self) -> str:
        return f"<{len(self)} application results>"


@dataclass(frozen=True, slots=True, eq=False)
class RankingResult:
    """The outcome of one ranking run (docs/ranking.md §7), without clock times.

    ``applications`` is in document order: ranked in funding order, then incomplete by ref,
    then ineligible by ref. ``mu``/``sigma`` are the §3.2 competition statistics (``None``
    when there is no counted review); ``reviewer_stats`` maps reviewer → ``ReviewerStats``.
    """

    policy: Policy
    rubric: Rubric
    inputs_sha256: str
    total_funds: Decimal
    total_awarded: Decimal
    remaining: Decimal
    mu: float | None
    sigma: float | None
    reviewer_stats: Mapping[str, ReviewerStats]
    applications: ApplicationResults
    _c: _Columns = field(repr=False)

    def application(self, ref: str) -> ApplicationResult:
        """Return the result of the application with this ref; raise ``KeyError``."""
        return ApplicationResult(self._c, _index_of(self._c, ref))


def _index_of(c: _Columns, ref: str) -> int:
    i = bisect_left(c.refs, ref)
    if i == len(c.refs) or c.refs[i] != ref:
        raise KeyError(ref)
    return i


def rank_columns(rubric: Rubric, policy: Policy, applications: Sequence[ApplicationInput],
                 review_app: Any, review_reviewer: Sequence[str], points: Any,
                 priorities: Mapping[str, Decimal]) -> RankingResult:
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
    rubric.validate()
    policy.validate(rubric)
    c = _Columns()
    c.rubric, c.policy, c.explain = rubric, policy, None
    inv = _prepare_apps(c, applications, priorities)
    points = np.asarray(points, dtype=np.float64)
    order = _prepare_reviews(c, inv, review_app, review_reviewer, points)
    sha = _inputs_sha256(c, priorities, points, order)
    _scores(c, points, order)
    _rank(c)
    _fund_down(c)
    total = _money_cents(policy.total_funds, "total_funds")
    awarded = int((c.rem_before - c.rem_after).sum())
    stats = {name: ReviewerStats(name, int(c.n_v[k]), float(c.mu_v[k]), float(c.sigma_v[k]),
                                 bool(c.applied_v[k])) for k, name in enumerate(c.names)}
    apps = ApplicationResults(c, c.doc_order)
    return RankingResult(policy, rubric, sha, _cents_dec(total), _cents_dec(awarded),
                         _cents_dec(total - awarded), c.mu, c.sigma, stats, apps, c)


def rank(rubric: Rubric, policy: Policy, applications: Sequence[ApplicationInput],
         reviews: Sequence[ReviewInput], priorities: Mapping[str, Decimal]) -> RankingResult:
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
            raise ValueError(f"review by {review.reviewer!r} of unknown application "
                             f"{review.application!r}")
        review_app[r] = index[review.application]
        try:
            rows[r] = points_row(rubric, review.points)
        except ValueError as exc:
            raise type(exc)(f"review of {review.application!r} by {review.reviewer!r}: {exc}") \
                from None
    return rank_columns(rubric, policy, apps, review_app, [r.reviewer for r in reviews], rows,
                        priorities)


# --------------------------------------------------------------------------- document


def result_document(result: RankingResult, competition: str, run: int | None) -> dict[str, Any]:
    """Build the docs/bundle.md "Ranking result document" (key order as there, 4-place numbers).

    ``applications`` is in document order; ``review_scores`` are raw and ascending; ``flags``
    are in the fixed order discrepancy, tie; money is a string with two decimals.
    """
    c = result._c
    o = c.doc_order
    counts = c.counts[o].tolist()
    starts = c.starts[o].tolist()
    raw4 = _report(_nano(_raw_sorted(c))).tolist()
    keys = [s.key for s in c.rubric.sections]
    pp4 = {v: _json_number(v) for v in set(c.pp)}
    flag_sets = [[], ["discrepancy"], ["tie"], ["discrepancy", "tie"]]
    status = c.status[o]
    reason_names = (None, "funds", "district_cap")
    reasons = [c.reasons[i] if st == INELIGIBLE else reason_names[r] for i, st, r in
               zip(o.tolist(), status.tolist(), c.reason_code[o].tolist(), strict=True)]
    apps = []
    for (i, n, start, tier, rank, base, final, sect, flag, st, award, reason) in zip(
            o.tolist(), counts, starts, c.tiers[o].tolist(), c.rank[o].tolist(),
            _report(_nano(c.base[o])).tolist(), _report(c.final_nano[o]).tolist(),
            _report(_nano(c.sections[o])).tolist(),
            (c.discrepancy[o] + 2 * c.tie[o].astype(np.int8)).tolist(), status.tolist(),
            (c.rem_before - c.rem_after)[o].tolist(), reasons, strict=True):
        apps.append({
            "ref": c.refs[i], "school": c.schools[i], "district": c.districts[i],
            "tier": tier, "reviews": n, "review_scores": raw4[start:start + n],
            "base": base if n else None, "priority_points": pp4[c.pp[i]],
            "final": final if n else None,
            "sections": dict(zip(keys, sect, strict=True)) if n else None,
            "rank": rank or None, "flags": list(flag_sets[flag]), "status": STATUSES[st],
            "award": _cents_str(award) if award else "0.00", "reason": reason,
        })
    return {
        "competition": competition,
        "run": run,
        "inputs_sha256": result.inputs_sha256,
        "policy": result.policy.to_dict(),
        "total_funds": _cents_str(_money_cents(result.total_funds, "")),
        "total_awarded": _cents_str(_money_cents(result.total_awarded, "")),
        "remaining": _cents_str(_money_cents(result.remaining, "")),
        "applications": apps,
    }


def dumps_document(doc: Mapping[str, Any]) -> str:
    """Serialise a result document in the one fixed format (byte-identical for equal inputs)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


# --------------------------------------------------------------------------- explanation


def round_score(value: float, places: int = 4) -> float:
    """Round one score exactly as the ranking does.

    First to 9 places (float noise), then half up, toward +∞, to ``places`` (4: as reported;
    6: as compared).

    Use it wherever a score is shown next to the result document (exports, pages), so the
    same review shows the same number everywhere.
    """
    if places not in (4, 6):
        raise ValueError("places must be 4 (reporting) or 6 (comparison)")
    step = 10 ** (9 - places)
    return ((round(value * 1e9) + step // 2) // step) / 10 ** places


def _r4(x: float | None) -> float | None:
    return None if x is None else round_score(x, 4)


class _Explain:
    """Rounded copies of the run's arrays, made once per result for ``explanation_data``.

    A service that stores an explanation for each of 100,000 applications then pays a few
    list slices per application instead of thousands of scalar numpy operations.
    """

    __slots__ = ("raw4", "norm4", "points4", "pct4", "frac6", "base4", "final4", "sect4",
                 "spread6", "stats", "final6", "rank_order", "decided", "rubric", "policy",
                 "tie_lo", "tie_hi")

    def __init__(self, c: _Columns) -> None:
        maxima = np.array([float(s.max_points) for s in c.rubric.sections])
        self.raw4, self.norm4 = _report(_nano(c.raw)), _report(_nano(c.norm))
        self.points4, self.pct4 = _report(_nano(c.sect_points)), _report(_nano(c.sect_pct))
        self.frac6 = _micro(_nano(c.sect_points / maxima)) / 1e6
        self.base4, self.final4 = _report(_nano(c.base)), _report(c.final_nano)
        self.sect4 = _report(_nano(c.sections))
        raw6 = _micro(_nano(c.raw))
        self.spread6 = np.zeros(len(c.refs))
        nz = np.nonzero(c.counts)[0]
        if len(nz):
            self.spread6[nz] = (np.maximum.reduceat(raw6, c.starts[nz])
                                - np.minimum.reduceat(raw6, c.starts[nz])) / 1e6
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
            "max_points": [_json_number(s.max_points) for s in c.rubric.sections],
            "weights": [_json_number(s.effective_weight) for s in c.rubric.sections],
            "default_weights": [s.weight is None for s in c.rubric.sections],
            "total_weight": _json_number(total),
        }
        p = c.policy

        def money(v: Decimal | None) -> str | None:
            return None if v is None else _cents_str(_money_cents(v, ""))

        self.policy = {
            "max_award": money(p.max_award), "total_funds": money(p.total_funds),
            "min_score": _json_number(p.min_score, 6), "fund_down": p.fund_down,
            "partial_funding": p.partial_funding, "partial_min": money(p.effective_partial_min),
            "district_max_awards": p.district_max_awards,
            "district_max_amount": money(p.district_max_amount),
        }

    @staticmethod
    def _reviewer(c: _Columns, k: int) -> dict[str, Any]:
        n, applied = int(c.n_v[k]), bool(c.applied_v[k])
        why_not = None
        if c.policy.normalization == "none":
            why_not = "normalization is none"
        elif not applied:
            why_not = (f"reviewer has {n} counted reviews (fewer than 3)" if n < 3
                       else "reviewer's scores are all equal (sigma_v = 0)")
        return {"n": n, "mean": _r4(float(c.mu_v[k])), "std": _r4(float(c.sigma_v[k])),
                "applied": applied, "why_not": why_not}


_MAX_TIED = 20  # an explanation names at most this many applications it is tied with


def _explain_cache(c: _Columns) -> _Explain:
    if c.explain is None:
        c.explain = _Explain(c)
    return c.explain


def explanation_data(result: RankingResult, ref: str) -> dict[str, Any]:
    """JSON-ready account of how one application got its numbers, status and award.

    Store it with the run and render it later with ``render_explanation`` (the text needs
    nothing else). Scores are rounded to 4 places as reported; ``final_6`` is the 6-place
    value used in comparisons. Cheap enough to call for every application of a large run.
    Raise ``KeyError`` for an unknown ref.
    """
    c = result._c
    x = _explain_cache(c)
    i = _index_of(c, ref)
    a = ApplicationResult(c, i)
    p = c.policy
    block = a._block
    n = block.stop - block.start
    reviews = [
        {"reviewer": c.names[k], "points": pts, "fraction": frac, "pct": pct, "score": raw,
         "normalised": norm, "reviewer_stats": x.stats[k]}
        for k, pts, frac, pct, raw, norm in zip(
            c.rev_code[block].tolist(), x.points4[block].tolist(), x.frac6[block].tolist(),
            x.pct4[block].tolist(), x.raw4[block].tolist(), x.norm4[block].tolist(),
            strict=True)]
    keys = x.rubric["sections"]
    return {
        "ref": a.ref, "school": a.school, "district": a.district, "tier": a.tier,
        "status": a.status, "reason": a.reason, "rank": a.rank, "flags": list(a.flags),
        "rubric": {**x.rubric, "sections": list(keys), "max_points": list(x.rubric["max_points"]),
                   "weights": list(x.rubric["weights"]),
                   "default_weights": list(x.rubric["default_weights"])},
        "reviews": reviews,
        "normalization": {"method": p.normalization, "mean": _r4(c.mu), "std": _r4(c.sigma)},
        "aggregation": {"method": p.aggregation, "min_reviews": p.min_reviews,
                        "values": [r["normalised"] for r in reviews]},
        "base": float(x.base4[i]) if n else None,
        "sections": dict(zip(keys, x.sect4[i].tolist(), strict=True)) if n else None,
        "priorities": [{"key": k, "points": _json_number(c.prio_points[k])}
                       for k in c.prio_keys[i]],
        "priority_points": _json_number(a.priority_points),
        "final": float(x.final4[i]) if n else None,
        "final_6": x.final6[i] / 1e6 if n else None,
        "discrepancy": {"threshold": _json_number(p.discrepancy_threshold, 6),
                        "spread_6": float(x.spread6[i]) if n >= 2 else None},
        "ranking": _ranking_data(c, x, i),
        "funding": _funding_data(c, x, i),
    }


def _ranking_data(c: _Columns, x: _Explain, i: int) -> dict[str, Any] | None:
    if not c.rank[i]:
        return None
    pos = int(c.rank[i]) - 1
    order, f6 = x.rank_order, x.final6
    above = order[pos - 1] if pos else None
    lo, hi = x.tie_lo[pos], x.tie_hi[pos]
    tied = [c.refs[j] for j in order[lo:min(hi + 1, lo + _MAX_TIED + 1)] if j != i]
    return {
        "rank": pos + 1, "of": len(order),
        "above": None if above is None else {"ref": c.refs[above], "final_6": f6[above] / 1e6},
        "decided_by": None if x.decided[i] < 0 else c.labels[x.decided[i]],
        "tie_breakers": list(c.policy.tie_breakers),
        "tied_with": tied[:_MAX_TIED], "tied_count": hi - lo,
    }


def _funding_data(c: _Columns, x: _Explain, i: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        **x.policy,
        "requested_amount": _cents_str(int(c.requested[i])),
        "request": _cents_str(int(c.request[i])),
        "award": _cents_str(int(c.rem_before[i] - c.rem_after[i])),
        "position": None, "of": len(c.fund_order),
    }
    if not c.position[i]:
        return data
    pos = int(c.position[i]) - 1
    room, n_d, amt_d = c.by_position[:, pos].tolist()
    stopped = 0 <= c.stop < pos
    data.update({
        "position": pos + 1,
        "remaining_before": _cents_str(int(c.rem_before[i])),
        "remaining_after": _cents_str(int(c.rem_after[i])),
        "room": None if room < 0 else _cents_str(room),
        "district_awards_before": n_d,
        "district_amount_before": _cents_str(amt_d),
        "stopped_at": c.refs[int(c.fund_order[c.stop])] if stopped else None,
    })
    return data


def explain(result: RankingResult, ref: str) -> str:
    """Plain-text explanation of one application a grant officer can check by hand."""
    return render_explanation(explanation_data(result, ref))


# --------------------------------------------------------------------------- compact storage
#
# A service storing an explanation for each of 100,000 applications does not store 100,000
# self-contained dicts (~2.4 KB each, mostly the rubric, policy and reviewer statistics
# repeated): it stores the run-level ``explanation_context`` once (with the run) and one
# ``compact_explanations`` record per application (a JSON list), and ``expand_explanation``
# rebuilds exactly the dict ``explanation_data`` returns when a person opens one.
#
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
    x = _explain_cache(c)
    p = c.policy
    stop = int(c.stop)
    return {
        "version": COMPACT_VERSION,
        "reviewers": list(c.names),
        "reviewer_stats": [dict(s) for s in x.stats],
        "rubric": {k: (list(v) if isinstance(v, list) else v) for k, v in x.rubric.items()},
        "normalization": {"method": p.normalization, "mean": _r4(c.mu), "std": _r4(c.sigma)},
        "aggregation": {"method": p.aggregation, "min_reviews": p.min_reviews},
        "priorities": {k: _json_number(v) for k, v in c.prio_points.items()},
        "discrepancy_threshold": _json_number(p.discrepancy_threshold, 6),
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
    x = _explain_cache(c)
    n_apps = len(c.refs)
    if not n_apps:
        return []

    def objects(values: Any, mask: np.ndarray | None = None) -> list[Any]:
        out = np.empty(n_apps, dtype=object)
        out[:] = values if not isinstance(values, list) else _object_list(values)
        if mask is not None:
            out[~mask] = None
        return out.tolist()

    rows = np.column_stack([c.rev_code.astype(np.float64), x.raw4, x.norm4,
                            x.points4, x.frac6, x.pct4]).tolist() if len(c.raw) else []
    for row in rows:
        row[0] = int(row[0])
    counts = c.counts
    has, two = counts > 0, counts >= 2
    reviews = [rows[s:s + n] for s, n in zip(c.starts.tolist(), counts.tolist(), strict=True)]
    cache = {v: _json_number(v) for v in set(c.pp)}
    flag_sets = np.empty(4, dtype=object)
    flag_sets[:] = [(), ("discrepancy",), ("tie",), ("discrepancy", "tie")]
    flags = flag_sets[c.discrepancy.astype(np.int8) + 2 * c.tie.astype(np.int8)].tolist()
    statuses = np.array(STATUSES, dtype=object)[c.status].tolist()
    reason_names = np.array([None, "funds", "district_cap"], dtype=object)[c.reason_code]
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
                heads[g] = tuple(refs_ro[g:min(int(hi[p0]) + 1, g + _MAX_TIED + 1)].tolist())
            head[p0] = heads[g]
        above = [None] + refs_ro[:-1].tolist()
        above6 = [None] + f6[:-1]
        ranking[ro] = list(zip((np.arange(len(ro)) + 1).tolist(), above, above6,
                               c.decided[ro].tolist(), head, (hi - lo).tolist()))
    # funding: requested, request, award, position, before, after, room, district n, amount
    pos = c.position
    funded = pos > 0
    by = np.full((3, n_apps), 0, dtype=np.int64)
    by[0] = -1
    by[:, funded] = c.by_position[:, pos[funded] - 1]
    before = np.where(funded, c.rem_before, 0)
    after = np.where(funded, c.rem_after, 0)
    funding = list(zip(c.requested.tolist(), c.request.tolist(),
                       (c.rem_before - c.rem_after).tolist(), objects(pos, funded),
                       before.tolist(), after.tolist(), by[0].tolist(), by[1].tolist(),
                       by[2].tolist()))
    return list(zip(
        c.refs, c.schools, c.districts, c.tiers.tolist(), statuses, reason_names.tolist(),
        rank, flags, reviews, objects(x.base4, has), sections.tolist(), c.prio_keys,
        [cache[v] for v in c.pp], objects(x.final4, has), objects(c.final6, has),
        objects(x.spread6, two), ranking.tolist(), funding))


def _object_list(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def compact_explanation(result: RankingResult, ref: str) -> list[Any]:
    """The compact record of one application (``KeyError`` for an unknown ref)."""
    c = result._c
    return compact_explanations(result)[_index_of(c, ref)]


def is_compact_explanation(stored: Any) -> bool:
    """Whether a stored explanation is a compact record (else a full ``explanation_data``)."""
    return isinstance(stored, list)


def expand_explanation(record: list[Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild exactly the ``explanation_data`` dict from a compact record and its run's
    ``explanation_context`` (both as stored, i.e. after a JSON round trip)."""
    (ref, school, district, tier, status, reason, rank_, flags, revs, base, sect, prio_keys,
     pp, final, final6, spread6, ranking, funding) = record
    rubric = context["rubric"]
    keys = rubric["sections"]
    s = len(keys)
    names, stats = context["reviewers"], context["reviewer_stats"]
    reviews = [{"reviewer": names[int(r[0])], "points": list(r[3:3 + s]),
                "fraction": list(r[3 + s:3 + 2 * s]), "pct": list(r[3 + 2 * s:3 + 3 * s]),
                "score": r[1], "normalised": r[2], "reviewer_stats": dict(stats[int(r[0])])}
               for r in revs]
    n = len(reviews)
    agg = context["aggregation"]
    prio = context["priorities"]
    ranking_data = None
    if ranking is not None:
        rk, above_ref, above_f6, decided, tied, tied_count = ranking
        ranking_data = {
            "rank": rk, "of": context["ranked"],
            "above": None if above_ref is None else {"ref": above_ref, "final_6": above_f6 / 1e6},
            "decided_by": None if decided < 0 else context["labels"][decided],
            "tie_breakers": list(context["tie_breakers"]),
            "tied_with": [r for r in tied if r != ref][:_MAX_TIED], "tied_count": tied_count,
        }
    requested, request, award, pos, before, after, room, n_d, amt_d = funding
    funding_data: dict[str, Any] = {
        **context["policy"],
        "requested_amount": _cents_str(requested), "request": _cents_str(request),
        "award": _cents_str(award), "position": None, "of": context["funding_of"],
    }
    if pos is not None:
        stop = context["stop"]
        funding_data.update({
            "position": pos,
            "remaining_before": _cents_str(before),
            "remaining_after": _cents_str(after),
            "room": None if room < 0 else _cents_str(room),
            "district_awards_before": n_d,
            "district_amount_before": _cents_str(amt_d),
            "stopped_at": context["stopped_at"] if 0 <= stop < pos - 1 else None,
        })
    return {
        "ref": ref, "school": school, "district": district, "tier": tier,
        "status": status, "reason": reason, "rank": rank_, "flags": list(flags),
        "rubric": {**rubric, "sections": list(keys), "max_points": list(rubric["max_points"]),
                   "weights": list(rubric["weights"]),
                   "default_weights": list(rubric["default_weights"])},
        "reviews": reviews,
        "normalization": dict(context["normalization"]),
        "aggregation": {"method": agg["method"], "min_reviews": agg["min_reviews"],
                        "values": [r["normalised"] for r in reviews]},
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

"""Ranking inputs (docs/ranking.md §1): the value objects, their checks and the canonical columns.

``prepare_apps``/``prepare_reviews`` fill a ``Columns`` in canonical order (applications by
``ref``, reviews by (application ref, reviewer)), so no result ever depends on input order;
``inputs_sha256`` hashes a length-prefixed canonical encoding of every input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext
from itertools import islice, repeat
from operator import attrgetter, lt
from typing import Any

import numpy as np

from scoring.core.numbers import (
    MAX_CENTS,
    MAX_SCORE,
    NANO,
    fmt_decimal,
    is_int,
    money_cents,
    to_decimal,
)
from scoring.core.ranking.columns import Columns
from scoring.core.ranking.registry import columns_needed

__all__ = ["ApplicationInput", "ReviewInput", "inputs_sha256", "prepare_apps", "prepare_reviews"]


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
    #: Values of the extra columns a registered tie-breaker orders by (``registry.TieBreaker.
    #: column``), by column name; only the policy's tie-breakers' columns are read.
    extra: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReviewInput:
    """One COUNTED review (the caller drops drafts, withdrawn and conflicted reviews)."""

    application: str
    reviewer: str
    points: Mapping[str, Decimal]


def _first_bad(values: list[Any], ok: Any, allowed: set[type]) -> int | None:
    """Index of the first value that fails ``ok`` (fast C-level type check first)."""
    if set(map(type, values)) <= allowed:
        return None
    return next((i for i, v in enumerate(values) if not ok(v)), None)


def _require(
    values: list[Any], refs: list[str], what: str, ok: Any, allowed: set[type], must: str
) -> None:
    bad = _first_bad(values, ok, allowed)
    if bad is not None:
        raise ValueError(f"application {refs[bad]!r}: {what} must be {must} (got {values[bad]!r})")


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
            if exact and max(cents) < MAX_CENTS:
                return np.array(cents, dtype=np.int64)
    except (ArithmeticError, ValueError):
        pass
    return np.array(
        [
            money_cents(v, f"application {r!r}: requested_amount")
            for v, r in zip(values, refs, strict=True)
        ],
        dtype=np.int64,
    )


def _priority_column(
    c: Columns, raw: list[Any], refs: list[str], priorities: Mapping[str, Any]
) -> None:
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
        if d >= MAX_SCORE:  # a safety bound: final scores are int64 nano-points
            raise ValueError(f"priority {key!r}: points {fmt_decimal(d)} are too large")
        prio[key] = d
    raw = (
        [k if type(k) is tuple else tuple(k) for k in raw]
        if (set(map(type, raw)) - {tuple})
        else raw
    )
    keys_of: dict[tuple, tuple[str, ...]] = {}
    for keys in dict.fromkeys(raw):
        canon = tuple(sorted(set(keys)))
        missing = [k for k in canon if k not in prio]
        if missing:
            ref = refs[raw.index(keys)]
            raise ValueError(f"application {ref!r}: unknown priority {missing[0]!r}")
        keys_of[keys] = canon
    pp_of = {keys: sum((prio[k] for k in canon), Decimal(0)) for keys, canon in keys_of.items()}
    nano_of = {keys: int((v * NANO).to_integral_value(ROUND_HALF_UP)) for keys, v in pp_of.items()}
    c.prio_points = prio
    c.prio_keys = list(map(keys_of.__getitem__, raw))
    c.pp = list(map(pp_of.__getitem__, raw))
    c.pp_nano = np.fromiter(map(nano_of.__getitem__, raw), dtype=np.int64, count=len(raw))


def _column(apps: list[Any], name: str) -> list[Any]:
    return list(map(attrgetter(name), apps))


def prepare_apps(
    c: Columns, applications: Sequence[ApplicationInput], priorities: Mapping[str, Decimal]
) -> np.ndarray:
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
    _require(tiers, refs, "tier", is_int, {int}, "an integer")
    c.tiers = np.array(tiers, dtype=np.int64)
    eligible = _column(apps, "eligible")
    _require(eligible, refs, "eligible", lambda v: isinstance(v, bool), {bool}, "true or false")
    c.eligible = np.array(eligible, dtype=bool)
    c.reasons = _column(apps, "ineligible_reason")
    _require(
        c.reasons,
        refs,
        "ineligible_reason",
        lambda v: v is None or isinstance(v, str),
        {type(None), str},
        "a string or null",
    )
    c.submitted = _column(apps, "submitted_at")
    _require(
        c.submitted,
        refs,
        "submitted_at",
        lambda v: v is None or isinstance(v, datetime),
        {type(None), datetime},
        "a datetime or null",
    )
    if len({t.utcoffset() is None for t in c.submitted if t is not None}) > 1:
        raise ValueError("submitted_at values mix timezone-aware and naive datetimes")
    _priority_column(c, _column(apps, "priorities"), refs, priorities)
    c.extra = {
        name: [None if a.extra is None else a.extra.get(name) for a in apps]
        for name in columns_needed(c.policy.tie_breakers)
    }
    inv = np.arange(len(apps), dtype=np.int64)
    if perm is not None:
        inv[np.array(perm, dtype=np.int64)] = inv.copy()
    return inv


def prepare_reviews(
    c: Columns, inv: np.ndarray, review_app: Any, review_reviewer: Sequence[str], points: Any
) -> np.ndarray:
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
        out = buf[: len(order[start : start + step])]
        np.take(points, order[start : start + step], axis=0, out=out)
        out += 0.0  # -0.0 becomes 0.0, so equal inputs give equal bytes
        h.update(memoryview(out).cast("B"))


def inputs_sha256(
    c: Columns, priorities: Mapping[str, Decimal], points: np.ndarray, order: np.ndarray
) -> str:
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
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        ).encode()

    rubric = [
        [
            s.key,
            s.title,
            None if s.weight is None else fmt_decimal(s.weight),
            [[x.key, x.title, fmt_decimal(x.max_points), fmt_decimal(x.step)] for x in s.criteria],
        ]
        for s in c.rubric.sections
    ]
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
    for name, values in c.extra.items():  # only when a tie-breaker reads an extra column
        part(f"extra:{name}", js([_canonical(v) for v in values]))
    part("reviewers", js(c.names))
    part("review_application", c.rev_app.astype("<i8").tobytes())
    part("review_reviewer", c.rev_code.astype("<i8").tobytes())
    h.update(f"points:{len(order) * points.shape[1] * 8}:".encode())
    _hash_points(h, points, order)
    return h.hexdigest()


def _canonical(value: Any) -> Any:
    """An extra column value as JSON for the inputs hash."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return fmt_decimal(value)
    return repr(value)

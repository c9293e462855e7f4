"""Rubric values and the review score of docs/ranking.md §3.1 (pure: stdlib + numpy only).

A rubric is a tuple of sections; a section is a tuple of criteria. Every criterion has
``max_points`` (``m_c`` > 0) and a ``step`` (default 1; 0.5 allows half points). A section's
maximum is ``M_s = Σ m_c`` and its weight ``w_s`` defaults to ``M_s`` (plain points).

Review score (docs/ranking.md §3.1)::

    S_r = 100 × Σ_s w_s × (P_s / M_s) / Σ_s w_s

where ``P_s`` is the sum of the review's points in section ``s``.

Numerics
--------
Points, maxima and weights are ``Decimal`` in the values; the score itself is computed in
float64 (numpy, vectorised over reviews) because ranking 100,000 applications must take well
under a second. The computation is, for every review row and in this order:

1. ``P_s`` = the sum of the row's points over the section's criteria (``np.add.reduceat``);
   points that are multiples of 1/2, 1/4 ... are exact in binary, so ``P_s`` is exact for them.
2. ``pct_s = (100 × P_s) / M_s`` (the section percentage, also the ``section:<key>`` tie-breaker
   value of one review).
3. ``S_r = (w_1 × pct_1 + w_2 × pct_2 + ...) / Σ w_s``, summed section by section in rubric
   order (a plain left-to-right sum, so a zero-weight section adds an exact ``0.0``).

This equals the §3.1 formula; the float result carries noise of about 1e-14, which the ranking
removes by rounding to 9 places before any comparison (see ``scoring.core.ranking``).
``review_score`` and ``section_percentages`` run the very same vectorised code on one row, so
a single review's score is bit-for-bit the value the ranking used.

A missing or N/A score is never silently counted: ``points_row`` raises ``RubricError`` for a
missing or unknown criterion. Whether a value is allowed (``[0, m_c]``, multiple of the step) is
checked by ``Rubric.check_points`` at the input boundary (forms, bundle import), not here.
``max_points`` need not be a multiple of ``step`` (the spec does not ask for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, NamedTuple

import numpy as np

from scoring.core.numbers import fmt_decimal, plain_number, to_decimal

__all__ = [
    "Criterion",
    "Rubric",
    "RubricError",
    "ScoreRows",
    "Section",
    "points_row",
    "review_score",
    "score_rows",
    "section_percentages",
]


class RubricError(ValueError):
    """A rubric that breaks the rules of docs/ranking.md §1, or points that do not fit it."""


def _coerce(value: Any) -> Any:
    """Convert a number-like value to Decimal, leaving anything else for ``validate()``."""
    try:
        return to_decimal(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class Criterion:
    """One scored criterion: points are multiples of ``step`` in ``[0, max_points]``."""

    key: str
    max_points: Decimal
    step: Decimal = Decimal(1)
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_points", _coerce(self.max_points))
        object.__setattr__(self, "step", _coerce(self.step))


@dataclass(frozen=True, slots=True)
class Section:
    """A group of criteria with a weight ``w_s`` (``None`` means ``M_s``, plain points)."""

    key: str
    criteria: tuple[Criterion, ...]
    weight: Decimal | None = None
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        if self.weight is not None:
            object.__setattr__(self, "weight", _coerce(self.weight))

    @property
    def max_points(self) -> Decimal:
        """``M_s = Σ m_c`` over the section's criteria."""
        return sum((c.max_points for c in self.criteria), Decimal(0))

    @property
    def effective_weight(self) -> Decimal:
        """``w_s``: the explicit weight, or ``M_s`` when none is given."""
        return self.max_points if self.weight is None else self.weight


@dataclass(frozen=True, slots=True)
class Rubric:
    """The scoring rubric: sections in order, each with its criteria in order.

    ``criteria`` lists every criterion in rubric order; that order is the column order of the
    points arrays used by the ranking (``criterion_index`` maps a key to its column).
    """

    sections: tuple[Section, ...]
    _criteria: tuple[Criterion, ...] = field(init=False, repr=False, compare=False)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sections = tuple(self.sections)
        criteria = tuple(c for s in sections for c in s.criteria)
        object.__setattr__(self, "sections", sections)
        object.__setattr__(self, "_criteria", criteria)
        index: dict[str, int] = {}
        for i, c in enumerate(criteria):
            index.setdefault(c.key, i)
        object.__setattr__(self, "_index", index)

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """All criteria in rubric order (section by section)."""
        return self._criteria

    @property
    def criterion_index(self) -> Mapping[str, int]:
        """Criterion key → column index in rubric order."""
        return self._index

    def section(self, key: str) -> Section:
        """Return the section with this key; raise ``KeyError`` if there is none."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def validate(self) -> Rubric:
        """Check the rules of docs/ranking.md §1; return ``self`` or raise ``RubricError``.

        Rules: at least one section; unique, non-empty section keys and criterion keys; every
        section has at least one criterion; ``max_points > 0``; ``step > 0``; weights ``>= 0``
        and ``Σ w_s > 0``. All numbers must be finite Decimals.
        """
        if not self.sections:
            raise RubricError("a rubric needs at least one section")
        section_keys: set[str] = set()
        criterion_keys: set[str] = set()
        total_weight = Decimal(0)
        for i, s in enumerate(self.sections):
            where = f"sections[{i}]"
            if not isinstance(s, Section):
                raise RubricError(f"{where}: not a Section")
            _check_key(s.key, where, section_keys, "section")
            if not s.criteria:
                raise RubricError(f"{where}: section {s.key!r} has no criteria")
            for j, c in enumerate(s.criteria):
                _check_criterion(c, f"{where}.criteria[{j}]", criterion_keys)
            if s.weight is not None:
                if not isinstance(s.weight, Decimal):
                    raise RubricError(f"{where}.weight: {s.weight!r} is not a number")
                if s.weight < 0:
                    raise RubricError(f"{where}.weight: {fmt_decimal(s.weight)} is below 0")
            total_weight += s.effective_weight
        if total_weight <= 0:
            raise RubricError("the section weights add up to 0; at least one must be > 0")
        return self

    def check_points(self, criterion_key: str, value: Any) -> str | None:
        """Return why ``value`` is not an allowed score for the criterion, or ``None`` if it is.

        Messages (used by forms and bundle import): ``"unknown criterion"``,
        ``"x is not a number"``, ``"-1 is below 0"``, ``"5 is above max_points 4"``,
        ``"2.3 is not a multiple of step 0.5"``.
        """
        i = self._index.get(criterion_key)
        if i is None:
            return "unknown criterion"
        c = self._criteria[i]
        try:
            v = to_decimal(value)
        except ValueError as exc:
            return str(exc)
        shown = fmt_decimal(v)
        if v < 0:
            return f"{shown} is below 0"
        if v > c.max_points:
            return f"{shown} is above max_points {fmt_decimal(c.max_points)}"
        with localcontext() as ctx:
            ctx.prec = 200
            try:
                multiple = v % c.step == 0
            except InvalidOperation:
                multiple = False
        if not multiple:
            return f"{shown} is not a multiple of step {fmt_decimal(c.step)}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the docs/bundle.md ``rubric`` form: JSON numbers; ``weight`` omitted if unset."""
        sections = []
        for s in self.sections:
            d: dict[str, Any] = {"key": s.key, "title": s.title}
            if s.weight is not None:
                d["weight"] = plain_number(s.weight)
            d["criteria"] = [
                {
                    "key": c.key,
                    "title": c.title,
                    "max_points": plain_number(c.max_points),
                    "step": plain_number(c.step),
                }
                for c in s.criteria
            ]
            sections.append(d)
        return {"sections": sections}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rubric:
        """Build and validate a rubric from its docs/bundle.md form; raise ``RubricError``."""
        try:
            sections = tuple(
                Section(
                    key=s["key"],
                    title=s.get("title", ""),
                    weight=s.get("weight"),
                    criteria=tuple(
                        Criterion(
                            key=c["key"],
                            max_points=c["max_points"],
                            step=c.get("step", Decimal(1)),
                            title=c.get("title", ""),
                        )
                        for c in s["criteria"]
                    ),
                )
                for s in data["sections"]
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise RubricError(f"malformed rubric: {exc!r}") from None
        return cls(sections).validate()


def _check_key(key: Any, where: str, seen: set[str], kind: str) -> None:
    if not isinstance(key, str) or not key:
        raise RubricError(f"{where}: {kind} key must be a non-empty string")
    if key in seen:
        raise RubricError(f"{where}: duplicate {kind} key {key!r}")
    seen.add(key)


def _check_criterion(c: Any, where: str, seen: set[str]) -> None:
    if not isinstance(c, Criterion):
        raise RubricError(f"{where}: not a Criterion")
    _check_key(c.key, where, seen, "criterion")
    for name in ("max_points", "step"):
        value = getattr(c, name)
        if not isinstance(value, Decimal):
            raise RubricError(f"{where}.{name}: {value!r} is not a number")
        if value <= 0:
            raise RubricError(f"{where}.{name}: must be > 0 (got {fmt_decimal(value)})")


class ScoreRows(NamedTuple):
    """Vectorised §3.1 results for ``n`` review rows of a rubric with ``S`` sections."""

    scores: np.ndarray  # (n,) S_r on the 0-100 scale (raw, before normalisation)
    section_points: np.ndarray  # (n, S) P_s
    section_pct: np.ndarray  # (n, S) 100 × P_s / M_s


def _arrays(rubric: Rubric) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Section start columns, M_s and w_s as float64, and Σ w_s."""
    starts, col = [], 0
    for s in rubric.sections:
        starts.append(col)
        col += len(s.criteria)
    maxima = np.array([float(s.max_points) for s in rubric.sections], dtype=np.float64)
    weights = np.array([float(s.effective_weight) for s in rubric.sections], dtype=np.float64)
    total = float(sum((s.effective_weight for s in rubric.sections), Decimal(0)))
    return np.array(starts, dtype=np.intp), maxima, weights, total


def score_rows(rubric: Rubric, points: np.ndarray) -> ScoreRows:
    """Compute §3.1 for every row of ``points`` (shape ``(n, len(rubric.criteria))``, float64).

    Rows are independent: a row's results do not depend on the other rows. The rubric must be
    valid (``Rubric.validate``); raise ``ValueError`` on a shape mismatch.
    """
    points = np.asarray(points, dtype=np.float64)
    n_criteria = len(rubric.criteria)
    if points.ndim != 2 or points.shape[1] != n_criteria:
        raise ValueError(f"points must have shape (n, {n_criteria}); got {points.shape}")
    starts, maxima, weights, total = _arrays(rubric)
    section_points = (
        np.add.reduceat(points, starts, axis=1) if len(points) else np.zeros((0, len(starts)))
    )
    section_pct = (100.0 * section_points) / maxima
    acc = np.zeros(len(points), dtype=np.float64)
    for s in range(len(starts)):  # left-to-right over sections, vectorised over reviews
        acc += weights[s] * section_pct[:, s]
    return ScoreRows(acc / total, section_points, section_pct)


def points_row(rubric: Rubric, points: Mapping[str, Any]) -> np.ndarray:
    """One review's points as a float64 row in rubric order; raise ``RubricError``.

    Every criterion must be present (a missing score is an error, never a silent 0) and no
    unknown key may appear. Values are converted with ``to_decimal`` then ``float``.
    """
    unknown = [k for k in points if k not in rubric.criterion_index]
    if unknown:
        raise RubricError(f"unknown criterion {sorted(unknown)[0]!r}")
    row = np.empty(len(rubric.criteria), dtype=np.float64)
    for i, c in enumerate(rubric.criteria):
        if c.key not in points:
            raise RubricError(f"missing points for criterion {c.key!r}")
        try:
            row[i] = float(to_decimal(points[c.key]))
        except ValueError as exc:
            raise RubricError(f"{c.key}: {exc}") from None
    return row


def review_score(rubric: Rubric, points: Mapping[str, Any]) -> float:
    """``S_r`` (0-100, unrounded float) of one review, exactly as the ranking computes it."""
    rubric.validate()
    return float(score_rows(rubric, points_row(rubric, points)[None, :]).scores[0])


def section_percentages(rubric: Rubric, points: Mapping[str, Any]) -> dict[str, float]:
    """``100 × P_s / M_s`` per section key (rubric order, unrounded) for one review."""
    rubric.validate()
    pct = score_rows(rubric, points_row(rubric, points)[None, :]).section_pct[0]
    return {s.key: float(pct[i]) for i, s in enumerate(rubric.sections)}

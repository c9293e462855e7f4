"""The ranking's named choices, each written once: tie-breakers, normalisations, aggregators.

Every place that lists, checks, offers or explains one of these reads it from here: the policy
check (``Policy.validate``), the bundle validator, the staff forms' choices, the ordering step,
the explanation text, and the read paths of ``scoring.services.ranking`` (which fetch the
application columns a tie-breaker needs).

Adding a tie-breaker is one ``TieBreaker`` entry in ``TIE_BREAKERS`` plus its test:

* ``name`` as written in a policy (a family such as ``section:<key>`` has ``argument`` set and
  its name ends with ``:``);
* ``label`` offered in the staff forms (a family's label holds ``{arg}``);
* ``key(columns, idx, arg)`` returns an ascending sort key over the ranked indexes ``idx``
  (smaller sorts first; integers, so equal values tie exactly);
* ``explains``: the words the explanation uses for it in the rank order (the name by default);
* ``column``: an application column the engine does not read already (the read paths fetch it
  into ``ApplicationInput.extra`` and the engine hands it to ``key`` as ``columns.extra``);
* ``resampled``: its key reads a column that the stability bootstrap resamples (the section
  scores); the bootstrap then computes the key per resample instead of once.

``column_levels`` turns such a column into a key (smaller value first, a missing value last).
A normalisation or an aggregator is likewise one entry (a normalisation also needs a value in
the database enum ``models.Normalization``/``Aggregation``, which is a migration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "AGGREGATORS",
    "NORMALISATIONS",
    "TIE_BREAKERS",
    "Aggregator",
    "Normalisation",
    "TieBreaker",
    "aggregation_choices",
    "column_levels",
    "columns_needed",
    "describe_tie_breaker",
    "normalisation_choices",
    "tie_breaker_choices",
    "tie_breaker_problem",
]

#: key(columns, ranked indexes, argument) → ascending sort key (smaller first).
KeyFunction = Callable[[Any, np.ndarray, str], np.ndarray]


# --------------------------------------------------------------------------- tie-breakers


@dataclass(frozen=True, slots=True)
class TieBreaker:
    """One tie-breaker of docs/ranking.md §5 (see the module docstring for each field)."""

    name: str
    label: str
    key: KeyFunction
    explains: str = ""
    column: str | None = None
    argument: str | None = None  # a family's argument name ("key" for section:<key>)
    #: its key reads a column the stability bootstrap resamples (docs/stability.md §1)
    resampled: bool = False

    @property
    def syntax(self) -> str:
        """How it is written in a policy: ``priority_points``, ``section:<key>``."""
        return f"{self.name}<{self.argument}>" if self.argument else self.name

    def check(self, arg: str, section_keys: Iterable[str] | None) -> str | None:
        """A problem with a family's argument (``None`` when fine or not a family)."""
        if not self.argument:
            return None
        if not arg:
            return f"{self.name!r} needs a section key"
        if section_keys is not None and arg not in set(section_keys):
            return f"unknown section {arg!r}"
        return None


def column_levels(values: Sequence[Any], *, descending: bool = False) -> np.ndarray:
    """A key over ``values``: the rank of each distinct value (``None`` after every value)."""
    levels = {
        v: i for i, v in enumerate(sorted({v for v in values if v is not None}, reverse=descending))
    }
    missing = len(levels)
    return np.array([missing if v is None else levels[v] for v in values], dtype=np.int64)


def _section_key(c: Any, idx: np.ndarray, arg: str) -> np.ndarray:
    s = [x.key for x in c.rubric.sections].index(arg)
    return -c.sect6[idx, s]


def _priority_points_key(c: Any, idx: np.ndarray, arg: str) -> np.ndarray:
    levels = {v: i for i, v in enumerate(sorted(set(c.pp)))}
    return -np.array([levels[c.pp[i]] for i in idx.tolist()], dtype=np.int64)


def _requested_amount_key(c: Any, idx: np.ndarray, arg: str) -> np.ndarray:
    return c.requested[idx]


def _submitted_at_key(c: Any, idx: np.ndarray, arg: str) -> np.ndarray:
    return column_levels([c.submitted[i] for i in idx.tolist()])


#: Every tie-breaker, in the order error messages list them.
TIE_BREAKERS: dict[str, TieBreaker] = {
    t.name: t
    for t in (
        TieBreaker(
            "section:",
            "Higher section “{arg}” score first",
            _section_key,
            argument="key",
            resampled=True,
        ),
        TieBreaker("priority_points", "More priority points first", _priority_points_key),
        TieBreaker("requested_amount", "Smaller request first", _requested_amount_key),
        TieBreaker("submitted_at", "Earlier submission first", _submitted_at_key),
    )
}


def _lookup(name: str) -> tuple[TieBreaker, str] | None:
    """The entry and argument of a policy's tie-breaker (``None`` if none matches)."""
    if name in TIE_BREAKERS and not TIE_BREAKERS[name].argument:
        return TIE_BREAKERS[name], ""
    head, sep, arg = name.partition(":")
    entry = TIE_BREAKERS.get(head + sep) if sep else None
    return (entry, arg) if entry is not None and entry.argument else None


def tie_breaker(name: str) -> tuple[TieBreaker, str]:
    """The entry and argument of a valid tie-breaker; ``KeyError`` otherwise."""
    found = _lookup(name)
    if found is None:
        raise KeyError(name)
    return found


def tie_breaker_problem(name: str, section_keys: Iterable[str] | None = None) -> str | None:
    """Why ``name`` is not a tie-breaker (``None`` when it is). With ``section_keys`` a
    ``section:<key>`` must name one of them."""
    found = _lookup(name)
    if found is None:
        listed = ", ".join(t.syntax for t in TIE_BREAKERS.values())
        return f"{name!r} is not one of {listed}"
    entry, arg = found
    return entry.check(arg, section_keys)


def tie_breaker_choices(section_keys: Iterable[str]) -> list[tuple[str, str]]:
    """(value, label) pairs for a form: the plain tie-breakers, then each family per key."""
    keys = list(section_keys)
    plain = [(t.name, t.label) for t in TIE_BREAKERS.values() if not t.argument]
    families = [
        (f"{t.name}{k}", t.label.format(arg=k))
        for t in TIE_BREAKERS.values()
        if t.argument
        for k in keys
    ]
    return plain + families


def describe_tie_breaker(name: str) -> str:
    """The words the explanation uses for ``name`` in its rank order."""
    found = _lookup(name)
    if found is None or not found[0].explains:
        return name
    entry, arg = found
    return entry.explains.format(arg=arg)


def columns_needed(tie_breakers: Iterable[str]) -> tuple[str, ...]:
    """The extra application columns the given tie-breakers order by (read paths fetch them)."""
    out: list[str] = []
    for name in tie_breakers:
        found = _lookup(name)
        if found is not None and found[0].column and found[0].column not in out:
            out.append(found[0].column)
    return tuple(out)


# --------------------------------------------------------------------------- normalisations


@dataclass(frozen=True, slots=True)
class ReviewerColumns:
    """What a normalisation sees: raw review scores, each review's reviewer code, and the
    per-reviewer and competition statistics of §3.2 (``lo``/``hi``: 9-place min/max)."""

    raw: np.ndarray
    code: np.ndarray
    n_v: np.ndarray
    mu_v: np.ndarray
    sigma_v: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mu: float | None
    sigma: float | None


#: rescale(stats) → (applied per reviewer, normalised review scores).
Rescale = Callable[[ReviewerColumns], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, slots=True)
class Normalisation:
    """One normalisation of docs/ranking.md §3.2.

    ``explains`` is the explanation's line after "Normalisation (§3.2): " (``{mean}`` and
    ``{std}`` are the competition's μ and σ); ``rescale`` is ``None`` for S' = S.
    """

    name: str
    label: str
    explains: str
    rescale: Rescale | None = None


def _zscore(s: ReviewerColumns) -> tuple[np.ndarray, np.ndarray]:
    """Per-reviewer z-score for reviewers with >= 3 reviews whose 9-place scores differ."""
    applied = (s.n_v >= 3) & (s.hi > s.lo)
    norm = s.raw.copy()
    m = applied[s.code]
    if m.any():
        norm[m] = s.mu + s.sigma * (s.raw[m] - s.mu_v[s.code[m]]) / s.sigma_v[s.code[m]]
    return applied, norm


NORMALISATIONS: dict[str, Normalisation] = {
    n.name: n
    for n in (
        Normalisation("none", "none (use raw scores)", "none, so S' = S"),
        Normalisation(
            "zscore",
            "zscore (per-reviewer standardisation)",
            "zscore; over all counted reviews μ = {mean}, σ = {std}",
            _zscore,
        ),
    )
}


def normalisation_choices() -> list[tuple[str, str]]:
    """(value, label) pairs for a form."""
    return [(n.name, n.label) for n in NORMALISATIONS.values()]


# --------------------------------------------------------------------------- aggregators


def _group_mean(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of each application's contiguous block of rows (NaN when it has none)."""
    out = np.full((len(counts),) + values.shape[1:], np.nan)
    nz = np.nonzero(counts)[0]
    if len(nz):
        sums = np.add.reduceat(values, starts[nz], axis=0)
        div = counts[nz].reshape((-1,) + (1,) * (values.ndim - 1))
        out[nz] = sums / div
    return out


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


@dataclass(frozen=True, slots=True)
class Aggregator:
    """One aggregation of docs/ranking.md §3.3: ``combine(values, block starts, block counts)``."""

    name: str
    label: str
    combine: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


AGGREGATORS: dict[str, Aggregator] = {
    a.name: a
    for a in (
        Aggregator("mean", "mean", _group_mean),
        Aggregator("median", "median", _group_median),
    )
}


def aggregation_choices() -> list[tuple[str, str]]:
    """(value, label) pairs for a form."""
    return [(a.name, a.label) for a in AGGREGATORS.values()]

"""Results (docs/ranking.md §7) and the docs/bundle.md "Ranking result document".

``RankingResult.applications`` is a sequence of light views over the run's columns (building
100,000 objects up front would cost more than the ranking). ``result_document`` rounds with the
same rule as the explanation (``scoring.core.numbers``); ``dumps_document`` is the one fixed
serialisation (byte-identical for equal inputs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from scoring.core.numbers import (
    cents_dec,
    cents_str,
    json_number,
    money_cents,
    nano,
    report,
)
from scoring.core.ranking.columns import (
    FLAGS,
    INELIGIBLE,
    REASONS,
    STATUSES,
    Columns,
    index_of,
)
from scoring.core.ranking.policy import Policy
from scoring.core.ranking.scores import raw_sorted
from scoring.core.rubric import Rubric

__all__ = [
    "ApplicationResult",
    "ApplicationResults",
    "RankingResult",
    "ReviewDetail",
    "ReviewerStats",
    "dumps_document",
    "result_document",
]


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

    def __init__(self, columns: Columns, index: int) -> None:
        self._c, self._i = columns, index

    def __repr__(self) -> str:
        return (
            f"ApplicationResult(ref={self.ref!r}, rank={self.rank}, status={self.status!r}, "
            f"award={self.award})"
        )

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
    requested_amount = property(lambda self: cents_dec(int(self._c.requested[self._i])))
    request = property(lambda self: cents_dec(int(self._c.request[self._i])))
    status = property(lambda self: STATUSES[self._c.status[self._i]])
    award = property(
        lambda self: cents_dec(int(self._c.rem_before[self._i] - self._c.rem_after[self._i]))
    )

    @property
    def _block(self) -> slice:
        start = int(self._c.starts[self._i])
        return slice(start, start + int(self._c.counts[self._i]))

    @property
    def review_scores(self) -> tuple[float, ...]:
        """Raw review scores (before normalisation), ascending."""
        return tuple(raw_sorted(self._c)[self._block].tolist())

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
        return REASONS[c.reason_code[i]]

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
        return cents_dec(int(self._c.rem_before[self._i])) if self.funding_position else None

    @property
    def remaining_after(self) -> Decimal | None:
        """Funds remaining after its award; ``None`` when not ranked."""
        return cents_dec(int(self._c.rem_after[self._i])) if self.funding_position else None

    @property
    def review_details(self) -> tuple[ReviewDetail, ...]:
        """Each counted review (reviewer order): raw and normalised score, P_s and percentages."""
        c, keys = self._c, [s.key for s in self._c.rubric.sections]
        out = []
        for r in range(self._block.start, self._block.stop):
            out.append(
                ReviewDetail(
                    c.names[c.rev_code[r]],
                    float(c.raw[r]),
                    float(c.norm[r]),
                    dict(zip(keys, c.sect_points[r].tolist(), strict=True)),
                    dict(zip(keys, c.sect_pct[r].tolist(), strict=True)),
                )
            )
        return tuple(out)


class ApplicationResults(Sequence[ApplicationResult]):
    """The per-application results in document order (a read-only sequence).

    Views are made on access, so a run over 100,000 applications does not build 100,000
    objects up front; ``list(result.applications)`` gives a plain list when one is wanted.
    """

    __slots__ = ("_c", "_order")

    def __init__(self, columns: Columns, order: np.ndarray) -> None:
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
    _c: Columns = field(repr=False)

    def application(self, ref: str) -> ApplicationResult:
        """Return the result of the application with this ref; raise ``KeyError``."""
        return ApplicationResult(self._c, index_of(self._c, ref))


def result_document(result: RankingResult, competition: str, run: int | None) -> dict[str, Any]:
    """Build the docs/bundle.md "Ranking result document" (key order as there, 4-place numbers).

    ``applications`` is in document order; ``review_scores`` are raw and ascending; ``flags``
    are in the fixed order discrepancy, tie; money is a string with two decimals.
    """
    c = result._c
    o = c.doc_order
    counts = c.counts[o].tolist()
    starts = c.starts[o].tolist()
    raw4 = report(nano(raw_sorted(c))).tolist()
    keys = [s.key for s in c.rubric.sections]
    pp4 = {v: json_number(v) for v in set(c.pp)}
    flag_sets = [[], ["discrepancy"], ["tie"], ["discrepancy", "tie"]]
    status = c.status[o]
    reasons = [
        c.reasons[i] if st == INELIGIBLE else REASONS[r]
        for i, st, r in zip(o.tolist(), status.tolist(), c.reason_code[o].tolist(), strict=True)
    ]
    apps = []
    for i, n, start, tier, rank, base, final, sect, flag, st, award, reason in zip(
        o.tolist(),
        counts,
        starts,
        c.tiers[o].tolist(),
        c.rank[o].tolist(),
        report(nano(c.base[o])).tolist(),
        report(c.final_nano[o]).tolist(),
        report(nano(c.sections[o])).tolist(),
        (c.discrepancy[o] + 2 * c.tie[o].astype(np.int8)).tolist(),
        status.tolist(),
        (c.rem_before - c.rem_after)[o].tolist(),
        reasons,
        strict=True,
    ):
        apps.append(
            {
                "ref": c.refs[i],
                "school": c.schools[i],
                "district": c.districts[i],
                "tier": tier,
                "reviews": n,
                "review_scores": raw4[start : start + n],
                "base": base if n else None,
                "priority_points": pp4[c.pp[i]],
                "final": final if n else None,
                "sections": dict(zip(keys, sect, strict=True)) if n else None,
                "rank": rank or None,
                "flags": list(flag_sets[flag]),
                "status": STATUSES[st],
                "award": cents_str(award) if award else "0.00",
                "reason": reason,
            }
        )
    return {
        "competition": competition,
        "run": run,
        "inputs_sha256": result.inputs_sha256,
        "policy": result.policy.to_dict(),
        "total_funds": cents_str(money_cents(result.total_funds, "")),
        "total_awarded": cents_str(money_cents(result.total_awarded, "")),
        "remaining": cents_str(money_cents(result.remaining, "")),
        "applications": apps,
    }


def dumps_document(doc: Mapping[str, Any]) -> str:
    """Serialise a result document in the one fixed format (byte-identical for equal inputs)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

"""How a tried slate differs from a baseline one (the what-if), over narrow columns.

Inputs are plain arrays aligned on the tried slate's applications (any order): the tried rank
(0: not ranked) and award in cents, and the baseline's rank, award in cents and whether the
application was in the baseline at all. Nothing is read or rounded here; the award decides
the funded set (award > 0), as on the board.

Per application, ``change`` is one of::

    enters   funded now, not in the baseline     leaves   funded in the baseline, not now
    amount   funded in both, another amount       (none)   same funding

and ``moved`` is ``baseline rank - tried rank`` when ranked in both (positive: moved up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CHANGES", "KINDS", "Comparison", "compare"]

NONE, ENTERS, LEAVES, AMOUNT = 0, 1, 2, 3
CHANGES = (None, "enters", "leaves", "amount")
#: What the diff can be narrowed to (``Comparison.select``).
KINDS = ("changed", "enters", "leaves", "amount", "up", "down", "all")


@dataclass(frozen=True, slots=True)
class Comparison:
    """The change of each application (codes into ``CHANGES``) and its rank move."""

    change: np.ndarray  # int8
    moved: np.ndarray  # int64, 0 unless ranked in both
    delta: np.ndarray  # int64 cents, tried award - baseline award

    def counts(self) -> dict[str, int]:
        """How many enter, leave, change amount, move up or down, and change at all."""
        return {kind: int(self.mask(kind).sum()) for kind in KINDS}

    def mask(self, kind: str) -> np.ndarray:
        """Which applications are of ``kind`` (one of ``KINDS``)."""
        if kind == "all":
            return np.ones(len(self.change), dtype=bool)
        if kind == "up":
            return self.moved > 0
        if kind == "down":
            return self.moved < 0
        if kind == "changed":
            return (self.change != NONE) | (self.moved != 0)
        return self.change == CHANGES.index(kind)

    def select(self, kind: str, start: int, stop: int) -> tuple[np.ndarray, int]:
        """Indexes (in input order) of the ``[start, stop)`` slice of ``kind``, and how many
        applications are of that kind."""
        where = np.flatnonzero(self.mask(kind))
        return where[start:stop], len(where)


def compare(
    rank: np.ndarray,
    award: np.ndarray,
    before_rank: np.ndarray,
    before_award: np.ndarray,
    in_before: np.ndarray,
) -> Comparison:
    """Compare the tried slate (``rank``, ``award`` in cents) with the baseline's columns
    (``before_*``; ``in_before`` false where the baseline has no such application, whose
    baseline award then counts as 0 and rank as not ranked)."""
    rank = np.asarray(rank, dtype=np.int64)
    award = np.asarray(award, dtype=np.int64)
    in_before = np.asarray(in_before, dtype=bool)
    b_rank = np.where(in_before, np.asarray(before_rank, dtype=np.int64), 0)
    b_award = np.where(in_before, np.asarray(before_award, dtype=np.int64), 0)
    now, was = award > 0, b_award > 0
    change = np.select(
        [now & ~was, was & ~now, now & was & (award != b_award)], [ENTERS, LEAVES, AMOUNT], NONE
    ).astype(np.int8)
    moved = np.where((rank > 0) & (b_rank > 0), b_rank - rank, 0)
    return Comparison(change, moved, award - b_award)

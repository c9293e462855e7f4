"""The what-if comparison of the core (scoring.core.ranking.compare), on a hand-computed case."""

from __future__ import annotations

import numpy as np

from scoring.core.ranking.compare import compare


def test_changes_and_moves_by_hand():
    # A: rank 1 → 1, 100 → 100 (same)          B: rank 3 → 2, 0 → 50 (enters, up 1)
    # C: rank 2 → 3, 80 → 0 (leaves, down 1)    D: rank 4 → 4, 60 → 40 (amount, -20)
    # E: not in the baseline, rank 5, 30 (enters; no move)   F: not ranked, was rank 5 (no move)
    diff = compare(
        rank=np.array([1, 2, 3, 4, 5, 0]),
        award=np.array([100, 50, 0, 40, 30, 0]),
        before_rank=np.array([1, 3, 2, 4, 0, 5]),
        before_award=np.array([100, 0, 80, 60, 0, 0]),
        in_before=np.array([True, True, True, True, False, True]),
    )
    assert diff.change.tolist() == [0, 1, 2, 3, 1, 0]
    assert diff.moved.tolist() == [0, 1, -1, 0, 0, 0]
    assert diff.delta.tolist() == [0, 50, -80, -20, 30, 0]
    assert diff.counts() == {
        "changed": 4,
        "enters": 2,
        "leaves": 1,
        "amount": 1,
        "up": 1,
        "down": 1,
        "all": 6,
    }
    idx, n = diff.select("changed", 1, 3)
    assert idx.tolist() == [2, 3] and n == 4


def test_a_missing_baseline_counts_as_nothing_funded():
    diff = compare(
        np.array([1, 2]), np.array([10, 0]), np.array([9, 9]), np.array([99, 99]), np.zeros(2, bool)
    )
    assert diff.change.tolist() == [1, 0] and diff.moved.tolist() == [0, 0]

"""Reliability and leniency (pure), checked against established values (no app, no db).

- Krippendorff's alpha (interval) against the ``krippendorff`` package (PyPI, a test dependency)
  on the same data, including incomplete designs.
- ICC(1) against Shrout & Fleiss (1979) Table 4 (ICC(1,1) = .17 for their Table 2 data) and
  against pingouin 0.7.0 ``intraclass_corr`` "ICC1" at full precision on two data sets. Pingouin
  pulls in SciPy, pandas, statsmodels, scikit-learn and matplotlib, so it is not a test
  dependency: its values were computed once with pingouin 0.7.0 and are written down here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.core.reliability import (
    icc1,
    krippendorff_alpha_interval,
    leniency,
    pairable,
    units_from,
)

#: Shrout & Fleiss (1979), Table 2: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]
#: pingouin's "icc" data set: 8 wines (rows) by 4 judges (columns).
WINE = [
    [1, 2, 0, 1],
    [1, 3, 3, 2],
    [3, 8, 1, 4],
    [6, 4, 3, 3],
    [6, 5, 5, 6],
    [7, 5, 6, 2],
    [8, 7, 7, 9],
    [9, 9, 9, 8],
]


def _library_alpha(units: list[list[float | None]]) -> float:
    """The krippendorff package on a raters × units matrix with NaN for missing."""
    width = max(len(u) for u in units)
    matrix = np.full((width, len(units)), np.nan)
    for j, unit in enumerate(units):
        for i, value in enumerate(unit):
            if value is not None:
                matrix[i, j] = value
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"))


def test_icc1_matches_shrout_and_fleiss_and_pingouin():
    value = icc1(SHROUT_FLEISS)
    assert round(value, 2) == 0.17  # Shrout & Fleiss 1979, Table 4, ICC(1,1)
    assert value == pytest.approx(0.1657417684054755, abs=1e-12)  # pingouin 0.7.0 ICC1


def test_icc1_matches_pingouin_on_its_wine_data():
    assert icc1(WINE) == pytest.approx(0.727520915896081, abs=1e-12)  # pingouin 0.7.0 ICC1


def test_icc1_for_unbalanced_units_uses_k0():
    # N=7, g=3: MSB = 24.5, MSW = 0.75, k0 = 16/7,
    # so ICC(1) = 23.75 / (24.5 + 9/7 × 0.75) = 665/713.
    assert icc1([[1, 2], [4, 6, 5], [8, 9]]) == pytest.approx(float(Fraction(665, 713)), abs=1e-12)


def test_alpha_matches_the_krippendorff_package_on_complete_data():
    for data in (SHROUT_FLEISS, WINE):
        assert krippendorff_alpha_interval(data) == pytest.approx(_library_alpha(data), abs=1e-12)


def test_alpha_of_krippendorffs_own_example_with_missing_values():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", the 4 observers × 12 units
    # example with missing data; interval alpha = 0.849.
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[o[j] for o in observers if o[j] is not None] for j in range(12)]
    assert round(krippendorff_alpha_interval(units), 3) == 0.849
    assert krippendorff_alpha_interval(units) == pytest.approx(
        _library_alpha([[o[j] for o in observers] for j in range(12)]), abs=1e-12
    )


@st.composite
def _incomplete(draw):
    raters = draw(st.integers(2, 5))
    units = draw(st.integers(2, 12))
    cell = st.one_of(st.none(), st.integers(0, 20).map(float), st.sampled_from([2.5, 7.5, 12.5]))
    return [[draw(cell) for _ in range(raters)] for _ in range(units)]


@settings(max_examples=200, deadline=None)
@given(_incomplete())
def test_alpha_matches_the_krippendorff_package_on_incomplete_designs(matrix):
    units = [[v for v in row if v is not None] for row in matrix]
    ours = krippendorff_alpha_interval(units)
    values = [v for u in pairable(units) for v in u]
    if len(pairable(units)) < 2 or len(set(values)) < 2:
        assert ours is None
        return
    assert ours == pytest.approx(_library_alpha(matrix), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10), min_size=3, max_size=3), min_size=2, max_size=10))
def test_alpha_and_icc_do_not_depend_on_the_scale(units):
    scaled = [[3 * v + 7 for v in u] for u in units]
    for f in (krippendorff_alpha_interval, icc1):
        a, b = f(units), f(scaled)
        assert (a is None) == (b is None)
        if a is not None:
            assert a == pytest.approx(b, abs=1e-9)


def test_undefined_cases_return_none():
    assert krippendorff_alpha_interval([]) is None
    assert krippendorff_alpha_interval([[1, 2]]) is None  # one pairable unit
    assert krippendorff_alpha_interval([[5], [6], [7]]) is None  # nothing pairable
    assert krippendorff_alpha_interval([[3, 3], [3, 3]]) is None  # no variation at all
    assert icc1([[1, 2]]) is None
    assert icc1([[3, 3], [3, 3]]) is None


def test_perfect_agreement_is_one():
    assert krippendorff_alpha_interval([[1, 1], [5, 5, 5], [9, 9]]) == 1.0
    assert icc1([[1, 1], [5, 5, 5], [9, 9]]) == 1.0


def test_leniency_compares_each_reviewer_with_colleagues_on_the_same_applications():
    ratings = [
        ("ann", "a1", 80),
        ("bob", "a1", 60),
        ("cat", "a1", 70),
        ("ann", "a2", 90),
        ("bob", "a2", 70),
        ("ann", "a3", 50),  # alone: counts for her mean, not for her offset
    ]
    result = leniency(ratings)
    assert list(result) == ["ann", "bob", "cat"]
    ann = result["ann"]
    assert ann.n == 3 and ann.mean == pytest.approx(220 / 3)
    assert ann.sd == pytest.approx(
        math.sqrt(((80 - 220 / 3) ** 2 + (90 - 220 / 3) ** 2 + (50 - 220 / 3) ** 2) / 3)
    )
    assert ann.offset == pytest.approx(((80 - 65) + (90 - 70)) / 2) and ann.compared == 2
    assert result["bob"].offset == pytest.approx(((60 - 75) + (70 - 90)) / 2)
    assert result["cat"].offset == pytest.approx(70 - 70)


def test_leniency_alone_has_no_offset_and_a_repeat_is_an_error():
    assert leniency([(1, "a", 50.0)])[1].offset is None
    with pytest.raises(ValueError):
        leniency([(1, "a", 50.0), (1, "a", 60.0)])


def test_units_from_groups_by_unit_in_a_stable_order():
    grouped = units_from([(1, 10, 5), (2, 2, 6), (3, 10, 7)])
    assert list(grouped) == [2, 10] and grouped[10] == [5.0, 7.0]

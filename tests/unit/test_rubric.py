"""Rubric rules and the review score (docs/ranking.md §1, §3.1), with hand-computed values."""

from decimal import Decimal as D

import numpy as np
import pytest

from scoring.core.numbers import fmt_decimal, to_decimal
from scoring.core.rubric import (
    Criterion,
    Rubric,
    RubricError,
    Section,
    points_row,
    review_score,
    score_rows,
    section_percentages,
)


def sec(key, *criteria, weight=None):
    """A section whose criteria are (key, max_points[, step]) tuples."""
    return Section(key, tuple(Criterion(*c) for c in criteria), weight=weight)


# need: one criterion of 4 points; plan: 10 points in half steps + 5 points.
NEED = (("need.data", D(4)),)
PLAN = (("plan.a", D(10), D("0.5")), ("plan.b", D(5)))


def rubric(need_weight=None, plan_weight=None):
    return Rubric(
        (sec("need", *NEED, weight=need_weight), sec("plan", *PLAN, weight=plan_weight))
    ).validate()


POINTS = {"need.data": D(3), "plan.a": D("7.5"), "plan.b": D(4)}


@pytest.mark.parametrize(
    ("need_weight", "plan_weight", "points", "expected"),
    [
        # default weights (M_need = 4, M_plan = 15): 100 × (3 + 11.5) / 19
        (None, None, POINTS, 1450 / 19),
        # custom weights 20/15: 100 × (20 × 3/4 + 15 × 11.5/15) / 35 = 100 × 26.5 / 35
        (D(20), D(15), POINTS, 2650 / 35),
        # weights 0.4/0.6 on 50% and 100%: 0.4 × 50 + 0.6 × 100 = 80
        (D("0.4"), D("0.6"), {"need.data": D(2), "plan.a": D(10), "plan.b": D(5)}, 80.0),
        # zero-weight section is ignored: only plan counts, 100 × 11.5/15
        (D(0), D(3), POINTS, 1150 / 15),
        # weights that are scaled copies give the same score: 40/30 same as 20/15
        (D(40), D(30), POINTS, 2650 / 35),
        # all zero and all full
        (None, None, {"need.data": D(0), "plan.a": D(0), "plan.b": D(0)}, 0.0),
        (D(7), D(2), {"need.data": D(4), "plan.a": D(10), "plan.b": D(5)}, 100.0),
        # half points: plan.a 0.5 of 10 and nothing else, default weights: 100 × 0.5 / 19
        (None, None, {"need.data": D(0), "plan.a": D("0.5"), "plan.b": D(0)}, 50 / 19),
    ],
)
def test_review_score_table(need_weight, plan_weight, points, expected):
    assert review_score(rubric(need_weight, plan_weight), points) == pytest.approx(
        expected, abs=1e-12
    )


def test_review_score_half_point_step_single_criterion():
    r = Rubric((sec("s", ("s.c", D(2), D("0.5"))),))
    assert review_score(r, {"s.c": D("1.5")}) == 75.0


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (POINTS, {"need": 75.0, "plan": 100 * 11.5 / 15}),
        ({"need.data": D(1), "plan.a": D(0), "plan.b": D(0)}, {"need": 25.0, "plan": 0.0}),
    ],
)
def test_section_percentages(points, expected):
    got = section_percentages(rubric(D(20), D(15)), points)
    assert list(got) == ["need", "plan"]  # rubric order
    assert got == pytest.approx(expected, abs=1e-12)


def test_score_rows_matches_single_review_bit_for_bit():
    r = rubric(D(20), D(15))
    rows = np.array([[3, 7.5, 4], [1, 0.5, 0], [4, 10, 5]], dtype=float)
    out = score_rows(r, rows)
    for i, row in enumerate(rows):
        keys = ["need.data", "plan.a", "plan.b"]
        single = review_score(r, dict(zip(keys, map(D, map(str, row)), strict=True)))
        assert out.scores[i] == single
    assert out.section_points.tolist() == [[3, 11.5], [1, 0.5], [4, 15]]
    assert out.section_pct[0].tolist() == pytest.approx([75.0, 100 * 11.5 / 15])


def test_score_rows_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        score_rows(rubric(), np.zeros((2, 4)))
    assert score_rows(rubric(), np.zeros((0, 3))).scores.shape == (0,)


def test_missing_and_unknown_points_are_errors_never_zero():
    r = rubric()
    with pytest.raises(RubricError, match="missing points for criterion 'plan.b'"):
        review_score(r, {"need.data": D(1), "plan.a": D(1)})
    with pytest.raises(RubricError, match="unknown criterion 'extra'"):
        review_score(r, {**POINTS, "extra": D(1)})
    with pytest.raises(RubricError, match="plan.b: 'x' is not a number"):
        points_row(r, {**POINTS, "plan.b": "x"})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("need.data", D(3), None),
        ("need.data", D(0), None),
        ("need.data", D(4), None),
        ("plan.a", D("2.5"), None),
        ("plan.a", 7, None),
        ("plan.a", "9.5", None),
        ("need.data", D(5), "5 is above max_points 4"),
        ("need.data", D("4.0001"), "4.0001 is above max_points 4"),
        ("need.data", D(-1), "-1 is below 0"),
        ("plan.a", D("2.3"), "2.3 is not a multiple of step 0.5"),
        ("need.data", D("2.5"), "2.5 is not a multiple of step 1"),
        ("nope", D(1), "unknown criterion"),
        ("need.data", "abc", "'abc' is not a number"),
        ("need.data", True, "True is not a number"),
        ("need.data", D("NaN"), "NaN is not a finite number"),
        ("need.data", D("1E-300"), "1E-300 is not a multiple of step 1"),
    ],
)
def test_check_points(key, value, message):
    assert rubric().check_points(key, value) == message


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ((), "at least one section"),
        ((sec("a", ("a.1", D(1))), sec("a", ("a.2", D(1)))), "duplicate section key 'a'"),
        ((sec("a", ("x", D(1))), sec("b", ("x", D(1)))), "duplicate criterion key 'x'"),
        ((Section("a", ()),), "section 'a' has no criteria"),
        ((sec("a", ("a.1", D(0))),), r"max_points: must be > 0 \(got 0\)"),
        ((sec("a", ("a.1", D(-2))),), r"max_points: must be > 0 \(got -2\)"),
        ((sec("a", ("a.1", D(4), D(0))),), r"step: must be > 0 \(got 0\)"),
        ((sec("a", ("a.1", "four")),), "max_points: 'four' is not a number"),
        ((sec("a", ("a.1", D(4)), weight=D(-1)),), "weight: -1 is below 0"),
        (
            (sec("a", ("a.1", D(4)), weight=D(0)), sec("b", ("b.1", D(4)), weight=D(0))),
            "weights add up to 0",
        ),
        ((sec("", ("a.1", D(4))),), "section key must be a non-empty string"),
        ((sec("a", ("", D(4))),), "criterion key must be a non-empty string"),
    ],
)
def test_validate_errors(sections, message):
    with pytest.raises(RubricError, match=message):
        Rubric(sections).validate()


def test_max_points_need_not_be_a_multiple_of_step():
    Rubric((sec("a", ("a.1", D(5), D(2))),)).validate()


def test_section_max_points_and_effective_weight():
    r = rubric(need_weight=D(20))
    need, plan = r.sections
    assert (need.max_points, need.effective_weight) == (D(4), D(20))
    assert (plan.max_points, plan.effective_weight) == (D(15), D(15))


def test_criteria_order_and_index():
    r = rubric()
    assert [c.key for c in r.criteria] == ["need.data", "plan.a", "plan.b"]
    assert dict(r.criterion_index) == {"need.data": 0, "plan.a": 1, "plan.b": 2}
    assert r.section("plan").key == "plan"
    with pytest.raises(KeyError):
        r.section("nope")


def test_numbers_are_coerced_to_decimal():
    c = Criterion("c", 4, 0.5)
    assert (c.max_points, c.step) == (D(4), D("0.5"))
    assert Section("s", [c], weight=0.1).weight == D("0.1")
    assert isinstance(Section("s", [c]).criteria, tuple)


def test_dict_round_trip():
    r = rubric(need_weight=D(20))
    data = r.to_dict()
    assert data == {
        "sections": [
            {
                "key": "need",
                "title": "",
                "weight": 20,
                "criteria": [{"key": "need.data", "title": "", "max_points": 4, "step": 1}],
            },
            {
                "key": "plan",
                "title": "",
                "criteria": [
                    {"key": "plan.a", "title": "", "max_points": 10, "step": 0.5},
                    {"key": "plan.b", "title": "", "max_points": 5, "step": 1},
                ],
            },
        ]
    }
    assert Rubric.from_dict(data) == r
    with pytest.raises(RubricError, match="malformed"):
        Rubric.from_dict({"sections": [{"key": "x"}]})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("4.0"), "4"),
        (D("0.50"), "0.5"),
        (D("100"), "100"),
        (D("1E+2"), "100"),
        (D("-0"), "0"),
        (D("-1.25"), "-1.25"),
    ],
)
def test_fmt_decimal(value, text):
    assert fmt_decimal(value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, D(3)), ("2.50", D("2.50")), (0.1, D("0.1")), (D("7"), D(7))],
)
def test_to_decimal(value, expected):
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", [None, True, "x", D("Infinity"), float("nan"), [1]])
def test_to_decimal_refuses(value):
    with pytest.raises(ValueError):
        to_decimal(value)

"""Every rule and knob of docs/ranking.md, table-driven, with expected values computed by hand.

Most cases use ``ONE``, a rubric with a single 100-point criterion, so a review's score equals
its points and the arithmetic in each case can be checked at a glance.
"""

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import numpy as np
import pytest

from scoring.core.ranking import (
    ApplicationInput,
    Policy,
    PolicyError,
    ReviewInput,
    dumps_document,
    explain,
    explanation_data,
    rank,
    rank_columns,
    rank_columns_beside,
    render_explanation,
    result_document,
    round_score,
)
from scoring.core.rubric import Criterion, Rubric, RubricError, Section, review_score

ONE = Rubric((Section("main", (Criterion("main.c", D(100), D("0.0000000001")),)),))
# Two 50-point sections with default weights: S = plan points + need points,
# and a section percentage is twice its points.
TWO = Rubric(
    (
        Section("plan", (Criterion("plan.c", D(50), D("0.5")),)),
        Section("need", (Criterion("need.c", D(50), D("0.5")),)),
    )
)
# need: 4 points, weight 20; plan: 10 points in half steps + 5 points, weight 15.
W = Rubric(
    (
        Section("need", (Criterion("need.data", D(4)),), weight=D(20)),
        Section(
            "plan", (Criterion("plan.a", D(10), D("0.5")), Criterion("plan.b", D(5))), weight=D(15)
        ),
    )
)


def app(ref, requested="100", **kw):
    kw.setdefault("school", f"S-{ref}")
    kw.setdefault("district", "D1")
    return ApplicationInput(ref=ref, requested_amount=D(requested), **kw)


def reviews(ref, *scores, first=1):
    """One review per score by r1, r2, ... on the ONE rubric (score = points)."""
    return [ReviewInput(ref, f"r{first + i}", {"main.c": D(str(s))}) for i, s in enumerate(scores)]


def two(ref, plan, need, n=2):
    """``n`` identical reviews on the TWO rubric."""
    return [
        ReviewInput(ref, f"r{i + 1}", {"plan.c": D(str(plan)), "need.c": D(str(need))})
        for i in range(n)
    ]


def run(apps, revs, rubric=ONE, priorities=None, **policy):
    policy.setdefault("total_funds", D(1_000_000))
    return rank(rubric, Policy(**policy), apps, revs, priorities or {})


def by_ref(result):
    return {a.ref: a for a in result.applications}


def doc_apps(result):
    return {a["ref"]: a for a in result_document(result, "c", 1)["applications"]}


def order(result):
    return [a.ref for a in result.applications]


# --------------------------------------------------------------------------- §3 scores


@pytest.mark.parametrize(
    ("aggregation", "scores", "base"),
    [
        ("mean", [10, 20, 90], 40.0),  # 120 / 3
        ("median", [10, 20, 90], 20.0),  # middle value
        ("mean", [10, 20, 30, 90], 37.5),  # 150 / 4
        ("median", [10, 20, 30, 90], 25.0),  # (20 + 30) / 2
        ("median", [90, 10], 50.0),  # (10 + 90) / 2
        ("mean", [33.5, 33], 33.25),
        ("median", [42], 42.0),
    ],
)
def test_aggregation_mean_and_median(aggregation, scores, base):
    result = run([app("A")], reviews("A", *scores), aggregation=aggregation, min_reviews=1)
    a = doc_apps(result)["A"]
    assert a["base"] == base
    assert a["final"] == base
    assert a["sections"] == {"main": base}  # same aggregation for sections


def test_section_percentages_use_the_same_aggregation_without_normalisation():
    # plan/need points per review: (40, 10), (10, 40), (25, 25) -> plan % 80, 20, 50
    revs = [
        ReviewInput("A", "r1", {"plan.c": D(40), "need.c": D(10)}),
        ReviewInput("A", "r2", {"plan.c": D(10), "need.c": D(40)}),
        ReviewInput("A", "r3", {"plan.c": D(25), "need.c": D(25)}),
    ]
    mean = doc_apps(run([app("A")], revs, rubric=TWO))["A"]
    median = doc_apps(run([app("A")], revs, rubric=TWO, aggregation="median"))["A"]
    assert mean["sections"] == {"plan": 50.0, "need": 50.0}
    assert median["sections"] == {"plan": 50.0, "need": 50.0}
    assert mean["review_scores"] == [50.0, 50.0, 50.0]


ZSCORE_REVIEWS = (
    reviews("X", 60)
    + reviews("Y", 70)
    + reviews("Z", 80)  # r1: mean 70
    + reviews("X", 80, first=2)
    + reviews("Y", 85, first=2)
    + reviews("Z", 90, first=2)
)  # r2: mean 85


def test_zscore_applied_with_hand_numbers():
    # All six scores 60 70 80 80 85 90: μ = 465/6 = 77.5, σ² = 587.5/6, σ = 9.895285...
    # r1: μ_v = 70, σ_v = √(200/3) = 8.164966; r2: μ_v = 85, σ_v = √(50/3) = 4.082483.
    # z for X is -10/8.164966 = -5/4.082483 = -√1.5 for both reviewers, so
    # S' = 77.5 - √(587.5/6 × 1.5) = 77.5 - √146.875 = 77.5 - 12.1191996 = 65.3808004;
    # Y: z = 0 -> 77.5; Z: 77.5 + 12.1191996 = 89.6191996.
    apps = [app("X"), app("Y"), app("Z")]
    result = run(apps, ZSCORE_REVIEWS, normalization="zscore")
    docs = doc_apps(result)
    assert (docs["X"]["base"], docs["Y"]["base"], docs["Z"]["base"]) == (65.3808, 77.5, 89.6192)
    assert docs["X"]["review_scores"] == [60.0, 80.0]  # raw, not normalised
    assert result.mu == pytest.approx(77.5, abs=1e-12)
    assert result.sigma == pytest.approx(9.895285072531591, abs=1e-12)
    r1 = result.reviewer_stats["r1"]
    assert (r1.n, r1.applied) == (3, True)
    assert (r1.mean, r1.std) == pytest.approx((70.0, 8.16496580927726), abs=1e-12)
    assert result.reviewer_stats["r2"].std == pytest.approx(4.08248290463863, abs=1e-12)
    details = by_ref(result)["X"].review_details
    assert [d.normalised for d in details] == pytest.approx([65.38080035645918] * 2, abs=1e-9)
    # Without normalisation: X = (60 + 80) / 2 = 70, Y = 77.5, Z = 85.
    plain = doc_apps(run(apps, ZSCORE_REVIEWS))
    assert (plain["X"]["base"], plain["Y"]["base"], plain["Z"]["base"]) == (70.0, 77.5, 85.0)
    assert not run(apps, ZSCORE_REVIEWS).reviewer_stats["r1"].applied


def test_zscore_not_applied_with_fewer_than_three_reviews():
    revs = reviews("X", 60, 70) + reviews("Y", 80, 90)  # r1 and r2 have 2 reviews each
    docs = doc_apps(run([app("X"), app("Y")], revs, normalization="zscore"))
    assert (docs["X"]["base"], docs["Y"]["base"]) == (65.0, 85.0)


def test_zscore_not_applied_when_sigma_v_is_zero():
    # r1 gives 70 three times (σ_v = 0: unchanged); r2 gives 60, 80, 100.
    # All six: μ = 450/6 = 75, σ² = 950/6; r2: μ_v = 80, σ_v = √(800/3).
    # r2's S' = 75 + √(950/6) × z with z = (S - 80) / √(800/3) = -√1.5, 0, √1.5:
    #   X: 75 - √237.5 = 59.5889650, Y: 75, Z: 75 + √237.5 = 90.4110350.
    # base X = (70 + 59.5889650) / 2 = 64.7944825, Y = 72.5, Z = (70 + 90.4110350) / 2 = 80.2055175
    revs = (
        reviews("X", 70)
        + reviews("Y", 70)
        + reviews("Z", 70)
        + reviews("X", 60, first=2)
        + reviews("Y", 80, first=2)
        + reviews("Z", 100, first=2)
    )
    result = run([app("X"), app("Y"), app("Z")], revs, normalization="zscore")
    docs = doc_apps(result)
    assert (docs["X"]["base"], docs["Y"]["base"], docs["Z"]["base"]) == (64.7945, 72.5, 80.2055)
    assert not result.reviewer_stats["r1"].applied
    assert result.reviewer_stats["r2"].applied


def test_normalisation_uses_reviews_of_unranked_applications_too():
    # r1's three reviews include one of an ineligible application: with it, n_v = 3 and the
    # z-score applies; without it, n_v = 2 and it would not.
    revs = reviews("X", 60) + reviews("Y", 80) + reviews("Q", 100)
    apps = [app("X"), app("Y"), app("Q", eligible=False, ineligible_reason="late")]
    result = run(apps, revs, normalization="zscore", min_reviews=1)
    assert result.reviewer_stats["r1"].n == 3
    assert result.reviewer_stats["r1"].applied


# --------------------------------------------------------------------------- §4 status, flags


@pytest.mark.parametrize(
    ("min_reviews", "n_reviews", "status"),
    [
        (2, 1, "incomplete"),
        (2, 2, "funded"),
        (3, 2, "incomplete"),
        (1, 1, "funded"),
        (2, 0, "incomplete"),
        (3, 3, "funded"),
    ],
)
def test_min_reviews(min_reviews, n_reviews, status):
    result = run([app("A")], reviews("A", *[80] * n_reviews), min_reviews=min_reviews)
    a = by_ref(result)["A"]
    assert a.status == status
    assert (a.rank is None) == (status == "incomplete")
    assert a.reviews == n_reviews


def test_ineligible_keeps_reason_and_comes_before_incomplete():
    apps = [
        app("X", eligible=False, ineligible_reason="late"),
        app("Y", eligible=False, ineligible_reason="not an Alliance District"),
        app("Z"),
    ]
    revs = reviews("Y", 70, 90, 80) + reviews("Z", 75, 75)
    docs = doc_apps(run(apps, revs))
    assert docs["X"] == {
        "ref": "X",
        "school": "S-X",
        "district": "D1",
        "tier": 1,
        "reviews": 0,
        "review_scores": [],
        "base": None,
        "priority_points": 0,
        "final": None,
        "sections": None,
        "rank": None,
        "flags": [],
        "status": "ineligible",
        "award": "0.00",
        "reason": "late",
    }
    y = docs["Y"]
    assert (y["status"], y["reason"], y["rank"], y["award"]) == (
        "ineligible",
        "not an Alliance District",
        None,
        "0.00",
    )
    assert (y["base"], y["review_scores"], y["flags"]) == (
        80.0,
        [70.0, 80.0, 90.0],
        ["discrepancy"],
    )
    assert docs["Z"]["rank"] == 1


def test_priority_points():
    priorities = {"network": D(5), "turnaround": D("2.5"), "unused": D(9)}
    apps = [
        app("X", priorities=("network", "turnaround", "network")),  # counted once: 7.5
        app("Y"),
    ]
    revs = reviews("X", 70, 70) + reviews("Y", 76, 76)
    result = run(apps, revs, priorities=priorities)
    docs = doc_apps(result)
    assert (docs["X"]["base"], docs["X"]["priority_points"], docs["X"]["final"]) == (
        70.0,
        7.5,
        77.5,
    )
    assert (docs["Y"]["priority_points"], docs["Y"]["final"]) == (0, 76.0)
    assert order(result) == ["X", "Y"]
    assert by_ref(result)["X"].priority_points == D("7.5")


def test_unknown_or_negative_priority_is_an_error():
    with pytest.raises(ValueError, match="unknown priority 'nope'"):
        run([app("X", priorities=("nope",))], [], priorities={"network": D(5)})
    with pytest.raises(ValueError, match="below 0"):
        run([app("X")], [], priorities={"network": D(-1)})


@pytest.mark.parametrize(
    ("scores", "threshold", "flagged"),
    [
        ([70, 85], 15, False),  # spread 15 is not above 15
        ([70, "85.5"], 15, True),
        ([70, "84.5"], 15, False),
        ([70, "85.000001"], 15, True),  # 15.000001 at 6 places
        ([70, "85.0000004"], 15, False),  # 85.0000004 is 85.000000 at 6 places
        ([70, 80, 95], 15, True),  # max - min = 25
        ([50, 50], 0, False),
        ([50, "50.5"], 0, True),
        ([70, 75], "4.5", True),
        ([70, 75], "5", False),
    ],
)
def test_discrepancy_flag(scores, threshold, flagged):
    result = run([app("A")], reviews("A", *scores), discrepancy_threshold=D(threshold))
    assert by_ref(result)["A"].flags == (("discrepancy",) if flagged else ())


def test_discrepancy_on_unranked_applications_and_never_with_one_review():
    apps = [app("A"), app("B")]
    revs = reviews("A", 50, 90) + reviews("B", 10)
    flags = {a.ref: a.flags for a in run(apps, revs, min_reviews=3).applications}
    assert flags == {"A": ("discrepancy",), "B": ()}


def test_tie_flag_at_six_places():
    apps = [app(r) for r in "ABCDE"]
    revs = (
        reviews("A", 80, 80)
        + reviews("B", 75, 85)  # both 80
        + reviews("C", "60.0000001", "60.0000001")  # 60.000000 at 6 places
        + reviews("D", "60.0000004", "60.0000004")  # 60.000000 too
        + reviews("E", "60.000001", "60.000001")
    )  # 60.000001: not a tie
    flags = {a.ref: a.flags for a in run(apps, revs).applications}
    assert flags == {"A": ("tie",), "B": ("tie",), "C": ("tie",), "D": ("tie",), "E": ()}


def test_flags_in_fixed_order():
    apps = [app("A"), app("B")]
    revs = reviews("A", 60, 100) + reviews("B", 80, 80)  # both 80; A spread 40
    assert doc_apps(run(apps, revs))["A"]["flags"] == ["discrepancy", "tie"]


# --------------------------------------------------------------------------- §5 rank

T1 = datetime(2016, 4, 13, 10, 0, tzinfo=timezone(timedelta(hours=-4)))
T2 = datetime(2016, 4, 14, 10, 0, tzinfo=timezone(timedelta(hours=-4)))
T3 = datetime(2016, 4, 15, 10, 0, tzinfo=timezone(timedelta(hours=-4)))
# All four end on final 80 (section % = 2 × points):
#   A plan 40 need 40, req 300, T2        plan 80%, need 80%
#   B plan 30 need 50, req 200, T1        plan 60%, need 100%
#   C plan 35 need 45, req 100, no date   plan 70%, need 90%
#   E plan 37.5 need 37.5 (75) + 5 priority points, req 400, T3   plan 75%, need 75%
TIE_APPS = [
    app("A", "300", submitted_at=T2),
    app("B", "200", submitted_at=T1),
    app("C", "100"),
    app("E", "400", submitted_at=T3, priorities=("network",)),
]
TIE_REVIEWS = two("A", 40, 40) + two("B", 30, 50) + two("C", 35, 45) + two("E", 37.5, 37.5)


@pytest.mark.parametrize(
    ("tie_breakers", "expected", "decided"),
    [
        ((), "ABCE", [None, "ref", "ref", "ref"]),
        (("section:plan",), "AECB", [None] + ["section:plan"] * 3),
        (("section:need",), "BCAE", [None] + ["section:need"] * 3),
        (("priority_points",), "EABC", [None, "priority_points", "ref", "ref"]),
        (("requested_amount",), "CBAE", [None] + ["requested_amount"] * 3),
        (("submitted_at",), "BAEC", [None] + ["submitted_at"] * 3),  # no date: last
        (
            ("priority_points", "requested_amount"),
            "ECBA",
            [None, "priority_points", "requested_amount", "requested_amount"],
        ),
        (("requested_amount", "priority_points"), "CBAE", [None] + ["requested_amount"] * 3),
        (("submitted_at", "section:plan"), "BAEC", [None] + ["submitted_at"] * 3),
    ],
)
def test_tie_breakers(tie_breakers, expected, decided):
    result = run(
        TIE_APPS, TIE_REVIEWS, rubric=TWO, priorities={"network": D(5)}, tie_breakers=tie_breakers
    )
    assert "".join(order(result)) == expected
    assert [a.rank for a in result.applications] == [1, 2, 3, 4]
    assert [a.decided_by for a in result.applications] == decided
    assert all(a.flags == ("tie",) for a in result.applications)


def test_final_score_decides_before_tie_breakers():
    apps = [app("A", "999"), app("B", "1")]
    result = run(
        apps, reviews("A", 81, 81) + reviews("B", 80, 80), tie_breakers=("requested_amount",)
    )
    assert order(result) == ["A", "B"]
    assert by_ref(result)["B"].decided_by == "final score"


def test_section_tie_breaker_compares_at_six_places():
    # plan % 80.00000002 vs 80.00000008 are equal at 6 places, as are the finals: ref decides.
    apps = [app("B"), app("A")]
    revs = two("B", "40.00000004", 40) + two("A", "40.00000001", 40)
    result = run(apps, revs, rubric=TWO, tie_breakers=("section:plan",))
    assert order(result) == ["A", "B"]
    assert by_ref(result)["B"].decided_by == "ref"


def test_ref_fallback_is_string_order():
    result = run([app("B-2"), app("B-10")], reviews("B-2", 70, 70) + reviews("B-10", 70, 70))
    assert order(result) == ["B-10", "B-2"]
    assert by_ref(result)["B-2"].decided_by == "ref"


def test_submitted_at_compares_instants_across_offsets():
    early = datetime(2016, 4, 14, 14, 0, tzinfo=UTC)  # 10:00 -04:00 is 14:00 UTC
    late = datetime(2016, 4, 14, 10, 30, tzinfo=timezone(timedelta(hours=-4)))
    apps = [app("A", submitted_at=late), app("B", submitted_at=early)]
    result = run(apps, reviews("A", 70, 70) + reviews("B", 70, 70), tie_breakers=("submitted_at",))
    assert order(result) == ["B", "A"]


# --------------------------------------------------------------------------- §6 fund-down


def fund(spec, **policy):
    """spec: (ref, score, requested[, district[, tier]]) → {ref: (status, award, reason)}."""
    apps, revs = [], []
    for ref, score, requested, *rest in spec:
        district = rest[0] if rest else "D1"
        tier = rest[1] if len(rest) > 1 else 1
        apps.append(app(ref, requested, district=district, tier=tier))
        revs += reviews(ref, score, score)
    result = run(apps, revs, **policy)
    got = {a.ref: (a.status, str(a.award), a.reason) for a in result.applications}
    return got, result


def test_tiers_come_first_in_funding_order():
    got, result = fund(
        [("A", 90, 100, "D1", 2), ("B", 80, 100, "D1", 1), ("C", 70, 100, "D1", 1)],
        total_funds=D(250),
    )
    assert order(result) == ["B", "C", "A"]  # document order = funding order
    assert [a.rank for a in result.applications] == [2, 3, 1]
    assert got == {
        "B": ("funded", "100.00", None),
        "C": ("funded", "100.00", None),
        "A": ("waitlisted", "0.00", "funds"),
    }


def test_min_score_below_threshold_compared_at_six_places():
    got, _ = fund([("A", 80, 10), ("B", "69.9999996", 10), ("C", "69.999999", 10)], min_score=D(70))
    assert got == {
        "A": ("funded", "10.00", None),
        "B": ("funded", "10.00", None),
        "C": ("below_threshold", "0.00", None),
    }


def test_min_score_check_comes_before_the_strict_stop():
    got, result = fund(
        [("A", 90, 100), ("B", 80, 100), ("C", 40, 10), ("D", 70, 10)],
        total_funds=D(150),
        min_score=D(50),
    )
    assert got == {
        "A": ("funded", "100.00", None),
        "B": ("waitlisted", "0.00", "funds"),
        "C": ("below_threshold", "0.00", None),
        "D": ("waitlisted", "0.00", "funds"),
    }  # D would fit: strict stopped
    assert (str(result.total_awarded), str(result.remaining)) == ("100.00", "50.00")


@pytest.mark.parametrize(
    ("fund_down", "expected", "awarded"),
    [
        (
            "strict",
            {
                "A": ("funded", "100.00", None),
                "B": ("waitlisted", "0.00", "funds"),
                "C": ("waitlisted", "0.00", "funds"),
                "D": ("waitlisted", "0.00", "funds"),
            },
            "100.00",
        ),
        (
            "skip",
            {
                "A": ("funded", "100.00", None),
                "B": ("waitlisted", "0.00", "funds"),
                "C": ("funded", "50.00", None),
                "D": ("funded", "100.00", None),
            },
            "250.00",
        ),
    ],
)
def test_strict_vs_skip(fund_down, expected, awarded):
    got, result = fund(
        [("A", 90, 100), ("B", 80, 200), ("C", 70, 50), ("D", 60, 100)],
        total_funds=D(250),
        fund_down=fund_down,
    )
    assert got == expected
    assert str(result.total_awarded) == awarded
    assert result.remaining == D(250) - D(awarded)


@pytest.mark.parametrize(
    ("knobs", "b", "c"),
    [
        # partial_min defaults to 0.01: B gets the 50 left; C finds 0 left and stops.
        ({}, ("partially_funded", "50.00", None), ("waitlisted", "0.00", "funds")),
        # partial_min defaults to min_award 60 > 50 left: B waitlisted, strict stops.
        ({"min_award": D(60)}, ("waitlisted", "0.00", "funds"), ("waitlisted", "0.00", "funds")),
        # an explicit partial_min wins over min_award
        (
            {"min_award": D(60), "partial_min": D(40)},
            ("partially_funded", "50.00", None),
            ("waitlisted", "0.00", "funds"),
        ),
        (
            {"partial_min": D(50)},
            ("partially_funded", "50.00", None),
            ("waitlisted", "0.00", "funds"),
        ),  # room >= partial_min
        (
            {"partial_min": D("50.01")},
            ("waitlisted", "0.00", "funds"),
            ("waitlisted", "0.00", "funds"),
        ),
        (
            {"partial_funding": False},
            ("waitlisted", "0.00", "funds"),
            ("waitlisted", "0.00", "funds"),
        ),
        (
            {"fund_down": "skip"},
            ("partially_funded", "50.00", None),
            ("waitlisted", "0.00", "funds"),
        ),
    ],
)
def test_partial_funding(knobs, b, c):
    knobs = {"partial_funding": True, **knobs}
    got, _ = fund([("A", 90, 100), ("B", 80, 100), ("C", 70, 100)], total_funds=D(150), **knobs)
    assert got == {"A": ("funded", "100.00", None), "B": b, "C": c}


def test_partial_award_is_exact_to_the_cent():
    # Money is whole cents, so the room (and a partial award) is too: nothing is rounded up.
    got, result = fund(
        [("A", 90, "100.05"), ("B", 80, 100)], total_funds=D("100.07"), partial_funding=True
    )
    assert got == {"A": ("funded", "100.05", None), "B": ("partially_funded", "0.02", None)}
    assert (str(result.total_awarded), str(result.remaining)) == ("100.07", "0.00")


def test_money_that_is_not_whole_cents_is_refused():
    with pytest.raises(PolicyError, match=r"total_funds: 100.005 is not a whole number of cents"):
        fund([("A", 90, 100)], total_funds=D("100.005"))
    with pytest.raises(ValueError, match=r"requested_amount: 10.001 is not a whole number"):
        fund([("A", 90, "10.001")])
    with pytest.raises(ValueError, match=r"requested_amount: -5 is negative"):
        fund([("A", 90, "-5")])


def test_district_max_awards_does_not_stop_a_strict_fund_down():
    got, _ = fund(
        [("A", 90, 100, "D1"), ("B", 80, 100, "D1"), ("C", 70, 100, "D2")], district_max_awards=1
    )
    assert got == {
        "A": ("funded", "100.00", None),
        "B": ("waitlisted", "0.00", "district_cap"),
        "C": ("funded", "100.00", None),
    }
    got, _ = fund([("A", 90, 100, "D1")], district_max_awards=0)
    assert got == {"A": ("waitlisted", "0.00", "district_cap")}


@pytest.mark.parametrize(
    ("partial", "b"),
    [(False, ("waitlisted", "0.00", "district_cap")), (True, ("partially_funded", "50.00", None))],
)
def test_district_max_amount(partial, b):
    # B: room = min(remaining 900, 150 - 100) = 50 < 100; room < remaining -> district_cap
    got, _ = fund(
        [("A", 90, 100, "D1"), ("B", 80, 100, "D1"), ("C", 70, 100, "D2")],
        total_funds=D(1000),
        district_max_amount=D(150),
        partial_funding=partial,
    )
    assert got == {"A": ("funded", "100.00", None), "B": b, "C": ("funded", "100.00", None)}


def test_district_room_equal_to_remaining_is_a_funds_stop():
    # B: room = min(remaining 150, 150 - 0) = 150, not < remaining: reason funds, strict stops.
    got, _ = fund(
        [("A", 90, 100, "D1"), ("B", 80, 200, "D2"), ("C", 70, 10, "D3")],
        total_funds=D(250),
        district_max_amount=D(150),
    )
    assert got == {
        "A": ("funded", "100.00", None),
        "B": ("waitlisted", "0.00", "funds"),
        "C": ("waitlisted", "0.00", "funds"),
    }


def test_funded_in_district_counts_partial_awards():
    # A is partially funded (150 of 200); with a cap of 1 award, B meets the district cap
    # (if the partial award did not count, B would be waitlisted for funds instead).
    got, _ = fund(
        [("A", 90, 200, "D1"), ("B", 80, 10, "D1")],
        total_funds=D(150),
        partial_funding=True,
        district_max_awards=1,
    )
    assert got == {
        "A": ("partially_funded", "150.00", None),
        "B": ("waitlisted", "0.00", "district_cap"),
    }


def test_max_award_caps_the_request_and_min_award_is_not_rechecked():
    got, result = fund([("A", 90, 300), ("B", 80, 150)], max_award=D(200), min_award=D(160))
    assert got == {"A": ("funded", "200.00", None), "B": ("funded", "150.00", None)}
    a = by_ref(result)["A"]
    assert (a.requested_amount, a.request) == (D("300.00"), D("200.00"))
    got, _ = fund([("A", 90, 300), ("B", 80, 150)], max_award=D(200), total_funds=D(300))
    assert got["B"] == ("waitlisted", "0.00", "funds")  # room 100 < capped request 150


def test_running_total_at_the_funding_line():
    _, result = fund(
        [("A", 90, 100), ("B", 80, 300), ("C", 70, 50)], total_funds=D(250), fund_down="skip"
    )
    rows = [
        (a.ref, a.funding_position, str(a.remaining_before), str(a.remaining_after))
        for a in result.applications
    ]
    assert rows == [
        ("A", 1, "250.00", "150.00"),
        ("B", 2, "150.00", "150.00"),
        ("C", 3, "150.00", "100.00"),
    ]


# --------------------------------------------------------------------------- §7 document


def test_document_order():
    apps = [
        app("A", tier=2),
        app("B"),
        app("C", eligible=False, ineligible_reason="x"),
        app("D"),
        app("E"),
        app("F", eligible=False, ineligible_reason="y"),
        app("G"),
    ]
    revs = (
        reviews("A", 95, 95)
        + reviews("B", 90)
        + reviews("C", 99, 99)
        + reviews("D", 70, 70)
        + reviews("G", 60, 60)
    )
    result = run(apps, revs)
    # ranked in funding order (tier 1: D, G; tier 2: A), then incomplete by ref, then ineligible
    assert order(result) == ["D", "G", "A", "B", "E", "C", "F"]
    assert [d["ref"] for d in result_document(result, "c", 1)["applications"]] == order(result)


GOLDEN = (
    '{"competition": "sig-cohort-4", "run": 7, "inputs_sha256": "SHA", "policy": '
    '{"aggregation": "mean", "normalization": "none", "min_reviews": 2, '
    '"discrepancy_threshold": 15, "min_score": 70, "tie_breakers": ["section:main", '
    '"priority_points"], "total_funds": "6000000.00", "min_award": "50000.00", "max_award": '
    '"2000000.00", "fund_down": "strict", "partial_funding": false, "partial_min": null, '
    '"district_max_awards": null, "district_max_amount": null}, "total_funds": "6000000.00", '
    '"total_awarded": "1500000.00", "remaining": "4500000.00", "applications": [{"ref": '
    '"SIG4-001", "school": "0150011", "district": "015", "tier": 1, "reviews": 3, '
    '"review_scores": [77.5, 81.25, 90.0], "base": 82.9167, "priority_points": 5, "final": '
    '87.9167, "sections": {"main": 82.9167}, "rank": 1, "flags": [], "status": "funded", '
    '"award": "1500000.00", "reason": null}]}'
)


def test_document_shape_and_golden_bytes():
    # (81.25 + 77.5 + 90) / 3 = 82.916666... -> 82.9167; + 5 priority points = 87.9167
    apps = [
        app("SIG4-001", "1500000.00", school="0150011", district="015", priorities=("network",))
    ]
    revs = reviews("SIG4-001", "81.25", "77.5", 90)
    result = run(
        apps,
        revs,
        priorities={"network": D(5)},
        total_funds=D("6000000"),
        min_award=D(50000),
        max_award=D(2000000),
        min_score=D(70),
        tie_breakers=("section:main", "priority_points"),
    )
    doc = result_document(result, "sig-cohort-4", 7)
    assert list(doc) == [
        "competition",
        "run",
        "inputs_sha256",
        "policy",
        "total_funds",
        "total_awarded",
        "remaining",
        "applications",
    ]
    assert list(doc["applications"][0]) == [
        "ref",
        "school",
        "district",
        "tier",
        "reviews",
        "review_scores",
        "base",
        "priority_points",
        "final",
        "sections",
        "rank",
        "flags",
        "status",
        "award",
        "reason",
    ]
    assert re.fullmatch("[0-9a-f]{64}", doc["inputs_sha256"])
    assert dumps_document(doc) == GOLDEN.replace("SHA", result.inputs_sha256)


@pytest.mark.parametrize(
    ("scores", "base"),
    [
        (["12.3456", "12.3457"], 12.3457),  # mean 12.34565: half up
        (["12.34564999", "12.34564999"], 12.3456),
        (["1.0000499994"], 1.0),  # 9 places: 1.000049999 -> 1.0000 (6 places would say 1.00005)
        (["99.99995"], 100.0),
        (["0.00004"], 0.0),
    ],
)
def test_reported_numbers_round_half_up_to_four_places_from_nine(scores, base):
    docs = doc_apps(run([app("A")], reviews("A", *scores), min_reviews=1))
    assert docs["A"]["base"] == base


def test_review_scores_reported_raw_ascending_at_four_places():
    rubric = Rubric((Section("s", (Criterion("s.c", D(3)),)),))
    revs = [
        ReviewInput("A", "r1", {"s.c": D(2)}),
        ReviewInput("A", "r2", {"s.c": D(1)}),
        ReviewInput("A", "r3", {"s.c": D(3)}),
    ]
    docs = doc_apps(run([app("A")], revs, rubric=rubric))
    assert docs["A"]["review_scores"] == [33.3333, 66.6667, 100.0]
    assert docs["A"]["base"] == 66.6667


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (12.34565, 4, 12.3457),  # half up
        (12.34564999, 4, 12.3456),
        (1.0000499994, 4, 1.0),  # from the 9-place value 1.000049999, not from 1.000050
        (80.0000005, 6, 80.000001),
        (80.00000049, 6, 80.0),
        (-1.00005, 4, -1.0),  # half up is toward +infinity
        (-1.00006, 4, -1.0001),
        (100 * 2 / 3, 4, 66.6667),
        (0.1 + 0.2, 6, 0.3),  # float noise 0.30000000000000004 is gone
    ],
)
def test_round_score(value, places, expected):
    assert round_score(value, places) == expected


def test_round_score_only_knows_the_two_rules():
    with pytest.raises(ValueError):
        round_score(1.0, 5)


def test_dumps_document_is_deterministic_and_strict():
    doc = {"b": 1.5, "a": ["é", None]}
    assert dumps_document(doc) == '{"b": 1.5, "a": ["é", null]}'
    with pytest.raises(ValueError):
        dumps_document({"x": float("nan")})


# --------------------------------------------------------------------------- explanation


def explained():
    # X on W: r1 need 3, plan 7.5 + 4 -> 100 × (20 × 3/4 + 15 × 11.5/15) / 35 = 75.7143
    #         r2 need 2, plan 10 + 5  -> 100 × (20 × 2/4 + 15 × 15/15) / 35 = 71.4286
    # base = 73.5714, + network 5 = 78.5714. Y scores 100 and is funded first.
    apps = [app("X", "400", priorities=("network",)), app("Y", "300")]
    revs = [
        ReviewInput("X", "r1", {"need.data": D(3), "plan.a": D("7.5"), "plan.b": D(4)}),
        ReviewInput("X", "r2", {"need.data": D(2), "plan.a": D(10), "plan.b": D(5)}),
        ReviewInput("Y", "r1", {"need.data": D(4), "plan.a": D(10), "plan.b": D(5)}),
        ReviewInput("Y", "r2", {"need.data": D(4), "plan.a": D(10), "plan.b": D(5)}),
    ]
    return run(
        apps, revs, rubric=W, priorities={"network": D(5)}, total_funds=D(1000), max_award=D(300)
    )


def test_explanation_contains_the_key_numbers():
    text = explain(explained(), "X")
    for piece in [
        "Status: funded; award 300.00; rank 2",
        "need: P_s = 3 of M_s = 4, P_s/M_s = 0.75 (75%), weight w_s = 20",
        "plan: P_s = 11.5 of M_s = 15, P_s/M_s = 0.766667 (76.6667%), weight w_s = 15",
        "S = 100 × (20 × 3/4 + 15 × 11.5/15) / 35 = 75.7143",
        "S = 100 × (20 × 2/4 + 15 × 15/15) / 35 = 71.4286",
        "Normalisation (§3.2): none, so S' = S",
        "base = mean(75.7143, 71.4286) = 73.5714",
        "priority points: network (+5) = 5",
        "final = base + priority points = 73.5714 + 5 = 78.5714 (compared at 6 places: 78.571429)",
        "funded: request 300.00 <= room 700.00; award 300.00",
        "Rank (§5): 2 of 2; order: final score desc, then ref asc",
        "below Y (final 100), separated by: final score",
        "position 2 of 2 in funding order",
        "request = min(requested 400.00, max_award 300.00) = 300.00",
        "remaining before 700.00, after 400.00",
    ]:
        assert piece in text, piece


def test_explanation_renders_from_the_stored_dict():
    result = explained()
    data = explanation_data(result, "X")
    stored = json.loads(json.dumps(data))
    assert render_explanation(stored) == explain(result, "X")
    assert data["funding"]["remaining_before"] == "700.00"
    assert data["ranking"]["decided_by"] == "final score"
    with pytest.raises(KeyError):
        explanation_data(result, "nope")


def test_explanation_of_zscore():
    text = explain(run([app("X"), app("Y"), app("Z")], ZSCORE_REVIEWS, normalization="zscore"), "X")
    assert "zscore; over all counted reviews μ = 77.5, σ = 9.8953" in text
    assert (
        "S' = μ + σ × (S − μ_v) / σ_v with n_v = 3, μ_v = 70, σ_v = 8.165: "
        "77.5 + 9.8953 × (60 − 70) / 8.165 = 65.3808"
    ) in text
    text = explain(
        run(
            [app("X"), app("Y")],
            reviews("X", 60, 70) + reviews("Y", 80, 90),
            normalization="zscore",
        ),
        "X",
    )
    assert "not normalised (reviewer has 2 counted reviews (fewer than 3)" in text


@pytest.mark.parametrize(
    ("spec", "knobs", "ref", "piece"),
    [
        (
            [("A", 90, 100), ("B", 80, 100), ("C", 70, 10)],
            {"total_funds": D(150)},
            "C",
            "waitlisted (funds): funding stopped at B, which did not fit, and fund_down is strict",
        ),
        (
            [("A", 90, 100), ("B", 80, 100)],
            {"total_funds": D(150)},
            "B",
            "waitlisted (funds): request 100.00 > room 50.00; partial funding is off; fund_down is "
            "strict, so funding stops here",
        ),
        (
            [("A", 90, 100), ("B", 80, 100)],
            {"total_funds": D(150), "fund_down": "skip"},
            "B",
            "fund_down is skip, so later applications are still considered",
        ),
        (
            [("A", 90, 100), ("B", 80, 100)],
            {"total_funds": D(150), "partial_funding": True},
            "B",
            "partially_funded: request 100.00 > room 50.00; partial funding is on and room >= "
            "partial_min 0.01, so award = room = 50.00",
        ),
        (
            [("A", 90, 100), ("B", 40, 100)],
            {"min_score": D(50)},
            "B",
            "below_threshold: final 40 < min_score 50; no award",
        ),
        (
            [("A", 90, 100, "D1"), ("B", 80, 100, "D1")],
            {"district_max_awards": 1},
            "B",
            "waitlisted (district_cap): district D1 already has 1 funded award(s), "
            "district_max_awards 1",
        ),
        (
            [("A", 90, 100, "D1"), ("B", 80, 100, "D1")],
            {"district_max_amount": D(150)},
            "B",
            "waitlisted (district_cap): district D1 has 100.00 awarded of district_max_amount "
            "150.00, so room 50.00 < request 100.00; partial funding is off",
        ),
        (
            [("A", 90, 100)],
            {"min_reviews": 3},
            "A",
            "incomplete: 2 counted review(s), fewer than min_reviews 3; not ranked",
        ),
        ([("A", 90, 100), ("B", 90, 100)], {}, "B", "tie: same final (6 places) as A"),
        ([("A", 90, 100), ("B", 90, 100)], {}, "B", "below A (final 90), separated by: ref"),
    ],
)
def test_explanation_of_each_status(spec, knobs, ref, piece):
    _, result = fund(spec, **knobs)
    assert piece in explain(result, ref)


def test_explanation_of_a_large_tie_names_twenty_and_counts_the_rest():
    apps = [app(f"A{i:02d}") for i in range(23)]
    revs = [r for a in apps for r in reviews(a.ref, 70, 70)]
    result = run(apps, revs)
    data = explanation_data(result, "A05")
    assert (len(data["ranking"]["tied_with"]), data["ranking"]["tied_count"]) == (20, 22)
    assert "A05" not in data["ranking"]["tied_with"]
    assert "and 2 more" in explain(result, "A05")
    assert "first place: no application above it" in explain(result, "A00")


def test_explanation_says_why_a_constant_reviewer_is_not_normalised():
    revs = (
        reviews("X", 70)
        + reviews("Y", 70)
        + reviews("Z", 70)
        + reviews("X", 60, first=2)
        + reviews("Y", 80, first=2)
        + reviews("Z", 100, first=2)
    )
    text = explain(run([app("X"), app("Y"), app("Z")], revs, normalization="zscore"), "X")
    assert "not normalised (reviewer's scores are all equal (sigma_v = 0); n_v = 3" in text


def test_explanation_of_ineligible_and_no_review():
    result = run([app("A", eligible=False, ineligible_reason="late")], [])
    text = explain(result, "A")
    assert "ineligible: late; not ranked" in text
    assert "no counted review" in text


# --------------------------------------------------------------------------- policy


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"aggregation": "avg"}, r"aggregation must be one of mean, median \(got 'avg'\)"),
        ({"normalization": "minmax"}, "normalization must be one of none, zscore"),
        ({"fund_down": "greedy"}, "fund_down must be one of strict, skip"),
        ({"min_reviews": 0}, "min_reviews must be an integer >= 1"),
        ({"min_reviews": 1.5}, "min_reviews must be an integer >= 1"),
        ({"min_reviews": True}, "min_reviews must be an integer >= 1"),
        ({"discrepancy_threshold": D(-1)}, "discrepancy_threshold must be >= 0"),
        ({"min_score": "x"}, "min_score: 'x' is not a number"),
        ({"min_score": D("70.0000001")}, "min_score: at most 6 decimal places"),
        ({"tie_breakers": ("sections:plan",)}, r"tie_breakers\[0\]: 'sections:plan' is not one"),
        ({"tie_breakers": ("section:",)}, "needs a section key"),
        ({"tie_breakers": ("priority_points", "priority_points")}, "listed twice"),
        ({"tie_breakers": (5,)}, "is not a string"),
        ({"tie_breakers": "priority_points"}, "tie_breakers must be a list"),
        ({"total_funds": D(-1)}, "total_funds: -1 is negative"),
        ({"total_funds": D("1.005")}, "total_funds: 1.005 is not a whole number of cents"),
        ({"total_funds": None}, "total_funds is required"),
        ({"total_funds": "lots"}, "total_funds: 'lots' is not a number"),
        ({"min_award": D(0)}, "min_award must be at least 0.01"),
        ({"max_award": D(0)}, "max_award must be at least 0.01"),
        ({"partial_min": D(0)}, "partial_min must be at least 0.01"),
        ({"min_award": D(200), "max_award": D(100)}, "min_award is above max_award"),
        ({"partial_funding": "yes"}, "partial_funding must be true or false"),
        ({"district_max_awards": -1}, "district_max_awards must be an integer >= 0"),
        ({"district_max_awards": 1.5}, "district_max_awards must be an integer >= 0"),
        ({"district_max_amount": D(-5)}, "district_max_amount: -5 is negative"),
    ],
)
def test_policy_validate_errors(knobs, message):
    knobs = {"total_funds": D(100), **knobs}
    with pytest.raises(PolicyError, match=message):
        Policy(**knobs).validate()


def test_policy_tie_breaker_section_must_exist_in_the_rubric():
    policy = Policy(total_funds=D(1), tie_breakers=("section:nope",))
    policy.validate()  # fine without a rubric
    with pytest.raises(PolicyError, match="unknown section 'nope'"):
        policy.validate(TWO)
    with pytest.raises(PolicyError, match="unknown section 'nope'"):
        rank(TWO, policy, [], [], {})


def test_policy_defaults():
    p = Policy(total_funds=D(1))
    assert (
        p.aggregation,
        p.normalization,
        p.min_reviews,
        p.discrepancy_threshold,
        p.min_score,
        p.tie_breakers,
        p.min_award,
        p.max_award,
        p.fund_down,
        p.partial_funding,
        p.partial_min,
        p.district_max_awards,
        p.district_max_amount,
    ) == ("mean", "none", 2, D(15), D(0), (), None, None, "strict", False, None, None, None)


@pytest.mark.parametrize(
    ("min_award", "partial_min", "effective"),
    [(None, None, D("0.01")), (D(50), None, D(50)), (D(50), D(10), D(10)), (None, D(10), D(10))],
)
def test_effective_partial_min(min_award, partial_min, effective):
    p = Policy(total_funds=D(1), min_award=min_award, partial_min=partial_min)
    assert p.effective_partial_min == effective


def test_policy_dict_is_canonical_and_round_trips():
    p = Policy(
        total_funds=D("6000000"),
        min_award=D("50000"),
        discrepancy_threshold=D("15.0"),
        min_score=D("70.5"),
        tie_breakers=["section:plan", "priority_points"],
        partial_funding=True,
        district_max_awards=3,
        district_max_amount=2500000,
    )
    assert p.to_dict() == {
        "aggregation": "mean",
        "normalization": "none",
        "min_reviews": 2,
        "discrepancy_threshold": 15,
        "min_score": 70.5,
        "tie_breakers": ["section:plan", "priority_points"],
        "total_funds": "6000000.00",
        "min_award": "50000.00",
        "max_award": None,
        "fund_down": "strict",
        "partial_funding": True,
        "partial_min": None,
        "district_max_awards": 3,
        "district_max_amount": "2500000.00",
    }
    assert Policy.from_dict(p.to_dict()) == p
    assert Policy.from_dict({"total_funds": 6000000.5, "min_award": "1"}).total_funds == D(
        "6000000.5"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"total_funds": "1", "colour": "red"}, "unknown policy key 'colour'"),
        ({"aggregation": "mean"}, "total_funds is required"),
        ({"total_funds": "abc"}, "total_funds: 'abc' is not a number"),
        ({"total_funds": "1", "tie_breakers": "ref"}, "tie_breakers must be a list"),
        ({"total_funds": "1", "min_reviews": 0}, "min_reviews"),
    ],
)
def test_policy_from_dict_errors(data, message):
    with pytest.raises(PolicyError, match=message):
        Policy.from_dict(data)


# --------------------------------------------------------------------------- inputs


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="duplicate application ref 'A'"):
        run([app("A"), app("B"), app("A")], [])
    with pytest.raises(ValueError, match="duplicate review of 'A' by 'r1'"):
        run([app("A")], reviews("A", 50) + reviews("A", 60))
    with pytest.raises(ValueError, match="unknown application 'Z'"):
        run([app("A")], reviews("Z", 50))
    with pytest.raises(RubricError, match="review of 'A' by 'r1': missing points"):
        run([app("A")], [ReviewInput("A", "r1", {})])
    with pytest.raises(ValueError, match="mix timezone-aware and naive"):
        run([app("A", submitted_at=T1), app("B", submitted_at=datetime(2016, 1, 1))], [])
    with pytest.raises(ValueError, match="application 'A': tier must be an integer"):
        run([app("A", tier="1")], [])
    with pytest.raises(ValueError, match="application 'A': eligible must be true or false"):
        run([app("A", eligible="yes")], [])
    with pytest.raises(ValueError, match="application 'A': school must be a string"):
        run([app("A", school=15)], [])
    with pytest.raises(ValueError, match="ref '' must be a non-empty string"):
        run([app("")], [])
    with pytest.raises(ValueError, match="reviewers must be non-empty strings"):
        run([app("A")], [ReviewInput("A", "", {"main.c": D(1)})])


def test_rank_columns_checks_shapes():
    apps = [app("A"), app("B")]
    good = dict(
        review_app=np.array([0, 1]), review_reviewer=["r1", "r1"], points=np.array([[50.0], [60.0]])
    )

    def call(**kw):
        args = {**good, **kw}
        return rank_columns(
            ONE,
            Policy(total_funds=D(1)),
            apps,
            args["review_app"],
            args["review_reviewer"],
            args["points"],
            {},
        )

    assert [a.status for a in call().applications] == ["incomplete", "incomplete"]
    for kw, message in [
        ({"points": np.array([[50.0, 1.0], [60.0, 1.0]])}, "points must have shape"),
        ({"points": np.array([50.0, 60.0])}, "points must have shape"),
        ({"review_app": np.array([0, 2])}, "outside the applications"),
        ({"review_app": np.array([0, -1])}, "outside the applications"),
        ({"review_app": np.array([[0, 1]])}, "1-d array"),
        ({"review_app": np.array([0.0, 1.0])}, "1-d array"),
        ({"review_reviewer": ["r1"]}, "1 entries for 2 reviews"),
        ({"points": np.array([[50.0], [np.nan]])}, "finite"),
    ]:
        with pytest.raises(ValueError, match=message):
            call(**kw)


def test_rank_columns_beside_gives_the_other_policys_inputs_hash():
    """The what-if ranks with one policy and hashes the data under the run's policy from one
    preparation: the result is ``rank_columns``' and the hash the one ``rank_columns`` with
    the other policy gives (applications given out of ref order)."""
    apps = [app("B", "250"), app("A"), app("C", "50")]
    args = (
        np.array([0, 0, 1, 2]),
        ["r1", "r2", "r1", "r2"],
        np.array([[50.0], [70.0], [90.0], [60.0]]),
        {},
    )
    tried = Policy(total_funds=D(300), min_score=D(60))
    for other in (
        Policy(total_funds=D(300)),
        Policy(total_funds=D(99), tie_breakers=("requested_amount",)),
    ):
        result, other_sha = rank_columns_beside(ONE, tried, other, apps, *args)
        assert other_sha == rank_columns(ONE, other, apps, *args).inputs_sha256
        alone = rank_columns(ONE, tried, apps, *args)
        assert result.inputs_sha256 == alone.inputs_sha256 != other_sha
        assert dumps_document(result_document(result, "c", 1)) == dumps_document(
            result_document(alone, "c", 1)
        )
    changed = (args[0], args[1], np.array([[50.0], [70.5], [90.0], [60.0]]), {})
    assert rank_columns_beside(ONE, tried, other, apps, *changed)[1] != other_sha
    with pytest.raises(ValueError, match="outside the applications"):
        rank_columns_beside(ONE, tried, other, apps, np.array([0, 3, 1, 2]), *args[1:])


def test_rank_and_rank_columns_agree():
    apps = [app("B"), app("A")]
    revs = reviews("A", 50, 70) + reviews("B", 90, 80)
    via_rank = dumps_document(result_document(run(apps, revs), "c", 1))
    via_columns = rank_columns(
        ONE,
        Policy(total_funds=D(1_000_000)),
        apps,
        np.array([1, 1, 0, 0]),
        ["r1", "r2", "r1", "r2"],
        np.array([[50.0], [70.0], [90.0], [80.0]]),
        {},
    )
    assert dumps_document(result_document(via_columns, "c", 1)) == via_rank


def test_ranking_uses_the_same_review_score_as_review_score():
    points = {"need.data": D(3), "plan.a": D("7.5"), "plan.b": D(4)}
    result = run([app("A")], [ReviewInput("A", "r1", points)], rubric=W, min_reviews=1)
    assert by_ref(result)["A"].review_details[0].raw == review_score(W, points)


def test_result_views():
    result = explained()
    apps = result.applications
    assert len(apps) == 2
    assert apps[0].ref == "Y" and apps[-1].ref == "X"
    assert [a.ref for a in apps[0:2]] == ["Y", "X"]
    assert list(apps) == [result.application("Y"), result.application("X")]
    assert "2 application results" in repr(apps)
    with pytest.raises(KeyError):
        result.application("nope")
    with pytest.raises(IndexError):
        apps[2]
    x = result.application("X")
    assert x == apps[1] and hash(x) == hash(apps[1]) and x != apps[0]
    assert "ref='X'" in repr(x)
    assert (x.school, x.district, x.tier, x.reviews, x.rank) == ("S-X", "D1", 1, 2, 2)
    assert x.review_scores == pytest.approx((100 * 25 / 35, 100 * 26.5 / 35))
    assert x.base == pytest.approx(100 * 25.75 / 35)
    assert x.final == pytest.approx(100 * 25.75 / 35 + 5)
    assert x.sections == pytest.approx({"need": 62.5, "plan": 100 * 13.25 / 15})
    assert (x.status, x.award, x.reason, x.funding_position) == ("funded", D("300.00"), None, 2)
    detail = x.review_details[0]
    assert (detail.reviewer, detail.section_points) == ("r1", {"need": 3.0, "plan": 11.5})
    assert (result.total_funds, result.total_awarded, result.remaining) == (
        D("1000.00"),
        D("600.00"),
        D("400.00"),
    )


def test_inputs_sha256_covers_every_input_and_not_the_order():
    apps = [app("A", priorities=("p",)), app("B")]
    revs = reviews("A", 50, 70) + reviews("B", 90, 80)
    base = run(apps, revs, priorities={"p": D(1)}).inputs_sha256
    assert run(apps[::-1], revs[::-1], priorities={"p": D(1)}).inputs_sha256 == base
    changed = [
        run(apps, revs, priorities={"p": D(2)}),
        run(apps, revs, priorities={"p": D(1)}, min_score=D(1)),
        run([app("A", priorities=("p",)), app("B", school="other")], revs, priorities={"p": D(1)}),
        run(apps, reviews("A", 50, 71) + reviews("B", 90, 80), priorities={"p": D(1)}),
        run(apps, reviews("A", 50, 70) + reviews("B", 90, 80, first=2), priorities={"p": D(1)}),
        run(apps, revs, priorities={"p": D(1), "q": D(0)}),
    ]
    titled = Rubric((Section("main", (Criterion("main.c", D(100), D("0.0000000001"), "title"),)),))
    changed.append(run(apps, revs, rubric=titled, priorities={"p": D(1)}))
    hashes = {r.inputs_sha256 for r in changed}
    assert base not in hashes and len(hashes) == len(changed)


def test_empty_competition_and_no_reviews():
    result = run([], [], total_funds=D(10))
    doc = result_document(result, "c", None)
    assert (doc["applications"], doc["remaining"], doc["total_awarded"]) == ([], "10.00", "0.00")
    assert (result.mu, result.sigma) == (None, None)
    result = run([app("A"), app("B")], [])
    assert [a.status for a in result.applications] == ["incomplete", "incomplete"]
    assert [a.base for a in result.applications] == [None, None]


def test_zero_award_does_not_use_a_district_place():
    """§6 updates the district's count only "when award > 0": two requests of 0.00 in one
    district are both funded under district_max_awards = 1, and a third, real request is too."""
    from decimal import Decimal as Dec

    from scoring.core.ranking import ApplicationInput, Policy, ReviewInput, rank
    from scoring.core.rubric import Criterion, Rubric, Section

    rubric = Rubric((Section("s", (Criterion("s.a", Dec(10)),)),))
    apps = [
        ApplicationInput("A", "1", "015", Dec("0.00")),
        ApplicationInput("B", "2", "015", Dec("0.00")),
        ApplicationInput("C", "3", "015", Dec("10.00")),
        ApplicationInput("D", "4", "015", Dec("10.00")),
    ]
    reviews = [
        ReviewInput(a.ref, r, {"s.a": Dec(10 - i)}) for i, a in enumerate(apps) for r in ("x", "y")
    ]
    result = rank(
        rubric, Policy(total_funds=Dec("100.00"), district_max_awards=1), apps, reviews, {}
    )
    got = {a.ref: (a.status, str(a.award), a.reason) for a in result.applications}
    assert got == {
        "A": ("funded", "0.00", None),
        "B": ("funded", "0.00", None),
        "C": ("funded", "10.00", None),
        "D": ("waitlisted", "0.00", "district_cap"),
    }

"""Rank stability (docs/stability.md): hand-checkable cases, reproducibility, properties.

Most cases use ``ONE`` (a single 100-point criterion, so a review's score is its points) and
requests of 100 with total funds a multiple of 100, so "funded" is "among the first k".
"""

from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.core.ranking import ApplicationInput, Policy, ReviewInput, rank
from scoring.core.ranking import stability as stability_module
from scoring.core.ranking.stability import (
    TOSS_UP,
    draws,
    one_more_review,
    resamples_of,
    seed_from_sha,
    stability,
)
from scoring.core.rubric import Criterion, Rubric, Section

ONE = Rubric((Section("main", (Criterion("main.c", D(100), D("0.0000000001")),)),))
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def app(ref, requested="100", **kw):
    kw.setdefault("school", f"S-{ref}")
    kw.setdefault("district", "D1")
    return ApplicationInput(ref=ref, requested_amount=D(requested), **kw)


def reviews(ref, *scores, reviewers=None):
    names = reviewers or [f"r{i + 1}" for i in range(len(scores))]
    return [ReviewInput(ref, n, {"main.c": D(str(s))}) for n, s in zip(names, scores, strict=True)]


def run(apps, revs, **policy):
    policy.setdefault("total_funds", D(100))
    return rank(ONE, Policy(**policy), apps, revs, {})


def figures(result, resamples=400, seed=None):
    return stability(result, resamples, seed).records()


def test_far_above_is_always_funded_and_far_below_never():
    apps = [app("A"), app("B"), app("C")]
    revs = reviews("A", 95, 90, 99) + reviews("B", 55, 70, 60) + reviews("C", 10, 5, 20)
    f = figures(run(apps, revs, total_funds=D(100)))
    assert f["A"]["p_funded"] == 1.0 and f["A"]["crosses_line"] == 0
    assert f["A"]["rank_interval"] == [1, 1]
    assert f["B"]["p_funded"] == 0.0 and f["C"]["p_funded"] == 0.0
    assert f["C"]["rank_interval"] == [3, 3]
    assert not any(r["toss_up"] for r in f.values())


def test_close_to_the_line_is_a_toss_up_with_a_wide_interval():
    # A and B overlap: A = {60, 70, 80} (mean 70), B = {65, 72, 71} (mean 69.33); one slot.
    apps = [app("A"), app("B"), app("C")]
    revs = reviews("A", 60, 70, 80) + reviews("B", 65, 72, 71) + reviews("C", 10, 10, 12)
    result = run(apps, revs)
    assert result.application("A").status == "funded"
    f = figures(result, 1000)
    assert TOSS_UP[0] <= f["A"]["p_funded"] <= TOSS_UP[1] and f["A"]["toss_up"]
    # exactly one of A and B is funded in every resample
    assert f["A"]["funded_in"] + f["B"]["funded_in"] == 1000
    assert f["A"]["crosses_line"] == 1000 - f["A"]["funded_in"]
    assert f["B"]["crosses_line"] == f["B"]["funded_in"]
    assert f["A"]["rank_interval"] == [1, 2] and f["B"]["rank_interval"] == [1, 2]


def test_equal_reviews_move_only_with_their_neighbours():
    # M's three reviews are equal: its score is 50 in every resample. Its rank is 1 + the
    # number of applications above 50, so its interval comes from the neighbours alone.
    apps = [app("L"), app("M"), app("N")]
    revs = reviews("L", 90, 91, 92) + reviews("M", 50, 50, 50) + reviews("N", 20, 60, 70)
    result = run(apps, revs, total_funds=D(200))
    s = stability(result, 500)
    i = s.refs.index("M")
    n = s.refs.index("N")
    c = result._c
    for r in resamples_of(c, 50, s.seed):
        assert r.final6[i] == 50_000_000
        assert r.rank[i] == 2 + int(r.final6[n] > r.final6[i])  # L is always above
    rec = s.record(i)
    assert rec["rank_interval"] == [2, 3]
    # everyone constant: every interval is a point and every decision holds
    flat = reviews("L", 90, 90, 90) + reviews("M", 50, 50, 50) + reviews("N", 40, 40, 40)
    f = figures(run(apps, flat, total_funds=D(200)))
    assert [f[k]["rank_interval"] for k in "LMN"] == [[1, 1], [2, 2], [3, 3]]
    assert [f[k]["p_funded"] for k in "LMN"] == [1.0, 1.0, 0.0]
    assert all(r["crosses_line"] == 0 for r in f.values())


def test_swapping_two_applications_reviews_swaps_their_figures():
    apps = [app("A"), app("B"), app("C"), app("D")]
    # scores whose resampled means never tie, so the ref tie-break never decides
    a, b, c = ("60.1", "75.02", "81.004"), ("55.3", "79.05", "70.007"), ("68.6", "73.09", "66.001")
    rest = reviews("C", *c) + reviews("D", 5, 9, 7)
    revs = reviews("A", *a) + reviews("B", *b) + rest
    swapped = reviews("A", *b) + reviews("B", *a) + rest
    seed = 12345  # the default seed follows the inputs hash, which the swap changes
    f1 = figures(run(apps, revs, total_funds=D(200)), 600, seed)
    f2 = figures(run(apps, swapped, total_funds=D(200)), 600, seed)
    assert f1["A"] == f2["B"] and f1["B"] == f2["A"]
    assert f1["C"] == f2["C"] and f1["D"] == f2["D"]


def test_permuted_input_gives_the_same_numbers():
    apps = [app(f"A{i}", requested=str(100 + 10 * i)) for i in range(6)]
    revs = []
    rng = np.random.default_rng(4)
    for a in apps:
        revs += reviews(a.ref, *rng.integers(30, 90, 3).tolist(), reviewers=["x", "y", "z"])
    r1 = run(apps, revs, total_funds=D(400), fund_down="skip")
    r2 = run(apps[::-1], revs[::-1], total_funds=D(400), fund_down="skip")
    assert r1.inputs_sha256 == r2.inputs_sha256
    assert figures(r1) == figures(r2)


def test_same_seed_same_numbers_and_the_seed_follows_the_inputs():
    apps = [app("A"), app("B"), app("C")]
    revs = reviews("A", 60, 70, 80) + reviews("B", 65, 72, 71) + reviews("C", 40, 75, 50)
    result = run(apps, revs)
    s1, s2 = stability(result, 300), stability(result, 300)
    assert s1.seed == s2.seed == seed_from_sha(result.inputs_sha256)
    assert s1.records() == s2.records()
    other = stability(result, 300, seed=s1.seed + 1)
    assert other.records() != s1.records()  # the draws do matter


def test_blocks_of_resamples_do_not_change_the_numbers(monkeypatch):
    apps = [app(f"A{i}") for i in range(8)]
    rng = np.random.default_rng(9)
    revs = [r for a in apps for r in reviews(a.ref, *rng.integers(20, 95, 3).tolist())]
    result = run(apps, revs, total_funds=D(300))
    whole = stability(result, 97).records()
    monkeypatch.setattr(stability_module, "_BLOCK_VALUES", 50)  # two resamples at a time
    assert stability(result, 97).records() == whole


def test_each_resample_is_the_run_of_its_resampled_reviews():
    """Resample 1 reproduced by hand: draw the reviews, rank them with ``rank``, compare."""
    apps = [app(f"A{i}", requested=str(100 * (1 + i % 3)), tier=1 + i % 2) for i in range(7)]
    rng = np.random.default_rng(11)
    revs = [r for a in apps for r in reviews(a.ref, *rng.integers(20, 95, 1 + int(a.ref[1]) % 3))]
    policy = dict(total_funds=D(500), fund_down="skip", partial_funding=True, aggregation="median")
    result = run(apps, revs, **policy)
    c, seed = result._c, 77
    pick = draws(c, 0, 1, seed)[0]
    assert all(c.rev_app[p] == c.rev_app[j] for j, p in enumerate(pick.tolist()))
    drawn = [
        ReviewInput(c.refs[c.rev_app[j]], f"d{j}", {"main.c": D(repr(float(c.raw[p])))})
        for j, p in enumerate(pick.tolist())
    ]
    again = run(apps, drawn, **policy)
    r = next(resamples_of(c, 1, seed))
    for i, ref in enumerate(c.refs):
        a = again.application(ref)
        assert (a.rank or 0) == int(r.rank[i]), ref
        assert (
            a.status
            == (
                "funded",
                "partially_funded",
                "waitlisted",
                "below_threshold",
                "incomplete",
                "ineligible",
            )[int(r.status[i])]
        ), ref


def test_zscore_resamples_the_normalised_scores_with_the_runs_reviewer_statistics():
    # Reviewers x and y each score all four applications (n_v = 4 >= 3), so both are rescaled.
    apps = [app(k) for k in "ABCD"]
    revs = []
    for ref, sx, sy in (("A", 90, 60), ("B", 70, 50), ("C", 50, 45), ("D", 30, 20)):
        revs += reviews(ref, sx, sy, reviewers=["x", "y"])
    result = run(apps, revs, normalization="zscore", total_funds=D(200))
    c = result._c
    assert c.applied_v.all()
    for r in resamples_of(c, 60, 5):
        for i in range(len(c.refs)):
            block = c.norm[c.starts[i] : c.starts[i] + 2]  # the run's S' (fixed μ_v, σ_v)
            means = {(block[0] * 2) / 2, (block[1] * 2) / 2, (block[0] + block[1]) / 2}
            assert min(abs(r.base[i] - m) for m in means) < 1e-9


def test_not_ranked_applications_have_no_interval_and_are_never_funded():
    apps = [app("A"), app("B", eligible=False, ineligible_reason="late"), app("C")]
    revs = reviews("A", 80, 90) + reviews("B", 99, 99) + reviews("C", 70)
    f = figures(run(apps, revs, total_funds=D(300)))
    assert f["B"]["rank_interval"] is None and f["B"]["funded_in"] == 0
    assert f["C"]["rank_interval"] is None and not f["C"]["toss_up"]  # incomplete (1 < 2)
    assert f["A"]["p_funded"] == 1.0


def test_no_resamples_and_a_negative_count():
    result = run([app("A")], reviews("A", 50, 60))
    assert stability(result, 0).records()["A"]["funded_in"] == 0
    with pytest.raises(ValueError):
        stability(result, -1)


@st.composite
def competitions(draw):
    n = draw(st.integers(1, 7))
    apps, revs = [], []
    for i in range(n):
        ref = f"A{i}"
        apps.append(
            app(
                ref,
                requested=str(draw(st.sampled_from([50, 100, 150]))),
                tier=draw(st.integers(1, 2)),
                district=draw(st.sampled_from(["D1", "D2"])),
            )
        )
        scores = draw(st.lists(st.integers(0, 100), min_size=0, max_size=4))
        revs += reviews(ref, *scores)
    policy = dict(
        total_funds=D(draw(st.sampled_from([0, 100, 250, 400]))),
        aggregation=draw(st.sampled_from(["mean", "median"])),
        normalization=draw(st.sampled_from(["none", "zscore"])),
        fund_down=draw(st.sampled_from(["strict", "skip"])),
        partial_funding=draw(st.booleans()),
        min_score=D(draw(st.sampled_from([0, 40]))),
        district_max_awards=draw(st.sampled_from([None, 1])),
        min_reviews=draw(st.integers(1, 2)),
    )
    return apps, revs, policy


@SETTINGS
@given(competitions(), st.integers(0, 60))
def test_properties(comp, resamples):
    apps, revs, policy = comp
    result = run(apps, revs, **policy)
    s = stability(result, resamples)
    n_ranked = int(s.ranked.sum())
    for i, ref in enumerate(s.refs):
        rec = s.record(i)
        a = result.application(ref)
        assert 0 <= rec["funded_in"] <= resamples
        assert rec["crosses_line"] == (
            resamples - rec["funded_in"]
            if a.status in ("funded", "partially_funded")
            else rec["funded_in"]
        )
        if a.rank is None:
            assert rec["rank_interval"] is None and rec["funded_in"] == 0
        elif resamples:
            lo, hi = rec["rank_interval"]
            assert 1 <= lo <= hi <= n_ranked
    # every resample awards no more than the funds, like the run itself
    for r in resamples_of(result._c, min(resamples, 5), s.seed):
        assert int((r.rem_before - r.rem_after).sum()) <= int(policy["total_funds"] * 100)
    assert stability(run(apps[::-1], revs[::-1], **policy), resamples).records() == s.records()


def test_one_more_review_by_hand():
    # mean of (60, 70, 80) = 70; a fourth review x gives (210 + x) / 4: 52.5 .. 77.5.
    # Reaching a line of 75 needs 210 + x >= 300, x >= 90.
    got = one_more_review([60, 70, 80], "mean", 0, 75.0)
    assert got == {"reviews": 3, "lowest": 52.5, "highest": 77.5, "line": 75.0, "needed": 90}
    # with 5 priority points the same line needs (210 + x) / 4 >= 70: x >= 70
    assert one_more_review([60, 70, 80], "mean", 5, 75.0)["needed"] == 70
    # median of (60, 70, 80, x) is (70 + min(max(x, 60), 80)) / 2: 65 .. 75
    med = one_more_review([60, 70, 80], "median", 0, 72.0)
    assert (med["lowest"], med["highest"], med["needed"]) == (65.0, 75.0, 74)
    # out of reach either way: no score is named
    assert one_more_review([10, 10, 10], "mean", 0, 75.0)["needed"] is None
    assert one_more_review([95, 95, 95], "mean", 0, 50.0)["needed"] is None


def test_the_worked_example_of_docs_stability_md():
    apps = [app("A"), app("B"), app("C")]
    revs = reviews("A", 60, 70, 80) + reviews("B", 65, 72, 71) + reviews("C", 10, 10, 12)
    result = run(apps, revs)
    assert result.inputs_sha256.startswith("ef075220")
    f = figures(result, 1000)
    assert (f["A"]["p_funded"], f["B"]["p_funded"], f["C"]["p_funded"]) == (0.543, 0.457, 0.0)
    assert f["A"]["crosses_line"] == f["B"]["crosses_line"] == 457
    assert [f[k]["rank_interval"] for k in "ABC"] == [[1, 2], [1, 2], [3, 3]]
    # the exact bootstrap probability by enumeration: 409 of 729 pairs of equally likely draws
    from itertools import product

    pairs = [
        (sum(a), sum(b))
        for a in product((60, 70, 80), repeat=3)
        for b in product((65, 72, 71), repeat=3)
    ]
    assert sum(a > b for a, b in pairs) == 409 and len(pairs) == 729
    assert abs(409 / 729 - 0.543) < 3 * (0.25 / 1000) ** 0.5
    more = one_more_review([65, 72, 71], "mean", 0, 70.0)
    assert (more["lowest"], more["highest"], more["needed"]) == (52.0, 77.0, 72)

"""The batched ordering and fund-down of the stability bootstrap (core/ranking/stability_batch.py)
give, resample by resample, the same ranks and decisions as the engine's own ``order_ranked`` and
``fund_down`` (``resamples_of``), for random competitions over every policy knob; and the figures
equal those computed from ``resamples_of`` (the implementation before the batch path)."""

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.core.ranking import ApplicationInput, Policy, ReviewInput, rank
from scoring.core.ranking import stability as stability_module
from scoring.core.ranking.columns import FUNDED, PARTIAL
from scoring.core.ranking.stability import INTERVAL, resamples_of, stability
from scoring.core.ranking.stability_batch import BatchPlan
from scoring.core.rubric import Criterion, Rubric, Section

RUBRIC = Rubric(
    (
        Section("a", (Criterion("a.x", D(10), D(1)), Criterion("a.y", D(10), D("0.5"))), D(30)),
        Section("b", (Criterion("b.x", D(20), D(1)),), D(70)),
    )
)
TIE_BREAKERS = ["section:a", "section:b", "priority_points", "requested_amount", "submitted_at"]
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def competitions(draw):
    n = draw(st.integers(1, 12))
    apps, revs = [], []
    step = st.integers(0, 20).map(lambda x: D(x) / 2)
    for i in range(n):
        ref = f"A{i:02d}"
        apps.append(
            ApplicationInput(
                ref=ref,
                school=f"S{i}",
                district=draw(st.sampled_from(["D1", "D2", "D3"])),
                requested_amount=D(draw(st.sampled_from([0, 50, 100, 150, 175]))),
                tier=draw(st.integers(1, 3)),
                priorities=tuple(draw(st.sets(st.sampled_from(["p1", "p2"])))),
                eligible=draw(st.integers(0, 9)) > 0,
                submitted_at=datetime(2016, 4, 1 + draw(st.integers(0, 3)), tzinfo=UTC),
            )
        )
        for k in range(draw(st.integers(0, 4))):
            points = {
                "a.x": D(draw(st.integers(0, 10))),
                "a.y": draw(step),
                "b.x": D(draw(st.integers(0, 20))),
            }
            revs.append(ReviewInput(ref, f"r{draw(st.integers(0, 5))}-{k}", points))
    money = st.sampled_from([None, 0, 40, 100, 125, 300])
    policy = Policy(
        total_funds=D(draw(st.sampled_from([0, 100, 250, 400, 1000]))),
        aggregation=draw(st.sampled_from(["mean", "median"])),
        normalization=draw(st.sampled_from(["none", "zscore"])),
        fund_down=draw(st.sampled_from(["strict", "skip"])),
        partial_funding=draw(st.booleans()),
        partial_min=(lambda v: None if not v else D(v) / 2)(draw(money)),
        max_award=(lambda v: None if not v else D(v))(draw(money)),
        min_score=D(draw(st.sampled_from([0, 40, 60]))),
        district_max_awards=draw(st.sampled_from([None, 1, 2])),
        district_max_amount=(lambda v: None if v is None else D(v))(draw(money)),
        min_reviews=draw(st.integers(1, 2)),
        tie_breakers=tuple(draw(st.lists(st.sampled_from(TIE_BREAKERS), unique=True))),
    )
    priorities = {"p1": D(draw(st.sampled_from([0, 2, 5]))), "p2": D(3)}
    return apps, revs, policy, priorities


def reference(c, resamples: int, seed: int):
    """The figures as the implementation before the batch path computed them."""
    n = len(c.refs)
    funded = np.zeros(n, dtype=np.int64)
    ranks = np.zeros((resamples, n), dtype=np.int32)
    for row, r in enumerate(resamples_of(c, resamples, seed)):
        funded += np.isin(r.status, (FUNDED, PARTIAL))
        ranks[row] = r.rank
    ranked = c.rank > 0
    if resamples:
        lo, hi = np.quantile(ranks, INTERVAL, axis=0, method="inverted_cdf").astype(np.int64)
    else:
        lo = hi = np.zeros(n, dtype=np.int64)
    return funded, np.where(ranked, lo, 0), np.where(ranked, hi, 0)


@SETTINGS
@given(competitions(), st.integers(0, 40), st.integers(0, 2**64 - 1))
def test_batch_equals_the_engine_resample_by_resample(comp, resamples, seed):
    apps, revs, policy, priorities = comp
    result = rank(RUBRIC, policy, apps, revs, priorities)
    c = result._c
    plan = BatchPlan(c)
    one = list(resamples_of(c, resamples, seed))
    row = 0
    for final6, keys in stability_module._batches(c, resamples, seed, plan):
        ranks, got = plan.run(final6, keys)
        for j in range(len(final6)):
            r = one[row + j]
            assert np.array_equal(final6[j], r.final6)
            assert np.array_equal(ranks[j], r.rank), (row + j, policy)
            assert np.array_equal(got[j], np.isin(r.status, (FUNDED, PARTIAL))), (row + j, policy)
        row += len(final6)
    assert row == resamples
    s = stability(result, resamples, seed)
    funded, lo, hi = reference(c, resamples, seed)
    assert np.array_equal(s.funded, funded)
    assert np.array_equal(s.rank_lo, lo) and np.array_equal(s.rank_hi, hi)


@SETTINGS
@given(competitions(), st.integers(1, 30))
def test_batch_size_does_not_change_the_figures(comp, resamples):
    apps, revs, policy, priorities = comp
    result = rank(RUBRIC, policy, apps, revs, priorities)
    whole = stability(result, resamples).records()
    old = stability_module._BATCH_VALUES, stability_module._BLOCK_VALUES
    try:
        stability_module._BATCH_VALUES = 1  # one resample per batch
        stability_module._BLOCK_VALUES = 1
        assert stability(result, resamples).records() == whole
    finally:
        stability_module._BATCH_VALUES, stability_module._BLOCK_VALUES = old


def _same_as_engine(apps, revs, policy, resamples=60, seed=7):
    result = rank(RUBRIC, policy, apps, revs, {})
    c = result._c
    plan = BatchPlan(c)
    one = list(resamples_of(c, resamples, seed))
    final6, keys = next(stability_module._batches(c, resamples, seed, plan))
    ranks, got = plan.run(final6, keys)
    for j, r in enumerate(one):
        assert np.array_equal(ranks[j], r.rank)
        assert np.array_equal(got[j], np.isin(r.status, (FUNDED, PARTIAL)))
    return got


def test_a_district_amount_cap_does_not_stop_a_strict_fund_down():
    """A (D1) is funded; B (D1) meets the district's amount cap (waitlisted, district), which
    does not stop a strict fund-down, so C (D2) is funded in every resample."""
    apps = [
        ApplicationInput(ref=r, school=r, district=d, requested_amount=D(100))
        for r, d in (("A", "D1"), ("B", "D1"), ("C", "D2"))
    ]
    revs = []
    for ref, pts in (("A", (10, 10, 20)), ("B", (9, 9, 18)), ("C", (5, 5, 10))):
        for k in range(2):
            revs.append(
                ReviewInput(
                    ref, f"r{k}", dict(zip(("a.x", "a.y", "b.x"), map(D, pts), strict=True))
                )
            )
    policy = Policy(total_funds=D(300), district_max_amount=D(150), min_reviews=1)
    got = _same_as_engine(apps, revs, policy)
    assert got[:, 0].all() and not got[:, 1].any() and got[:, 2].all()


def test_partial_award_then_a_zero_request_and_the_district_count():
    """Skip fund-down with partial awards: the partial award empties the funds, a later
    request of 0 is still funded (status funded, no money), and a district's count cap only
    counts awards of money."""
    apps = [
        ApplicationInput(ref=r, school=r, district=d, requested_amount=D(a))
        for r, d, a in (("A", "D1", 150), ("B", "D1", 0), ("C", "D1", 100), ("D", "D2", 50))
    ]
    revs = []
    for ref, pts in (("A", (10, 10, 20)), ("B", (9, 9, 18)), ("C", (8, 8, 16)), ("D", (1, 1, 2))):
        for k in range(2):
            revs.append(
                ReviewInput(
                    ref, f"r{k}", dict(zip(("a.x", "a.y", "b.x"), map(D, pts), strict=True))
                )
            )
    policy = Policy(
        total_funds=D(200),
        fund_down="skip",
        partial_funding=True,
        district_max_awards=2,
        min_reviews=1,
    )
    got = _same_as_engine(apps, revs, policy)
    assert got[:, 0].all() and got[:, 1].all() and got[:, 2].all() and not got[:, 3].any()

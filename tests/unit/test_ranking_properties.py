"""Invariants of the ranking over generated competitions (hypothesis).

The runs are derandomized (a fixed sequence of examples, no example database) so the suite is
reproducible and CI cannot flake; ``max_examples`` keeps the file to a few seconds.
"""

from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal as D
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scoring.core.ranking import (
    ApplicationInput,
    Policy,
    ReviewInput,
    dumps_document,
    rank,
    result_document,
)
from scoring.core.rubric import Criterion, Rubric, Section

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DATES = [
    None,
    datetime(2016, 4, 14, tzinfo=UTC),
    datetime(2016, 4, 15, tzinfo=UTC),
    datetime(2016, 4, 14, 12, tzinfo=UTC),
]
REVIEWERS = ["r1", "r2", "r3", "r4", "r5"]


def cents(n: int) -> D:
    return D(n).scaleb(-2)


@st.composite
def rubrics(draw):
    sections = []
    for s in range(draw(st.integers(1, 3))):
        criteria = tuple(
            Criterion(
                f"s{s}.c{c}", D(draw(st.integers(1, 6))), draw(st.sampled_from([D(1), D("0.5")]))
            )
            for c in range(draw(st.integers(1, 3)))
        )
        weight = draw(st.one_of(st.none(), st.integers(0, 5).map(D)))
        sections.append(Section(f"s{s}", criteria, weight=weight))
    if all(s.effective_weight == 0 for s in sections):
        sections[0] = Section(sections[0].key, sections[0].criteria)
    return Rubric(tuple(sections)).validate()


@st.composite
def policies(draw, rubric):
    pool = [f"section:{s.key}" for s in rubric.sections] + [
        "priority_points",
        "requested_amount",
        "submitted_at",
    ]
    money = st.integers(1, 50_000).map(cents)
    min_award = draw(st.one_of(st.none(), money))
    max_award = draw(st.one_of(st.none(), money))
    if min_award is not None and max_award is not None and min_award > max_award:
        min_award, max_award = max_award, min_award
    return Policy(
        aggregation=draw(st.sampled_from(["mean", "median"])),
        normalization=draw(st.sampled_from(["none", "zscore"])),
        min_reviews=draw(st.sampled_from([1, 1, 2, 3])),
        discrepancy_threshold=D(draw(st.integers(0, 30))),
        min_score=D(draw(st.integers(0, 60))),
        tie_breakers=tuple(draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))),
        total_funds=cents(draw(st.integers(0, 150_000))),
        min_award=min_award,
        max_award=max_award,
        fund_down=draw(st.sampled_from(["strict", "skip"])),
        partial_funding=draw(st.booleans()),
        partial_min=draw(st.one_of(st.none(), st.integers(1, 5_000).map(cents))),
        district_max_awards=draw(st.one_of(st.none(), st.integers(0, 3))),
        district_max_amount=draw(st.one_of(st.none(), st.integers(0, 100_000).map(cents))),
    ).validate(rubric)


def points_for(draw, rubric):
    return {
        c.key: draw(st.integers(0, int(c.max_points / c.step))) * c.step for c in rubric.criteria
    }


@st.composite
def competitions(draw):
    rubric = draw(rubrics())
    refs = draw(
        st.lists(st.text("ABXYZ-019", min_size=1, max_size=4), min_size=2, max_size=8, unique=True)
    )
    apps = []
    for ref in refs:
        eligible = draw(st.integers(0, 9)) > 0
        apps.append(
            ApplicationInput(
                ref=ref,
                school=f"S{ref}",
                district=draw(st.sampled_from(["D1", "D2", "D3"])),
                requested_amount=cents(draw(st.integers(0, 50_000))),
                tier=draw(st.integers(1, 3)),
                priorities=tuple(draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=3))),
                eligible=eligible,
                ineligible_reason=None if eligible else "late",
                submitted_at=draw(st.sampled_from(DATES)),
            )
        )
    # Most reviews reuse a small palette of score sheets, so equal finals (ties) are common.
    palette = [points_for(draw, rubric) for _ in range(2)]
    reviews = [
        ReviewInput(
            ref,
            reviewer,
            draw(st.sampled_from(palette)) if draw(st.integers(0, 3)) else points_for(draw, rubric),
        )
        for ref in refs
        for reviewer in draw(
            st.lists(st.sampled_from(REVIEWERS), unique=True, min_size=1, max_size=4)
        )
    ]
    priorities = {"p1": D(draw(st.integers(0, 10))) / 2, "p2": D(draw(st.integers(0, 10))) / 2}
    return rubric, draw(policies(rubric)), apps, reviews, priorities


def dump(rubric, policy, apps, reviews, priorities):
    return dumps_document(
        result_document(rank(rubric, policy, apps, reviews, priorities), "prop", 1)
    )


def outcome(result):
    """What the order-type properties compare: document order, ranks, statuses, awards."""
    return [(a.ref, a.rank, a.status, a.award, a.reason) for a in result.applications]


@SETTINGS
@given(competitions(), st.data())
def test_input_order_does_not_matter(competition, data):
    rubric, policy, apps, reviews, priorities = competition
    result = rank(*competition)
    event(f"has a tie: {any('tie' in a.flags for a in result.applications)}")
    event(f"statuses: {sorted({a.status for a in result.applications})}")
    shuffled_reviews = [
        ReviewInput(r.application, r.reviewer, dict(reversed(r.points.items())))
        for r in data.draw(st.permutations(reviews))
    ]
    assert dump(
        rubric,
        policy,
        data.draw(st.permutations(apps)),
        shuffled_reviews,
        dict(reversed(priorities.items())),
    ) == dump(*competition)


@SETTINGS
@given(competitions())
def test_deterministic(competition):
    first, second = rank(*competition), rank(*competition)
    assert first.inputs_sha256 == second.inputs_sha256
    assert dumps_document(result_document(first, "c", 1)) == dumps_document(
        result_document(second, "c", 1)
    )


@SETTINGS
@given(competitions())
def test_money_and_status_invariants(competition):
    rubric, policy, apps, reviews, priorities = competition
    result = rank(*competition)
    by_ref = {a.ref: a for a in apps}
    counts = Counter(r.application for r in reviews)
    awards = [a.award for a in result.applications]
    assert sorted(a.ref for a in result.applications) == sorted(by_ref)
    assert sum(awards, D(0)) == result.total_awarded <= policy.total_funds
    assert result.remaining == policy.total_funds - result.total_awarded >= 0
    per_district_n, per_district_amount = Counter(), defaultdict(D)
    for a in result.applications:
        request = by_ref[a.ref].requested_amount
        if policy.max_award is not None:
            request = min(request, policy.max_award)
        assert a.request == request
        assert 0 <= a.award <= request
        ranked = by_ref[a.ref].eligible and counts[a.ref] >= policy.min_reviews
        assert (a.rank is not None) == ranked
        if a.status in ("funded", "partially_funded"):
            assert a.final >= float(policy.min_score) - 5e-7
            # docs/ranking.md §6: "update the district's count and amount when award > 0", so a
            # funded request of 0.00 does not use up a place under district_max_awards.
            if a.award > 0:
                per_district_n[a.district] += 1
            per_district_amount[a.district] += a.award
        if a.status == "funded":
            assert a.award == request
        elif a.status == "partially_funded":
            assert policy.partial_funding
            assert policy.effective_partial_min <= a.award < request
        else:
            assert a.award == 0
        if not ranked:
            assert a.status == ("ineligible" if not by_ref[a.ref].eligible else "incomplete")
    if policy.district_max_awards is not None:
        assert all(n <= policy.district_max_awards for n in per_district_n.values())
    if policy.district_max_amount is not None:
        assert all(v <= policy.district_max_amount for v in per_district_amount.values())


@SETTINGS
@given(competitions())
def test_ranks_are_one_to_n_and_funding_order_is_tier_then_rank(competition):
    result = rank(*competition)
    ranked = [a for a in result.applications if a.rank is not None]
    assert sorted(a.rank for a in ranked) == list(range(1, len(ranked) + 1))
    assert [(a.tier, a.rank) for a in ranked] == sorted((a.tier, a.rank) for a in ranked)
    assert [a.funding_position for a in ranked] == list(range(1, len(ranked) + 1))
    unranked = [a for a in result.applications if a.rank is None]
    assert result.applications[len(ranked) :] == unranked
    by_rank = sorted(ranked, key=lambda a: a.rank)
    finals = [round(a.final, 6) for a in by_rank]
    assert all(x >= y - 1e-6 for x, y in pairwise(finals))


@SETTINGS
@given(competitions(), st.data())
def test_a_zero_weight_section_changes_nothing(competition, data):
    rubric, policy, apps, reviews, priorities = competition
    extra = Section("zero", (Criterion("zero.c", D(7)),), weight=D(0))
    first = data.draw(st.booleans())
    sections = (extra,) + rubric.sections if first else rubric.sections + (extra,)
    widened = Rubric(sections).validate()
    more = [
        ReviewInput(
            r.application, r.reviewer, {**r.points, "zero.c": D(data.draw(st.integers(0, 7)))}
        )
        for r in reviews
    ]
    before, after = rank(*competition), rank(widened, policy, apps, more, priorities)
    assert outcome(after) == outcome(before)
    assert [a.final for a in after.applications] == [a.final for a in before.applications]


@SETTINGS
@given(competitions(), st.sampled_from([D(2), D(3), D(7), D("0.5"), D("2.5")]))
def test_scaling_every_weight_keeps_the_order(competition, k):
    rubric, policy, apps, reviews, priorities = competition
    scaled = Rubric(
        tuple(Section(s.key, s.criteria, weight=s.effective_weight * k) for s in rubric.sections)
    ).validate()
    before, after = rank(*competition), rank(scaled, policy, apps, reviews, priorities)
    assert outcome(after) == outcome(before)

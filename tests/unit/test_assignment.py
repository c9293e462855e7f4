"""The pure assignment algorithm: rules, balance, determinism, and maximal cover (no app, no db)."""

from __future__ import annotations

import random
from collections import Counter, deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.core.assignment import ApplicationNeed, Reviewer, eligible, plan_assignment


def _apps(n, needed=3, district=None):
    return [
        ApplicationNeed(id=i, district_id=district(i) if district else None, needed=needed)
        for i in range(1, n + 1)
    ]


def _check_rules(apps, reviewers, cap, plan):
    by_app = {a.id: a for a in apps}
    by_rev = {r.id: r for r in reviewers}
    assert len(set(plan.pairs)) == len(plan.pairs)
    for a, r in plan.pairs:
        assert eligible(by_app[a], by_rev[r])
    per_app = Counter(a for a, _ in plan.pairs)
    for a in apps:
        assert per_app[a.id] + plan.shortfall.get(a.id, 0) == a.needed
    loads = Counter({r.id: r.load for r in reviewers})
    loads.update(r for _, r in plan.pairs)
    assert dict(sorted(loads.items())) == {r: plan.loads[r] for r in sorted(loads)}
    if cap is not None:
        new_by_rev = Counter(r for _, r in plan.pairs)
        for r in reviewers:
            assert new_by_rev[r.id] == 0 or plan.loads[r.id] <= cap


def test_every_application_gets_n_reviewers_and_loads_are_balanced():
    apps = _apps(10, needed=3)
    reviewers = [Reviewer(id=i) for i in range(101, 107)]
    plan = plan_assignment(apps, reviewers, cap=None)
    assert plan.shortfall == {}
    assert len(plan.pairs) == 30
    assert sorted(plan.loads.values()) == [5, 5, 5, 5, 5, 5]
    _check_rules(apps, reviewers, None, plan)


def test_never_a_reviewer_from_the_applications_district_or_a_declared_conflict_district():
    apps = _apps(6, needed=2, district=lambda i: 7 if i <= 3 else 8)
    reviewers = [
        Reviewer(id=1, districts=frozenset({7})),
        Reviewer(id=2, districts=frozenset({8})),
        Reviewer(id=3),
        Reviewer(id=4),
    ]
    plan = plan_assignment(apps, reviewers, cap=None)
    assert plan.shortfall == {}
    assert not [(a, r) for a, r in plan.pairs if (a <= 3 and r == 1) or (a > 3 and r == 2)]
    _check_rules(apps, reviewers, None, plan)


def test_never_a_reviewer_blocked_on_or_already_on_the_application():
    apps = [
        ApplicationNeed(
            id=1, district_id=None, needed=2, current=frozenset({10}), blocked=frozenset({11})
        )
    ]
    reviewers = [Reviewer(id=i) for i in (10, 11, 12, 13)]
    plan = plan_assignment(apps, reviewers, cap=None)
    assert plan.pairs == ((1, 12), (1, 13))


def test_cap_counts_existing_load_and_leaves_a_reported_shortfall():
    apps = _apps(4, needed=2)
    reviewers = [Reviewer(id=1, load=3), Reviewer(id=2), Reviewer(id=3)]
    plan = plan_assignment(apps, reviewers, cap=3)
    assert plan.loads[1] == 3 and plan.loads[2] == 3 and plan.loads[3] == 3
    assert sum(plan.shortfall.values()) == 2
    _check_rules(apps, reviewers, 3, plan)


def test_short_of_reviewers_every_application_gets_one_before_any_gets_two():
    apps = _apps(4, needed=2)
    plan = plan_assignment(apps, [Reviewer(id=1), Reviewer(id=2)], cap=2)
    assert Counter(a for a, _ in plan.pairs) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_repair_finds_the_cover_that_greedy_misses():
    # App 1 can take reviewers 1 or 2, app 2 only reviewer 1; cap 1. The greedy pick for app 1
    # (lowest id) would be 1, leaving app 2 empty; most-constrained-first plus repair fills both.
    apps = [ApplicationNeed(1, 5, 1), ApplicationNeed(2, 6, 1)]
    reviewers = [Reviewer(1), Reviewer(2, districts=frozenset({6}))]
    plan = plan_assignment(apps, reviewers, cap=1)
    assert plan.shortfall == {}
    assert plan.pairs == ((1, 2), (2, 1))


def test_repair_moves_an_existing_new_pair_along_an_augmenting_path():
    # Forced greedy trap: every app has the same number of candidates, so order is by id.
    apps = [
        ApplicationNeed(1, None, 1, blocked=frozenset({3})),
        ApplicationNeed(2, None, 1, blocked=frozenset({2})),
        ApplicationNeed(3, None, 1, blocked=frozenset({2})),
    ]
    reviewers = [Reviewer(1), Reviewer(2), Reviewer(3)]
    plan = plan_assignment(apps, reviewers, cap=1)
    assert plan.shortfall == {}
    _check_rules(apps, reviewers, 1, plan)


def test_the_plan_does_not_depend_on_input_order():
    rng = random.Random(7)
    apps = [
        ApplicationNeed(
            i,
            rng.choice([1, 2, 3, None]),
            rng.randint(0, 3),
            blocked=frozenset(rng.sample(range(1, 9), 1)),
        )
        for i in range(1, 30)
    ]
    reviewers = [
        Reviewer(i, frozenset(rng.sample([1, 2, 3], rng.randint(0, 1))), rng.randint(0, 2))
        for i in range(1, 9)
    ]
    first = plan_assignment(apps, reviewers, cap=9)
    for _ in range(5):
        rng.shuffle(apps)
        rng.shuffle(reviewers)
        assert plan_assignment(apps, reviewers, cap=9) == first


def test_panels_are_varied_when_loads_tie():
    plan = plan_assignment(_apps(6, needed=2), [Reviewer(i) for i in range(1, 5)], cap=None)
    pairs = Counter(tuple(sorted(r for a, r in plan.pairs if a == app)) for app in range(1, 7))
    assert max(pairs.values()) <= 2 and len(pairs) >= 4


@pytest.mark.parametrize(
    "bad",
    [
        dict(apps=[ApplicationNeed(1, None, -1)], reviewers=[], cap=None),
        dict(apps=[ApplicationNeed(1, None, 1)], reviewers=[], cap=-1),
        dict(
            apps=[ApplicationNeed(1, None, 1), ApplicationNeed(1, None, 1)], reviewers=[], cap=None
        ),
        dict(apps=[], reviewers=[Reviewer(1), Reviewer(1)], cap=None),
    ],
)
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        plan_assignment(bad["apps"], bad["reviewers"], bad["cap"])


def test_nothing_to_do():
    assert plan_assignment([], [Reviewer(1)], cap=None).pairs == ()
    assert plan_assignment(_apps(2, needed=0), [Reviewer(1)], cap=None).pairs == ()


def _max_cover(apps, reviewers, cap):
    """Oracle: Edmonds-Karp max flow on source → app → reviewer → sink."""
    nodes = ["s", "t"] + [("a", a.id) for a in apps] + [("r", r.id) for r in reviewers]
    capacity = {n: {} for n in nodes}

    def edge(u, v, c):
        capacity[u][v] = capacity[u].get(v, 0) + c
        capacity[v].setdefault(u, 0)

    for a in apps:
        edge("s", ("a", a.id), a.needed)
        for r in reviewers:
            if eligible(a, r):
                edge(("a", a.id), ("r", r.id), 1)
    for r in reviewers:
        edge(("r", r.id), "t", 10**6 if cap is None else max(0, cap - r.load))
    flow = 0
    while True:
        parent = {"s": None}
        queue = deque(["s"])
        while queue and "t" not in parent:
            u = queue.popleft()
            for v, c in capacity[u].items():
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if "t" not in parent:
            return flow
        v = "t"
        while parent[v] is not None:
            u = parent[v]
            capacity[u][v] -= 1
            capacity[v][u] += 1
            v = u
        flow += 1


@st.composite
def _instances(draw):
    n_districts = 3
    reviewers = [
        Reviewer(
            i,
            frozenset(draw(st.sets(st.integers(1, n_districts), max_size=2))),
            draw(st.integers(0, 2)),
        )
        for i in range(1, draw(st.integers(1, 6)) + 1)
    ]
    ids = [r.id for r in reviewers]
    apps = [
        ApplicationNeed(
            i,
            draw(st.one_of(st.none(), st.integers(1, n_districts))),
            draw(st.integers(0, 3)),
            blocked=frozenset(draw(st.sets(st.sampled_from(ids), max_size=2))),
        )
        for i in range(1, draw(st.integers(0, 8)) + 1)
    ]
    cap = draw(st.one_of(st.none(), st.integers(0, 5)))
    return apps, reviewers, cap


@settings(max_examples=300, deadline=None)
@given(_instances())
def test_the_plan_follows_the_rules_and_covers_as_much_as_max_flow(instance):
    apps, reviewers, cap = instance
    plan = plan_assignment(apps, reviewers, cap)
    _check_rules(apps, reviewers, cap, plan)
    assert len(plan.pairs) == _max_cover(apps, reviewers, cap)

"""Compact stored explanations: a per-application record plus the run-level context, expanded
back, give exactly ``explanation_data`` (after the JSON round trip storage makes)."""

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from scoring.core.ranking import (
    ApplicationInput,
    Policy,
    compact_explanation,
    compact_explanations,
    expand_explanation,
    explanation_context,
    explanation_data,
    rank_columns,
    render_explanation,
    stored_explanation,
    stored_review_scores,
)
from scoring.core.rubric import Criterion, Rubric, Section

W = Rubric(
    (
        Section("need", (Criterion("need.data", D(4)),), weight=D(20)),
        Section(
            "plan", (Criterion("plan.a", D(10), D("0.5")), Criterion("plan.b", D(5))), weight=D(15)
        ),
        Section("team", (Criterion("team.c", D(7), D("0.1")),)),
    )
)


def competition(seed, n_apps, n_reviewers, **policy):
    """A random competition on W with coarse points (so ties happen)."""
    rng = random.Random(seed)
    prios = {"network": D(5), "rural": D("2.5"), "zero": D(0)}
    start = datetime(2024, 1, 1, tzinfo=UTC)
    apps = []
    for i in range(n_apps):
        eligible = rng.random() > 0.08
        apps.append(
            ApplicationInput(
                ref=f"A{i:03d}",
                school=f"S{i % 7}",
                district=f"D{rng.randrange(4)}",
                requested_amount=D(rng.choice(["100", "250.50", "400", "75.25", "1000"])),
                tier=rng.choice([1, 1, 1, 2]),
                priorities=tuple(k for k in prios if rng.random() < 0.2),
                eligible=eligible,
                ineligible_reason=None if eligible else "late",
                submitted_at=None
                if rng.random() < 0.1
                else start + timedelta(minutes=rng.randrange(50)),
            )
        )
    review_app, review_reviewer, points = [], [], []
    for i in range(n_apps):
        for k in rng.sample(range(n_reviewers), rng.choice([0, 1, 2, 3, 3, 3, 4])):
            review_app.append(i)
            review_reviewer.append(f"r{k}@x")
            points.append(
                [rng.randrange(5), rng.randrange(21) / 2, rng.randrange(6), rng.randrange(71) / 10]
            )
    policy.setdefault("total_funds", D(rng.choice(["2000", "5000.37", "100000"])))
    result = rank_columns(
        W,
        Policy(**policy),
        apps,
        np.array(review_app, dtype=np.int64),
        review_reviewer,
        np.array(points).reshape(-1, 4),
        prios,
    )
    return result


CASES = [
    dict(),
    dict(normalization="zscore", aggregation="median"),
    dict(normalization="zscore", aggregation="mean", min_reviews=3, partial_funding=True),
    dict(aggregation="median", fund_down="skip", district_max_awards=2, max_award=D(300)),
    dict(
        normalization="zscore",
        fund_down="skip",
        district_max_amount=D("600.50"),
        partial_funding=True,
        partial_min=D(50),
        min_score=D(40),
    ),
    dict(
        tie_breakers=["section:plan", "priority_points", "requested_amount", "submitted_at"],
        min_reviews=2,
        discrepancy_threshold=D(10),
    ),
    dict(
        tie_breakers=["submitted_at"],
        fund_down="strict",
        district_max_awards=1,
        min_score=D("55.5"),
    ),
]


def stored(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("knobs", CASES)
def test_expanded_compact_record_is_the_explanation(seed, knobs):
    result = competition(seed, 120, 9, **knobs)
    context = stored(explanation_context(result))
    records = compact_explanations(result)
    refs = [a.ref for a in result.applications]
    assert sorted(refs) == [r[0] for r in records]
    statuses = set()
    for ref, record in zip(sorted(refs), records, strict=True):
        expected = explanation_data(result, ref)
        got = expand_explanation(stored(record), context)
        # the JSON text too: 5 and 5.0 compare equal but must stay what they were
        assert json.dumps(got) == json.dumps(expected), ref
        assert got == expected
        statuses.add(expected["status"])
    assert "funded" in statuses


def test_every_status_flag_and_tie_is_covered():
    seen, decided, stopped = set(), set(), False
    for seed in (1, 2):
        for knobs in CASES:
            result = competition(seed, 120, 9, **knobs)
            for a in result.applications:
                data = explanation_data(result, a.ref)
                seen.add((a.status, a.reason if a.status != "ineligible" else "late"))
                seen.update(a.flags)
                if data["ranking"]:
                    decided.add(data["ranking"]["decided_by"])
                stopped |= bool(data["funding"].get("stopped_at"))
    assert {
        ("funded", None),
        ("partially_funded", None),
        ("waitlisted", "funds"),
        ("waitlisted", "district_cap"),
        ("below_threshold", None),
        ("incomplete", None),
        ("ineligible", "late"),
        "tie",
        "discrepancy",
    } <= seen
    assert {"final score", "ref", "section:plan"} <= decided
    assert stopped


def test_large_tie_and_empty_run():
    apps = [ApplicationInput(f"A{i:02d}", "S", "D1", D(100)) for i in range(25)]
    result = rank_columns(
        W,
        Policy(total_funds=D(1000)),
        apps,
        np.repeat(np.arange(25), 2),
        ["r1", "r2"] * 25,
        np.tile([2, 5, 3, 3.5], (50, 1)),
        {},
    )
    context = stored(explanation_context(result))
    for a in result.applications:
        assert expand_explanation(
            stored(compact_explanation(result, a.ref)), context
        ) == explanation_data(result, a.ref)
    empty = rank_columns(
        W,
        Policy(total_funds=D(10)),
        [ApplicationInput("X", "S", "D", D(5), eligible=False, ineligible_reason="no")],
        np.zeros(0, dtype=np.int64),
        [],
        np.zeros((0, 4)),
        {},
    )
    assert expand_explanation(
        stored(compact_explanation(empty, "X")), stored(explanation_context(empty))
    ) == explanation_data(empty, "X")
    with pytest.raises(KeyError):
        compact_explanation(empty, "nope")


def test_stored_helpers_accept_both_forms():
    result = competition(3, 30, 5, normalization="zscore")
    ref = result.applications[0].ref
    full = stored(explanation_data(result, ref))
    record = stored(compact_explanation(result, ref))
    context = stored(explanation_context(result))
    assert stored_explanation(full, None) == full
    assert stored_explanation(record, context) == full
    assert render_explanation(stored_explanation(record, context)) == render_explanation(full)
    assert (
        stored_review_scores(record)
        == stored_review_scores(full)
        == [(r["score"], r["normalised"]) for r in full["reviews"]]
    )
    assert stored_explanation(None, context) is None
    with pytest.raises(ValueError):
        stored_explanation(record, None)

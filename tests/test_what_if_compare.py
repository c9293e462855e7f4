"""The what-if over narrow columns (issue 14) gives what the previous implementation gave.

``_previous`` is the comparison as it was computed before (the full result document of the
tried ranking beside every stored result object of the current run); the new service must give
the same rows, totals and changes for several sets of knobs, and the worker path (a saved
what-if run compared once done) the same rows as trying it in the request. Data:
tests/fixtures/small_bundle.json ranked, with a staff exception.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from scoring.core.ranking import rank_columns, result_document
from scoring.extensions import db
from scoring.models import Application, Competition, RankingResult, RankingRun, User
from scoring.services.decisions import decisions
from scoring.services.ranking import what_if as what_if_svc
from scoring.services.ranking.board import current_run, overrides_of
from scoring.services.ranking.inputs import read_inputs
from scoring.services.ranking.runs import policy_for
from tests.staff_world import PREPARER, build, login, post, text_of

KNOBS = [
    {"total_funds": "600000.00"},
    {"min_score": "85"},
    {"normalization": "zscore", "aggregation": "median"},
    {"fund_down": "strict", "partial_funding": False, "max_award": "350000.00"},
    {"district_max_awards": 1, "district_max_amount": "500000.00", "total_funds": "2000000.00"},
    {"total_funds": "0.00"},
]


def _previous(competition, overrides) -> dict[str, tuple]:
    """ref → (rank, final, status, award, before status, before award, before rank, exception,
    change), computed as the previous implementation did."""
    baseline = current_run(competition)
    policy = policy_for(competition, dict(overrides))
    inputs = read_inputs(competition, tie_breakers=policy.tie_breakers)
    result = rank_columns(
        inputs.rubric,
        policy,
        inputs.applications,
        inputs.review_app,
        inputs.review_reviewer,
        inputs.points,
        inputs.priorities,
    )
    doc = result_document(result, competition.slug, None)
    before = {
        r.ref: r
        for r in db.session.scalars(
            select(RankingResult).where(RankingResult.run_id == baseline.id)
        )
    }
    exceptions = set(overrides_of(baseline))
    out = {}
    for a in doc["applications"]:
        b = before.get(a["ref"])
        award, was = Decimal(a["award"]), b.award if b else None
        now_f, was_f = award > 0, (was or 0) > 0
        change = (
            "enters" if now_f and not was_f
            else "leaves" if was_f and not now_f
            else "amount" if now_f and was_f and award != was
            else None
        )  # fmt: skip
        out[a["ref"]] = (
            a["rank"], a["final"], a["status"], award, b.status if b else None, was,
            b.rank if b else None, bool(b and b.application_id in exceptions), change,
        )  # fmt: skip
    return out, doc


def _new(outcome) -> dict[str, tuple]:
    return {
        r.ref: (
            r.rank,
            r.final,
            r.status,
            r.award,
            r.before_status,
            r.before_award,
            r.before_rank,
            r.exception,
            r.change,
        )  # fmt: skip
        for r in outcome.of("all")
    }


@pytest.fixture
def world(any_app):
    world = build(any_app)
    with any_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        t003 = db.session.scalar(select(Application.id).where(Application.ref == "T-003"))
        decisions.set_override(
            run,
            t003,
            status="waitlisted",
            amount=Decimal("0"),
            justification="The district withdrew its match.",
            actor=actor,
        )
        db.session.commit()
    return world


@pytest.mark.parametrize("knobs", KNOBS)
def test_the_what_if_equals_the_previous_implementation(any_app, world, knobs):
    with any_app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        expected, doc = _previous(competition, knobs)
        outcome = what_if_svc.what_if(competition, knobs)
        assert _new(outcome) == expected
        assert [r.ref for r in outcome.of("all")] == [a["ref"] for a in doc["applications"]]
        assert (outcome.total_funds, outcome.total_awarded, outcome.remaining) == (
            Decimal(doc["total_funds"]),
            Decimal(doc["total_awarded"]),
            Decimal(doc["remaining"]),
        )
        assert outcome.policy == doc["policy"] and outcome.data_changed is False
        counts = outcome.counts()
        for kind in ("enters", "leaves", "amount"):
            assert counts[kind] == sum(v[-1] == kind for v in expected.values()), kind
        moved = [(v[6] or 0) - (v[0] or 0) for v in expected.values() if v[0] and v[6]]
        assert counts["up"] == sum(m > 0 for m in moved)
        assert counts["down"] == sum(m < 0 for m in moved)
        # every page of every kind, put together, is the kind's rows in slate order
        for kind in ("changed", "enters", "leaves", "amount", "up", "down", "all"):
            rows = []
            for page in range(1, 10):
                got, matching, shown, pages = outcome.page(kind, page, per=2)
                if page > pages:
                    break
                rows += got
            assert [r.ref for r in rows] == [r.ref for r in outcome.of(kind)]
            assert len(rows) == counts[kind]


def test_a_worker_what_if_run_compares_as_the_request_does(any_app, world):
    knobs = {"total_funds": "600000.00", "min_score": "70"}
    from workers.tasks import rank_competition

    with any_app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        tried = _new(what_if_svc.what_if(competition, knobs))
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        run = what_if_svc.save_what_if(competition, knobs, actor=actor, label=None)
        db.session.commit()
        run_id = run.id
    rank_competition(run_id)
    with any_app.app_context():
        outcome = what_if_svc.compare_run(db.session.get(RankingRun, run_id))
        assert _new(outcome) == tried


def test_the_worker_path_for_a_large_competition(any_app, world):
    """Above ``WHAT_IF_INLINE_MAX`` the page asks to rank on the worker, the saved run's
    progress page opens the comparison when done, paged with counts."""
    any_app.config["WHAT_IF_INLINE_MAX"] = 3
    staff = login(any_app, PREPARER)
    page = staff.get(f"/staff/competitions/{world.competition_id}/what-if?total_funds=600000")
    assert page.status_code == 200 and "ranked by the worker" in text_of(page)
    assert "Would award" not in text_of(page)
    bad = staff.get(f"/staff/competitions/{world.competition_id}/what-if?total_funds=-1")
    assert bad.status_code == 400 and "must be at least 0" in text_of(bad)
    assert "ranked by the worker" not in text_of(bad)
    saved = post(
        staff, f"/staff/competitions/{world.competition_id}/what-if/save", {"total_funds": "600000"}
    )
    assert saved.status_code == 302
    run_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    assert staff.get(f"/staff/what-if-runs/{run_id}").status_code == 302  # queued: progress
    from workers.tasks import rank_competition

    rank_competition(run_id)
    done = staff.get(f"/staff/runs/{run_id}")
    assert done.headers["Location"] == f"/staff/what-if-runs/{run_id}"
    text = text_of(staff.get(f"/staff/what-if-runs/{run_id}?kind=leaves"))
    assert "Would award $550,000.00" in text and "+0 / −1" in text
    assert "newly unfunded (1)" in text and "T-002" in text


def test_the_what_if_says_when_the_data_changed_since_the_run(any_app, world):
    """``data_changed`` compares the inputs' hash under the run's policy with the run's (the
    core's ``inputs_digest``, without ranking a second time)."""
    with any_app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        assert what_if_svc.what_if(competition, {"min_score": "85"}).data_changed is False
        app = db.session.scalar(select(Application).where(Application.ref == "T-001"))
        app.requested_amount += Decimal("1.00")
        db.session.commit()
        outcome = what_if_svc.what_if(competition, {"min_score": "85"})
        assert outcome.data_changed is True
        assert _new(outcome) == _previous(competition, {"min_score": "85"})[0]

"""A new tie-breaker is one registry entry: everything else reads the registry.

The test registers a tie-breaker that exists only here ("created_at": the earlier created
application first, an application column the engine does not read otherwise) and follows it
through the policy check, the staff form, the ordering and the explanation of the pure core,
and through the bundle validator and both read paths of a ranking run (SQLite and PostgreSQL).
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from scoring.core.ranking import (
    ApplicationInput,
    Policy,
    PolicyError,
    ReviewInput,
    explain,
    rank,
    registry,
)
from scoring.core.ranking.registry import TieBreaker, column_levels
from scoring.core.rubric import Criterion, Rubric, Section
from scoring.extensions import db
from scoring.models import Application, Competition, RankingRun
from scoring.services import bundles, ranking
from scoring.services.bundles import BundleError
from scoring.staff.forms import tie_breaker_choices
from tests.test_ranking_service import FIXTURE, run_once

CREATED_AT = TieBreaker(
    "created_at",
    "Earlier created application first",
    lambda c, idx, arg: column_levels([c.extra["created_at"][i] for i in idx.tolist()]),
    column="created_at",
)


@pytest.fixture
def created_at():
    """The test-only tie-breaker, registered for one test."""
    registry.TIE_BREAKERS["created_at"] = CREATED_AT
    yield CREATED_AT
    del registry.TIE_BREAKERS["created_at"]


def _bundle(tie_breakers):
    data = json.loads(FIXTURE.read_text())
    data["competition"]["policy"]["tie_breakers"] = tie_breakers
    return data


def test_an_unregistered_tie_breaker_is_refused_everywhere(any_app):
    with pytest.raises(
        PolicyError,
        match="'created_at' is not one of section:<key>, "
        "priority_points, requested_amount, submitted_at",
    ):
        Policy(total_funds=Decimal(1), tie_breakers=("created_at",)).validate()
    assert "created_at" not in dict(tie_breaker_choices(["need"]))
    with any_app.app_context(), pytest.raises(BundleError) as refused:
        bundles.import_bundle(_bundle(["created_at"]))
    assert refused.value.errors[0][0] == "competition.policy.tie_breakers[0]"


def test_a_registered_tie_breaker_orders_and_explains_in_the_core(created_at):
    assert ("created_at", "Earlier created application first") in tie_breaker_choices(["need"])
    policy = Policy(total_funds=Decimal(1000), min_reviews=1, tie_breakers=("created_at",))
    rubric = Rubric((Section("s", (Criterion("c", Decimal(10)),)),))
    early = datetime(2016, 1, 1, tzinfo=UTC)
    late = datetime(2016, 2, 1, tzinfo=UTC)
    apps = [
        ApplicationInput("A", "s1", "d1", Decimal(10), extra={"created_at": late}),
        ApplicationInput("B", "s2", "d2", Decimal(10), extra={"created_at": early}),
        ApplicationInput("C", "s3", "d3", Decimal(10)),
    ]  # none: after every dated one
    reviews = [ReviewInput(ref, "r", {"c": Decimal(7)}) for ref in ("A", "B", "C")]
    result = rank(rubric, policy, apps, reviews, {})
    assert [
        (a.ref, a.rank, a.decided_by) for a in sorted(result.applications, key=lambda a: a.rank)
    ] == [("B", 1, None), ("A", 2, "created_at"), ("C", 3, "created_at")]
    assert "order: final score desc, then created_at, then ref asc" in explain(result, "A")
    # the extra column is part of the inputs: another value gives another inputs hash
    moved = [
        apps[0],
        ApplicationInput("B", "s2", "d2", Decimal(10), extra={"created_at": late}),
        apps[2],
    ]
    assert rank(rubric, policy, moved, reviews, {}).inputs_sha256 != result.inputs_sha256


def test_the_what_if_hash_under_another_policy_keeps_its_extra_columns(created_at):
    """``rank_columns_beside`` hashes under the other policy with that policy's extra columns
    in ref order (applications given out of order), as ``rank_columns`` with it would."""
    import numpy as np

    from scoring.core.ranking import rank_columns, rank_columns_beside

    rubric = Rubric((Section("s", (Criterion("c", Decimal(10)),)),))
    early, late = datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 2, 1, tzinfo=UTC)
    apps = [
        ApplicationInput("C", "s3", "d3", Decimal(10), extra={"created_at": early}),
        ApplicationInput("A", "s1", "d1", Decimal(10), extra={"created_at": late}),
        ApplicationInput("B", "s2", "d2", Decimal(10)),
    ]
    args = (np.array([0, 1, 2]), ["r", "r", "r"], np.array([[7.0], [7.0], [6.0]]), {})
    plain = Policy(total_funds=Decimal(1000), min_reviews=1)
    dated = Policy(total_funds=Decimal(1000), min_reviews=1, tie_breakers=("created_at",))
    for tried, other in ((plain, dated), (dated, plain)):
        result, sha = rank_columns_beside(rubric, tried, other, apps, *args)
        assert sha == rank_columns(rubric, other, apps, *args).inputs_sha256
        assert result.inputs_sha256 == rank_columns(rubric, tried, apps, *args).inputs_sha256


def test_a_registered_tie_breaker_flows_through_the_bundle_and_a_run(any_app, created_at):
    with any_app.app_context():
        bundles.import_bundle(_bundle(["created_at"]))
        db.session.commit()
        competition_id = db.session.scalar(select(Competition.id))
        # T-002 and T-004 tie on the final score (80); by ref T-002 would come first
        for ref, day in (("T-004", 1), ("T-002", 2)):
            db.session.execute(
                update(Application)
                .where(Application.ref == ref)
                .values(created_at=datetime(2016, 1, day, tzinfo=UTC))
            )
        db.session.commit()
        run = db.session.get(RankingRun, run_once(competition_id))
        assert run.error is None and run.policy["tie_breakers"] == ["created_at"]
        ranks = {a["ref"]: a["rank"] for a in ranking.result_document_for_run(run)["applications"]}
        assert (ranks["T-004"], ranks["T-002"]) == (3, 4)
        assert "separated by: created_at" in ranking.explanation_text(run, "T-002")

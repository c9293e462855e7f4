"""The ranking service against a hand-computed competition (tests/fixtures/small_bundle.json).

Hand computation. Rubric: ``need`` (need.data max 4 + need.gap max 6 = M 10, weight defaults to
10) and ``plan`` (plan.goals 10 + plan.budget 10 = M 20, weight 40), so Σw = 50 and

    S = 100 × (10 × Pn/10 + 40 × Pp/20) / 50 = 2·Pn + 4·Pp.

    T-001  r1: Pn 9,  Pp 17   → 86;  r2: Pn 7.5, Pp 15.5 → 77;  base 81.5 + network 5 = 86.5
    T-002  r1: Pn 10, Pp 19   → 96;  r2: Pn 5,   Pp 13.5 → 64;  base 80 (spread 32: discrepancy)
    T-003  r1: Pn 9,  Pp 16.5 → 84;  r2: Pn 8,   Pp 16   → 80;  base 82 + turnaround 2 = 84
    T-004  r2: Pn 7,  Pp 17   → 82;  r3: Pn 7,   Pp 16   → 78;  base 80 (tier 2)
    T-005  r2: Pn 10, Pp 20   → 100; r3's review is a draft: 1 counted review → incomplete
    T-006  r1: 48, r2: 50 → 49, but staff marked it ineligible ("Late submission")
    T-007  r2: Pn 3,  Pp 9.5  → 44;  r3: Pn 4,   Pp 11   → 52;  base 48
    T-008  no review → incomplete, base/final null

Rank (final desc; ties by section:plan then priority_points): T-001 86.5, T-003 84, then T-004
and T-002 both 80 — plan % T-004 (85 + 80)/2 = 82.5 > T-002 (95 + 67.5)/2 = 81.25 — so T-004 is 3rd
and T-002 4th (both flagged "tie"), T-007 5th.

Funding order (tier, rank): T-001, T-003, T-002, T-007 (tier 1), T-004 (tier 2). Funds 900,000,
max_award 400,000, min_score 60, partial funding from 100,000, at most 2 awards per district:
T-001 300,000 funded (600,000 left); T-003 250,000 funded (350,000 left); T-002 asks 500,000,
capped to 400,000 > 350,000 → partially funded 350,000 (0 left); T-007 48 < 60 → below
threshold; T-004: district 001 already has 2 awards → waitlisted (district_cap).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from scoring.core.ranking import dumps_document, rank_columns, result_document
from scoring.errors import InputError, NotFound
from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    AuditEvent,
    Competition,
    CriterionScore,
    District,
    RankingResult,
    RankingRun,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    RunStatus,
    User,
)
from scoring.services import bundles, ranking
from scoring.services.ranking import inputs as ranking_inputs
from scoring.services.ranking import points as ranking_points

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"

#: ref → (rank, status, award, reason, flags, counted reviews, review scores, base, final,
#:        sections), in document order.
EXPECTED = [
    (
        "T-001",
        1,
        "funded",
        "300000.00",
        None,
        [],
        2,
        [77.0, 86.0],
        81.5,
        86.5,
        {"need": 82.5, "plan": 81.25},
    ),
    (
        "T-003",
        2,
        "funded",
        "250000.00",
        None,
        [],
        2,
        [80.0, 84.0],
        82.0,
        84.0,
        {"need": 85.0, "plan": 81.25},
    ),
    (
        "T-002",
        4,
        "partially_funded",
        "350000.00",
        None,
        ["discrepancy", "tie"],
        2,
        [64.0, 96.0],
        80.0,
        80.0,
        {"need": 75.0, "plan": 81.25},
    ),
    (
        "T-007",
        5,
        "below_threshold",
        "0.00",
        None,
        [],
        2,
        [44.0, 52.0],
        48.0,
        48.0,
        {"need": 35.0, "plan": 51.25},
    ),
    (
        "T-004",
        3,
        "waitlisted",
        "0.00",
        "district_cap",
        ["tie"],
        2,
        [78.0, 82.0],
        80.0,
        80.0,
        {"need": 70.0, "plan": 82.5},
    ),
    (
        "T-005",
        None,
        "incomplete",
        "0.00",
        None,
        [],
        1,
        [100.0],
        100.0,
        100.0,
        {"need": 100.0, "plan": 100.0},
    ),
    ("T-008", None, "incomplete", "0.00", None, [], 0, [], None, None, None),
    (
        "T-006",
        None,
        "ineligible",
        "0.00",
        "Late submission",
        [],
        2,
        [48.0, 50.0],
        49.0,
        49.0,
        {"need": 45.0, "plan": 50.0},
    ),
]


@pytest.fixture
def competition_id(any_app):
    with any_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        return db.session.scalar(select(Competition.id))


@pytest.fixture
def sqlite_competition_id(app):
    with app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        return db.session.scalar(select(Competition.id))


def run_once(competition_id: int, **kwargs) -> int:
    """Queue and execute a run the way the task does (commit after each step)."""
    run = ranking.create_run(db.session.get(Competition, competition_id), **kwargs)
    db.session.commit()
    run_id = run.id
    ranking.execute_run(run_id)
    db.session.commit()
    return run_id


def summary(document: dict) -> list[tuple]:
    return [
        (
            a["ref"],
            a["rank"],
            a["status"],
            a["award"],
            a["reason"],
            a["flags"],
            a["reviews"],
            a["review_scores"],
            a["base"],
            a["final"],
            a["sections"],
        )
        for a in document["applications"]
    ]


def stored_rows(run_id: int) -> list[tuple]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(
                RankingResult.position,
                RankingResult.ref,
                RankingResult.rank,
                RankingResult.status,
                RankingResult.award,
                RankingResult.final,
                RankingResult.review_scores,
                RankingResult.explanation,
            )
            .where(RankingResult.run_id == run_id)
            .order_by(RankingResult.position)
        )
    ]


def test_ranking_matches_the_hand_computation(any_app, competition_id):
    with any_app.app_context():
        run_id = run_once(competition_id)
        run = db.session.get(RankingRun, run_id)
        assert run.status == RunStatus.DONE and run.error is None
        document = ranking.result_document_for_run(run)
        assert summary(document) == EXPECTED
        assert (document["total_funds"], document["total_awarded"], document["remaining"]) == (
            "900000.00",
            "900000.00",
            "0.00",
        )
        assert [a["priority_points"] for a in document["applications"]][:2] == [5, 2]
        assert run.policy["tie_breakers"] == ["section:plan", "priority_points"]
        assert set(run.timings) == {"read", "compute", "write", "total"}
        assert run.stats["counted_reviews"] == 13 and run.stats["applications"] == 8
        assert run.started_at <= run.finished_at
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "ranking_run", AuditEvent.entity_id == run_id
            )
        ).all()
        assert sorted(actions) == ["ranking.queue", "ranking.run"]


def test_stored_document_equals_the_core_document_byte_for_byte(any_app, competition_id):
    with any_app.app_context():
        run_id = run_once(competition_id)
        run = db.session.get(RankingRun, run_id)
        competition = db.session.get(Competition, competition_id)
        inputs = ranking.read_inputs(competition)
        result = rank_columns(
            inputs.rubric,
            ranking.policy_for(competition),
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
        core = dumps_document(result_document(result, competition.slug, run_id))
        assert dumps_document(ranking.result_document_for_run(run)) == core
        assert run.inputs_sha256 == result.inputs_sha256


def core_document_from_bundle(run_id: int) -> str:
    """The result computed by the pure core from the bundle's values, without any database."""
    from datetime import datetime
    from decimal import Decimal

    from scoring.core.ranking import ApplicationInput, Policy, ReviewInput, rank
    from scoring.core.rubric import Rubric

    data = json.loads(FIXTURE.read_text(), parse_float=Decimal)
    c = data["competition"]
    policy = Policy.from_dict(
        {
            **c["policy"],
            "total_funds": c["total_funds"],
            "min_award": c["min_award"],
            "max_award": c["max_award"],
        }
    )
    district = {s["code"]: s["district"] for s in data["schools"]}
    apps = [
        ApplicationInput(
            a["ref"],
            a["school"],
            district[a["school"]],
            Decimal(a["requested_amount"]),
            a["tier"],
            tuple(a["priorities"]),
            a["eligible"],
            a["ineligible_reason"],
            a["submitted_at"] and datetime.fromisoformat(a["submitted_at"]).astimezone(UTC),
        )
        for a in data["applications"]
    ]
    reviews = [
        ReviewInput(r["application"], r["reviewer"], r["scores"])
        for r in data["reviews"]
        if r["submitted"]
    ]
    priorities = {p["key"]: p["points"] for p in data["priorities"]}
    result = rank(Rubric.from_dict(data["rubric"]), policy, apps, reviews, priorities)
    return dumps_document(result_document(result, c["slug"], run_id))


def test_the_database_path_gives_the_cores_own_result(any_app, competition_id):
    """Same inputs hash and same bytes as the core fed straight from the bundle's values."""
    with any_app.app_context():
        run_id = run_once(competition_id)
        stored = dumps_document(ranking.result_document_for_run(db.session.get(RankingRun, run_id)))
    assert stored == core_document_from_bundle(run_id)


def test_execute_twice_gives_one_identical_result_set(any_app, competition_id):
    with any_app.app_context():
        run_id = run_once(competition_id)
        first = stored_rows(run_id)
        assert len(first) == 8
        ranking.execute_run(run_id)  # already done: returns at once
        db.session.commit()
        assert stored_rows(run_id) == first
        # a run left "running" (e.g. redelivered) is recomputed: old rows replaced, not doubled
        db.session.execute(
            update(RankingRun).where(RankingRun.id == run_id).values(status=RunStatus.RUNNING)
        )
        db.session.commit()
        ranking.execute_run(run_id)
        db.session.commit()
        assert stored_rows(run_id) == first
        assert db.session.scalar(select(func.count()).select_from(RankingResult)) == 8
        assert db.session.get(RankingRun, run_id).attempts == 2


def test_two_concurrent_executions_on_postgres_leave_one_result_set(pg_app, monkeypatch):
    monkeypatch.setenv(ranking.TEST_DELAY_ENV, "0.5")  # hold the lock while the other waits
    with pg_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        run = ranking.create_run(db.session.scalar(select(Competition)))
        db.session.commit()
        run_id = run.id
    barrier, errors = threading.Barrier(2), []

    def worker() -> None:
        try:
            with pg_app.app_context():
                barrier.wait()
                ranking.execute_run(run_id)
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with pg_app.app_context():
        run = db.session.get(RankingRun, run_id)
        assert run.status == RunStatus.DONE
        assert run.attempts == 1  # the second execution found it done
        assert db.session.scalar(select(func.count()).select_from(RankingResult)) == 8
        assert (
            len(
                db.session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "ranking.run")
                ).all()
            )
            == 1
        )


def test_only_counted_reviews_count(any_app, competition_id):
    """Drafts, withdrawn reviews and reviews by a conflicted reviewer never count."""
    with any_app.app_context():

        def user(email):
            return db.session.scalar(select(User.id).where(User.email == email))

        apps = dict(db.session.execute(select(Application.ref, Application.id)).all())
        # r2 declares a conflict on T-001 (assignment status conflict)
        db.session.execute(
            update(ReviewerAssignment)
            .where(
                ReviewerAssignment.application_id == apps["T-001"],
                ReviewerAssignment.reviewer_id == user("r2@example.org"),
            )
            .values(status=AssignmentStatus.CONFLICT)
        )
        # r1 gets a district conflict on 002 (T-003's district)
        beta = db.session.scalar(select(District.id).where(District.code == "002"))
        db.session.add(ReviewerConflict(user_id=user("r1@example.org"), district_id=beta))
        # r3 withdraws the T-007 review
        db.session.execute(
            update(Review)
            .where(
                Review.application_id == apps["T-007"], Review.reviewer_id == user("r3@example.org")
            )
            .values(status=ReviewStatus.WITHDRAWN)
        )
        db.session.commit()
        run_id = run_once(competition_id)
        document = ranking.result_document_for_run(db.session.get(RankingRun, run_id))
        by_ref = {a["ref"]: a for a in document["applications"]}
        assert (by_ref["T-001"]["reviews"], by_ref["T-001"]["review_scores"]) == (1, [86.0])
        assert (by_ref["T-003"]["reviews"], by_ref["T-003"]["review_scores"]) == (1, [80.0])
        assert (by_ref["T-007"]["reviews"], by_ref["T-007"]["review_scores"]) == (1, [44.0])
        assert {r: by_ref[r]["status"] for r in ("T-001", "T-003", "T-007")} == {
            "T-001": "incomplete",
            "T-003": "incomplete",
            "T-007": "incomplete",
        }
        # the rest fund down: T-002 (capped 400,000) funded, T-004 (tier 2) funded
        assert [(a["ref"], a["status"], a["award"]) for a in document["applications"][:2]] == [
            ("T-002", "funded", "400000.00"),
            ("T-004", "funded", "200000.00"),
        ]


def test_a_bad_policy_fails_the_run_with_its_message(any_app, competition_id):
    with any_app.app_context():
        db.session.execute(update(Competition).values(tie_breakers=["section:nope"]))
        db.session.commit()
        run_id = run_once(competition_id)
        run = db.session.get(RankingRun, run_id)
        assert run.status == RunStatus.FAILED
        assert run.error == "tie_breakers[0]: unknown section 'nope'"
        assert db.session.scalar(select(func.count()).select_from(RankingResult)) == 0
        assert (
            db.session.scalar(select(AuditEvent.after).where(AuditEvent.action == "ranking.fail"))[
                "error"
            ]
            == run.error
        )
        with pytest.raises(InputError, match="run 1 is failed, not done"):
            ranking.result_document_for_run(run)


def test_bad_overrides_are_refused_before_queueing(sqlite_competition_id, app):
    with app.app_context():
        competition = db.session.get(Competition, sqlite_competition_id)
        with pytest.raises(InputError, match=r"^policy: unknown policy key 'curve'$"):
            ranking.create_run(competition, overrides={"curve": 1})
        with pytest.raises(InputError, match=r"^policy: aggregation must be one of"):
            ranking.create_run(competition, overrides={"aggregation": "max"})
        assert db.session.scalar(select(func.count()).select_from(RankingRun)) == 0


def test_a_submitted_review_missing_a_score_fails_the_run(sqlite_competition_id, app):
    with app.app_context():
        review_id = db.session.scalar(select(Review.id).order_by(Review.id))
        db.session.execute(
            delete(CriterionScore).where(
                CriterionScore.review_id == review_id,
                CriterionScore.id
                == select(func.max(CriterionScore.id))
                .where(CriterionScore.review_id == review_id)
                .scalar_subquery(),
            )
        )
        db.session.commit()
        run = db.session.get(RankingRun, run_once(sqlite_competition_id))
        assert run.status == RunStatus.FAILED
        assert run.error.startswith(
            f"review {review_id} of T-001 by r1@example.org is submitted "
            "but has no score for criterion 'plan.budget'"
        )


def test_what_if_overrides_change_the_policy_used(sqlite_competition_id, app):
    from decimal import Decimal

    with app.app_context():
        normal = run_once(sqlite_competition_id)
        what_if = run_once(sqlite_competition_id, overrides={"min_score": Decimal("85")})
        run = db.session.get(RankingRun, what_if)
        assert run.what_if and run.policy["min_score"] == 85
        statuses = [
            (a["ref"], a["status"])
            for a in ranking.result_document_for_run(run)["applications"][:4]
        ]
        assert statuses == [
            ("T-001", "funded"),
            ("T-003", "below_threshold"),
            ("T-002", "below_threshold"),
            ("T-007", "below_threshold"),
        ]
        competition = db.session.get(Competition, sqlite_competition_id)
        assert ranking.latest_done_run(competition).id == normal
        assert ranking.latest_done_run(competition, include_what_if=True).id == what_if


def test_explanation_is_stored_and_rendered(sqlite_competition_id, app):
    with app.app_context():
        run = db.session.get(RankingRun, run_once(sqlite_competition_id))
        text = ranking.explanation_text(run, "T-004")
        assert text.startswith("Application T-004 (school 0010003, district 001, tier 2)")
        assert "waitlisted (district_cap)" in text
        assert "S = 100 × (10 × 7/10 + 40 × 17/20) / 50 = 82" in text
        with pytest.raises(NotFound):
            ranking.explanation_text(run, "T-999")


def test_mark_failed_never_overwrites_a_done_run(sqlite_competition_id, app):
    with app.app_context():
        run_id = run_once(sqlite_competition_id)
        ranking.mark_failed(run_id, "late message")
        db.session.commit()
        assert db.session.get(RankingRun, run_id).status == RunStatus.DONE
        run = ranking.create_run(db.session.get(Competition, sqlite_competition_id))
        db.session.commit()
        ranking.mark_failed(run.id, "database unavailable after 5 retries")
        db.session.commit()
        run = db.session.get(RankingRun, run.id)
        assert (run.status, run.error) == (RunStatus.FAILED, "database unavailable after 5 retries")
        assert ranking.execute_run(10_000) is None  # unknown run: nothing to do


def test_policy_for_maps_the_competition_columns(sqlite_competition_id, app):
    with app.app_context():
        policy = ranking.policy_for(db.session.get(Competition, sqlite_competition_id))
        assert policy.to_dict() == {
            "aggregation": "mean",
            "normalization": "none",
            "min_reviews": 2,
            "discrepancy_threshold": 15,
            "min_score": 60,
            "tie_breakers": ["section:plan", "priority_points"],
            "total_funds": "900000.00",
            "min_award": "50000.00",
            "max_award": "400000.00",
            "fund_down": "skip",
            "partial_funding": True,
            "partial_min": "100000.00",
            "district_max_awards": 2,
            "district_max_amount": None,
        }


def test_reads_split_into_review_ranges_give_the_same_result(pg_app, monkeypatch):
    """PostgreSQL packs scores per query; many small range queries equal one big one."""
    with pg_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        competition_id = db.session.scalar(select(Competition.id))
        whole = ranking.read_inputs(db.session.get(Competition, competition_id))
        monkeypatch.setattr(ranking_points, "PACKED_QUERY_BYTES", 100)  # 13 reviews → 13 ranges
        split = ranking.read_inputs(db.session.get(Competition, competition_id), vectors=False)
        assert split.points.tobytes() == whole.points.tobytes()
        assert split.review_reviewer == whole.review_reviewer
        assert split.review_app.tolist() == whole.review_app.tolist()
        run_id = run_once(competition_id)
        stored = dumps_document(ranking.result_document_for_run(db.session.get(RankingRun, run_id)))
    assert stored == core_document_from_bundle(run_id)


def test_a_run_reads_one_consistent_snapshot_on_postgres(pg_app, monkeypatch):
    """A score changed and committed by someone else while the run reads is not half seen."""
    import sqlalchemy as sa

    with pg_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        competition_id = db.session.scalar(select(Competition.id))
        real = ranking_inputs.read_points

        def edit_then_read(*args, **kwargs):
            with db.engine.begin() as other:  # commits before the scores are read
                other.execute(sa.text("UPDATE criterion_score SET points = 0"))
            return real(*args, **kwargs)

        monkeypatch.setattr(ranking_inputs, "read_points", edit_then_read)
        run_id = run_once(competition_id)
        document = ranking.result_document_for_run(db.session.get(RankingRun, run_id))
        assert summary(document) == EXPECTED  # the state at the start of the run
        assert db.session.scalar(select(func.max(CriterionScore.points))) == 0

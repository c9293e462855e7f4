"""Bundle import/export (docs/bundle.md): round trip, every refusal, all or nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Competition,
    District,
    ReviewerConflict,
    Role,
    User,
)
from scoring.services import bundles
from scoring.services.bundles import BundleError, importer

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str = "small_bundle.json") -> dict:
    return json.loads((FIXTURES / name).read_text())


def canonical(data: dict) -> dict:
    """Key order aside (JSON round trip with sorted keys)."""
    return json.loads(json.dumps(data, sort_keys=True))


def row_counts() -> dict[str, int]:
    """Rows in every table: the database-unchanged check."""
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }


def competition(slug: str = "sig-test") -> Competition:
    return db.session.scalar(select(Competition).where(Competition.slug == slug))


# --------------------------------------------------------------------------- round trip


def test_import_then_export_gives_the_input_back(any_app):
    data = load()
    with any_app.app_context():
        counts = bundles.import_bundle(copy.deepcopy(data))
        db.session.commit()
        assert counts == {"competition": "sig-test", "applications": 8, "reviews": 14}
        exported = bundles.export_bundle(competition())
        db.session.commit()
    assert canonical(exported) == canonical(data)
    # list order is kept too: applications and reviews in import order
    assert [a["ref"] for a in exported["applications"]] == [a["ref"] for a in data["applications"]]


def test_import_creates_reviewers_without_password_and_audits(any_app):
    with any_app.app_context():
        bundles.import_bundle(load(), source="small_bundle.json sha256=abc")
        db.session.commit()
        users = db.session.scalars(select(User).order_by(User.email)).all()
        assert [(u.email, u.role, u.password_hash, u.active) for u in users] == [
            ("r1@example.org", Role.REVIEWER, None, True),
            ("r2@example.org", Role.REVIEWER, None, True),
            ("r3@example.org", Role.REVIEWER, None, True),
        ]
        conflicts = db.session.execute(
            select(User.email, District.code)
            .join(ReviewerConflict.user)
            .join(District, District.id == ReviewerConflict.district_id)
            .order_by(User.email)
        ).all()
        assert [tuple(c) for c in conflicts] == [
            ("r1@example.org", "003"),
            ("r3@example.org", "002"),
        ]
        assert set(db.session.scalars(select(Application.status))) == {ApplicationStatus.SUBMITTED}
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bundle.import"))
        assert event.note == "small_bundle.json sha256=abc"
        # 13 submitted reviews × 4, the draft's one score, and its comment without points
        assert event.after["criterion_scores"] == 13 * 4 + 2
        assert event.after["submitted_reviews"] == 13
        assert event.after["districts_created"] == 3
        assert competition().rubric_frozen_at is not None


def test_omitted_defaults_are_filled_in_on_export(app):
    data = load()
    data["competition"].pop("policy")
    data["competition"]["total_funds"] = 900000  # money as a JSON number
    for key in (
        "fiscal_year",
        "opens_at",
        "closes_at",
        "min_award",
        "max_award",
        "reviewers_per_application",
    ):
        data["competition"].pop(key)
    del data["rubric"]["sections"][0]["criteria"][0]["step"]
    for a in data["applications"]:
        if a["eligible"]:
            a.pop("ineligible_reason")
        for key in ("tier", "priorities", "eligible", "submitted_at"):
            a.pop(key)
    for r in data["reviewers"]:
        r.pop("conflicts")
    for r in data["reviews"]:
        if not r["comments"]:
            r.pop("comments")
    for d in data["districts"]:
        d.pop("alliance")
    # T-006 stays ineligible: its "eligible": false was popped above, put it back
    data["applications"][5]["eligible"] = False
    with app.app_context():
        bundles.import_bundle(data)
        db.session.commit()
        out = bundles.export_bundle(competition())
    assert out["competition"]["total_funds"] == "900000.00"
    assert out["competition"]["reviewers_per_application"] == 3
    assert out["competition"]["min_award"] is None and out["competition"]["opens_at"] is None
    assert out["competition"]["policy"] == {
        "aggregation": "mean",
        "normalization": "none",
        "min_reviews": 2,
        "discrepancy_threshold": 15,
        "min_score": 0,
        "tie_breakers": [],
        "fund_down": "strict",
        "partial_funding": False,
        "partial_min": None,
        "district_max_awards": None,
        "district_max_amount": None,
    }
    assert out["rubric"]["sections"][0]["criteria"][0]["step"] == 1
    assert "weight" not in out["rubric"]["sections"][0]  # unset weight = the section's maximum
    assert out["applications"][0] == {
        "ref": "T-001",
        "school": "0010001",
        "requested_amount": "300000.00",
        "tier": 1,
        "priorities": [],
        "eligible": True,
        "ineligible_reason": None,
        "submitted_at": None,
    }
    assert out["applications"][5]["eligible"] is False
    assert all(r["conflicts"] == [] for r in out["reviewers"])
    assert all(d["alliance"] is False for d in out["districts"])
    assert out["reviews"][1]["comments"] == {}


def test_existing_districts_schools_and_reviewers_are_reused(app):
    with app.app_context():
        bundles.import_bundle(load())
        db.session.commit()
        before = row_counts()
        second = load()
        second["competition"]["slug"] = "sig-test-2"
        bundles.import_bundle(second)
        db.session.commit()
        after = row_counts()
        assert after["district"] == before["district"] == 3
        assert after["school"] == before["school"] == 5
        assert after["user"] == before["user"] == 3
        assert after["reviewer_conflict"] == before["reviewer_conflict"] == 2
        assert after["application"] == 16
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "bundle.import")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert (
            event.after["districts_created"],
            event.after["schools_created"],
            event.after["reviewers_created"],
        ) == (0, 0, 0)
        assert canonical(bundles.export_bundle(competition("sig-test-2"))) == canonical(second)


# --------------------------------------------------------------------------- refusals


def _set(path: list, value):
    def mutate(d: dict) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list):
    def mutate(d: dict) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _append(path: list, value):
    def mutate(d: dict) -> None:
        target = d
        for key in path:
            target = target[key]
        target.append(value)

    return mutate


REFUSALS = [
    (
        "score above max",
        _set(["reviews", 12, "scores", "need.data"], 5),
        "reviews[12].scores.need.data: 5 is above max_points 4",
    ),
    (
        "score below 0",
        _set(["reviews", 0, "scores", "plan.goals"], -1),
        "reviews[0].scores.plan.goals: -1 is below 0",
    ),
    (
        "score off step",
        _set(["reviews", 1, "scores", "need.gap"], 4.25),
        "reviews[1].scores.need.gap: 4.25 is not a multiple of step 0.5",
    ),
    (
        "score not a number",
        _set(["reviews", 0, "scores", "need.gap"], "5"),
        "reviews[0].scores.need.gap: expected a number, got a string",
    ),
    (
        "score true",
        _set(["reviews", 0, "scores", "need.gap"], True),
        "reviews[0].scores.need.gap: expected a number, got true/false",
    ),
    (
        "unknown criterion",
        _set(["reviews", 3, "scores", "need.extra"], 1),
        "reviews[3].scores.need.extra: unknown criterion",
    ),
    (
        "submitted review missing a score",
        _delete(["reviews", 2, "scores", "plan.budget"]),
        "reviews[2].scores: a submitted review must score every criterion; missing plan.budget",
    ),
    (
        "review of unknown application",
        _set(["reviews", 3, "application"], "T-999"),
        "reviews[3].application: unknown application 'T-999'",
    ),
    (
        "review by unknown reviewer",
        _set(["reviews", 3, "reviewer"], "nobody@example.org"),
        "reviews[3].reviewer: unknown reviewer 'nobody@example.org'",
    ),
    (
        "reviewer in conflict",
        _set(["reviews", 4, "reviewer"], "r3@example.org"),
        "reviews[4].reviewer: r3@example.org has a declared conflict with district '002' of "
        "application 'T-003'",
    ),
    (
        "second review by the same reviewer",
        _set(["reviews", 1, "reviewer"], "r1@example.org"),
        "reviews[1]: a second review of 'T-001' by 'r1@example.org'",
    ),
    (
        "comment on unknown criterion",
        _set(["reviews", 9, "comments", "plan.extra"], "x"),
        "reviews[9].comments.plan.extra: unknown criterion",
    ),
    (
        "comment not text",
        _set(["reviews", 0, "comments", "need.data"], 3),
        "reviews[0].comments.need.data: expected a string, got a number",
    ),
    (
        "duplicate ref",
        _set(["applications", 1, "ref"], "T-001"),
        "applications[1].ref: duplicate application ref 'T-001'",
    ),
    (
        "unknown school",
        _set(["applications", 0, "school"], "9999999"),
        "applications[0].school: unknown school '9999999'",
    ),
    (
        "unknown priority",
        _set(["applications", 0, "priorities"], ["nope"]),
        "applications[0].priorities[0]: unknown priority 'nope'",
    ),
    (
        "money not a decimal",
        _set(["applications", 0, "requested_amount"], "12,000"),
        "applications[0].requested_amount: '12,000' is not a valid amount of money",
    ),
    (
        "money below a cent",
        _set(["applications", 0, "requested_amount"], "100.005"),
        "applications[0].requested_amount: 100.005 is not a whole number of cents",
    ),
    (
        "money negative",
        _set(["competition", "total_funds"], "-1.00"),
        "competition.total_funds: -1 is negative",
    ),
    (
        "wrong type",
        _set(["applications", 0, "tier"], "1"),
        "applications[0].tier: expected an integer, got a string",
    ),
    (
        "ineligible without reason",
        _set(["applications", 5, "ineligible_reason"], None),
        "applications[5].ineligible_reason: is required when eligible is false",
    ),
    (
        "bad timestamp",
        _set(["applications", 0, "submitted_at"], "2016-04-14 10:00"),
        "applications[0].submitted_at: '2016-04-14 10:00' has no UTC offset (e.g. -05:00)",
    ),
    ("unknown top-level key", _set(["extra"], 1), "extra: unknown key"),
    (
        "unknown nested key",
        _set(["applications", 0, "colour"], "red"),
        "applications[0].colour: unknown key",
    ),
    ("missing required key", _delete(["competition", "title"]), "competition.title: is required"),
    (
        "wrong format",
        _set(["format"], "grant-scoring-bundle/2"),
        "format: must be 'grant-scoring-bundle/1' (got 'grant-scoring-bundle/2')",
    ),
    (
        "unknown school district",
        _set(["schools", 0, "district"], "999"),
        "schools[0].district: unknown district '999'",
    ),
    (
        "unknown conflict district",
        _set(["reviewers", 1, "conflicts"], ["999"]),
        "reviewers[1].conflicts[0]: unknown district '999'",
    ),
    (
        "duplicate district",
        _append(["districts"], {"code": "001", "name": "Again"}),
        "districts[3].code: duplicate district code '001'",
    ),
    (
        "unused school",
        _append(["schools"], {"code": "0990001", "name": "X", "district": "001"}),
        "schools[5]: school '0990001' is not used by any application",
    ),
    (
        "unknown tie-breaker section",
        _set(["competition", "policy", "tie_breakers"], ["section:nope"]),
        "competition.policy.tie_breakers[0]: unknown section 'nope'",
    ),
    (
        "bad aggregation",
        _set(["competition", "policy", "aggregation"], "trimmed"),
        "competition.policy.aggregation: must be one of mean, median (got 'trimmed')",
    ),
    (
        "unknown policy knob",
        _set(["competition", "policy", "curve"], True),
        "competition.policy.curve: unknown key",
    ),
    (
        "criterion max above 4 places",
        _set(["rubric", "sections", 0, "criteria", 0, "max_points"], 4.00001),
        "rubric.sections[0].criteria[0].max_points: 4.00001 has more than 4 decimal places",
    ),
    ("empty rubric", _set(["rubric", "sections"], []), "rubric.sections: must not be empty"),
    (
        "bad slug",
        _set(["competition", "slug"], "SIG Test"),
        "competition.slug: use lowercase letters, digits and hyphens only",
    ),
    (
        "not an object",
        lambda d: d.clear() or d.update({"format": []}),
        "format: must be 'grant-scoring-bundle/1' (got [])",
    ),
]


@pytest.mark.parametrize(
    "mutate, expected", [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS]
)
def test_refusal_names_the_json_path_and_writes_nothing(app, mutate, expected):
    data = load()
    mutate(data)
    with app.app_context():
        before = row_counts()
        with pytest.raises(BundleError) as caught:
            bundles.import_bundle(data)
        db.session.rollback()
        assert str(caught.value) == expected
        assert row_counts() == before


def test_root_that_is_not_an_object_is_refused(app):
    with app.app_context(), pytest.raises(BundleError, match=r"^bundle: expected an object"):
        bundles.import_bundle([])


def test_every_problem_is_collected(app):
    data = load()
    data["reviews"][0]["scores"]["need.data"] = 9
    data["reviews"][13]["scores"]["plan.goals"] = 11
    with app.app_context(), pytest.raises(BundleError) as caught:
        bundles.import_bundle(data)
    assert caught.value.errors == [
        ("reviews[0].scores.need.data", "9 is above max_points 4"),
        ("reviews[13].scores.plan.goals", "11 is above max_points 10"),
    ]


def test_refusals_against_the_database(any_app):
    """Slug taken, an existing record with other data, a recorded conflict: refused, nothing
    written (PostgreSQL and SQLite)."""
    with any_app.app_context():
        bundles.import_bundle(load())
        db.session.commit()
        before = row_counts()

        def refused(data: dict) -> str:
            with pytest.raises(BundleError) as caught:
                bundles.import_bundle(data)
            db.session.rollback()
            assert row_counts() == before
            return str(caught.value)

        assert refused(load()) == "competition.slug: a competition 'sig-test' already exists"
        other = load()
        other["competition"]["slug"] = "other"
        other["districts"][1]["name"] = "Beta City"
        assert refused(other) == (
            "districts[1]: district '002' already exists with other data "
            "(name 'Beta', alliance false)"
        )
        other = load()
        other["competition"]["slug"] = "other"
        other["schools"][0]["name"] = "Renamed"
        assert refused(other).startswith("schools[0]: school '0010001' already exists")
        other = load()
        other["competition"]["slug"] = "other"
        other["reviewers"][0]["name"] = "R. One"
        assert refused(other) == (
            "reviewers[0].name: r1@example.org already exists with the name 'Reviewer One'"
        )
        # a conflict recorded in the database (not in the bundle) also refuses the review
        r2 = db.session.scalar(select(User).where(User.email == "r2@example.org"))
        alpha = db.session.scalar(select(District).where(District.code == "001"))
        db.session.add(ReviewerConflict(user_id=r2.id, district_id=alpha.id))
        db.session.commit()
        before = row_counts()
        other = load()
        other["competition"]["slug"] = "other"
        assert refused(other) == (
            "reviews[1].reviewer: r2@example.org has a recorded conflict "
            "with district '001' of application 'T-001'"
        )


def test_staff_account_cannot_become_a_reviewer(app):
    with app.app_context():
        db.session.add(User(email="r1@example.org", name="Reviewer One", role=Role.STAFF))
        db.session.commit()
        with pytest.raises(
            BundleError,
            match=r"^reviewers\[0\]\.email: r1@example.org is an "
            r"existing staff account, not a reviewer$",
        ):
            bundles.import_bundle(load())


def test_a_failure_while_writing_leaves_nothing_behind(any_app, monkeypatch):
    """All or nothing also holds past validation: the import never commits on its own."""

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_copy_scores", boom)
    monkeypatch.setattr(importer, "_insert_scores", boom)
    with any_app.app_context():
        before = row_counts()
        with pytest.raises(RuntimeError):
            bundles.import_bundle(load())
        db.session.rollback()
        assert row_counts() == before


def test_comments_with_tabs_and_newlines_survive(any_app):
    with any_app.app_context():
        bundles.import_bundle(load())
        db.session.commit()
        out = bundles.export_bundle(competition())
    assert out["reviews"][3]["comments"] == {
        "plan.budget": "Line items\tdo not\nadd up; see p. 4 \\ appendix."
    }


def score_foreign_keys() -> list[tuple[str, str]]:
    from sqlalchemy import text

    return [
        tuple(r)
        for r in db.session.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'criterion_score'::regclass AND contype = 'f' ORDER BY conname"
            )
        )
    ]


def test_large_import_checks_foreign_keys_in_one_pass(pg_app, monkeypatch):
    """PostgreSQL bulk path: keys dropped for the COPY, re-added (validated) before commit."""
    monkeypatch.setattr(importer, "BULK_FK_THRESHOLD", 1)
    with pg_app.app_context():
        keys = score_foreign_keys()
        assert [k[0] for k in keys] == [
            "fk_criterion_score_criterion_id_criterion",
            "fk_criterion_score_review_id_review",
        ]
        bundles.import_bundle(load())
        db.session.commit()
        assert score_foreign_keys() == keys
        assert canonical(bundles.export_bundle(competition())) == canonical(load())


def test_bulk_import_failure_restores_the_keys_and_writes_nothing(pg_app, monkeypatch):
    monkeypatch.setattr(importer, "BULK_FK_THRESHOLD", 1)

    def boom(*args, **kwargs):
        raise RuntimeError("connection lost mid-COPY")

    monkeypatch.setattr(importer, "_copy_scores", boom)
    with pg_app.app_context():
        keys, before = score_foreign_keys(), row_counts()
        with pytest.raises(RuntimeError):
            bundles.import_bundle(load())
        db.session.rollback()
        assert score_foreign_keys() == keys
        assert row_counts() == before


def test_bulk_import_takes_the_slow_path_when_the_table_is_busy(pg_app, monkeypatch, caplog):
    """Someone reads criterion_score in a long transaction: no waiting, no failure."""
    import logging

    import sqlalchemy as sa

    caplog.set_level(logging.INFO, logger="scoring.services.bundles.importer")
    monkeypatch.setattr(importer, "BULK_FK_THRESHOLD", 1)
    monkeypatch.setattr(importer, "BULK_LOCK_TIMEOUT", "200ms")
    with pg_app.app_context():
        keys = score_foreign_keys()
        other = db.engine.connect()
        reader = other.begin()
        other.execute(sa.text("SELECT count(*) FROM criterion_score"))  # holds ACCESS SHARE
        try:
            bundles.import_bundle(load())
            db.session.commit()
        finally:
            reader.rollback()
            other.close()
        assert score_foreign_keys() == keys
        assert canonical(bundles.export_bundle(competition())) == canonical(load())
    assert (
        "keeps row-by-row foreign key checks: canceling statement due to lock timeout"
        in caplog.text
    )

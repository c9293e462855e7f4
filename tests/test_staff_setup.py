"""Competition set-up by staff: settings and every policy knob, the rubric builder, priorities,
the rubric freeze, and forms that answer bad input with a message beside the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    AuditEvent,
    Competition,
    Criterion,
    Priority,
    Program,
    Review,
    ReviewStatus,
    Role,
    RubricSection,
)
from scoring.models._types import utcnow
from tests import factories
from tests.staff_world import PREPARER, login, make_people, post, text_of

NEW = {
    "slug": "hsr-2017",
    "program": "High School Redesign",
    "title": "High School Redesign 2017",
    "cohort": "2017",
    "fiscal_year": "2017-18",
    "opens_at": "2017-03-01T09:00",
    "closes_at": "2017-04-15T16:00",
    "reviewers_per_application": "3",
    "total_funds": "1500000.00",
    "min_award": "250000",
    "max_award": "500000",
    "aggregation": "median",
    "normalization": "zscore",
    "min_reviews": "2",
    "discrepancy_threshold": "12.5",
    "min_score": "70",
    "tie_breaker_1": "priority_points",
    "tie_breaker_2": "",
    "tie_breaker_3": "",
    "tie_breaker_4": "",
    "fund_down": "skip",
    "partial_funding": "y",
    "partial_min": "100000",
    "district_max_awards": "2",
    "district_max_amount": "900000",
    "budget_years": "3",
    "alliance_only": "y",
    "eligible_classifications": "Focus, Turnaround, Focus",
}


@pytest.fixture
def staff(app):
    with app.app_context():
        factories.district("001", "Alpha")
        make_people()
        db.session.commit()
    return login(app, PREPARER)


def _competition(app, slug="hsr-2017") -> Competition:
    return db.session.scalar(select(Competition).where(Competition.slug == slug))


def test_staff_create_a_competition_with_every_policy_knob(app, staff):
    response = post(staff, "/staff/competitions/new", NEW)
    assert response.status_code == 302
    with app.app_context():
        c = _competition(app)
        assert c.program == Program.HSR and c.title == "High School Redesign 2017"
        assert c.total_funds == Decimal("1500000.00") and c.min_award == Decimal("250000.00")
        assert (c.aggregation.value, c.normalization.value, c.fund_down.value) == (
            "median",
            "zscore",
            "skip",
        )
        assert c.discrepancy_threshold == Decimal("12.5") and c.min_score == 70
        assert c.tie_breakers == ["priority_points"] and c.partial_funding is True
        assert c.partial_min == Decimal("100000.00") and c.district_max_awards == 2
        assert c.district_max_amount == Decimal("900000.00")
        assert (c.budget_years, c.alliance_only) == (3, True)
        assert c.eligible_classifications == ["Focus", "Turnaround"]
        # typed in Connecticut time (EST in March), stored in UTC
        assert c.opens_at.isoformat() == "2017-03-01T14:00:00+00:00"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "competition.create")
        )
        assert event.after["total_funds"] == "1500000.00" and event.actor.email == PREPARER
        assert response.headers["Location"] == f"/staff/competitions/{c.id}/rubric"


def test_new_competition_can_start_from_the_programs_illustrative_rubric(app, staff):
    post(staff, "/staff/competitions/new", NEW | {"illustrative_rubric": "y"})
    with app.app_context():
        c = _competition(app)
        assert c.rubric_illustrative is True
        assert [s.key for s in c.sections] == [
            "need",
            "model",
            "academic",
            "talent",
            "supports",
            "technology",
            "budget",
        ]
        assert sum(cr.max_points for s in c.sections for cr in s.criteria) == 100
    page = text_of(staff.get(f"/staff/competitions/{c.id}/rubric"))
    assert "illustrative [I]" in page and "Redesign model" in page


@pytest.mark.parametrize("typed", ["2,000,000", "$2,000,000.00", "2000000", " $2000000 "])
def test_money_is_read_as_people_type_it(app, staff, typed):
    response = post(staff, "/staff/competitions/new", NEW | {"total_funds": typed})
    assert response.status_code == 302, text_of(response)
    with app.app_context():
        assert _competition(app).total_funds == Decimal("2000000")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("total_funds", "", "enter an amount"),
        ("total_funds", "NaN", "Enter dollars and cents"),
        ("total_funds", "Infinity", "Enter dollars and cents"),
        ("total_funds", "-5", "must be at least 0"),
        ("total_funds", "12.345", "use at most 2 decimal places"),
        ("total_funds", "1e40", "Enter dollars and cents"),
        ("total_funds", "1" * 40, "must be at most"),
        ("total_funds", "lots", "Enter dollars and cents"),
        ("total_funds", "2,00,000", "Enter dollars and cents"),
        ("min_award", "0", "must be more than 0"),
        ("min_reviews", "0", "Number must be between 1 and 50"),
        ("min_reviews", "99999999999999999999", "Number must be between 1 and 50"),
        ("discrepancy_threshold", "101", "must be at most 100"),
        ("aggregation", "trimmed", "Not a valid choice"),
        ("tie_breaker_1", "section:nope", "Not a valid choice"),
        ("slug", "Has Spaces", "use lower-case letters, digits and dashes"),
        ("title", "\x00", "enter a title"),
        ("opens_at", "yesterday", "Not a valid datetime value"),
        ("budget_years", "6", "Number must be between 1 and 5"),
        ("eligible_classifications", "x" * 41, "each classification is at most 40 characters"),
    ],
)
def test_bad_settings_re_render_with_the_message_beside_the_field(
    app, staff, field, value, message
):
    response = post(staff, "/staff/competitions/new", NEW | {field: value})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-err"' in html and message in html
    with app.app_context():
        assert _competition(app) is None


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"min_award": "600000"}, "min_award", "is above the largest award"),
        ({"closes_at": "2017-02-01T09:00"}, "closes_at", "must be after the opening time"),
        ({"tie_breaker_2": "priority_points"}, "tie_breaker_2", "listed twice"),
    ],
)
def test_rules_of_the_core_policy_are_shown_beside_their_field(app, staff, changes, field, message):
    response = post(staff, "/staff/competitions/new", NEW | changes)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-err"' in html and message in html
    with app.app_context():
        assert _competition(app) is None


def test_a_slug_is_used_once(app, staff):
    post(staff, "/staff/competitions/new", NEW)
    response = post(staff, "/staff/competitions/new", NEW | {"title": "Again"})
    assert "is already used by another competition" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Competition)) == 1


def test_edit_settings_records_before_and_after(app, staff):
    post(staff, "/staff/competitions/new", NEW)
    with app.app_context():
        cid = _competition(app).id
    form = staff.get(f"/staff/competitions/{cid}/edit").get_data(as_text=True)
    assert 'value="1500000.00"' in form and 'value="12.5"' in form
    response = post(
        staff,
        f"/staff/competitions/{cid}/edit",
        NEW | {"total_funds": "2000000", "slug": "ignored-slug"},
    )
    assert response.status_code == 302
    with app.app_context():
        c = db.session.get(Competition, cid)
        assert c.total_funds == Decimal("2000000.00") and c.slug == "hsr-2017"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "competition.update")
        )
        assert event.before == {"total_funds": "1500000.00"}
        assert event.after == {"total_funds": "2000000.00"}


# --------------------------------------------------------------------------- rubric builder


@pytest.fixture
def competition_id(app, staff):
    post(staff, "/staff/competitions/new", NEW)
    with app.app_context():
        return _competition(app).id


SECTION = {
    "key": "plan",
    "title": "Plan",
    "weight": "",
    "position": "0",
    "narrative_limit": "6000",
    "narrative_required": "y",
    "criterion_key": "plan.goals",
    "criterion_title": "Goals",
    "criterion_max_points": "10",
    "criterion_step": "0.5",
}


def test_build_a_rubric_sections_criteria_weights_steps_descriptors(app, staff, competition_id):
    url = f"/staff/competitions/{competition_id}/rubric"
    assert post(staff, url, SECTION).status_code == 302
    assert (
        post(
            staff,
            url,
            SECTION
            | {
                "key": "need",
                "title": "Need",
                "weight": "40",
                "position": "1",
                "criterion_key": "need.data",
                "criterion_title": "Data",
            },
        ).status_code
        == 302
    )
    with app.app_context():
        plan = db.session.scalar(select(RubricSection).where(RubricSection.key == "plan"))
        plan_id = plan.id
    response = post(
        staff,
        f"/staff/sections/{plan_id}/criteria/new",
        {
            "key": "plan.budget",
            "title": "Budget",
            "max_points": "6",
            "step": "1",
            "position": "1",
            "descriptors": "0 | Insufficient | Nothing\n3 | Developing\n"
            "6 | Exemplary | Costs justified",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        c = db.session.get(Competition, competition_id)
        assert [(s.key, s.weight) for s in c.sections] == [("plan", None), ("need", Decimal(40))]
        budget = db.session.scalar(select(Criterion).where(Criterion.key == "plan.budget"))
        assert budget.descriptors == [
            {"points": "0", "label": "Insufficient", "text": "Nothing"},
            {"points": "3", "label": "Developing", "text": ""},
            {"points": "6", "label": "Exemplary", "text": "Costs justified"},
        ]
        assert db.session.get(Criterion, budget.id).step == 1
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.startswith("rubric."))
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["rubric.section_add", "rubric.section_add", "rubric.criterion_add"]
    page = text_of(staff.get(f"/staff/competitions/{competition_id}/rubric"))
    # plan: max 16 points, weight = max (16); need: max 10, weight 40 → shares 16/56 and 40/56
    assert "max 16 pts · weight 16 (= max) · 28.6% of the score" in page
    assert "max 10 pts · weight 40 · 71.4% of the score" in page


@pytest.mark.parametrize(
    "descriptors, message",
    [
        ("7 | Too many", "line 1: 7 is above max_points 6"),
        ("2.5 | Half", "line 1: 2.5 is not a multiple of step 1"),
        ("0 | A\n0 | B", "line 2: 0 points are described twice"),
        ("just a label", "write “points | label | description”"),
        ("x | Label", "line 1: 'x' is not a number"),
    ],
)
def test_descriptors_must_be_scores_the_criterion_allows(
    app, staff, competition_id, descriptors, message
):
    post(staff, f"/staff/competitions/{competition_id}/rubric", SECTION)
    with app.app_context():
        section_id = db.session.scalar(select(RubricSection.id))
    response = post(
        staff,
        f"/staff/sections/{section_id}/criteria/new",
        {
            "key": "plan.budget",
            "title": "Budget",
            "max_points": "6",
            "step": "1",
            "position": "1",
            "descriptors": descriptors,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="descriptors-err"' in html
    assert message in html.replace("&#39;", "'").replace("&#34;", '"')
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Criterion)) == 1


def test_rubric_rules_refused_beside_the_field(app, staff, competition_id):
    url = f"/staff/competitions/{competition_id}/rubric"
    post(staff, url, SECTION)
    again = post(staff, url, SECTION | {"criterion_key": "plan.other"})
    assert "“plan” is already used in this competition" in again.get_data(as_text=True)
    dup_criterion = post(staff, url, SECTION | {"key": "other"})
    assert 'id="criterion_key-err"' in dup_criterion.get_data(as_text=True)
    zero = post(
        staff, url, SECTION | {"key": "z", "criterion_key": "z.a", "criterion_max_points": "0"}
    )
    assert "must be more than 0" in zero.get_data(as_text=True)
    with app.app_context():
        section = db.session.scalar(select(RubricSection))
        # weights adding up to 0 would divide by zero in §3.1: the core refuses it
        response = post(
            staff,
            f"/staff/sections/{section.id}/edit",
            {
                "key": "plan",
                "title": "Plan",
                "weight": "0",
                "position": "0",
                "narrative_limit": "6000",
            },
        )
        assert "the section weights add up to 0" in response.get_data(as_text=True)
        db.session.refresh(section)
        assert section.weight is None


def test_a_section_named_by_a_tie_breaker_cannot_be_deleted(app, staff, competition_id):
    post(staff, f"/staff/competitions/{competition_id}/rubric", SECTION)
    post(
        staff,
        f"/staff/competitions/{competition_id}/rubric",
        SECTION | {"key": "need", "title": "Need", "criterion_key": "need.data"},
    )
    edit = post(
        staff, f"/staff/competitions/{competition_id}/edit", NEW | {"tie_breaker_1": "section:plan"}
    )
    assert edit.status_code == 302
    with app.app_context():
        plan_id = db.session.scalar(select(RubricSection.id).where(RubricSection.key == "plan"))
    response = post(staff, f"/staff/sections/{plan_id}/delete", follow_redirects=True)
    assert "unknown section 'plan'" in text_of(response)
    with app.app_context():
        assert db.session.get(RubricSection, plan_id) is not None


def test_the_last_criterion_or_section_cannot_be_deleted(app, staff, competition_id):
    post(staff, f"/staff/competitions/{competition_id}/rubric", SECTION)
    with app.app_context():
        section_id = db.session.scalar(select(RubricSection.id))
        criterion_id = db.session.scalar(select(Criterion.id))
    page = text_of(post(staff, f"/staff/criteria/{criterion_id}/delete", follow_redirects=True))
    assert "A section needs at least one criterion" in page
    page = text_of(post(staff, f"/staff/sections/{section_id}/delete", follow_redirects=True))
    assert "A rubric needs at least one section" in page


def test_the_rubric_is_frozen_once_a_review_is_submitted(app, staff, competition_id):
    post(staff, f"/staff/competitions/{competition_id}/rubric", SECTION)
    with app.app_context():
        c = db.session.get(Competition, competition_id)
        school = factories.school(db.session.scalar(select(factories.District)))
        application = factories.application(c, school)
        reviewer = factories.user(Role.REVIEWER, "r9@example.org")
        db.session.add(
            Review(
                application=application,
                reviewer=reviewer,
                status=ReviewStatus.SUBMITTED,
                submitted_at=utcnow(),
            )
        )
        db.session.commit()
        section_id, criterion_id = db.session.execute(
            select(RubricSection.id, Criterion.id).join(Criterion)
        ).one()
    page = staff.get(f"/staff/competitions/{competition_id}/rubric")
    assert "Frozen." in text_of(page) and "1 review has been submitted" in text_of(page)
    assert "Add a section" not in text_of(page)
    attempts = [
        (
            f"/staff/competitions/{competition_id}/rubric",
            SECTION | {"key": "x", "criterion_key": "x.y"},
        ),
        (
            f"/staff/sections/{section_id}/edit",
            {"key": "plan", "title": "Renamed", "position": "0", "narrative_limit": "6000"},
        ),
        (f"/staff/sections/{section_id}/delete", {}),
        (
            f"/staff/sections/{section_id}/criteria/new",
            {"key": "plan.x", "title": "X", "max_points": "5", "step": "1", "position": "3"},
        ),
        (
            f"/staff/criteria/{criterion_id}/edit",
            {
                "key": "plan.goals",
                "title": "Goals",
                "max_points": "20",
                "step": "1",
                "position": "0",
            },
        ),
        (f"/staff/criteria/{criterion_id}/delete", {}),
    ]
    for url, data in attempts:
        response = post(staff, url, data)
        assert response.status_code == 409, url
        assert "The rubric is frozen" in text_of(response)
    with app.app_context():
        criterion = db.session.get(Criterion, criterion_id)
        assert criterion.max_points == 10 and criterion.section.title == "Plan"
        assert db.session.scalar(select(func.count()).select_from(RubricSection)) == 1


def test_priorities_add_edit_and_a_claimed_one_is_kept(app, staff, competition_id):
    url = f"/staff/competitions/{competition_id}/priorities"
    assert (
        post(staff, url, {"key": "network", "title": "Network school", "points": "5"}).status_code
        == 302
    )
    bad = post(staff, url, {"key": "x", "title": "X", "points": "-1"})
    assert 'id="points-err"' in bad.get_data(as_text=True)
    with app.app_context():
        priority = db.session.scalar(select(Priority))
        pid = priority.id
    assert (
        post(
            staff,
            f"/staff/priorities/{pid}/edit",
            {"key": "network", "title": "Network school", "points": "7.5"},
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Priority, pid).points == Decimal("7.5")
        c = db.session.get(Competition, competition_id)
        school = factories.school(db.session.scalar(select(factories.District)))
        application = factories.application(c, school)
        db.session.add(ApplicationPriority(application=application, priority_id=pid))
        db.session.commit()
    page = text_of(post(staff, f"/staff/priorities/{pid}/delete", follow_redirects=True))
    assert "is claimed by 1 application(s), so it cannot be deleted" in page
    with app.app_context():
        assert db.session.get(Priority, pid) is not None
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1


def test_unknown_records_are_404(staff):
    for url in (
        "/staff/competitions/999/",
        "/staff/competitions/999/edit",
        "/staff/sections/999/edit",
        "/staff/criteria/999/edit",
        "/staff/priorities/999/edit",
    ):
        assert staff.get(url).status_code == 404, url

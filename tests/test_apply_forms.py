"""The application form: built from the competition, drafts, bad input, submit inside the window
(server clock), receipt by mail, read-only after submit, withdraw, stale forms."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, ApplicationStatus, AuditEvent, Competition
from scoring.models._types import utcnow
from tests import apply_helpers as h


@pytest.fixture
def world(app):
    return h.make_world(app)


@pytest.fixture
def applicant(client, world):
    client.world = world  # the helpers below build forms for this world
    return h.login(client, world.emails["applicant"])


def _edit(client, app_id, token, **over):
    data = h.valid_form(client.world, csrf_token=token, **over)
    data.setdefault("save_draft", "1")
    return client.post(
        f"/apply/applications/{app_id}", data={k: v for k, v in data.items() if v is not None}
    )


def _submit(client, app_id, token, **over):
    data = h.valid_form(client.world, csrf_token=token, submit_app="1", **over)
    return client.post(
        f"/apply/applications/{app_id}", data={k: v for k, v in data.items() if v is not None}
    )


def _set_window(app, world, **deltas):
    with app.app_context():
        c = db.session.get(Competition, world.competition_id)
        now = utcnow()
        c.opens_at, c.closes_at = now + deltas["opens"], now + deltas["closes"]
        db.session.commit()


# --- The form is built from the competition -------------------------------------------------


def test_the_form_follows_the_rubric_and_lists_only_eligible_schools(client, world, applicant):
    page = h.text(client.get(f"/apply/competitions/{world.competition_id}/apply"))
    assert "Need and plan" in page and "(required)" in page and "Up to 500 characters." in page
    assert "Sustainability" in page and "(optional)" in page and "Up to 300 characters." in page
    assert "Use of data (15 points)" in page and "Coherent plan (10 points)" in page
    assert "School is Turnaround" in page and "+5 points" in page
    for code in range(100, 1000, 100):
        assert (
            f'name="b_{code}_1"' in page
            and f'name="b_{code}_2"' in page
            and f'name="b_{code}_3"' not in page
        )
    assert "Bridgeport Elementary" in page and "Bridgeport Middle" in page
    assert "Bridgeport High" not in page  # Category 1: not an eligible classification
    assert "Hartford Middle" not in page  # another district
    assert "$100,000.00 to $400,000.00" in page


def test_open_competitions_show_window_funds_bounds_eligibility_and_rubric(
    client, world, applicant
):
    page = h.text(client.get("/apply/competitions"))
    with client.application.app_context():
        from scoring.formatting import local_dt

        c = db.session.get(Competition, world.competition_id)
        window = f"{local_dt(c.opens_at)} to {local_dt(c.closes_at)}"
    assert window in page and ("EST" in window or "EDT" in window)
    assert "$1,200,000.00" in page and "$100,000.00 to $400,000.00" in page
    assert "Schools classified Focus or Turnaround of Alliance Districts." in page
    assert "Alliance District schools adding 300 hours [I]." in page
    assert "illustrative" in page and "Use of data" in page and "Funding after the grant" in page
    assert "Bridgeport Elementary, Bridgeport Middle" in page


def test_closed_and_unscheduled_competitions_are_not_listed_and_refuse_new_drafts(
    app, client, world, applicant
):
    _set_window(app, world, opens=timedelta(days=-10), closes=timedelta(seconds=-1))
    assert "TIME Collaborative" not in h.text(client.get("/apply/competitions"))
    response = client.post(
        f"/apply/competitions/{world.competition_id}/apply",
        data=h.valid_form(world, csrf_token=applicant, save_draft="1"),
    )
    assert response.status_code == 409 and "takes no new applications" in h.text(response)
    assert h.row_counts(app)["application"] == 0


# --- Drafts ----------------------------------------------------------------------------------


def test_an_incomplete_draft_is_saved_and_says_what_blocks_submission(
    app, client, world, applicant
):
    app_id = h.create_draft(
        client,
        world,
        applicant,
        title="",
        requested_amount="",
        b_300_1="",
        note_300="",
        **{f"narrative_{world.required_section_id}": ""},
    )
    page = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "Before you can submit" in page
    assert "Give the project a title." in page
    assert "The “Need and plan” response is required." in page
    assert "Enter the amount requested." in page
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.status == ApplicationStatus.DRAFT and a.ref == f"TIME-{a.id:05d}"
        assert a.requested_amount == Decimal("0.00")
        assert [(b.object_code, b.year, b.amount) for b in a.budget_lines] == [
            (100, 1, Decimal("50000.00")),
            (100, 2, Decimal("50000.00")),
        ]


def test_a_complete_draft_is_saved_with_exact_money_and_every_part(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    state = h.application_state(app, app_id)
    assert state["requested"] == Decimal("150000.00")
    assert state["budget"] == [
        (100, 1, Decimal("50000.00"), "Two extended-day teachers"),
        (100, 2, Decimal("50000.00"), "Two extended-day teachers"),
        (300, 1, Decimal("50000.00"), "Coaching partner"),
    ]
    assert state["narratives"] == [
        (world.required_section_id, "We add 300 hours.\nEvery student, every day."),
        (world.optional_section_id, ""),
    ]
    assert state["priorities"] == [world.priority_id]
    assert state["contacts"][0]["name"] == "Pat Principal"
    assert "This draft is complete: you can submit it." in h.text(
        client.get(f"/apply/applications/{app_id}")
    )


def test_editing_a_draft_updates_lines_in_place_and_removes_cleared_ones(
    app, client, world, applicant
):
    app_id = h.create_draft(client, world, applicant)
    response = _edit(
        client,
        app_id,
        applicant,
        b_100_2="",
        b_300_1="100000",
        note_300="Coaching, two years",
        priorities=None,
        version=str(h.application_state(app, app_id)["version"]),
    )
    assert response.status_code == 302
    state = h.application_state(app, app_id)
    assert state["budget"] == [
        (100, 1, Decimal("50000.00"), "Two extended-day teachers"),
        (300, 1, Decimal("100000.00"), "Coaching, two years"),
    ]
    assert state["priorities"] == []


def test_one_application_per_school_and_competition(app, client, world, applicant):
    first = h.create_draft(client, world, applicant)
    response = client.post(
        f"/apply/competitions/{world.competition_id}/apply",
        data=h.valid_form(world, csrf_token=applicant, save_draft="1"),
    )
    assert response.status_code == 400
    with app.app_context():
        ref = db.session.get(Application, first).ref
    assert f"This school already has application {ref} in this competition" in h.text(response)
    assert h.row_counts(app)["application"] == 1


# --- Bad input on every field: a message beside it, a 400, and nothing saved ---------------


def _bad_inputs(world):
    req, opt = world.required_section_id, world.optional_section_id
    return [
        ("school", str(world.other_school_id), "Choose one of the schools listed."),
        ("school", str(world.ineligible_school_id), "Choose one of the schools listed."),
        ("school", "abc", "Choose one of the schools listed."),
        ("school", "", "Choose one of the schools listed."),
        ("title", "x" * 301, "Keep this to 300 characters."),
        ("title", "bad\x00title", "Remove the invisible control characters"),
        ("principal_name", "n" * 201, "Keep this to 200 characters."),
        ("principal_email", "not an email", "Enter a full email address"),
        ("grant_contact_email", "a@b", "Enter a full email address"),
        ("principal_phone", "call me maybe", "Enter a phone number with digits"),
        ("grant_contact_phone", "1" * 41, "Keep this to 40 characters."),
        (
            f"narrative_{req}",
            "x" * 501,
            "This response is 501 characters; the limit is 500. Shorten it by 1.",
        ),
        (f"narrative_{opt}", "y" * 301, "the limit is 300"),
        (f"narrative_{req}", "nul \x00 inside", "Remove the invisible control characters"),
        ("requested_amount", "-5", "Enter dollars and cents"),
        ("requested_amount", "abc", "Enter dollars and cents"),
        ("requested_amount", "1.234", "Enter dollars and cents"),
        ("requested_amount", "1e5", "Enter dollars and cents"),
        ("requested_amount", "NaN", "Enter dollars and cents"),
        ("requested_amount", "Infinity", "Enter dollars and cents"),
        ("requested_amount", "١٢٣", "Enter dollars and cents"),
        ("requested_amount", "9999999999999", "That amount is too large."),
        ("priorities", "999999", "Choose only the priorities listed here."),
        ("priorities", "abc", "Invalid choice"),
        ("b_100_1", "-1", "Enter dollars and cents"),
        ("b_500_2", "ten", "Enter dollars and cents"),
        ("b_900_1", "0.001", "Enter dollars and cents"),
        ("note_100", "d" * 501, "Keep this to 500 characters."),
        (
            "note_200",
            "A description with no amount",
            "Enter an amount for at least one year, or clear this description.",
        ),
    ]


def _controls_removed(value: str) -> str:
    return "".join(c for c in value if ord(c) >= 32 or c in "\n\t")


@pytest.mark.parametrize("case", range(29))
def test_save_draft_keeps_every_entry_as_typed_and_marks_the_invalid_one(
    app, client, world, applicant, case
):
    """Issue 13: "Save draft" saves every field as typed, valid or not; the invalid one is kept
    as typed (never in the columns), marked beside its field and in a summary linking to it."""
    name, value, message = _bad_inputs(world)[case]
    if name == "school":
        message = "Choose the school this application is for."
    app_id = h.create_draft(client, world, applicant)
    state = h.application_state(app, app_id)
    response = _edit(
        client, app_id, applicant, **({"title": "Changed title", "b_100_1": "1"} | {name: value})
    )
    assert response.status_code == 302, h.text(response)[-1500:]
    page = client.get(f"/apply/applications/{app_id}")
    html, text = page.get_data(as_text=True), h.text(page)
    assert message in text
    assert 'id="error-summary"' in html and f'href="#{name}"' in html  # a link to the field
    assert 'class="field-error"' in html
    assert "This draft is complete" not in text
    if name not in ("school", "priorities"):  # shown again exactly as typed
        assert _controls_removed(value) in text
    saved = h.application_state(app, app_id)
    assert saved["version"] == state["version"] + 1
    if name != "title":
        assert saved["title"] == "Changed title"  # the valid entries are saved
    if name == "school":
        assert saved["school"] == state["school"]
    with app.app_context():
        kept = db.session.get(Application, app_id).draft_invalid
    assert set(kept) == {name} and message in kept[name]["error"]
    if name not in ("school", "priorities"):
        assert kept[name]["typed"] == _controls_removed(value)
    # "Save and submit" saves too but refuses to submit while an entry is invalid.
    response = _submit(client, app_id, applicant, **{name: value})
    assert "NOT submitted" in h.text(client.get(response.headers["Location"]))
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.DRAFT


def test_fixing_the_entry_clears_it_and_the_draft_is_complete_again(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    _edit(client, app_id, applicant, principal_email="jreed at bridgeportedu.net")
    assert "jreed at bridgeportedu.net" in h.text(client.get(f"/apply/applications/{app_id}"))
    assert h.application_state(app, app_id)["contacts"][0]["email"] == ""
    _edit(client, app_id, applicant, principal_email="jreed@bridgeportedu.net")
    text = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "This draft is complete: you can submit it." in text and "error-summary" not in text
    with app.app_context():
        assert db.session.get(Application, app_id).draft_invalid is None


def test_a_new_application_needs_a_school_and_an_empty_submit_creates_nothing(
    app, client, world, applicant
):
    counts = h.row_counts(app)
    url = f"/apply/competitions/{world.competition_id}/apply"
    assert "Choose the school…" in h.text(client.get(url))
    for data in (
        {"csrf_token": applicant, "submit_app": "1"},  # an empty "Save and submit"
        h.valid_form(world, csrf_token=applicant, save_draft="1", school=""),
        h.valid_form(
            world, csrf_token=applicant, save_draft="1", school=str(world.other_school_id)
        ),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400
        assert "Choose the school this application is for." in h.text(response)
        assert 'href="#school"' in response.get_data(as_text=True)
    assert h.row_counts(app) == counts


@pytest.mark.parametrize("case", [5, 9, 14, 24])
def test_a_new_application_is_created_with_the_invalid_entry_kept(
    app, client, world, applicant, case
):
    name, value, message = _bad_inputs(world)[case]
    response = client.post(
        f"/apply/competitions/{world.competition_id}/apply",
        data=h.valid_form(world, csrf_token=applicant, save_draft="1", **{name: value}),
    )
    assert response.status_code == 302
    assert message in h.text(client.get(response.headers["Location"]))


def test_nul_characters_and_huge_numbers_are_kept_aside_on_postgresql_too(pg_app):
    world = h.make_world(pg_app)
    client = pg_app.test_client()
    token = h.login(client, world.emails["applicant"])
    client.world = world
    app_id = h.create_draft(client, world, token)
    state = h.application_state(pg_app, app_id)
    for name, value in (
        ("title", "a\x00b"),
        (f"narrative_{world.required_section_id}", "\x00"),
        ("note_100", "\x00"),
        ("requested_amount", "9" * 40),
        ("b_100_1", "9" * 13),
        ("principal_email", "a\x00@b.org"),
    ):
        response = _edit(client, app_id, token, **{name: value})
        assert response.status_code == 302, (name, response.status_code)
        with pg_app.app_context():
            kept = db.session.get(Application, app_id).draft_invalid
        assert kept[name]["typed"] == value.replace("\x00", ""), name
    assert h.application_state(pg_app, app_id)["title"] in (state["title"], "")


def test_extra_fields_are_ignored_mass_assignment(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    response = _edit(
        client,
        app_id,
        applicant,
        status="submitted",
        eligible="0",
        ineligible_reason="x",
        confirmation_number="FAKE-1",
        competition_id="999",
        tier="9",
        ref="HACK",
        created_by_id="1",
        submitted_at="2020-01-01",
    )
    assert response.status_code == 302
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert (a.status, a.eligible, a.confirmation_number, a.tier, a.competition_id) == (
            ApplicationStatus.DRAFT,
            True,
            None,
            1,
            world.competition_id,
        )
        assert a.ref.startswith("TIME-") and a.submitted_at is None


def test_a_stale_form_gets_409_with_both_versions_side_by_side(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    old_version = str(h.application_state(app, app_id)["version"])
    saved = _edit(client, app_id, applicant, title="Saved by a colleague", version=old_version)
    assert saved.status_code == 302
    response = _edit(client, app_id, applicant, title="My stale edit", version=old_version)
    assert response.status_code == 409
    html, text = response.get_data(as_text=True), h.text(response)
    assert "Someone else saved this draft while you were editing" in text
    assert "nothing is lost" in text
    assert re.search(r'data-theirs="title">Saved by a colleague<', html)
    assert re.search(r'data-yours="title"[^>]*>My stale edit<', html)
    assert 'data-theirs="principal_name"' not in html  # only what differs is listed
    new_version = str(h.application_state(app, app_id)["version"])
    assert re.search(rf'name="version" type="hidden" value="{new_version}"', html)
    assert h.application_state(app, app_id)["title"] == "Saved by a colleague"


# --- Submit, receipt, read-only ---------------------------------------------------------------


def test_submit_inside_the_window_gives_a_receipt_and_a_mail_over_smtp(
    app, client, world, applicant
):
    sink = h.SmtpSink().start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
        app.extensions["celery"].control.purge()
        app_id = h.create_draft(client, world, applicant)
        response = _submit(
            client, app_id, applicant, version=str(h.application_state(app, app_id)["version"])
        )
        assert response.status_code == 302 and response.headers["Location"].endswith(
            f"/apply/applications/{app_id}/receipt"
        )
        with app.app_context():
            a = db.session.get(Application, app_id)
            number, submitted_at = a.confirmation_number, a.submitted_at
            assert a.status == ApplicationStatus.SUBMITTED and number.startswith(
                f"CT-{world.competition_id:03d}-"
            )
            event = db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "application.submit")
            )
            assert (
                event.after["confirmation_number"] == number
                and event.after["budget_total"] == "150000.00"
            )
            assert event.after["budget"] == [
                [100, 1, "50000.00"],
                [100, 2, "50000.00"],
                [300, 1, "50000.00"],
            ]
        receipt = h.text(client.get(f"/apply/applications/{app_id}/receipt"))
        assert "Application received" in receipt and number in receipt and "$150,000.00" in receipt
        h.run_outbox_with_worker(app)
        [message] = sink.to(world.emails["applicant"])
        assert number in message["Subject"] and number in sink.body(message)
        assert "$150,000.00" in sink.body(message) and "Bridgeport Elementary" in sink.body(message)
    finally:
        sink.stop()
    # Read-only after submission: the page shows the application, and every change is refused.
    view = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "Submitted — under review" in view and number in view and 'name="save_draft"' not in view
    state = h.application_state(app, app_id)
    assert _edit(client, app_id, applicant, title="Too late").status_code == 409
    assert _submit(client, app_id, applicant).status_code == 409
    assert h.application_state(app, app_id) == state
    with app.app_context():
        assert db.session.get(Application, app_id).submitted_at == submitted_at


@pytest.mark.parametrize(
    "over, message",
    [
        (
            {"requested_amount": "160000"},
            "The budget totals $150,000.00 but the request is $160,000.00; "
            "they must be equal (difference $10,000.00).",
        ),
        (
            {"requested_amount": "50000", "b_100_2": "", "b_300_1": "", "note_300": ""},
            "The request must be at least $100,000.00, the smallest award.",
        ),
        (
            {"requested_amount": "500000", "b_300_1": "400000"},
            "The request must be at most $400,000.00, the largest award.",
        ),
        ({"narrative_REQ": "   "}, "The “Need and plan” response is required."),
        ({"grant_contact_email": ""}, "Enter the grant contact's email address."),
        (
            {"b_100_1": "", "b_100_2": "", "b_300_1": "", "note_100": "", "note_300": ""},
            "Enter the budget: at least one line",
        ),
    ],
)
def test_an_incomplete_submission_is_kept_as_a_draft_with_the_reason_beside_the_field(
    app, client, world, applicant, over, message
):
    over = {k.replace("REQ", str(world.required_section_id)): v for k, v in over.items()}
    app_id = h.create_draft(client, world, applicant)
    response = _submit(client, app_id, applicant, **over)
    assert response.status_code == 302
    page = h.text(client.get(response.headers["Location"]))
    assert "Your draft is saved but NOT submitted" in page
    assert message in page and "To submit:" in page
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.status == ApplicationStatus.DRAFT and a.confirmation_number is None
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "application.submit"))
            is None
        )
    assert h.row_counts(app)["outbox_message"] == 0


def test_before_the_window_opens_a_draft_is_kept_but_not_submitted(app, client, world, applicant):
    _set_window(app, world, opens=timedelta(hours=2), closes=timedelta(days=5))
    assert "Opens soon" in h.text(client.get("/apply/competitions"))
    app_id = h.create_draft(client, world, applicant)
    response = _submit(client, app_id, applicant)
    page = h.text(client.get(response.headers["Location"]))
    assert "NOT submitted" in page and "The window opens" in page
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.DRAFT


def test_after_the_deadline_nothing_changes_and_the_page_says_why(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    _set_window(app, world, opens=timedelta(days=-10), closes=timedelta(seconds=-1))
    state = h.application_state(app, app_id)
    response = _submit(client, app_id, applicant)
    assert response.status_code == 409 and "has passed" in h.text(response)
    assert _edit(client, app_id, applicant).status_code == 409
    assert h.application_state(app, app_id) == state
    view = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "was not submitted before the deadline" in view


# --- Withdraw ----------------------------------------------------------------------------------


def _withdraw(client, app_id, token, confirm=True):
    data = {"csrf_token": token, **({"confirm": "y"} if confirm else {})}
    return client.post(f"/apply/applications/{app_id}/withdraw", data=data)


def test_withdraw_before_the_deadline_needs_the_box_ticked(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    _submit(client, app_id, applicant)
    unticked = _withdraw(client, app_id, applicant, confirm=False)
    assert "tick “Yes, I am sure”" in h.text(client.get(unticked.headers["Location"]))
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.SUBMITTED
    assert _withdraw(client, app_id, applicant).status_code == 302
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.status == ApplicationStatus.WITHDRAWN and a.withdrawn_at is not None
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "application.withdraw")
        )
    assert "Withdrawn" in h.text(client.get(f"/apply/applications/{app_id}"))
    assert _withdraw(client, app_id, applicant).status_code == 409
    # The school may apply again with a new application.
    assert h.create_draft(client, world, applicant) != app_id


def test_withdraw_after_the_deadline_is_refused(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    _submit(client, app_id, applicant)
    _set_window(app, world, opens=timedelta(days=-10), closes=timedelta(seconds=-1))
    response = _withdraw(client, app_id, applicant)
    assert response.status_code == 409 and "has passed" in h.text(response)
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.SUBMITTED


def test_the_whole_flow_on_postgresql(pg_app):
    """Draft, in-place budget edits (unique object code and year), workbook upload, submit and
    withdraw against PostgreSQL, where constraint order and NUMERIC types are strict."""
    import io

    import openpyxl

    world = h.make_world(pg_app)
    client = pg_app.test_client()
    client.world = world
    token = h.login(client, world.emails["applicant"])
    app_id = h.create_draft(client, world, token)
    # Move amounts between existing keys and clear one: rows are updated in place, not re-inserted.
    assert (
        _edit(client, app_id, token, b_100_1="50000", b_100_2="", b_300_1="100000").status_code
        == 302
    )
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/apply/applications/{app_id}/budget.xlsx").data)
    )
    ws = book["Budget"]
    rows = {c.value: c.row for c in ws["A"] if isinstance(c.value, int)}
    ws.cell(row=rows[300], column=4).value = None
    ws.cell(row=rows[300], column=5).value = 100000
    out = io.BytesIO()
    book.save(out)
    upload = client.post(
        f"/apply/applications/{app_id}/budget",
        content_type="multipart/form-data",
        data={"csrf_token": token, "workbook": (io.BytesIO(out.getvalue()), "b.xlsx")},
    )
    assert upload.status_code == 302
    assert h.application_state(pg_app, app_id)["budget"] == [
        (100, 1, Decimal("50000.00"), "Two extended-day teachers"),
        (300, 2, Decimal("100000.00"), "Coaching partner"),
    ]
    state = h.application_state(pg_app, app_id)
    response = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(
            world,
            csrf_token=token,
            submit_app="1",
            b_100_1="50000",
            b_100_2="",
            b_300_1="",
            b_300_2="100000",
            version=str(state["version"]),
        ),
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/receipt")
    with pg_app.app_context():
        a = db.session.get(Application, app_id)
        assert a.status == ApplicationStatus.SUBMITTED and a.requested_amount == Decimal(
            "150000.00"
        )
    assert (
        client.post(
            f"/apply/applications/{app_id}/withdraw", data={"csrf_token": token, "confirm": "y"}
        ).status_code
        == 302
    )
    assert h.application_state(pg_app, app_id)["status"] == ApplicationStatus.WITHDRAWN


def test_a_new_application_can_be_submitted_in_one_go(app, client, world, applicant):
    response = client.post(
        f"/apply/competitions/{world.competition_id}/apply",
        data=h.valid_form(world, csrf_token=applicant, submit_app="1"),
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/receipt")
    with app.app_context():
        a = db.session.scalar(select(Application))
        assert a.status == ApplicationStatus.SUBMITTED and a.confirmation_number
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["application.create", "application.submit"]

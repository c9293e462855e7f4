"""The Turnaround Office calendar (issue 10): the public page in Connecticut time, its ICS feed
and each reviewer's private feed behind a revocable secret token. The feeds are parsed with the
``icalendar`` library, as a calendar program would import them; review deadlines reach the
reviewer's home, assignment page and mails with links from ``PUBLIC_URL``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import AuditEvent, Competition, OutboxMessage, User
from scoring.services.reviews import progress
from tests import review_support as rs

OPENS = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 9:00 AM EST
CLOSES = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 4:00 PM EST
REVIEWS = datetime(2026, 4, 1, 20, 0, tzinfo=UTC)  # 4:00 PM EDT
DECISION = datetime(2026, 5, 15, 16, 0, tzinfo=UTC)  # 12:00 PM EDT


@pytest.fixture
def world(app):
    world = rs.build(app)
    with app.app_context():
        c = db.session.get(Competition, world.competition)
        c.opens_at, c.closes_at, c.review_due_at, c.decision_at = OPENS, CLOSES, REVIEWS, DECISION
        db.session.commit()
    return world


def _events(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    return {str(e.get("summary")): e for e in cal.walk("VEVENT")}


def test_the_public_calendar_page_and_feed(app, client, world):
    page = client.get("/public/calendar")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Jan 05, 2026 09:00 AM EST to Mar 02, 2026 04:00 PM EST" in text
    assert "Apr 01, 2026 04:00 PM EDT" in text and "Reviews due" in text
    assert "May 15, 2026 12:00 PM EDT" in text and "Decisions expected" in text

    feed = client.get("/public/calendar.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    events = _events(feed.data)
    window = events["SIG review test: application window"]
    assert window.decoded("dtstart") == OPENS and window.decoded("dtend") == CLOSES
    assert events["SIG review test: applications due"].decoded("dtstart") == CLOSES
    assert events["SIG review test: reviews due"].decoded("dtstart") == REVIEWS
    assert events["SIG review test: decisions expected"].decoded("dtstart") == DECISION
    assert str(window.get("url")).startswith(app.config["PUBLIC_URL"].rstrip("/"))
    assert len({str(e.get("uid")) for e in events.values()}) == 4  # stable, distinct UIDs


def test_an_unscheduled_competition_is_not_on_the_calendar(app, client, world):
    with app.app_context():
        db.session.get(Competition, world.competition).opens_at = None
        db.session.commit()
    assert "SIG review test" not in client.get("/public/calendar").get_data(as_text=True)
    assert _events(client.get("/public/calendar.ics").data) == {}


def _feed_link(client) -> str:
    token = rs.token(client, "/review/calendar")
    page = client.post("/review/calendar/new", data={"csrf_token": token})
    assert page.status_code == 200
    match = re.search(r'<code id="feed-link">([^<]+)</code>', page.get_data(as_text=True))
    assert match
    return match.group(1)


def test_a_reviewers_private_feed_shows_their_due_dates_and_can_be_revoked(app, client, world):
    rs.assign(app, world.apps["SIG-001"], world.users["r3"])
    rs.login(client, world.emails["r3"])
    link = _feed_link(client)
    assert link.startswith(app.config["PUBLIC_URL"].rstrip("/") + "/review/calendar/")
    path = link[len(app.config["PUBLIC_URL"].rstrip("/")) :]

    anonymous = app.test_client()  # a calendar program does not sign in
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.headers["Cache-Control"] == "private, no-store"
    events = _events(feed.data)
    assert list(events) == ["SIG review test: your 1 review(s) due"]
    assert events["SIG review test: your 1 review(s) due"].decoded("dtstart") == REVIEWS
    with app.app_context():
        user = db.session.get(User, world.users["r3"])
        assert user.calendar_token_hash and user.calendar_token_hash not in link  # hash only

    second = _feed_link(client)  # a new link revokes the old one
    assert anonymous.get(path).status_code == 404
    second_path = second[len(app.config["PUBLIC_URL"].rstrip("/")) :]
    assert anonymous.get(second_path).status_code == 200
    token = rs.token(client, "/review/calendar")
    assert client.post("/review/calendar/revoke", data={"csrf_token": token}).status_code == 302
    assert anonymous.get(second_path).status_code == 404
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("calendar.token") == 2 and "calendar.revoke" in actions


@pytest.mark.parametrize(
    "path",
    [
        "/review/calendar/nope.ics",
        "/review/calendar/" + "x" * 300 + ".ics",
        "/review/calendar/%00.ics",
    ],
)
def test_a_made_up_feed_token_is_404(app, client, world, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("who", ["staff", "applicant", None])
def test_only_reviewers_manage_a_private_feed(app, world, who):
    client = app.test_client()
    if who:
        rs.login(client, world.emails[who])
    response = client.get("/review/calendar")
    assert response.status_code in (302, 403)
    before = db_hashes(app)
    posted = client.post("/review/calendar/new", data={})
    assert posted.status_code in (302, 400, 403)
    assert db_hashes(app) == before


def db_hashes(app) -> list:
    with app.app_context():
        return db.session.scalars(select(User.calendar_token_hash)).all()


def test_a_staff_member_feed_token_is_not_a_reviewer_feed(app, client, world):
    """A token set on a non-reviewer account (e.g. after a role change) serves nothing."""
    from scoring.services import calendar

    with app.app_context():
        staff = db.session.get(User, world.users["staff"])
        raw = calendar.new_feed_token(staff)
        db.session.commit()
    assert client.get(f"/review/calendar/{raw}.ics").status_code == 404


def test_deadline_on_the_reviewer_pages_and_in_mails_with_links_from_public_url(app, world):
    assignment_id = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    client = app.test_client()
    rs.login(client, world.emails["r3"])
    with clock.frozen(REVIEWS - timedelta(days=1)):
        home = client.get("/review/").get_data(as_text=True)
        assert "Apr 01, 2026 04:00 PM EDT" in home and "overdue" not in home
    with clock.frozen(REVIEWS + timedelta(hours=1)):
        assert "overdue" in client.get("/review/").get_data(as_text=True)
        page = client.get(f"/review/a/{assignment_id}").get_data(as_text=True)
        assert "Review due <strong>Apr 01, 2026 04:00 PM EDT</strong>" in page
        staff = app.test_client()
        rs.login(staff, world.emails["staff"])
        text = staff.get(f"/staff/panel/c/{world.competition}/").get_data(as_text=True)
        assert "deadline passed" in text and "overdue" in text
    with app.test_request_context(headers={"Host": "evil.example"}), app.app_context():
        competition = db.session.get(Competition, world.competition)
        progress.queue_reminders(competition, actor=db.session.get(User, world.users["staff"]))
        db.session.commit()
        mail = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_addr == world.emails["r3"])
        )
        assert "Reviews are due Apr 01, 2026 04:00 PM EDT" in mail.body
        assert app.config["PUBLIC_URL"].rstrip("/") + "/review/" in mail.body
        assert "evil.example" not in mail.body

"""The scoring form helps (issue 13): running totals, "n of m criteria scored", an error summary
linking to the fields, a confirmation page with the totals before submitting, "last saved" only
after a save."""

from __future__ import annotations

import re

import pytest

from scoring.extensions import db
from scoring.models import AuditEvent, Review
from tests import review_support as rs
from tests.test_review_scoring import _declare_none


@pytest.fixture
def world(app):
    return rs.build(app)


@pytest.fixture
def r3(app, client, world):
    rs.login(client, world.emails["r3"])
    assignment = rs.assign(app, world.apps["SIG-001"], world.users["r3"])
    _declare_none(client, assignment)
    return assignment


def _review(app, world):
    with app.app_context():
        review = db.session.scalar(
            db.select(Review).filter_by(
                application_id=world.apps["SIG-001"], reviewer_id=world.users["r3"]
            )
        )
        return review.status.value, review.version


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_totals_and_last_saved_follow_what_is_saved(app, client, world, r3):
    page = client.get(f"/review/a/{r3}").get_data(as_text=True)
    text = _text(page)
    assert "not saved yet" in text and "last saved" not in text
    assert "0 of 3 criteria scored" in text and "total 0 of 30 points" in text
    assert re.search(r'<script src="/static/score\.js[^"]*" defer>', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script (CSP)
    _, v = _review(app, world)
    response = rs.post(client, f"/review/a/{r3}", rs.score_form(world, [8, None, 12], version=v))
    assert response.status_code == 302
    text = _text(client.get(f"/review/a/{r3}").get_data(as_text=True))
    assert "last saved" in text and "not saved yet" not in text
    assert "2 of 3 criteria scored" in text and "total 20 of 30 points" in text
    # per section: need 8 of 15 (one of two scored), plan 12 of 15
    assert "Needs analysis 8 of 15 1 of 2" in text
    assert "Implementation plan 12 of 15 1 of 1" in text


def test_the_error_summary_links_to_each_field_in_error(app, client, world, r3):
    _, v = _review(app, world)
    response = rs.post(
        client,
        f"/review/a/{r3}",
        rs.score_form(world, ["abc", None, 99], version=v, action="check"),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="flash flash-error error-summary".*?</div>', page, re.S)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(0))
    assert [target for target, _ in links] == [f"points_{cid}" for cid in world.criteria]
    assert "Enter a number, for example 7 or 7.5." in links[0][1]
    assert "Enter points for this criterion to submit" in links[1][1]
    assert "Enter a number from 0 to 15." in links[2][1]
    for cid in world.criteria:
        assert f'id="points_{cid}"' in page
    assert _review(app, world) == ("draft", v)  # nothing saved


def test_check_saves_then_the_confirmation_page_shows_totals_and_submits(app, client, world, r3):
    _, v = _review(app, world)
    response = rs.post(
        client,
        f"/review/a/{r3}",
        rs.score_form(world, [8, 2.5, 12], version=v, action="check"),
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/review/a/{r3}/confirm"
    )
    status, saved = _review(app, world)
    assert status == "draft" and saved == v + 1  # saved, not locked
    text = _text(client.get(f"/review/a/{r3}/confirm").get_data(as_text=True))
    # (8 + 2.5) / 15 of "need" and 12 / 15 of "plan", plain points: 100 × 22.5 / 30 = 75.
    assert "Needs analysis 10.5 of 15 2 of 2" in text and "Total 22.5 of 30 3 of 3" in text
    assert "Review score: 75.00 of 100" in text
    stale = rs.post(client, f"/review/a/{r3}/confirm", {"version": str(v)})
    assert stale.status_code == 302 and _review(app, world) == ("draft", saved)
    done = rs.post(client, f"/review/a/{r3}/confirm", {"version": str(saved)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/review/")
    assert _review(app, world)[0] == "submitted"
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="review.submit"))
        assert event.after["score"] == 75.0


def test_the_confirmation_page_sends_an_incomplete_draft_back(app, client, world, r3):
    _, v = _review(app, world)
    rs.post(client, f"/review/a/{r3}", rs.score_form(world, [8, None, 12], version=v))
    response = client.get(f"/review/a/{r3}/confirm")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/review/a/{r3}")
    refused = rs.post(client, f"/review/a/{r3}/confirm", {"version": str(v + 1)})
    assert refused.status_code == 302 and _review(app, world)[0] == "draft"


@pytest.mark.parametrize("visible", [False, True])
def test_the_confirmation_page_says_exactly_what_submitting_does(app, client, world, r3, visible):
    """Issue 10 §6: the page says the review locks and cannot be changed by the reviewer, who
    can reopen it, that it counts in the ranking, and who reads the comments; and it holds."""
    with app.app_context():
        review = db.session.scalar(db.select(Review).filter_by(reviewer_id=world.users["r3"]))
        review.application.competition.comments_visible_to_applicants = visible
        db.session.commit()
    _, v = _review(app, world)
    rs.post(
        client, f"/review/a/{r3}", rs.score_form(world, [8, 2.5, 12], version=v, action="check")
    )
    page = client.get(f"/review/a/{r3}/confirm").get_data(as_text=True)
    said = _text(re.search(r'<section class="card" id="what-happens".*?</section>', page, re.S)[0])
    assert "What happens when you submit" in said
    assert "Your review of SIG-001 is locked." in said
    assert "You can no longer change its points or comments" in said
    assert "Only Turnaround Office staff can reopen it, with a reason" in said
    assert "It counts in the ranking of" in said and "(review score 75.00 of 100)" in said
    if visible:
        assert "the applicant reads your comments" in said and "never your name" in said
    else:
        assert "applicants do not see them" in said
    saved = _review(app, world)[1]
    assert rs.post(client, f"/review/a/{r3}/confirm", {"version": str(saved)}).status_code == 302
    # what the page promised: a change after submitting is refused and nothing changes
    locked = _review(app, world)
    again = rs.post(client, f"/review/a/{r3}", rs.score_form(world, [1, 1, 1], version=locked[1]))
    assert again.status_code in (400, 409) and "locked" in _text(again.get_data(as_text=True))
    assert _review(app, world) == locked == ("submitted", locked[1])

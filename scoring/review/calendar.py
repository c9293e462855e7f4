"""The reviewer's private calendar feed: a page to create (or replace) and revoke its secret
link, and the ICS feed itself, reached by the token alone (calendar programs do not sign in)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from scoring import clock
from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Role
from scoring.public.views import ics_response
from scoring.review.views import bp
from scoring.runtime import public_url
from scoring.services import calendar
from scoring.web import current_actor


def _page(link: str | None = None, status: int = 200):
    reviewer = current_actor()
    return render_template(
        "review/calendar.html",
        form=FlaskForm(),
        link=link,
        active=reviewer.calendar_token_hash is not None,
        entries=calendar.reviewer_entries(reviewer),
    ), status


@bp.route("/calendar")
@role_required(Role.REVIEWER)
def calendar_settings():
    """The reviewer's due dates and their private feed link (create, replace, revoke)."""
    return _page()


@bp.route("/calendar/new", methods=["POST"])
@role_required(Role.REVIEWER)
def calendar_new():
    """A new secret feed link (the old one stops working); shown once."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    raw = calendar.new_feed_token(current_actor())
    db.session.commit()
    return _page(public_url("review.calendar_feed", token=raw))


@bp.route("/calendar/revoke", methods=["POST"])
@role_required(Role.REVIEWER)
def calendar_revoke():
    """Turn the private feed off."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    calendar.revoke_feed_token(current_actor())
    db.session.commit()
    flash("Your calendar feed link no longer works.", "info")
    return redirect(url_for(".calendar_settings"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The reviewer's due dates as ICS, for the holder of the secret link (404 otherwise)."""
    reviewer = calendar.reviewer_for_token(token)
    if reviewer is None or reviewer.role != Role.REVIEWER:
        abort(404)
    body = calendar.to_ics(
        calendar.reviewer_entries(reviewer),
        "Your reviews (Turnaround Office)",
        clock.now(),
        lambda e: public_url("review.home"),
    )
    response = ics_response(body, "my-reviews.ics")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

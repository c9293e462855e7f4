"""Public pages that need no login: the published award lists, the Turnaround Office calendar
(a page in Connecticut time and an ICS feed)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from scoring import clock
from scoring.errors import NotFound
from scoring.extensions import db
from scoring.models import Competition
from scoring.services import calendar
from scoring.services.decisions import publication
from scoring.services.ranking import board as boards
from scoring.services.ranking.reasons import cap_words, why_not_funded

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.route("/")
def index():
    """Every competition with a published award list."""
    return render_template("public/index.html", published=publication.published_competitions())


@bp.route("/awards/<slug>")
def awards(slug: str):
    """The award list as published: pinned to the approved run, exceptions shown as such."""
    competition = db.session.scalar(select(Competition).where(Competition.slug == slug[:80]))
    slate = publication.published_slate(competition) if competition else None
    if slate is None:
        raise NotFound("No award list has been published for this competition.")
    view = boards.board(slate.run)
    why = {
        row.result.id: why_not_funded(slate.run, row.result, override=row.override)
        for row in view.rows
    }
    return render_template(
        "public/awards.html",
        c=competition,
        slate=slate,
        view=view,
        awarded=[r for r in view.rows if r.award > 0],
        missing=[r for r in view.rows if r.award == 0 and r.result.rank is not None],
        why=why,
        caps=cap_words(slate.run),
    )


@bp.route("/calendar")
def calendar_page():
    """Every competition's window, review deadline and decision date, in Connecticut time."""
    return render_template("public/calendar.html", entries=calendar.public_entries())


@bp.route("/calendar.ics")
def calendar_feed():
    """The same calendar as an ICS feed (UTC instants; calendar programs show local time)."""
    body = calendar.to_ics(
        calendar.public_entries(), "Turnaround Office calendar", clock.now(), _entry_link
    )
    return ics_response(body, "turnaround-calendar.ics")


def _entry_link(entry) -> str:
    from scoring.runtime import public_url

    return public_url("public.calendar_page", _anchor=f"c{entry.competition.id}-{entry.kind}")


def ics_response(body: bytes, filename: str) -> Response:
    """An ICS document, not cached by shared caches."""
    response = Response(body, mimetype="text/calendar", content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

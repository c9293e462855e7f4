"""Public pages that need no login: the published award lists."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from scoring.errors import NotFound
from scoring.extensions import db
from scoring.models import Competition
from scoring.services.decisions import decisions
from scoring.services.ranking import board as boards

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.route("/")
def index():
    """Every competition with a published award list."""
    return render_template("public/index.html", published=decisions.published_competitions())


@bp.route("/awards/<slug>")
def awards(slug: str):
    """The award list as published: pinned to the approved run, exceptions shown as such."""
    competition = db.session.scalar(select(Competition).where(Competition.slug == slug[:80]))
    slate = decisions.published_slate(competition) if competition else None
    if slate is None:
        raise NotFound("No award list has been published for this competition.")
    view = boards.board(slate.run)
    return render_template(
        "public/awards.html",
        c=competition,
        slate=slate,
        view=view,
        awarded=[r for r in view.rows if r.award > 0],
    )

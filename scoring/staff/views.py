"""The staff side: the competitions list; the other staff pages register on this blueprint from
the modules imported by ``scoring/staff/__init__.py``."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, render_template
from sqlalchemy import func, select

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Application, AwardSlate, Competition, RankingRun, Role
from scoring.services.queries import official_run

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.app_template_filter("trim_num")
def trim_num(value: Decimal | float | int | None) -> str:
    """A point value without trailing zeros: ``15.0000`` → ``15``, ``0.5000`` → ``0.5``."""
    if value is None:
        return "—"
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text == "-0" else text


@bp.route("/")
@role_required(Role.STAFF)
def home():
    """Every competition with its phase, application count, official run (never a what-if run:
    those are counted apart) and slate."""
    counts = dict(
        db.session.execute(
            select(Application.competition_id, func.count()).group_by(Application.competition_id)
        ).all()
    )
    what_ifs = dict(
        db.session.execute(
            select(RankingRun.competition_id, func.count())
            .where(RankingRun.what_if.is_(True))
            .group_by(RankingRun.competition_id)
        ).all()
    )
    slates = {
        s.competition_id: s for s in db.session.scalars(select(AwardSlate).order_by(AwardSlate.id))
    }
    competitions = db.session.scalars(select(Competition).order_by(Competition.title)).all()
    rows = [
        (c, counts.get(c.id, 0), db.session.scalar(official_run(c.id)), slates.get(c.id))
        for c in competitions
    ]
    return render_template("staff/home.html", rows=rows, what_ifs=what_ifs)

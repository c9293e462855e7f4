"""The staff side: competitions and their ranking runs."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Application, Competition, RankingRun, Role

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("/")
@role_required(Role.STAFF)
def home():
    """Every competition with its application count and latest ranking run."""
    counts = dict(
        db.session.execute(
            select(Application.competition_id, func.count()).group_by(Application.competition_id)
        ).all()
    )
    latest = dict(
        db.session.execute(
            select(RankingRun.competition_id, func.max(RankingRun.id)).group_by(RankingRun.competition_id)
        ).all()
    )
    runs = {r.id: r for r in db.session.scalars(select(RankingRun).where(RankingRun.id.in_(latest.values())))}
    competitions = db.session.scalars(select(Competition).order_by(Competition.title)).all()
    rows = [(c, counts.get(c.id, 0), runs.get(latest.get(c.id))) for c in competitions]
    return render_template("staff/home.html", rows=rows)

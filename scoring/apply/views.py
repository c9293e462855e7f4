"""The applicant's side: a district user's applications and the open competitions."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Application, Competition, Role, School

bp = Blueprint("apply", __name__, url_prefix="/apply")


@bp.route("/")
@role_required(Role.APPLICANT)
def home():
    """The district's applications and the competitions it may apply to."""
    applications = db.session.scalars(
        select(Application)
        .join(School)
        .where(School.district_id == current_user.district_id)
        .order_by(Application.created_at.desc())
    ).all()
    competitions = db.session.scalars(select(Competition).order_by(Competition.closes_at)).all()
    return render_template("apply/home.html", applications=applications, competitions=competitions)

"""The reviewer's side: assigned applications."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import AssignmentStatus, ReviewerAssignment, Role

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.route("/")
@role_required(Role.REVIEWER)
def home():
    """The reviewer's assignments and their review status."""
    assignments = db.session.scalars(
        select(ReviewerAssignment)
        .where(
            ReviewerAssignment.reviewer_id == current_user.id,
            ReviewerAssignment.status == AssignmentStatus.ASSIGNED,
        )
        .order_by(ReviewerAssignment.assigned_at)
    ).all()
    return render_template("review/home.html", assignments=assignments)

"""The JSON API (read-only); errors come back as JSON."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from scoring.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.route("/health")
def health():
    """Liveness and database reachability."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")

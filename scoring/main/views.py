"""Landing: send each signed-in user to their role's home page."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from scoring.auth import home_url

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Role home when signed in, else the login page."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))

"""What the commands share: one line on standard error for a user's mistake, never a traceback.

A user's mistake (a refused bundle, bad JSON, a missing file, an unknown slug or ref, a failed
ranking, an unreachable database) exits with status 1 and one line on standard error.
"""

from __future__ import annotations

import functools

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from scoring.extensions import db
from scoring.models import Competition


class UserError(click.ClickException):
    """Exit 1 with ``Error: <message>`` as the only line on standard error."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def database_errors(callback):
    """Turn an unreachable or failing database into one clear line instead of a traceback."""

    @functools.wraps(callback)
    def wrapped(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except OperationalError as exc:
            db.session.rollback()
            raise UserError(f"database error: {str(exc.orig).strip().splitlines()[0]}") from None

    return wrapped


def competition_by_slug(slug: str) -> Competition:
    """The competition with this slug, or exit 1 naming the slug."""
    competition = db.session.scalar(select(Competition).where(Competition.slug == slug))
    if competition is None:
        raise UserError(f"no competition with slug {slug!r}")
    return competition

"""What a ranking run reads: the competition's data as the core's columns, in narrow queries.

* the competition's **submitted** applications (drafts and withdrawn applications are not part
  of a ranking, so they have no result row), with the extra columns the policy's tie-breakers
  order by (``scoring.core.ranking.registry.columns_needed``);
* **counted** reviews only (docs/ranking.md §1, ``scoring.services.queries.counted_reviews``);
* a counted review must hold a score for every criterion; if one does not, the run fails with
  a message naming the review (a missing score is never read as 0);
* priorities that staff **confirmed**; reviewers are identified by their email address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection, select

from scoring.core.ranking import ApplicationInput
from scoring.core.ranking.registry import columns_needed
from scoring.core.rubric import Criterion as RubricCriterion
from scoring.core.rubric import Rubric, Section
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    Competition,
    Criterion,
    District,
    Priority,
    RubricSection,
    School,
    User,
)
from scoring.services.db import is_postgres
from scoring.services.queries import counted_reviews
from scoring.services.ranking.points import PACKED_QUERY_BYTES, int_columns, read_points, sql_of

__all__ = ["PACKED_QUERY_BYTES", "Inputs", "InputsError", "read_inputs"]


class InputsError(ValueError):
    """The stored data cannot be ranked as it is (e.g. a counted review lacks a score)."""


@dataclass
class Inputs:
    """A competition's ranking inputs read from the database, as the core takes them."""

    rubric: Rubric
    applications: list[ApplicationInput]
    app_ids: dict[str, int]
    review_app: np.ndarray
    review_reviewer: list[str]
    points: np.ndarray
    priorities: dict[str, Decimal]


_SUBMITTED_APPS = "a.competition_id = {c} AND a.status = 'submitted'"


def read_inputs(
    competition: Competition,
    conn: Connection | None = None,
    tie_breakers: Iterable[str] = (),
    *,
    vectors: bool = True,
) -> Inputs:
    """Everything the core needs, read with narrow queries (no ORM rows on the hot path).

    ``conn`` is the connection to read from (default: the session's); ``execute_run`` passes a
    REPEATABLE READ snapshot on PostgreSQL so that every query sees the same committed state.
    ``tie_breakers``: those of the policy(ies) the inputs will be ranked with; the extra
    application columns they order by are read into ``ApplicationInput.extra``.
    ``vectors=False`` reads every score row instead of the reviews' point vectors
    (``scoring/services/ranking/points.py``; same matrix, kept to compare the two).
    """
    conn = conn if conn is not None else db.session.connection()
    rubric, criterion_ids = _read_rubric(conn, competition)
    priorities = dict(
        conn.execute(
            select(Priority.key, Priority.points).where(Priority.competition_id == competition.id)
        ).all()
    )
    applications, app_ids = _read_applications(conn, competition, columns_needed(tie_breakers))
    counted = counted_reviews(competition.id, submitted_applications=True)
    review_id, review_app_id, reviewer_id = int_columns(conn, sql_of(conn, counted), 3)
    order = np.argsort(review_id, kind="stable")
    review_id, review_app_id, reviewer_id = (
        review_id[order],
        review_app_id[order],
        reviewer_id[order],
    )
    sorted_app_ids = np.array(sorted(app_ids.values()), dtype=np.int64)
    # applications are read in id order, so an application's index is its id's rank
    review_app = np.searchsorted(sorted_app_ids, review_app_id)
    emails = _reviewer_emails(conn, np.unique(reviewer_id).tolist())
    points = read_points(conn, competition.id, review_id, criterion_ids, vectors=vectors)
    _check_complete(points, review_id, review_app, reviewer_id, applications, emails, rubric)
    return Inputs(
        rubric,
        applications,
        app_ids,
        review_app,
        [emails[i] for i in reviewer_id.tolist()],
        points,
        priorities,
    )


def _read_rubric(conn: Connection, competition: Competition) -> tuple[Rubric, list[int]]:
    rows = conn.execute(
        select(
            RubricSection.id,
            RubricSection.key,
            RubricSection.title,
            RubricSection.weight,
            Criterion.id,
            Criterion.key,
            Criterion.title,
            Criterion.max_points,
            Criterion.step,
        )
        .join(Criterion, Criterion.section_id == RubricSection.id)
        .where(RubricSection.competition_id == competition.id)
        .order_by(RubricSection.position, RubricSection.id, Criterion.position, Criterion.id)
    ).all()
    sections: dict[int, tuple[str, str, Decimal | None, list[RubricCriterion]]] = {}
    ids = []
    for sid, skey, stitle, weight, cid, ckey, ctitle, max_points, step in rows:
        sections.setdefault(sid, (skey, stitle, weight, []))[3].append(
            RubricCriterion(ckey, max_points, step, ctitle)
        )
        ids.append(cid)
    rubric = Rubric(tuple(Section(k, tuple(c), w, t) for k, t, w, c in sections.values()))
    return rubric, ids


_APPLICATIONS = """
SELECT a.id, a.ref, s.code, d.code, a.requested_amount, a.tier, a.eligible,
       a.ineligible_reason, a.submitted_at{more}
FROM application a JOIN school s ON s.id = a.school_id JOIN district d ON d.id = s.district_id
WHERE {apps} ORDER BY a.id
"""


def _application_rows(
    conn: Connection, competition: Competition, extra: Sequence[str] = ()
) -> list[tuple]:
    """(id, ref, school, district, requested, tier, eligible, reason, submitted_at UTC, then
    each ``extra`` application column)."""
    if is_postgres():  # straight from the driver: 100k rows without per-row ORM processing
        raw = conn.connection.driver_connection
        more = "".join(f", a.{Application.__table__.c[name].name}" for name in extra)
        with raw.cursor() as cursor:
            cursor.execute(
                _APPLICATIONS.format(more=more, apps=_SUBMITTED_APPS.format(c=int(competition.id)))
            )
            rows = cursor.fetchall()
        if raw.info.timezone is UTC:  # the run's snapshot reads in UTC (runs._snapshot)
            return rows
        return [(*r[:8], *(_utc(v) for v in r[8:])) for r in rows]
    return conn.execute(
        select(
            Application.id,
            Application.ref,
            School.code,
            District.code,
            Application.requested_amount,
            Application.tier,
            Application.eligible,
            Application.ineligible_reason,
            Application.submitted_at,
            *(Application.__table__.c[name] for name in extra),
        )
        .join(School, School.id == Application.school_id)
        .join(District, District.id == School.district_id)
        .where(
            Application.competition_id == competition.id,
            Application.status == ApplicationStatus.SUBMITTED,
        )
        .order_by(Application.id)
    ).all()


def _utc(value: object) -> object:
    """A timestamp from the driver (in the session's time zone) as UTC; anything else as is."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _read_applications(
    conn: Connection, competition: Competition, extra: Sequence[str] = ()
) -> tuple[list[ApplicationInput], dict[str, int]]:
    prios: dict[int, list[str]] = {}
    for app_id, key in conn.execute(
        select(ApplicationPriority.application_id, Priority.key)
        .join(Priority, Priority.id == ApplicationPriority.priority_id)
        .where(Priority.competition_id == competition.id, ApplicationPriority.confirmed.is_(True))
    ):
        prios.setdefault(app_id, []).append(key)
    apps, ids = [], {}
    for (
        app_id,
        ref,
        school,
        district,
        amount,
        tier,
        eligible,
        reason,
        submitted,
        *more,
    ) in _application_rows(conn, competition, extra):
        apps.append(
            ApplicationInput(
                ref,
                school,
                district,
                amount,
                tier,
                tuple(prios.get(app_id, ())),
                eligible,
                None if eligible else reason,
                submitted,
                dict(zip(extra, more, strict=True)) if extra else None,
            )
        )
        ids[ref] = app_id
    return apps, ids


def _reviewer_emails(conn: Connection, user_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(user_ids), 5000):
        out.update(
            conn.execute(
                select(User.id, User.email).where(User.id.in_(user_ids[start : start + 5000]))
            ).all()
        )
    return out


def _check_complete(
    points: np.ndarray,
    review_id: np.ndarray,
    review_app: np.ndarray,
    reviewer_id: np.ndarray,
    applications: Sequence[ApplicationInput],
    emails: dict[int, str],
    rubric: Rubric,
) -> None:
    missing = np.isnan(points)
    if missing.any():
        r, col = (int(x[0]) for x in np.nonzero(missing))
        n = int(missing.any(axis=1).sum())
        raise InputsError(
            f"review {int(review_id[r])} of {applications[int(review_app[r])].ref} by "
            f"{emails[int(reviewer_id[r])]} is submitted but has no score for criterion "
            f"{rubric.criteria[col].key!r} ({n} counted review(s) incomplete); reopen or "
            "complete them before ranking"
        )

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
from sqlalchemy import Connection, Select, select

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
#: Every stored score of the competition's criteria (drafts and conflicted reviews included;
#: only the counted reviews' rows are kept; a draft's comment without points is skipped, so a
#: counted review lacking points shows as missing). No join: one scan of criterion_score.
_SCORES = """
SELECT cs.review_id, cs.criterion_id, CAST(cs.points AS FLOAT)
FROM criterion_score cs WHERE cs.criterion_id IN ({ids}) AND cs.points IS NOT NULL{more}
"""
#: Bytes of packed scores fetched per query on PostgreSQL (bytea values are limited to 1 GB).
PACKED_QUERY_BYTES = 256 * 2**20


def read_inputs(
    competition: Competition, conn: Connection | None = None, tie_breakers: Iterable[str] = ()
) -> Inputs:
    """Everything the core needs, read with narrow queries (no ORM rows on the hot path).

    ``conn`` is the connection to read from (default: the session's); ``execute_run`` passes a
    REPEATABLE READ snapshot on PostgreSQL so that every query sees the same committed state.
    ``tie_breakers``: those of the policy(ies) the inputs will be ranked with; the extra
    application columns they order by are read into ``ApplicationInput.extra``.
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
    review_id, review_app_id, reviewer_id = _int_columns(conn, _sql(conn, counted), 3)
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
    points = _read_points(conn, review_id, criterion_ids)
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


def _score_columns(
    conn: Connection, review_id: np.ndarray, criterion_ids: list[int]
) -> tuple[np.ndarray, ...]:
    """(review id, criterion id, points) of every score row, in review-id ranges on PostgreSQL."""
    ids = ", ".join(str(int(i)) for i in criterion_ids)
    parts = 1
    if is_postgres():
        parts = max(1, -(-len(review_id) * len(criterion_ids) * 16 // PACKED_QUERY_BYTES))
    if parts == 1 or not len(review_id):
        return _int_columns(conn, _SCORES.format(ids=ids, more=""), 2, floats=1)
    bounds = (
        [int(review_id[0])]
        + [int(review_id[len(review_id) * k // parts]) for k in range(1, parts)]
        + [int(review_id[-1]) + 1]
    )
    chunks = [
        _int_columns(
            conn,
            _SCORES.format(ids=ids, more=f" AND cs.review_id >= {lo} AND cs.review_id < {hi}"),
            2,
            floats=1,
        )
        for lo, hi in zip(bounds, bounds[1:], strict=False)
        if hi > lo
    ]
    return tuple(np.concatenate(column) for column in zip(*chunks, strict=True))


def _read_points(conn: Connection, review_id: np.ndarray, criterion_ids: list[int]) -> np.ndarray:
    """The (counted review × criterion) points matrix in rubric order; NaN where missing."""
    points = np.full((len(review_id), len(criterion_ids)), np.nan)
    if not len(review_id) or not criterion_ids:
        return points
    rid, cid, pts = _score_columns(conn, review_id, criterion_ids)
    if not len(rid):
        return points
    col_of = np.full(max(max(criterion_ids), int(cid.max())) + 1, -1, dtype=np.int64)
    col_of[np.array(criterion_ids, dtype=np.int64)] = np.arange(len(criterion_ids))
    cols = col_of[cid]
    rows = np.searchsorted(review_id, rid)
    counted = rows < len(review_id)
    counted[counted] = review_id[rows[counted]] == rid[counted]
    points[rows[counted], cols[counted]] = pts[counted]
    return points


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


def _sql(conn: Connection, stmt: Select) -> str:
    """A select as plain SQL for the connection's dialect (values inlined: they are ids and
    enum values from the code, never user input), for ``_int_columns``."""
    return str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def _int_columns(conn: Connection, sql: str, n_int: int, floats: int = 0) -> tuple[np.ndarray, ...]:
    """Run ``sql`` (``n_int`` int4 columns, then ``floats`` float8 columns) into arrays.

    PostgreSQL: the server packs every row into one ``bytea`` (4 or 8 bytes per value, big
    endian) which numpy decodes at once, so 7.5M score rows cost no Python object per value
    (a row-per-score COPY costs ~1.5 µs of Python per row); SQLite: the driver's cursor, in
    chunks of 200,000 rows turned into arrays (no 7.5M-tuple list in memory).
    """
    if is_postgres():
        return _pg_packed_columns(conn, sql, n_int, floats)
    n = n_int + floats
    cursor = conn.connection.driver_connection.cursor()  # same connection and transaction
    try:
        cursor.execute(sql)
        chunks = [
            np.array(rows, dtype=np.float64).reshape(-1, n)
            for rows in iter(lambda: cursor.fetchmany(200_000), [])
        ]
    finally:
        cursor.close()
    table = np.concatenate(chunks) if chunks else np.empty((0, n))
    # ids fit a float64 exactly (< 2**53), so the integer columns round-trip unchanged
    return tuple(
        table[:, i].astype(np.int64) if i < n_int else table[:, i].copy() for i in range(n)
    )


def _pg_packed_columns(
    conn: Connection, sql: str, n_int: int, floats: int
) -> tuple[np.ndarray, ...]:
    n = n_int + floats
    names = [f"c{i}" for i in range(n)]
    packed = " || ".join(
        f"int4send(q.{c})" if i < n_int else f"float8send(q.{c})" for i, c in enumerate(names)
    )
    query = f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) AS q({', '.join(names)})"
    raw = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(query)
        blob = cursor.fetchone()[0] or b""
    dtype = np.dtype([(c, ">i4" if i < n_int else ">f8") for i, c in enumerate(names)])
    table = np.frombuffer(blob, dtype=dtype)
    return tuple(
        table[c].astype(np.int64 if i < n_int else np.float64) for i, c in enumerate(names)
    )

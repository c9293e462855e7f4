"""Ranking runs: queue one, compute it from the database (idempotent), store every result.

``create_run`` queues a run; ``workers.tasks.rank_competition(run_id)`` calls ``execute_run``,
which reads the committed data with a few narrow, set-based queries, ranks it with the pure
core (``scoring.ranking.rank_columns``) and writes every application's result in the caller's
transaction. Services flush, never commit: the task (or CLI) commits once.

Which data a run uses:

* the competition's **submitted** applications (drafts and withdrawn applications are not part
  of a ranking, so they have no result row);
* **counted** reviews only (docs/ranking.md §1): status ``submitted``, and the reviewer has no
  declared conflict, i.e. no ``ReviewerAssignment`` in status ``conflict`` for that
  application and no ``ReviewerConflict`` on the application's district;
* a counted review must hold a score for every criterion; if one does not, the run fails with
  a message naming the review (a missing score is never read as 0);
* priorities that staff **confirmed**; reviewers are identified by their email address.

Idempotency: ``execute_run`` locks the run row first (``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite a first no-op UPDATE takes the database write lock), returns at once when the run is
already ``done``, and otherwise deletes any results of the run before inserting the new ones,
so running it twice, or twice at the same time, leaves exactly one result set.

A bad policy or rubric (``PolicyError``/``RubricError`` from the core) marks the run ``failed``
with the message; it does not raise, so a worker does not retry a user's mistake.

Test-only hook: when the environment variable ``SCORING_TEST_RANK_DELAY`` holds a number of
seconds, ``execute_run`` sleeps that long after locking the run (the worker-kill test uses it to
kill a worker mid-task). Never set it in production.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, delete, select, update

from scoring.errors import InputError, NotFound
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    Competition,
    Criterion,
    District,
    Priority,
    RankingResult,
    RankingRun,
    RubricSection,
    RunStatus,
    School,
    User,
)
from scoring.models._types import utcnow
from scoring.ranking import (
    ApplicationInput,
    Policy,
    PolicyError,
    compact_explanations,
    explanation_context,
    rank_columns,
    render_explanation,
    result_document,
    stored_explanation,
)
from scoring.rubric import Criterion as RubricCriterion
from scoring.rubric import Rubric, RubricError, Section
from scoring.services import audit
from scoring.services.bundles import bulk_insert, is_postgres

__all__ = ["InputsError", "create_run", "execute_run", "explanation_for", "explanation_text",
           "latest_done_run",
           "mark_failed", "policy_for", "result_document_for_run"]

log = logging.getLogger(__name__)

TEST_DELAY_ENV = "SCORING_TEST_RANK_DELAY"
POLICY_KEYS = ("aggregation", "normalization", "min_reviews", "discrepancy_threshold",
               "min_score", "tie_breakers", "total_funds", "min_award", "max_award", "fund_down",
               "partial_funding", "partial_min", "district_max_awards", "district_max_amount")


class InputsError(ValueError):
    """The stored data cannot be ranked as it is (e.g. a counted review lacks a score)."""


# --------------------------------------------------------------------------- policy and runs


def policy_for(competition: Competition, overrides: dict[str, Any] | None = None) -> Policy:
    """The competition's ranking policy (docs/ranking.md §2), with what-if ``overrides`` applied.

    Raise ``PolicyError`` for an unknown knob or a bad value. Section tie-breakers are checked
    against the rubric only when the run executes.
    """
    values: dict[str, Any] = {
        "aggregation": competition.aggregation.value,
        "normalization": competition.normalization.value,
        "min_reviews": competition.min_reviews,
        "discrepancy_threshold": competition.discrepancy_threshold,
        "min_score": competition.min_score,
        "tie_breakers": list(competition.tie_breakers or []),
        "total_funds": competition.total_funds,
        "min_award": competition.min_award,
        "max_award": competition.max_award,
        "fund_down": competition.fund_down.value,
        "partial_funding": competition.partial_funding,
        "partial_min": competition.partial_min,
        "district_max_awards": competition.district_max_awards,
        "district_max_amount": competition.district_max_amount,
    }
    values.update(overrides or {})
    return Policy.from_dict(values)


def _jsonable(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as stored JSON: Decimals become strings (the policy reads them exactly)."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in overrides.items()}


def create_run(competition: Competition, *, actor: User | None = None,
               overrides: dict[str, Any] | None = None, label: str | None = None) -> RankingRun:
    """Queue a ranking run of ``competition`` (status ``queued``); the caller commits, then
    dispatches ``rank_competition.delay(run.id)``.

    ``overrides`` (what-if) are policy knobs replacing the competition's; an unknown knob or a
    bad value raises ``InputError`` and nothing is queued.
    """
    overrides = _jsonable(dict(overrides or {}))
    try:
        policy_for(competition, overrides)
    except PolicyError as exc:
        raise InputError(str(exc), "policy") from None
    run = RankingRun(competition_id=competition.id, status=RunStatus.QUEUED,
                     what_if=bool(overrides), label=label, policy_overrides=overrides,
                     created_by_id=actor.id if actor else None, attempts=0)
    db.session.add(run)
    db.session.flush()
    audit.record("ranking.queue", "ranking_run", run.id, actor=actor,
                 competition_id=competition.id,
                 after={"status": "queued", "what_if": run.what_if, "overrides": overrides})
    return run


def _lock_run(run_id: int) -> RankingRun | None:
    """The run row, locked until the transaction ends (one executor at a time)."""
    if not is_postgres():
        # SQLite: a write first takes the database lock, so a second executor waits here.
        db.session.execute(update(RankingRun).where(RankingRun.id == run_id)
                           .values(attempts=RankingRun.attempts))
    return db.session.scalars(
        select(RankingRun).where(RankingRun.id == run_id).with_for_update()
        .execution_options(populate_existing=True)).one_or_none()


def mark_failed(run_id: int, message: str) -> None:
    """Record that run ``run_id`` failed with ``message`` (a done run is left as it is)."""
    run = _lock_run(run_id)
    if run is None or run.status == RunStatus.DONE:
        return
    _fail(run, message)


def _fail(run: RankingRun, message: str) -> None:
    run.status = RunStatus.FAILED
    run.error = message
    run.finished_at = utcnow()
    audit.record("ranking.fail", "ranking_run", run.id, competition_id=run.competition_id,
                 after={"status": "failed", "error": message, "attempts": run.attempts})
    db.session.flush()
    log.warning("ranking run %s failed: %s", run.id, message)


# --------------------------------------------------------------------------- execution


def execute_run(run_id: int) -> RankingRun | None:
    """Compute run ``run_id`` and store its results; safe to call twice (or concurrently).

    Returns the run, or ``None`` if it does not exist. A run already ``done`` is returned
    unchanged. Bad policy/rubric/data marks the run ``failed`` (no exception). Database
    errors propagate (the task retries them). ``run.timings`` holds seconds for ``read`` (all
    queries), ``compute`` (the core's ranking and result document) and ``write`` (the compact
    explanation records of all applications, streamed into the bulk insert of the results;
    the run-level explanation context goes into ``run.stats["explain"]``).
    """
    run = _lock_run(run_id)
    if run is None:
        log.warning("ranking run %s does not exist", run_id)
        return None
    if run.status == RunStatus.DONE:
        return run
    run.status, run.started_at, run.error = RunStatus.RUNNING, utcnow(), None
    run.attempts = (run.attempts or 0) + 1
    _test_delay()
    with _no_gc():
        return _execute(run)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a 100k run allocates millions of containers
    (rows, lists, dicts) and none of them form cycles, yet each collection walks them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _execute(run: RankingRun) -> RankingRun:
    start = time.perf_counter()
    competition = db.session.get(Competition, run.competition_id)
    try:
        policy = policy_for(competition, run.policy_overrides)
        with _snapshot() as conn:
            inputs = read_inputs(competition, conn)
        t_read = time.perf_counter()
        result = rank_columns(inputs.rubric, policy, inputs.applications, inputs.review_app,
                              inputs.review_reviewer, inputs.points, inputs.priorities)
        document = result_document(result, competition.slug, run.id)
    except (PolicyError, RubricError, InputsError, ValueError) as exc:
        _fail(run, str(exc))
        return run
    t_compute = time.perf_counter()
    _write_results(run, result, document, inputs)
    t_write = time.perf_counter()
    _finish(run, result, inputs, {"read": round(t_read - start, 3),
                                  "compute": round(t_compute - t_read, 3),
                                  "write": round(t_write - t_compute, 3)})
    return run


@contextlib.contextmanager
def _snapshot() -> Iterator[Connection]:
    """A connection whose reads all see one committed state of the database.

    PostgreSQL: a separate REPEATABLE READ, read-only transaction, begun after the run row is
    locked (READ COMMITTED would give each query its own snapshot, so a review edited during the
    run could be half seen). SQLite: the session's own connection, which already holds the
    database write lock, so nothing can change underneath.
    """
    if not is_postgres():
        yield db.session.connection()
        return
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                               postgresql_readonly=True) as conn:
        with conn.begin():
            yield conn


def _test_delay() -> None:
    """Test-only: sleep ``SCORING_TEST_RANK_DELAY`` seconds (see the module docstring)."""
    delay = os.environ.get(TEST_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def _finish(run: RankingRun, result: Any, inputs: _Inputs, timings: dict[str, float]) -> None:
    run.policy = result.policy.to_dict()
    run.inputs_sha256 = result.inputs_sha256
    run.total_funds, run.total_awarded = result.total_funds, result.total_awarded
    run.remaining = result.remaining
    run.stats = {
        "applications": len(inputs.applications), "counted_reviews": len(inputs.review_app),
        "mean": result.mu, "std": result.sigma,
        "reviewers": {k: {"n": s.n, "mean": s.mean, "std": s.std, "applied": s.applied}
                      for k, s in result.reviewer_stats.items()},
        "explain": explanation_context(result),
    }
    run.timings = timings | {"total": round(sum(timings.values()), 3)}
    run.status, run.finished_at = RunStatus.DONE, utcnow()
    audit.record("ranking.run", "ranking_run", run.id, competition_id=run.competition_id,
                 actor=run.created_by,
                 after={"status": "done", "inputs_sha256": run.inputs_sha256,
                        "total_funds": str(run.total_funds),
                        "total_awarded": str(run.total_awarded),
                        "remaining": str(run.remaining), "what_if": run.what_if,
                        "applications": len(inputs.applications),
                        "counted_reviews": len(inputs.review_app),
                        "attempts": run.attempts, "timings": run.timings})
    db.session.flush()


# --------------------------------------------------------------------------- reading


@dataclass
class _Inputs:
    rubric: Rubric
    applications: list[ApplicationInput]
    app_ids: dict[str, int]
    review_app: np.ndarray
    review_reviewer: list[str]
    points: np.ndarray
    priorities: dict[str, Decimal]


_SUBMITTED_APPS = "a.competition_id = {c} AND a.status = 'submitted'"
_COUNTED_REVIEWS = """
SELECT r.id, r.application_id, r.reviewer_id
FROM review r
JOIN application a ON a.id = r.application_id
JOIN school s ON s.id = a.school_id
WHERE {apps} AND r.status = 'submitted'
  AND NOT EXISTS (SELECT 1 FROM reviewer_assignment ra
                  WHERE ra.application_id = r.application_id
                    AND ra.reviewer_id = r.reviewer_id AND ra.status = 'conflict')
  AND NOT EXISTS (SELECT 1 FROM reviewer_conflict rc
                  WHERE rc.user_id = r.reviewer_id AND rc.district_id = s.district_id)
"""
#: Every stored score of the competition's criteria (drafts and conflicted reviews included;
#: only the counted reviews' rows are kept; a draft's comment without points is skipped, so a
#: counted review lacking points shows as missing). No join: one scan of criterion_score.
_SCORES = """
SELECT cs.review_id, cs.criterion_id, CAST(cs.points AS FLOAT)
FROM criterion_score cs WHERE cs.criterion_id IN ({ids}) AND cs.points IS NOT NULL{more}
"""
#: Bytes of packed scores fetched per query on PostgreSQL (bytea values are limited to 1 GB).
PACKED_QUERY_BYTES = 256 * 2**20


def read_inputs(competition: Competition, conn: Connection | None = None) -> _Inputs:
    """Everything the core needs, read with narrow queries (no ORM rows on the hot path).

    ``conn`` is the connection to read from (default: the session's); ``execute_run`` passes a
    REPEATABLE READ snapshot on PostgreSQL so that every query sees the same committed state.
    """
    conn = conn if conn is not None else db.session.connection()
    rubric, criterion_ids = _read_rubric(conn, competition)
    priorities = dict(conn.execute(
        select(Priority.key, Priority.points).where(Priority.competition_id == competition.id)
    ).all())
    applications, app_ids = _read_applications(conn, competition)
    apps = _SUBMITTED_APPS.format(c=int(competition.id))
    review_id, review_app_id, reviewer_id = _int_columns(conn, _COUNTED_REVIEWS.format(apps=apps),
                                                        3)
    order = np.argsort(review_id, kind="stable")
    review_id, review_app_id, reviewer_id = review_id[order], review_app_id[order], \
        reviewer_id[order]
    sorted_app_ids = np.array(sorted(app_ids.values()), dtype=np.int64)
    # applications are read in id order, so an application's index is its id's rank
    review_app = np.searchsorted(sorted_app_ids, review_app_id)
    emails = _reviewer_emails(conn, np.unique(reviewer_id).tolist())
    points = _read_points(conn, review_id, criterion_ids)
    _check_complete(points, review_id, review_app, reviewer_id, applications, emails, rubric)
    return _Inputs(rubric, applications, app_ids, review_app,
                   [emails[i] for i in reviewer_id.tolist()], points, priorities)


def _read_rubric(conn: Connection, competition: Competition) -> tuple[Rubric, list[int]]:
    rows = conn.execute(
        select(RubricSection.id, RubricSection.key, RubricSection.title, RubricSection.weight,
               Criterion.id, Criterion.key, Criterion.title, Criterion.max_points,
               Criterion.step)
        .join(Criterion, Criterion.section_id == RubricSection.id)
        .where(RubricSection.competition_id == competition.id)
        .order_by(RubricSection.position, RubricSection.id, Criterion.position, Criterion.id)
    ).all()
    sections: dict[int, tuple[str, str, Decimal | None, list[RubricCriterion]]] = {}
    ids = []
    for sid, skey, stitle, weight, cid, ckey, ctitle, max_points, step in rows:
        sections.setdefault(sid, (skey, stitle, weight, []))[3].append(
            RubricCriterion(ckey, max_points, step, ctitle))
        ids.append(cid)
    rubric = Rubric(tuple(Section(k, tuple(c), w, t) for k, t, w, c in sections.values()))
    return rubric, ids


_APPLICATIONS = """
SELECT a.id, a.ref, s.code, d.code, a.requested_amount, a.tier, a.eligible,
       a.ineligible_reason, a.submitted_at
FROM application a JOIN school s ON s.id = a.school_id JOIN district d ON d.id = s.district_id
WHERE {apps} ORDER BY a.id
"""


def _application_rows(conn: Connection, competition: Competition) -> list[tuple]:
    """(id, ref, school, district, requested, tier, eligible, reason, submitted_at UTC)."""
    if is_postgres():  # straight from the driver: 100k rows without per-row ORM processing
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(_APPLICATIONS.format(
                apps=_SUBMITTED_APPS.format(c=int(competition.id))))
            rows = cursor.fetchall()
        return [r if r[8] is None else (*r[:8], r[8].astimezone(timezone.utc)) for r in rows]
    return conn.execute(
        select(Application.id, Application.ref, School.code, District.code,
               Application.requested_amount, Application.tier, Application.eligible,
               Application.ineligible_reason, Application.submitted_at)
        .join(School, School.id == Application.school_id)
        .join(District, District.id == School.district_id)
        .where(Application.competition_id == competition.id,
               Application.status == ApplicationStatus.SUBMITTED)
        .order_by(Application.id)).all()


def _read_applications(conn: Connection, competition: Competition
                       ) -> tuple[list[ApplicationInput], dict[str, int]]:
    prios: dict[int, list[str]] = {}
    for app_id, key in conn.execute(
            select(ApplicationPriority.application_id, Priority.key)
            .join(Priority, Priority.id == ApplicationPriority.priority_id)
            .where(Priority.competition_id == competition.id,
                   ApplicationPriority.confirmed.is_(True))):
        prios.setdefault(app_id, []).append(key)
    apps, ids = [], {}
    for app_id, ref, school, district, amount, tier, eligible, reason, submitted in \
            _application_rows(conn, competition):
        apps.append(ApplicationInput(ref, school, district, amount, tier,
                                     tuple(prios.get(app_id, ())), eligible,
                                     None if eligible else reason, submitted))
        ids[ref] = app_id
    return apps, ids


def _reviewer_emails(conn: Connection, user_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(user_ids), 5000):
        out.update(conn.execute(select(User.id, User.email).where(
            User.id.in_(user_ids[start:start + 5000]))).all())
    return out


def _score_columns(conn: Connection, review_id: np.ndarray,
                   criterion_ids: list[int]) -> tuple[np.ndarray, ...]:
    """(review id, criterion id, points) of every score row, in review-id ranges on PostgreSQL."""
    ids = ", ".join(str(int(i)) for i in criterion_ids)
    parts = 1
    if is_postgres():
        parts = max(1, -(-len(review_id) * len(criterion_ids) * 16 // PACKED_QUERY_BYTES))
    if parts == 1 or not len(review_id):
        return _int_columns(conn, _SCORES.format(ids=ids, more=""), 2, floats=1)
    bounds = [int(review_id[0])] + [int(review_id[len(review_id) * k // parts])
                                     for k in range(1, parts)] + [int(review_id[-1]) + 1]
    chunks = [_int_columns(conn, _SCORES.format(
        ids=ids, more=f" AND cs.review_id >= {lo} AND cs.review_id < {hi}"), 2, floats=1)
        for lo, hi in zip(bounds, bounds[1:]) if hi > lo]
    return tuple(np.concatenate(column) for column in zip(*chunks))


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


def _check_complete(points: np.ndarray, review_id: np.ndarray, review_app: np.ndarray,
                    reviewer_id: np.ndarray, applications: Sequence[ApplicationInput],
                    emails: dict[int, str], rubric: Rubric) -> None:
    missing = np.isnan(points)
    if missing.any():
        r, col = (int(x[0]) for x in np.nonzero(missing))
        n = int(missing.any(axis=1).sum())
        raise InputsError(
            f"review {int(review_id[r])} of {applications[int(review_app[r])].ref} by "
            f"{emails[int(reviewer_id[r])]} is submitted but has no score for criterion "
            f"{rubric.criteria[col].key!r} ({n} counted review(s) incomplete); reopen or "
            "complete them before ranking")


def _int_columns(conn: Connection, sql: str, n_int: int,
                 floats: int = 0) -> tuple[np.ndarray, ...]:
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
        chunks = [np.array(rows, dtype=np.float64).reshape(-1, n)
                  for rows in iter(lambda: cursor.fetchmany(200_000), [])]
    finally:
        cursor.close()
    table = np.concatenate(chunks) if chunks else np.empty((0, n))
    # ids fit a float64 exactly (< 2**53), so the integer columns round-trip unchanged
    return tuple(table[:, i].astype(np.int64) if i < n_int else table[:, i].copy()
                 for i in range(n))


def _pg_packed_columns(conn: Connection, sql: str, n_int: int,
                       floats: int) -> tuple[np.ndarray, ...]:
    n = n_int + floats
    names = [f"c{i}" for i in range(n)]
    packed = " || ".join(f"int4send(q.{c})" if i < n_int else f"float8send(q.{c})"
                         for i, c in enumerate(names))
    query = f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) AS q({', '.join(names)})"
    raw = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(query)
        blob = cursor.fetchone()[0] or b""
    dtype = np.dtype([(c, ">i4" if i < n_int else ">f8") for i, c in enumerate(names)])
    table = np.frombuffer(blob, dtype=dtype)
    return tuple(table[c].astype(np.int64 if i < n_int else np.float64)
                 for i, c in enumerate(names))


# --------------------------------------------------------------------------- writing


_RESULT_COLUMNS = ("run_id", "application_id", "position", "ref", "school_code",
                   "district_code", "tier", "reviews", "review_scores", "base",
                   "priority_points", "final", "sections", "rank", "flags", "status", "award",
                   "reason", "explanation")


def _json_text(value: Any) -> str:
    """Compact JSON for the COPY on PostgreSQL. The explanations of 100k applications are about
    240 MB of JSON; orjson encodes them about 3× faster than the standard library (measured:
    1.6 s against 4.8 s at 100,000 applications)."""
    return orjson.dumps(value).decode()


def _dec(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _write_results(run: RankingRun, result: Any, document: dict, inputs: _Inputs) -> None:
    """Replace the run's results with one row per application, in document order.

    Each row's ``explanation`` is the application's compact record
    (``scoring.ranking.compact_explanations``, built for all applications at once); the
    run-level part is stored once in ``run.stats["explain"]`` (see ``_finish``), and
    ``explanation_for`` expands the two into the full ``explanation_data`` dict.
    """
    db.session.execute(delete(RankingResult).where(RankingResult.run_id == run.id))
    enc = _json_text if is_postgres() else (lambda v: v)
    app_ids = inputs.app_ids
    records = compact_explanations(result)  # canonical (ref) order
    doc_order = [records[i] for i in result._c.doc_order.tolist()]  # document order

    def rows():
        for position, (a, record) in enumerate(zip(document["applications"], doc_order,
                                                   strict=True), start=1):
            yield (run.id, app_ids[a["ref"]], position, a["ref"], a["school"], a["district"],
                   a["tier"], a["reviews"], enc(a["review_scores"]), _dec(a["base"]),
                   _dec(a["priority_points"]), _dec(a["final"]), enc(a["sections"]), a["rank"],
                   enc(a["flags"]), a["status"], Decimal(a["award"]), a["reason"],
                   enc(record))

    bulk_insert(RankingResult.__table__, _RESULT_COLUMNS, rows())


# --------------------------------------------------------------------------- reading results


def _number(value: Decimal) -> int | float:
    """As the core reports it: an int when integral, else a float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def result_document_for_run(run: RankingRun) -> dict:
    """The result document of a done run, rebuilt from its stored rows (identical to the one
    the core produced when the run executed)."""
    if run.status != RunStatus.DONE:
        raise InputError(f"run {run.id} is {run.status.value}, not done")
    competition = db.session.get(Competition, run.competition_id)
    rows = db.session.execute(
        select(RankingResult.ref, RankingResult.school_code, RankingResult.district_code,
               RankingResult.tier, RankingResult.reviews, RankingResult.review_scores,
               RankingResult.base, RankingResult.priority_points, RankingResult.final,
               RankingResult.sections, RankingResult.rank, RankingResult.flags,
               RankingResult.status, RankingResult.award, RankingResult.reason)
        .where(RankingResult.run_id == run.id).order_by(RankingResult.position)).all()
    apps = [{
        "ref": ref, "school": school, "district": district, "tier": tier, "reviews": n,
        "review_scores": scores, "base": None if base is None else float(base),
        "priority_points": _number(pp), "final": None if final is None else float(final),
        "sections": sections, "rank": rank, "flags": flags, "status": status,
        "award": _money(award), "reason": reason,
    } for (ref, school, district, tier, n, scores, base, pp, final, sections, rank, flags,
           status, award, reason) in rows]
    return {
        "competition": competition.slug, "run": run.id, "inputs_sha256": run.inputs_sha256,
        "policy": run.policy, "total_funds": _money(run.total_funds),
        "total_awarded": _money(run.total_awarded), "remaining": _money(run.remaining),
        "applications": apps,
    }


def latest_done_run(competition: Competition, *,
                    include_what_if: bool = False) -> RankingRun | None:
    """The most recent done run of ``competition`` (what-if runs excluded unless asked)."""
    stmt = select(RankingRun).where(RankingRun.competition_id == competition.id,
                                    RankingRun.status == RunStatus.DONE)
    if not include_what_if:
        stmt = stmt.where(RankingRun.what_if.is_(False))
    return db.session.scalars(stmt.order_by(RankingRun.finished_at.desc(),
                                            RankingRun.id.desc()).limit(1)).first()


def explanation_text(run: RankingRun, ref: str) -> str:
    """The stored explanation of application ``ref`` in ``run``, as plain text."""
    data = db.session.scalar(select(RankingResult.explanation).where(
        RankingResult.run_id == run.id, RankingResult.ref == ref))
    if data is None:
        raise NotFound(f"application {ref!r} has no result in ranking run {run.id}")
    return render_explanation(explanation_for(run, data))


def explanation_for(run: RankingRun, stored: Any) -> dict | None:
    """A result row's stored explanation as the full ``explanation_data`` dict (a compact
    record is expanded with the run's context; an older full dict is returned as it is)."""
    return stored_explanation(stored, (run.stats or {}).get("explain"))

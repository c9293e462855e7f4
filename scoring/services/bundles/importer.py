"""Bundle import: validate the whole document, then write it all (or nothing) in bulk.

``import_bundle`` writes in the caller's transaction (services flush, never commit). Rows are
bulk inserted (PostgreSQL ``COPY``; SQLite ``executemany``); an import of at least
``BULK_FK_THRESHOLD`` scores on PostgreSQL checks criterion_score's foreign keys in one pass
(see ``_drop_score_foreign_keys``), builds its indexes after the COPY and checks the other new
rows' keys per statement (``bulk_tables``).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scoring.core.numbers import fmt_decimal
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    AssignmentStatus,
    Competition,
    CriterionScore,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    User,
)
from scoring.models._types import utcnow
from scoring.models.review_points import INSERT_TRIGGER
from scoring.services import audit
from scoring.services.bundles.bulk_tables import (
    check_new_rows,
    copy_lines,
    drop_indexes,
    has_trigger,
    restore_indexes,
    skip_row_checks,
    sqlite_trigger_dropped,
)
from scoring.services.bundles.import_setup import (
    _write_competition,
    _write_districts,
    _write_priorities,
    _write_reviewers,
    _write_rubric,
    _write_schools,
)
from scoring.services.bundles.validation import _Plan, validate_bundle
from scoring.services.db import (
    allocate_ids,
    bulk_insert,
    copy_in,
    copy_text,
    is_postgres,
)
from scoring.services.reviews import vectors

__all__ = ["BULK_FK_THRESHOLD", "BULK_LOCK_TIMEOUT", "import_bundle"]

#: From this many criterion scores on, a PostgreSQL import drops and re-adds criterion_score's
#: foreign keys around the COPY (see ``_drop_score_foreign_keys``); below it, no table lock.
BULK_FK_THRESHOLD = 1_000_000
#: How long a large import waits for the table locks before taking the slower, lock-free path.
BULK_LOCK_TIMEOUT = "5s"

log = logging.getLogger(__name__)


def import_bundle(data: dict, *, actor: User | None = None, source: str | None = None) -> dict:
    """Import a whole competition (all or nothing) and return its counts.

    Validates everything first (``BundleError`` names the JSON path of each problem and nothing
    is written), then writes in the caller's transaction with bulk inserts. ``source`` (e.g. the
    file name and its sha256) goes into the audit note. Returns
    ``{"competition": slug, "applications": N, "reviews": N}``.
    """
    plan = validate_bundle(data)
    competition = _write_competition(plan, actor)
    criteria_ids = _write_rubric(plan, competition)
    priority_ids = _write_priorities(plan, competition)
    district_ids, created_d = _write_districts(plan)
    school_ids, created_s = _write_schools(plan, district_ids)
    user_ids, created_u, added_c = _write_reviewers(plan, district_ids)
    n_scores = sum(len(r[3]) for r in plan.reviews)
    bulk = is_postgres() and n_scores >= BULK_FK_THRESHOLD
    dropped = _drop_score_foreign_keys() if bulk else None
    unchecked = dropped is not None and skip_row_checks()
    app_ids = _write_applications(plan, competition, school_ids, priority_ids, actor)
    n_scores = _write_reviews(plan, app_ids, user_ids, criteria_ids, actor, dropped)
    if unchecked:
        check_new_rows(competition.id)
    if dropped is not None:
        _restore_foreign_keys(dropped)
    counts = {
        "competition": competition.slug,
        "applications": len(app_ids),
        "reviews": len(plan.reviews),
    }
    audit.record(
        "bundle.import",
        "competition",
        competition.id,
        actor=actor,
        competition_id=competition.id,
        note=source,
        after=counts
        | {
            "criterion_scores": n_scores,
            "submitted_reviews": sum(1 for r in plan.reviews if r[2]),
            "districts_created": created_d,
            "schools_created": created_s,
            "reviewers_created": created_u,
            "conflicts_added": added_c,
        },
    )
    db.session.flush()
    return counts


def _write_applications(
    plan: _Plan,
    competition: Competition,
    school_ids: dict[str, int],
    priority_ids: dict[str, int],
    actor: User | None,
) -> list[int]:
    ids = allocate_ids(Application.__table__, len(plan.applications))
    now = utcnow()
    columns = (
        "id",
        "competition_id",
        "ref",
        "school_id",
        "created_by_id",
        "status",
        "requested_amount",
        "tier",
        "contacts",
        "eligible",
        "ineligible_reason",
        "submitted_at",
        "screened_at",
        "created_at",
        "updated_at",
        "version",
    )
    contacts = "[]" if is_postgres() else []
    bulk_insert(
        Application.__table__,
        columns,
        (
            (
                i,
                competition.id,
                a["ref"],
                school_ids[a["school"]],
                actor.id if actor else None,
                ApplicationStatus.SUBMITTED.value,
                a["requested_amount"],
                a["tier"],
                contacts,
                a["eligible"],
                a["ineligible_reason"],
                a["submitted_at"],
                now,  # a bundle carries staff's screening (tier, confirmed priorities)
                now,
                now,
                1,
            )
            for i, a in zip(ids, plan.applications, strict=True)
        ),
    )
    bulk_insert(
        ApplicationPriority.__table__,
        ("application_id", "priority_id", "claimed", "confirmed", "decided_at"),
        (
            (i, priority_ids[k], True, True, now)
            for i, a in zip(ids, plan.applications, strict=True)
            for k in a["priorities"]
        ),
    )
    return ids


def _write_reviews(
    plan: _Plan,
    app_ids: list[int],
    user_ids: dict[str, int],
    criteria_ids: list[int],
    actor: User | None,
    dropped: list[tuple[str, str]] | None,
) -> int:
    """Reviews, their assignments and every criterion score; return the number of scores.
    ``dropped``: criterion_score's foreign keys, if the bulk path dropped them (table locked)."""
    ids = allocate_ids(Review.__table__, len(plan.reviews))
    emails = [r["email"] for r in plan.reviewers]
    now = utcnow()
    submitted, draft = ReviewStatus.SUBMITTED.value, ReviewStatus.DRAFT.value
    pairs = [(app_ids[a], user_ids[emails[r]]) for a, r, *_ in plan.reviews]
    review_columns = ("id", "application_id", "reviewer_id", "status", "updated_at", "version")
    assignment_columns = (
        "application_id",
        "reviewer_id",
        "status",
        "assigned_by_id",
        "assigned_at",
    )
    assigned, by = AssignmentStatus.ASSIGNED.value, actor.id if actor else None
    if is_postgres():  # COPY text straight from the values (psycopg's write_row: ~1.5 µs a row)
        stamp, by_text = now.isoformat(), "\\N" if by is None else str(by)
        copy_lines(
            Review.__table__,
            review_columns,
            (
                f"{i}\t{a}\t{u}\t{submitted if rv[2] else draft}\t{stamp}\t1\n"
                for i, (a, u), rv in zip(ids, pairs, plan.reviews, strict=True)
            ),
        )
        copy_lines(
            ReviewerAssignment.__table__,
            assignment_columns,
            (f"{a}\t{u}\t{assigned}\t{by_text}\t{stamp}\n" for a, u in pairs),
        )
    else:
        bulk_insert(
            Review.__table__,
            review_columns,
            (
                (i, a, u, submitted if rv[2] else draft, now, 1)
                for i, (a, u), rv in zip(ids, pairs, plan.reviews, strict=True)
            ),
        )
        bulk_insert(
            ReviewerAssignment.__table__,
            assignment_columns,
            ((a, u, assigned, by, now) for a, u in pairs),
        )
    if not is_postgres():
        with sqlite_trigger_dropped(INSERT_TRIGGER):  # new reviews have no vector to forget
            count = _insert_scores(plan, ids, criteria_ids)
    else:
        n_scores = sum(len(r[3]) for r in plan.reviews)
        # with the table locked, a small table's indexes are built after the COPY
        indexes = drop_indexes("criterion_score", n_scores) if dropped is not None else None
        count = _copy_scores(plan, ids, criteria_ids)
        if indexes is not None:
            restore_indexes(indexes)
    _write_vectors(plan, ids, criteria_ids)
    return count


def _write_vectors(plan: _Plan, review_ids: list[int], criteria_ids: list[int]) -> None:
    """Each new review's point vector (``scoring/services/reviews/vectors.py``), packed from the
    validated values: ``float`` of the canonical points text is ``CAST(points AS FLOAT)``."""
    pair = {
        item: vectors.pack([(criteria_ids[found[0]], float(found[1]))])
        for item, found in plan.score_cache.items()
        if isinstance(found, tuple)
    }
    keys = [c.key for _, c in sorted(zip(criteria_ids, plan.rubric.criteria, strict=True))]

    def packed(scores: dict) -> bytes:  # a review that scores every criterion: one pass in C
        if len(scores) < len(keys):
            return b"".join([pair[(k, scores[k])] for k in keys if k in scores])
        return b"".join(
            map(pair.__getitem__, zip(keys, map(scores.__getitem__, keys), strict=True))
        )

    vectors.insert_new(
        (rid, packed(scores))
        for rid, (_, _, _, scores, _) in zip(review_ids, plan.reviews, strict=True)
        if scores
    )


def _drop_score_foreign_keys() -> list[tuple[str, str]] | None:
    """Drop criterion_score's foreign keys for this transaction; None if that is not possible.

    PostgreSQL checks a foreign key with one trigger call per inserted row (~6 µs here, two
    keys per score); re-adding the key afterwards checks every row in one join (~2 s for 7.5M
    rows). It needs the table's owner and ACCESS EXCLUSIVE locks on criterion_score, review and
    criterion (dropping a key locks the referenced table too) until commit: if the locks are
    not granted within ``BULK_LOCK_TIMEOUT`` or the user may not alter the table, the import
    falls back to the row-by-row checks. Everything is undone by a rollback.
    """
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{BULK_LOCK_TIMEOUT}'"))
        db.session.execute(text('LOCK TABLE "review", "criterion" IN SHARE ROW EXCLUSIVE MODE'))
        db.session.execute(text('LOCK TABLE "criterion_score" IN ACCESS EXCLUSIVE MODE'))
        keys = db.session.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'criterion_score'::regclass AND contype = 'f' ORDER BY conname"
            )
        ).all()
        for name, _ in keys:
            db.session.execute(text(f'ALTER TABLE "criterion_score" DROP CONSTRAINT "{name}"'))
        if has_trigger("criterion_score", INSERT_TRIGGER):  # new reviews have no vector to forget
            db.session.execute(
                text(f'ALTER TABLE "criterion_score" DISABLE TRIGGER {INSERT_TRIGGER}')
            )
        db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    except DBAPIError as exc:  # lock not granted in time, or not the table's owner
        savepoint.rollback()
        log.info(
            "bulk score import keeps row-by-row foreign key checks: %s",
            str(getattr(exc, "orig", exc)).splitlines()[0],
        )
        return None
    savepoint.commit()
    return [tuple(k) for k in keys]


def _restore_foreign_keys(keys: list[tuple[str, str]]) -> None:
    """Re-add the dropped keys, same names and definitions; PostgreSQL validates every row."""
    if has_trigger("criterion_score", INSERT_TRIGGER):
        db.session.execute(text(f'ALTER TABLE "criterion_score" ENABLE TRIGGER {INSERT_TRIGGER}'))
    for name, definition in keys:
        db.session.execute(
            text(f'ALTER TABLE "criterion_score" ADD CONSTRAINT "{name}" {definition}')
        )


def _score_suffixes(plan: _Plan, criteria_ids: list[int]) -> dict[tuple[str, Any], str]:
    """(key, value) → the COPY text after the review id: criterion, points, max, no comment."""
    maxima = [fmt_decimal(c.max_points) for c in plan.rubric.criteria]
    return {
        k: f"\t{criteria_ids[col]}\t{pts}\t{maxima[col]}\t\\N\n"
        for k, (col, pts) in plan.score_cache.items()
    }


def _copy_scores(plan: _Plan, review_ids: list[int], criteria_ids: list[int]) -> int:
    """COPY every criterion score as text built straight from the validated values."""
    suffix = _score_suffixes(plan, criteria_ids)
    index = plan.rubric.criterion_index
    maxima = [fmt_decimal(c.max_points) for c in plan.rubric.criteria]
    count, parts = 0, []
    with copy_in(
        CriterionScore.__table__, ("review_id", "criterion_id", "points", "max_points", "comment")
    ) as copy:
        for rid, (_, _, _, scores, comments) in zip(review_ids, plan.reviews, strict=True):
            rid = str(rid)
            if comments:
                for key, v in scores.items():
                    line = suffix[(key, v)]
                    if key in comments:
                        line = line[:-3] + copy_text(comments[key]) + "\n"
                    parts.append(rid + line)
                for key in comments.keys() - scores.keys():  # a draft's comment, no points yet
                    col = index[key]
                    parts.append(
                        f"{rid}\t{criteria_ids[col]}\t\\N\t{maxima[col]}\t"
                        f"{copy_text(comments[key])}\n"
                    )
                    count += 1
            else:
                parts.extend([rid + suffix[item] for item in scores.items()])
            count += len(scores)
            if len(parts) >= 100_000:
                copy.write("".join(parts))
                parts = []
        copy.write("".join(parts))
    return count


def _insert_scores(plan: _Plan, review_ids: list[int], criteria_ids: list[int]) -> int:
    maxima = [c.max_points for c in plan.rubric.criteria]
    cache = plan.score_cache
    points = {text: Decimal(text) for _, text in cache.values()}

    index = plan.rubric.criterion_index

    def rows():
        for rid, (_, _, _, scores, comments) in zip(review_ids, plan.reviews, strict=True):
            for key, v in scores.items():
                col, pts = cache[(key, v)]
                yield rid, criteria_ids[col], points[pts], maxima[col], comments.get(key)
            for key in comments.keys() - scores.keys():  # a draft's comment, no points yet
                col = index[key]
                yield rid, criteria_ids[col], None, maxima[col], comments[key]

    return bulk_insert(
        CriterionScore.__table__,
        ("review_id", "criterion_id", "points", "max_points", "comment"),
        rows(),
    )

"""Each review's points as one packed vector, a read-only copy of its ``criterion_score`` rows
that a ranking run reads in one pass (issue 14: 7.5M score rows at 100k applications).

``packed`` holds, for every score row of the review with points, ordered by criterion id, the
criterion id (4 bytes) then ``CAST(points AS FLOAT)`` (8 bytes), both big-endian: the very
values the row-by-row read gives. ``scoring/services/reviews/vectors.py`` writes it.

Kept in step by the database itself: any INSERT, UPDATE or DELETE of a ``criterion_score`` row
deletes the vector of its review (PostgreSQL: one statement-level trigger per operation, over
the statement's transition table; SQLite: row triggers), and deleting a review deletes its
vector. A review without a vector is read from its rows, so a missing vector only costs
speed, never exactness; the services that save scores write the vector again.
"""

from __future__ import annotations

from sqlalchemy import DDL, ForeignKey, LargeBinary, event
from sqlalchemy.orm import Mapped, mapped_column

from scoring.extensions import db


class ReviewPoints(db.Model):
    """One review's points, packed (see the module docstring)."""

    __tablename__ = "review_points"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("review.id", ondelete="CASCADE"), primary_key=True
    )
    packed: Mapped[bytes] = mapped_column(LargeBinary)


#: PostgreSQL: statement-level triggers (a 7.5M-row COPY fires each once, not per row).
PG_TRIGGERS = (
    """
CREATE OR REPLACE FUNCTION review_points_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (SELECT 1 FROM review_points) THEN
    DELETE FROM review_points WHERE review_id IN (SELECT review_id FROM changed_new);
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (SELECT 1 FROM review_points) THEN
    DELETE FROM review_points WHERE review_id IN (SELECT review_id FROM changed_old);
  END IF;
  RETURN NULL;
END $$
""",
    "CREATE TRIGGER criterion_score_points_ins AFTER INSERT ON criterion_score "
    "REFERENCING NEW TABLE AS changed_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_points_forget()",
    "CREATE TRIGGER criterion_score_points_upd AFTER UPDATE ON criterion_score "
    "REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_points_forget()",
    "CREATE TRIGGER criterion_score_points_del AFTER DELETE ON criterion_score "
    "REFERENCING OLD TABLE AS changed_old "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_points_forget()",
)
#: SQLite: row triggers (SQLite has no statement-level ones); the review's key is indexed.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER criterion_score_points_ins AFTER INSERT ON criterion_score BEGIN "
    "DELETE FROM review_points WHERE review_id = NEW.review_id; END",
    "CREATE TRIGGER criterion_score_points_upd AFTER UPDATE ON criterion_score BEGIN "
    "DELETE FROM review_points WHERE review_id IN (OLD.review_id, NEW.review_id); END",
    "CREATE TRIGGER criterion_score_points_del AFTER DELETE ON criterion_score BEGIN "
    "DELETE FROM review_points WHERE review_id = OLD.review_id; END",
    # without PRAGMA foreign_keys a deleted review's vector would outlive it
    "CREATE TRIGGER review_points_review_del AFTER DELETE ON review BEGIN "
    "DELETE FROM review_points WHERE review_id = OLD.id; END",
)
#: The trigger that a bulk import of new reviews may disable (their reviews have no vector).
INSERT_TRIGGER = "criterion_score_points_ins"

for _sql in PG_TRIGGERS:
    event.listen(db.metadata, "after_create", DDL(_sql).execute_if(dialect="postgresql"))
for _sql in SQLITE_TRIGGERS:
    event.listen(db.metadata, "after_create", DDL(_sql).execute_if(dialect="sqlite"))

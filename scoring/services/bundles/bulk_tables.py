"""Table-level work around a bundle import's bulk inserts (called by ``importer``).

PostgreSQL maintains every index of ``criterion_score`` row by row during the import's
``COPY`` (three B-trees at 7.5M rows: ~12 s of server CPU here, against ~4 s for building
them afterwards from sorted runs). When the table holds fewer rows than the import adds,
``drop_indexes`` drops them (primary key and unique constraints included) in the import's
transaction, which must already hold an ACCESS EXCLUSIVE lock on the table, and
``restore_indexes`` builds them again, same names and definitions, before the commit; a
rollback undoes both. SQLite has no ``DISABLE TRIGGER``: ``sqlite_trigger_dropped`` drops one
trigger for a block and creates it again from its stored SQL, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Table, text
from sqlalchemy.exc import DBAPIError

from scoring.extensions import db
from scoring.services.db import copy_in

__all__ = [
    "UNCHECKED_TABLES",
    "DroppedIndexes",
    "check_new_rows",
    "copy_lines",
    "drop_indexes",
    "has_trigger",
    "restore_indexes",
    "skip_row_checks",
    "sqlite_trigger_dropped",
]


@dataclass
class DroppedIndexes:
    """What ``drop_indexes`` dropped: constraints (name, definition) and plain indexes (DDL)."""

    table: str
    constraints: list[tuple[str, str]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)


def drop_indexes(table: str, n_new: int) -> DroppedIndexes | None:
    """Drop ``table``'s indexes if it holds fewer than ``n_new`` rows (else None).

    The caller holds an ACCESS EXCLUSIVE lock on ``table``; no foreign key may reference its
    primary key or unique constraints (criterion_score: none does).
    """
    existing = db.session.scalar(
        text(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT :n) AS s'), {"n": n_new}
    )
    if existing >= n_new:
        return None
    dropped = DroppedIndexes(table)
    rows = db.session.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u') ORDER BY conname"
        ),
        {"t": f'"{table}"'},
    ).all()
    dropped.constraints = [(name, definition) for name, definition in rows]
    plain = db.session.execute(
        text(
            "SELECT CAST(i.indexrelid AS regclass)::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
        ),
        {"t": f'"{table}"'},
    ).all()
    dropped.indexes = [ddl for _, ddl in plain]
    for name, _ in dropped.constraints:
        db.session.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for name, _ in plain:
        db.session.execute(text(f"DROP INDEX {name}"))
    return dropped


def copy_lines(table: Table, columns: Sequence[str], lines: Iterable[str]) -> None:
    """PostgreSQL: COPY ready-made text lines (``copy_text`` escaping), 100,000 at a time."""
    with copy_in(table, columns) as copy:
        batch = []
        for line in lines:
            batch.append(line)
            if len(batch) >= 100_000:
                copy.write("".join(batch))
                batch = []
        copy.write("".join(batch))


def has_trigger(table: str, name: str) -> bool:
    """Whether PostgreSQL table ``table`` has a trigger called ``name``."""
    return bool(
        db.session.scalar(
            text(
                "SELECT count(*) FROM pg_trigger "
                "WHERE tgrelid = CAST(:t AS regclass) AND tgname = :n"
            ),
            {"t": f'"{table}"', "n": name},
        )
    )


def restore_indexes(dropped: DroppedIndexes) -> None:
    """Build the dropped constraints and indexes again (PostgreSQL checks uniqueness)."""
    if dropped.constraints:
        adds = ", ".join(f'ADD CONSTRAINT "{n}" {d}' for n, d in dropped.constraints)
        db.session.execute(text(f'ALTER TABLE "{dropped.table}" {adds}'))
    for ddl in dropped.indexes:
        db.session.execute(text(ddl))


@contextmanager
def sqlite_trigger_dropped(name: str) -> Iterator[None]:
    """SQLite: drop trigger ``name`` for the block and create it again from its stored SQL, in
    the same transaction (a rollback restores it; the import holds the write lock)."""
    conn = db.session.connection()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
    ).scalar()
    if sql is None:
        yield
        return
    conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    conn.exec_driver_sql(sql)


#: Tables a large PostgreSQL import writes without per-row foreign key triggers, and how to
#: find the rows of the imported competition (``{c}``) in each.
_OF_APPLICATIONS = "application_id IN (SELECT id FROM application WHERE competition_id = {c})"
UNCHECKED_TABLES = {
    "application": "competition_id = {c}",
    "application_priority": _OF_APPLICATIONS,
    "review": _OF_APPLICATIONS,
    "reviewer_assignment": _OF_APPLICATIONS,
    "review_points": "review_id IN (SELECT r.id FROM review r JOIN application a "
    "ON a.id = r.application_id WHERE a.competition_id = {c})",
}
#: Referenced tables whose rows the import itself creates (nobody else sees them before commit).
_CREATED_HERE = frozenset(("competition", "priority", "criterion", "application", "review"))


def skip_row_checks() -> bool:
    """Turn off per-row triggers (foreign key checks) for the rest of the transaction
    (``session_replication_role = replica``); False if this user may not (not a superuser)."""
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def check_new_rows(competition_id: int) -> None:
    """Turn per-row triggers back on and check, one statement per foreign key, the rows written
    without them (``UNCHECKED_TABLES``): each referenced row must exist, and those that existed
    before the import are locked ``FOR KEY SHARE`` until commit, as PostgreSQL's own check does.

    A missing key is reported by PostgreSQL itself: the row is updated to its own value, which
    fires the key's check on a row inserted by this transaction (the same IntegrityError).
    """
    db.session.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    keys = db.session.execute(
        text(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, "
            "f.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
            "AND c.conrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"
        ),
        {"tables": list(UNCHECKED_TABLES)},
    ).all()
    for table, column, ref, ref_column in keys:
        where = UNCHECKED_TABLES[table.strip('"')].format(c=int(competition_id))
        db.session.execute(
            text(
                f"UPDATE {table} AS t SET {column} = t.{column} WHERE t.{where} "
                f"AND t.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {ref} AS r WHERE r.{ref_column} = t.{column})"
            )
        )
        if ref.strip('"') not in _CREATED_HERE:
            db.session.execute(
                text(
                    f"SELECT 1 FROM {ref} AS r WHERE r.{ref_column} IN (SELECT t.{column} "
                    f"FROM {table} AS t WHERE t.{where}) FOR KEY SHARE OF r"
                )
            )

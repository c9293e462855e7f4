"""Database helpers for bulk work, shared by the services (bundle import, ranking results).

``bulk_insert`` writes many rows in the session's transaction (PostgreSQL ``COPY``, SQLite
``executemany``); ``allocate_ids`` reserves primary keys up front; ``copy_in`` and
``copy_text`` serve a caller that writes COPY text itself. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, func, insert, select, text

from scoring.extensions import db

__all__ = ["allocate_ids", "bulk_insert", "copy_in", "copy_text", "in_chunks", "is_postgres"]


def is_postgres() -> bool:
    """Whether the session's database is PostgreSQL (else SQLite)."""
    return db.session.get_bind().dialect.name == "postgresql"


def allocate_ids(table: Table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``, ascending (PostgreSQL: from its sequence).

    On SQLite the transaction already holds the write lock (the caller has written first), so
    ``max(id) + 1 ...`` cannot be taken by anyone else before the commit.
    """
    if n == 0:
        return []
    if is_postgres():
        rows = (
            db.session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": f'"{table.name}"', "n": n},
            )
            .scalars()
            .all()
        )
        return sorted(rows)
    start = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
    return list(range(start, start + n))


def bulk_insert(
    table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = 20000
) -> int:
    """Insert tuples (``columns`` order) in the session's transaction; return the count.

    PostgreSQL: ``COPY ... FROM STDIN`` on the session's connection. SQLite: executemany in
    chunks. Values are plain Python (Decimal, datetime with tz, str, bool, None).
    """
    if is_postgres():
        return _copy_rows(table, columns, rows)
    count, batch = 0, []
    stmt = insert(table)
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) >= chunk:
            db.session.execute(stmt, batch)
            count += len(batch)
            batch = []
    if batch:
        db.session.execute(stmt, batch)
        count += len(batch)
    return count


def _copy_rows(table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with copy_in(table, columns) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextmanager
def copy_in(table: Table, columns: Sequence[str]) -> Iterator[Any]:
    """A psycopg ``COPY table (columns) FROM STDIN`` on the session's connection (same
    transaction as everything else the caller does)."""
    raw = db.session.connection().connection.driver_connection
    cols = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        yield copy


def copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def in_chunks(stmt, column, values: list, *, scalars: bool = True, size: int = 5000) -> list:
    """Run ``stmt`` filtered by ``column IN values`` in chunks (bounded bind parameters)."""
    out: list = []
    for start in range(0, len(values), size):
        chunk = stmt.where(column.in_(values[start : start + size]))
        result = db.session.execute(chunk)
        out.extend(result.scalars() if scalars else result.all())
    return out

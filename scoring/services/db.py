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

    PostgreSQL: ``COPY ... FROM STDIN`` on the session's connection. SQLite: the driver's
    ``executemany`` in chunks, each column's value passed through its SQLAlchemy type's bind
    processor (so the stored values are those an ORM insert stores). Values are plain Python
    (Decimal, datetime with tz, str, bool, None). Python-side column defaults are not applied:
    give every column that has one (SQLite falls back to SQLAlchemy's insert if one is missing).
    """
    if is_postgres():
        return _copy_rows(table, columns, rows)
    missing_default = any(c.default is not None and c.name not in columns for c in table.c)
    if missing_default:
        return _insert_orm_params(table, columns, rows, chunk)
    conn = db.session.connection()
    dialect = conn.dialect
    procs = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
    sql = 'INSERT INTO "{}" ({}) VALUES ({})'.format(
        table.name, ", ".join(f'"{c}"' for c in columns), ", ".join("?" * len(columns))
    )
    cursor = conn.connection.driver_connection.cursor()  # same connection and transaction
    count = 0
    try:
        for batch in _batches(rows, chunk):
            if any(procs):
                cols = [
                    list(map(proc, col)) if proc else col
                    for proc, col in zip(procs, zip(*batch, strict=True), strict=True)
                ]
                batch = list(zip(*cols, strict=True))
            cursor.executemany(sql, batch)
            count += len(batch)
    finally:
        cursor.close()
    return count


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_orm_params(
    table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], chunk: int
) -> int:
    count = 0
    stmt = insert(table)
    for batch in _batches(rows, chunk):
        db.session.execute(stmt, [dict(zip(columns, row, strict=True)) for row in batch])
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

"""Review point vectors (``scoring/models/review_points.py``): write them, read them in one pass.

A vector is a copy of a review's ``criterion_score`` rows with points: pairs of (criterion id,
``CAST(points AS FLOAT)``) ordered by criterion id, packed big-endian (``PAIR``). The database
deletes a review's vector whenever one of its score rows changes (triggers), so a vector that
exists is always current; ``refresh`` writes it again from the rows (after a save, an import,
or as the migration's backfill). Readers treat a missing vector as "read the rows".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, text

from scoring.extensions import db
from scoring.models import ReviewPoints
from scoring.services.db import bulk_insert

__all__ = [
    "PAIR",
    "insert_new",
    "pack",
    "read_competition_vectors",
    "refresh",
    "refresh_all",
    "refresh_competition",
]

#: One packed score: criterion id (int4) then points (float8), big-endian (PostgreSQL's
#: ``int4send``/``float8send``).
PAIR = np.dtype([("c", ">i4"), ("p", ">f8")])

_PG_PACK = (
    "SELECT cs.review_id, string_agg(int4send(cs.criterion_id) || "
    "float8send(CAST(cs.points AS FLOAT8)), ''::bytea ORDER BY cs.criterion_id) "
    "FROM criterion_score cs WHERE cs.points IS NOT NULL AND {where} GROUP BY cs.review_id"
)
_REVIEWS_OF = (
    "SELECT r.id FROM review r JOIN application a ON a.id = r.application_id "
    "WHERE a.competition_id = {c}"
)


def pack(pairs: Iterable[tuple[int, float]]) -> bytes:
    """(criterion id, points) pairs as a vector (sorted by criterion id here)."""
    return np.array(sorted(pairs), dtype=PAIR).tobytes()


def insert_new(rows: Iterable[tuple[int, bytes]]) -> int:
    """Insert (review id, vector) rows for reviews that have none yet (a bulk import's new
    reviews, whose vectors the importer packs from the values it validated)."""
    return bulk_insert(ReviewPoints.__table__, ("review_id", "packed"), rows)


def refresh(review_ids: Sequence[int], conn: Connection | None = None) -> None:
    """Write the vectors of these reviews again from their score rows (in the caller's
    transaction; call it after the score rows are flushed)."""
    ids = sorted({int(i) for i in review_ids})
    if not ids:
        return
    conn = conn if conn is not None else db.session.connection()
    for start in range(0, len(ids), 5000):
        chunk = ", ".join(map(str, ids[start : start + 5000]))
        _rewrite(conn, f"cs.review_id IN ({chunk})", f"review_id IN ({chunk})")


def refresh_competition(competition_id: int, conn: Connection | None = None) -> None:
    """Write the vectors of every review of a competition again (after a bulk import)."""
    conn = conn if conn is not None else db.session.connection()
    reviews = _REVIEWS_OF.format(c=int(competition_id))
    _rewrite(conn, f"cs.review_id IN ({reviews})", f"review_id IN ({reviews})")


def refresh_all(conn: Connection) -> None:
    """Write every review's vector (the migration's backfill)."""
    _rewrite(conn, "TRUE" if conn.dialect.name == "postgresql" else "1", "1 = 1")


def _rewrite(conn: Connection, where_scores: str, where_vectors: str) -> None:
    conn.execute(text(f"DELETE FROM review_points WHERE {where_vectors}"))
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "INSERT INTO review_points (review_id, packed) "
                + _PG_PACK.format(where=where_scores)
            )
        )
        return
    cursor = conn.connection.driver_connection.cursor()  # same connection and transaction
    try:
        cursor.execute(
            "SELECT cs.review_id, cs.criterion_id, CAST(cs.points AS FLOAT) FROM criterion_score "
            f"cs WHERE cs.points IS NOT NULL AND {where_scores} ORDER BY cs.review_id"
        )
        current, pairs, rows = None, [], []
        for rid, cid, pts in cursor:
            if rid != current:
                if pairs:
                    rows.append((current, pack(pairs)))
                current, pairs = rid, []
            pairs.append((cid, pts))
        if pairs:
            rows.append((current, pack(pairs)))
        cursor.executemany("INSERT INTO review_points (review_id, packed) VALUES (?, ?)", rows)
    finally:
        cursor.close()


def read_competition_vectors(
    conn: Connection, competition_id: int
) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(review ids ascending, byte length of each vector, all vectors concatenated) for the
    reviews of a competition's submitted applications that have a vector."""
    sql = (
        "SELECT rp.review_id, rp.packed FROM review_points rp "
        "JOIN review r ON r.id = rp.review_id JOIN application a ON a.id = r.application_id "
        f"WHERE a.competition_id = {int(competition_id)} AND a.status = 'submitted' "
        "ORDER BY rp.review_id"
    )
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor(binary=True) as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
    else:
        cursor = raw.cursor()
        try:
            rows = cursor.execute(sql).fetchall()
        finally:
            cursor.close()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), b""
    ids, blobs = zip(*rows, strict=True)
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    return np.array(ids, dtype=np.int64), lengths, b"".join(blobs)

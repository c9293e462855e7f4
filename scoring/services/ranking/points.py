"""The (counted review × criterion) points matrix of a ranking run, read in one pass.

Each review's points are read from its vector (``scoring/services/reviews/vectors.py``: one
packed row per review, 300,000 rows at 100k applications instead of 7.5M score rows); the
reviews without a vector are read from their ``criterion_score`` rows as before. Both give the
same float64 values (``CAST(points AS FLOAT)``), so the matrix is identical either way
(``tests/test_review_vectors.py`` compares the two on SQLite and PostgreSQL).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, Select

from scoring.services.reviews.vectors import PAIR, read_competition_vectors

__all__ = ["PACKED_QUERY_BYTES", "int_columns", "read_points", "sql_of"]

#: Every stored score of the competition's criteria (drafts and conflicted reviews included;
#: only the counted reviews' rows are kept; a draft's comment without points is skipped, so a
#: counted review lacking points shows as missing). No join: one scan of criterion_score.
_SCORES = """
SELECT cs.review_id, cs.criterion_id, CAST(cs.points AS FLOAT)
FROM criterion_score cs WHERE cs.criterion_id IN ({ids}) AND cs.points IS NOT NULL{more}
"""
#: Bytes of packed scores fetched per query on PostgreSQL (bytea values are limited to 1 GB).
PACKED_QUERY_BYTES = 256 * 2**20
#: Up to this many reviews without a vector are read by id; more, by the competition's scan.
_BY_ID_MAX = 5000


def read_points(
    conn: Connection,
    competition_id: int,
    review_id: np.ndarray,
    criterion_ids: list[int],
    *,
    vectors: bool = True,
) -> np.ndarray:
    """The points matrix in rubric order for the counted reviews ``review_id`` (ascending);
    NaN where a review has no points for a criterion. ``vectors=False``: read the score rows
    only (the path before vectors, kept for reviews without one and for comparison)."""
    points = np.full((len(review_id), len(criterion_ids)), np.nan)
    if not len(review_id) or not criterion_ids:
        return points
    missing = np.ones(len(review_id), dtype=bool)
    if vectors:
        missing = _from_vectors(conn, competition_id, review_id, criterion_ids, points)
    if missing.any():
        only = review_id[missing] if missing.sum() <= _BY_ID_MAX else None
        rid, cid, pts = _score_columns(conn, review_id, criterion_ids, only)
        _scatter(points, review_id, criterion_ids, rid, cid, pts)
    return points


def _from_vectors(
    conn: Connection,
    competition_id: int,
    review_id: np.ndarray,
    criterion_ids: list[int],
    points: np.ndarray,
) -> np.ndarray:
    """Fill the rows of ``points`` whose review has a vector; return the mask of the others."""
    vec_id, lengths, blob = read_competition_vectors(conn, competition_id)
    pos = np.searchsorted(vec_id, review_id)
    have = pos < len(vec_id)
    have[have] = vec_id[pos[have]] == review_id[have]
    if not have.any():
        return ~have
    pos = pos[have]
    all_pairs = np.frombuffer(blob, dtype=PAIR)
    counts = lengths // PAIR.itemsize
    width = int(counts[pos[0]])
    if width and (counts[pos] == width).all():  # the counted reviews' vectors are alike
        first = (np.cumsum(counts) - counts)[pos]
        pairs = all_pairs[first[:, None] + np.arange(width)]
        if (pairs["c"] == pairs["c"][0]).all():  # every review scores the same criteria
            _fill_uniform(points, have, pairs, criterion_ids)
            return ~have
    _scatter(
        points,
        review_id,
        criterion_ids,
        np.repeat(vec_id, counts),
        all_pairs["c"].astype(np.int64),
        all_pairs["p"].astype(np.float64),
    )
    return ~have


def _fill_uniform(
    points: np.ndarray, have: np.ndarray, pairs: np.ndarray, criterion_ids: list[int]
) -> None:
    """Rows of ``points`` (mask ``have``) from vectors that all hold the same criteria."""
    ids = pairs["c"][0].astype(np.int64)
    where = {int(c): k for k, c in enumerate(ids.tolist())}
    values = pairs["p"].astype(np.float64)
    block = np.full((values.shape[0], len(criterion_ids)), np.nan)
    for col, cid in enumerate(criterion_ids):
        k = where.get(int(cid))
        if k is not None:
            block[:, col] = values[:, k]
    points[have] = block


def _scatter(
    points: np.ndarray,
    review_id: np.ndarray,
    criterion_ids: list[int],
    rid: np.ndarray,
    cid: np.ndarray,
    pts: np.ndarray,
) -> None:
    """Put (review id, criterion id, points) triples into ``points``; other reviews' and
    other criteria's triples are ignored."""
    if not len(rid):
        return
    col_of = np.full(max(max(criterion_ids), int(cid.max())) + 1, -1, dtype=np.int64)
    col_of[np.array(criterion_ids, dtype=np.int64)] = np.arange(len(criterion_ids))
    cols = col_of[cid]
    rows = np.searchsorted(review_id, rid)
    counted = (rows < len(review_id)) & (cols >= 0)
    counted[counted] = review_id[rows[counted]] == rid[counted]
    points[rows[counted], cols[counted]] = pts[counted]


def _score_columns(
    conn: Connection,
    review_id: np.ndarray,
    criterion_ids: list[int],
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """(review id, criterion id, points) of the score rows (of the reviews ``only`` when
    given), in review-id ranges on PostgreSQL."""
    ids = ", ".join(str(int(i)) for i in criterion_ids)
    if only is not None:
        listed = ", ".join(str(int(i)) for i in only.tolist())
        return int_columns(
            conn, _SCORES.format(ids=ids, more=f" AND cs.review_id IN ({listed})"), 2, floats=1
        )
    parts = 1
    if conn.dialect.name == "postgresql":
        parts = max(1, -(-len(review_id) * len(criterion_ids) * 16 // PACKED_QUERY_BYTES))
    if parts == 1:
        return int_columns(conn, _SCORES.format(ids=ids, more=""), 2, floats=1)
    bounds = (
        [int(review_id[0])]
        + [int(review_id[len(review_id) * k // parts]) for k in range(1, parts)]
        + [int(review_id[-1]) + 1]
    )
    chunks = [
        int_columns(
            conn,
            _SCORES.format(ids=ids, more=f" AND cs.review_id >= {lo} AND cs.review_id < {hi}"),
            2,
            floats=1,
        )
        for lo, hi in zip(bounds, bounds[1:], strict=False)
        if hi > lo
    ]
    return tuple(np.concatenate(column) for column in zip(*chunks, strict=True))


def sql_of(conn: Connection, stmt: Select) -> str:
    """A select as plain SQL for the connection's dialect (values inlined: they are ids and
    enum values from the code, never user input), for ``int_columns``."""
    return str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def int_columns(conn: Connection, sql: str, n_int: int, floats: int = 0) -> tuple[np.ndarray, ...]:
    """Run ``sql`` (``n_int`` int4 columns, then ``floats`` float8 columns) into arrays.

    PostgreSQL: the server packs every row into one ``bytea`` (4 or 8 bytes per value, big
    endian) which numpy decodes at once, so 7.5M score rows cost no Python object per value
    (a row-per-score COPY costs ~1.5 µs of Python per row); SQLite: the driver's cursor, in
    chunks of 200,000 rows turned into arrays (no 7.5M-tuple list in memory).
    """
    if conn.dialect.name == "postgresql":
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

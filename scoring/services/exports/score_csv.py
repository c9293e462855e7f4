"""The score detail as CSV on PostgreSQL, fast: the same bytes as ``write_csv`` over
``scores.rows`` (tests/test_export_score_csv.py), about an order of magnitude less CPU.

At 100,000 applications the score detail has 7.5 million rows; building a list of Python values
per row (ORM rows, ``Decimal`` points, ``csv.writer``) cost ~40 µs a row. Here PostgreSQL sends
one row per **review** (a few hundred thousand, from a server-side cursor): the review's head,
its application's stability figures, its points and maxima already as text in rubric order
(``trim_scale``: ``4.5000`` → ``4.5``, as ``scores._plain``) and its points as packed float8 for
``S_r``. Each line is then the review's quoted head, the criterion's quoted columns (made once
per competition) and the points text, joined as strings. Text is neutralised and quoted exactly
as ``writers.write_csv`` does (``csv.QUOTE_MINIMAL``: a field with ``,``, ``"``, ``\\r`` or
``\\n`` is quoted, ``"`` doubled). ``S_r`` is computed for a chunk of reviews at once with the
rubric's own ``score_rows`` (rows are independent), then rounded as ``scores._score``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

import numpy as np

from scoring.core.rubric import score_rows
from scoring.extensions import db
from scoring.models import (
    Competition,
    RankingResult,
    RankingRun,
    Review,
    ReviewStatus,
    User,
)
from scoring.services.competitions.policy import core_rubric
from scoring.services.exports import scores
from scoring.services.exports.writers import cell_text

REVIEWS_PER_FETCH = 2000
_SPECIAL = (",", '"', "\r", "\n")
_Q4 = Decimal("0.0001")


def field(value: Any) -> str:
    """One CSV field exactly as ``write_csv`` writes it (``cell_text`` then minimal quoting)."""
    text = cell_text(value)
    if any(ch in text for ch in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def _review_query(run: RankingRun, stability_id: int):
    """One row per submitted review of the run, in the score detail's order."""
    return (
        scores.review_select(stability_id)
        .where(RankingResult.run_id == run.id, Review.status == ReviewStatus.SUBMITTED)
        .order_by(RankingResult.position, User.email, Review.id)
        .execution_options(stream_results=True, yield_per=REVIEWS_PER_FETCH)
    )


_PACKED = np.dtype([("review", ">i4"), ("place", ">i2"), ("points", ">i8"), ("max", ">i8")])
_SCORES_SQL = """
SELECT string_agg(int4send(cs.review_id) || int2send(p.place::int2)
                  || int8send(coalesce((cs.points * 10000)::int8, -1))
                  || int8send((cs.max_points * 10000)::int8), ''::bytea)
FROM criterion_score cs
JOIN unnest(%(criteria)s::int[]) WITH ORDINALITY AS p(id, place) ON p.id = cs.criterion_id
WHERE cs.review_id = ANY(%(reviews)s::int[])
"""


class _Chunk:
    """The points of a chunk of reviews as ``(reviews, criteria)`` matrices: points and maxima
    in ten-thousandths (-1: no score), read in one packed query."""

    def __init__(self, cursor, review_ids: list[int], criterion_ids: list[int]) -> None:
        k, n = len(review_ids), len(criterion_ids)
        cursor.execute(_SCORES_SQL, {"criteria": criterion_ids, "reviews": review_ids})
        table = np.frombuffer(cursor.fetchone()[0] or b"", dtype=_PACKED)
        ids = np.asarray(review_ids, dtype=np.int64)
        by_id = np.argsort(ids)
        row = by_id[np.searchsorted(ids, table["review"].astype(np.int64), sorter=by_id)]
        col = table["place"].astype(np.int64) - 1
        self.points = np.full((k, n), -1, dtype=np.int64)
        self.max = np.full((k, n), -1, dtype=np.int64)
        self.points[row, col] = table["points"]
        self.max[row, col] = table["max"]


def _number(units: int) -> str:
    """Ten-thousandths as the score detail writes the Decimal (``45000`` → ``4.5``)."""
    return cell_text(scores._plain(Decimal(units).scaleb(-4)))


def _review_score_texts(rubric, chunk: _Chunk) -> list[str]:
    """``S_r`` of each review of a chunk as the score detail writes it ('' when incomplete)."""
    out = [""] * len(chunk.points)
    full = np.nonzero((chunk.points >= 0).all(axis=1))[0]
    if len(full) and chunk.points.shape[1]:
        matrix = chunk.points[full].astype(np.float64) / 10000.0
        values = score_rows(rubric, matrix).scores.tolist()
        for i, x in zip(full.tolist(), values, strict=True):
            out[i] = cell_text(scores._plain(Decimal(repr(x)).quantize(_Q4)))
    return out


_COMMENTS_SQL = """
SELECT cs.review_id, p.place, cs.comment
FROM criterion_score cs
JOIN unnest(%(criteria)s::int[]) WITH ORDINALITY AS p(id, place) ON p.id = cs.criterion_id
WHERE cs.review_id = ANY(%(reviews)s::int[]) AND cs.comment IS NOT NULL
"""


def review_chunks(
    run: RankingRun, criterion_ids: list[int], stable: Any, *, comments: bool
) -> Iterator[tuple[Any, _Chunk, dict | None]]:
    """The run's reviews in the score detail's order, a chunk at a time: the chunk's review
    rows, their points (one packed read) and, with ``comments``, their comments by (review,
    criterion place). Shared by the CSV and the XLSX (``score_xlsx``)."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor(binary=True) as cursor, raw.cursor() as text_cursor:
        for rows in db.session.execute(
            _review_query(run, stable.id if stable else -1)
        ).partitions():
            ids = [row.id for row in rows]
            chunk = _Chunk(cursor, ids, criterion_ids)
            notes = None
            if comments:
                text_cursor.execute(_COMMENTS_SQL, {"criteria": criterion_ids, "reviews": ids})
                notes = {(r, p): c for r, p, c in text_cursor.fetchall()}
            yield rows, chunk, notes


def write(
    out: IO[bytes],
    run: RankingRun,
    *,
    comments: bool,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the score detail CSV of ``run`` into ``out`` (PostgreSQL); returns the rows."""
    competition = db.session.get(Competition, run.competition_id)
    rubric = core_rubric(competition.sections)
    criteria = scores._criteria(competition.id)
    criterion_ids = [c[0] for c in criteria]
    stable = scores.done_stability(run)
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(c.name for c in scores.columns(comments))
    out.write(("\ufeff" + header.getvalue()).encode("utf-8"))
    lines = _Lines(criteria, stable.resamples if stable is not None else None)
    written = 0
    for rows, chunk, notes in review_chunks(run, criterion_ids, stable, comments=comments):
        text = lines.of_chunk(rows, chunk, _review_score_texts(rubric, chunk), notes)
        out.write("".join(text).encode("utf-8"))
        written += len(text) * len(criteria)
        if progress is not None:
            progress(written)
    return written


class _Lines:
    """The lines of a chunk of reviews: each review's head, each criterion's columns and the
    points, the comment when asked for, the stability tail. A review's lines are one join:
    ``(tail + head).join(criterion columns + points)``, between ``head`` and ``tail``."""

    def __init__(self, criteria, resamples: int | None) -> None:
        self.n, self.resamples = len(criteria), resamples
        self.middle = [
            f"{field(sect)},{field(key)},{field(title)}," for _, key, title, sect in criteria
        ]
        self.pairs: dict[tuple[int, int], str] = {}
        self.people: dict[tuple[str, str], str] = {}  # reviewer → "email,name"
        self.app: tuple[Any, ...] = ()  # the last application's (ref, code, ...) and its text

    def _pair(self, points: int, maximum: int) -> str:
        text = self.pairs.get((points, maximum))
        if text is None:
            cells = [_number(v) if v >= 0 else "" for v in (points, maximum)]
            text = self.pairs[(points, maximum)] = ",".join(cells)
        return text

    def _ends(self, row) -> tuple[str, str, str]:
        """The application's head part, the reviewer's, and the stability tail (cached)."""
        key = (row.ref, row.code, row.funded_in, row.rank_lo, row.rank_hi)
        if self.app[:5] != key:
            cells = scores.stability_cells(row.funded_in, row.rank_lo, row.rank_hi, self.resamples)
            tail = "," + ",".join(field(v) for v in cells) + "\r\n"
            self.app = (*key, f"{field(row.ref)},{field(row.code)},", tail)
        person = self.people.get((row.email, row.name))
        if person is None:
            person = self.people[(row.email, row.name)] = f"{field(row.email)},{field(row.name)},"
        return self.app[5], person, self.app[6]

    def _codes(self, chunk: _Chunk) -> tuple[list[str], list[list[int]]]:
        """The distinct ``points,max`` texts of the chunk and each cell's index into them."""
        p, m = chunk.points.ravel(), chunk.max.ravel()
        span = int(m.max(initial=-1)) + 2
        if (int(p.max(initial=-1)) + 2) * span < 2**62:
            uniq, codes = np.unique((p + 1) * span + (m + 1), return_inverse=True)
            pairs = [(u // span - 1, u % span - 1) for u in uniq.tolist()]
        else:
            both, codes = np.unique(np.stack([p, m], axis=1), axis=0, return_inverse=True)
            pairs = [(a, b) for a, b in both.tolist()]
        texts = [self._pair(a, b) for a, b in pairs]
        return texts, codes.reshape(len(chunk.points), self.n).tolist()

    def of_chunk(self, rows, chunk: _Chunk, s_r: list[str], notes) -> list[str]:
        """Every line of the chunk, in order (one string per review)."""
        if not self.n:
            return []
        texts, codes = self._codes(chunk)
        middle = self.middle
        out: list[str] = []
        for i, row in enumerate(rows):
            app, person, tail = self._ends(row)
            head = f"{app}{person}{'yes' if row.counted else 'no (conflict)'},{s_r[i]},"
            if notes is None:
                cells = [mid + texts[c] for mid, c in zip(middle, codes[i], strict=True)]
            else:
                cells = [
                    f"{mid}{texts[c]},{field(notes.get((row.id, k + 1)))}"
                    for k, (mid, c) in enumerate(zip(middle, codes[i], strict=True))
                ]
            out.append(head + (tail + head).join(cells) + tail)
        return out

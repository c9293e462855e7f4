"""The score detail's rows for the XLSX on PostgreSQL, read as the CSV's fast path reads them
(``score_csv``): one row per review from a server-side cursor, each chunk's points as one packed
read into numpy, ``S_r`` per chunk with the rubric's ``score_rows``. Each cell comes out as the
value the XLSX writer puts in the sheet (a ``float`` where ``scores.rows`` gives a ``Decimal``,
the same number), so the sheet is the same as the one written from ``scores.rows``
(tests/test_export_xlsx.py) with no ``Decimal`` or ORM row per line: at 100,000 applications
7.4 million rows, whose cost is then mostly xlsxwriter's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np

from scoring.core.rubric import score_rows
from scoring.extensions import db
from scoring.models import Competition, RankingRun
from scoring.services.competitions.policy import core_rubric
from scoring.services.exports import scores
from scoring.services.exports.score_csv import _Chunk, review_chunks

_Q4 = Decimal("0.0001")


def _review_scores(rubric, chunk: _Chunk) -> list[float | None]:
    """``S_r`` of each review of a chunk as the row writer gives it (rounded to 4 places), or
    None when the review lacks a score."""
    out: list[float | None] = [None] * len(chunk.points)
    full = np.nonzero((chunk.points >= 0).all(axis=1))[0]
    if len(full) and chunk.points.shape[1]:
        matrix = chunk.points[full].astype(np.float64) / 10000.0
        values = score_rows(rubric, matrix).scores.tolist()
        for i, x in zip(full.tolist(), values, strict=True):
            out[i] = float(Decimal(repr(x)).quantize(_Q4))
    return out


def _numbers(units: np.ndarray) -> list[list[float | None]]:
    """Ten-thousandths as the numbers of the cells (-1: no value); ``units / 10000`` is the
    float nearest the decimal, as ``float(Decimal)`` is."""
    values = (units / 10000.0).tolist()
    missing = (units < 0).tolist()
    return [
        [None if gone else x for x, gone in zip(row, holes, strict=True)]
        for row, holes in zip(values, missing, strict=True)
    ]


def rows(run: RankingRun, *, comments: bool) -> Iterator[tuple[Any, ...]]:
    """The score detail's rows (``scores.columns(comments)``), in its order, for the XLSX."""
    competition = db.session.get(Competition, run.competition_id)
    rubric = core_rubric(competition.sections)
    criteria = scores._criteria(competition.id)
    criterion_ids = [c[0] for c in criteria]
    middle = [(section, key, title) for _, key, title, section in criteria]
    stable = scores.done_stability(run)
    resamples = stable.resamples if stable is not None else None
    last: tuple = (None, None)  # the last application's stability figures and cells
    for chunk_rows, chunk, notes in review_chunks(run, criterion_ids, stable, comments=comments):
        s_r = _review_scores(rubric, chunk)
        points, maxima = _numbers(chunk.points), _numbers(chunk.max)
        for i, row in enumerate(chunk_rows):
            key = (row.funded_in, row.rank_lo, row.rank_hi)
            if last[0] != key:
                cells = scores.stability_cells(*key, resamples)
                last = (key, tuple(float(v) if isinstance(v, Decimal) else v for v in cells))
            tail = last[1]
            head = (
                row.ref, row.code, row.email, row.name,
                "yes" if row.counted else "no (conflict)", s_r[i],
            )  # fmt: skip
            if notes is None:
                for mid, p, m in zip(middle, points[i], maxima[i], strict=True):
                    yield (*head, *mid, p, m, *tail)
            else:
                for k, (mid, p, m) in enumerate(zip(middle, points[i], maxima[i], strict=True)):
                    yield (*head, *mid, p, m, notes.get((row.id, k + 1)), *tail)

"""A run's result rows as the database takes them, built a chunk of rows at a time.

``write_results`` stores 100,000 rows per run at national scale. Building each row as Python
values (``Decimal`` for the numbers, one ``orjson.dumps`` per JSON column, then the driver's
per-row COPY formatting) cost ~2.5 s of the process's CPU at 100k; here the rows are built
column by column instead:

* the four JSON columns of a chunk of rows (``review_scores``, ``sections``, ``flags``, the
  compact ``explanation`` record) are encoded by **one** ``orjson.dumps`` of a flat list
  whose items are separated by a sentinel string (``"\\u0000"`` in JSON: no stored text holds a
  NUL character, PostgreSQL's text types cannot), then split on the sentinel;
* PostgreSQL: each chunk becomes the text of ``COPY ... FROM STDIN`` (tab-separated, ``\\N``
  for NULL, backslashes escaped once over the whole chunk); a number goes as the shortest
  text of its float (``repr``), which the server reads into the same ``numeric`` value as the
  ``Decimal(repr(x))`` written before;
* SQLite: tuples for the driver's ``executemany``, numbers as floats (what SQLAlchemy's
  ``Numeric`` binds on SQLite) and JSON as text (what its ``JSON`` type would store, read back
  as the same values).

The values each reader gets back are those of the per-row path (``tests/test_result_rows.py``
compares every column of every row with the rows the ORM would write, on both databases).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

__all__ = ["CHUNK_ROWS", "COLUMNS", "copy_chunks", "json_columns", "sqlite_rows"]

#: The columns written, in the order of the COPY text and of the SQLite tuples.
COLUMNS = (
    "run_id",
    "application_id",
    "position",
    "ref",
    "school_code",
    "district_code",
    "tier",
    "reviews",
    "review_scores",
    "base",
    "priority_points",
    "final",
    "sections",
    "rank",
    "flags",
    "status",
    "award",
    "reason",
    "explanation",
)

#: Rows built and handed to the database at a time (the server works on one chunk while the
#: next is built; ~8 MB of COPY text at 100k applications).
CHUNK_ROWS = 10_000

_SENTINEL = "\x00"
_N_JSON = 4  # review_scores, sections, flags, explanation


def json_columns(apps: Sequence[dict], records: Sequence[Any], *, copy: bool) -> list[list[str]]:
    """The JSON text of ``review_scores``, ``sections``, ``flags`` and the explanation record
    of each row (four lists), from one ``orjson.dumps``. ``copy``: escaped for COPY's text
    format (JSON text holds no raw tab or newline, so only backslashes are doubled)."""
    flat: list[Any] = []
    for a, record in zip(apps, records, strict=True):
        flat += (a["review_scores"], _SENTINEL, a["sections"], _SENTINEL)
        flat += (a["flags"], _SENTINEL, record, _SENTINEL)
    text = orjson.dumps(flat).decode()
    sep = ',"\\u0000",'
    if copy:
        text, sep = text.replace("\\", "\\\\"), sep.replace("\\", "\\\\")
    parts = text[1 : -len(sep)].split(sep) if flat else []  # the list ends with a sentinel
    if len(parts) != _N_JSON * len(apps):  # a stored string held the sentinel: one at a time
        parts = [_one_json(v, copy) for v in flat if v is not _SENTINEL]
    return [parts[k::_N_JSON] for k in range(_N_JSON)]


def _one_json(value: Any, copy: bool) -> str:
    text = orjson.dumps(value).decode()
    return text.replace("\\", "\\\\") if copy else text


def _copy_strings(values: list[str | None]) -> list[str]:
    """Strings escaped for COPY's text format (``\\N`` for None), escaped all at once."""
    joined = "\x00".join("" if v is None else v for v in values)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        if raw in joined:
            joined = joined.replace(raw, escaped)
    out = joined.split("\x00")
    if len(out) != len(values):  # a value held a NUL character (not storable anyway)
        raise ValueError("a result string holds a NUL character")
    return [r"\N" if v is None else e for v, e in zip(values, out, strict=True)]


def _numbers(values: list[float | int | None]) -> list[str]:
    return [r"\N" if v is None else repr(v) for v in values]


def copy_chunks(
    run_id: int, apps: Sequence[dict], app_ids: dict[str, int], records: Sequence[Any]
) -> Iterator[bytes]:
    """The COPY text (``COLUMNS`` order) of the rows of ``apps`` (document order, position
    1, 2, ...) with their compact ``records`` (same order), a chunk of rows at a time."""
    for lo in range(0, len(apps), CHUNK_ROWS):
        part, recs = apps[lo : lo + CHUNK_ROWS], records[lo : lo + CHUNK_ROWS]
        scores, sections, flags, explanation = json_columns(part, recs, copy=True)
        refs = [a["ref"] for a in part]
        columns = (
            [str(run_id)] * len(part),
            [str(app_ids[r]) for r in refs],
            [str(p) for p in range(lo + 1, lo + len(part) + 1)],
            _copy_strings(refs),
            _copy_strings([a["school"] for a in part]),
            _copy_strings([a["district"] for a in part]),
            [str(a["tier"]) for a in part],
            [str(a["reviews"]) for a in part],
            scores,
            _numbers([a["base"] for a in part]),
            _numbers([a["priority_points"] for a in part]),
            _numbers([a["final"] for a in part]),
            sections,
            _numbers([a["rank"] for a in part]),
            flags,
            _copy_strings([a["status"] for a in part]),
            [a["award"] for a in part],
            _copy_strings([a["reason"] for a in part]),
            explanation,
        )
        yield ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def sqlite_rows(
    run_id: int, apps: Sequence[dict], app_ids: dict[str, int], records: Sequence[Any]
) -> Iterator[list[tuple]]:
    """The rows as tuples for SQLite's ``executemany`` (``COLUMNS`` order), a chunk at a
    time: numbers as floats, JSON as text."""
    for lo in range(0, len(apps), CHUNK_ROWS):
        part, recs = apps[lo : lo + CHUNK_ROWS], records[lo : lo + CHUNK_ROWS]
        scores, sections, flags, explanation = json_columns(part, recs, copy=False)
        yield [
            (
                run_id,
                app_ids[a["ref"]],
                position,
                a["ref"],
                a["school"],
                a["district"],
                a["tier"],
                a["reviews"],
                scores[k],
                _float(a["base"]),
                float(a["priority_points"]),
                _float(a["final"]),
                sections[k],
                a["rank"],
                flags[k],
                a["status"],
                float(a["award"]),
                a["reason"],
                explanation[k],
            )
            for k, (position, a) in enumerate(enumerate(part, start=lo + 1))
        ]

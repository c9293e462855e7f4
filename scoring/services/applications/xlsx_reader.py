"""A bounded, single-pass reader of one sheet of an uploaded XLSX workbook (issue 12, item 5).

openpyxl reads every shared string and every cell before it answers, so a 42 KB upload holding a
million one-letter strings held a web worker for 30 s. This reader opens the archive once and
streams the few XML parts it needs (the workbook, its relationships, the shared strings, the one
sheet) through defusedxml (no DTDs, no entities), and stops at the first limit crossed:

* the archive: at most ``max_entries`` entries and ``max_unpacked`` bytes once unpacked (a part
  is never read beyond the size its entry declares);
* the shared strings: at most ``max_strings`` of them, ``max_text`` characters in all;
* the sheet: at most ``max_rows`` rows and ``max_cells`` cells (whatever the ``<dimension>``
  claims); only the cells inside ``keep_rows`` x ``keep_cols`` are kept;
* each part: at most ``max_elements`` XML elements (bounds the memory, whatever the shape);
* time: the whole read ends after ``seconds`` (checked as it streams), so no upload holds a
  worker longer than that, whatever its shape.

Each cell comes back as its saved value and whether it holds a formula: numbers as ``Decimal``
(exact, as written in the file), text as ``str``, booleans as ``bool``, errors as their text.
Nothing here knows about budgets; :mod:`budget_workbook` reads the values.
"""

from __future__ import annotations

import io
import posixpath
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
CHECK_EVERY = 512  # XML events between two looks at the clock


class XlsxRefused(Exception):
    """The workbook cannot be read within the limits; ``reason`` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What an upload may hold (see the module's docstring)."""

    max_entries: int = 200
    max_unpacked: int = 20 * 1024 * 1024
    max_strings: int = 10_000
    max_text: int = 2_000_000
    max_rows: int = 2_000
    max_cells: int = 50_000
    keep_rows: int = 200
    keep_cols: int = 12
    max_elements: int = 250_000
    seconds: float = 5.0


@dataclass(frozen=True)
class Sheet:
    """The kept cells of one sheet: ``values[(row, col)]`` and the set of formula cells."""

    values: dict[tuple[int, int], Any]
    formulas: frozenset[tuple[int, int]]
    sheetnames: tuple[str, ...]


class _Clock:
    """The time budget, and the count of XML elements of the part being read (which bounds the
    memory a part can take, whatever its shape)."""

    def __init__(self, limits: Limits) -> None:
        self.deadline = time.monotonic() + limits.seconds
        self.max_elements = limits.max_elements
        self.ticks = 0
        self.elements = 0

    def tick(self, start: bool) -> None:
        self.ticks += 1
        if start:
            self.elements += 1
            if self.elements > self.max_elements:
                raise XlsxRefused(f"more than {self.max_elements:,} XML elements in one part")
        if self.ticks % CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise XlsxRefused("took too long to read")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _events(zf: zipfile.ZipFile, name: str, clock: _Clock) -> Iterator[tuple[str, Any]]:
    """``(event, element)`` of one part, the clock checked on the way; bad XML is refused."""
    clock.elements = 0
    try:
        with zf.open(name) as part:
            for event, element in iterparse(part, events=("start", "end")):
                clock.tick(event == "start")
                yield event, element
    except (ParseError, DefusedXmlException, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise XlsxRefused("damaged") from exc
    except (NotImplementedError, EOFError, RuntimeError) as exc:  # odd compression, encryption
        raise XlsxRefused("damaged") from exc


def _text(element) -> str:
    """The text of a shared or inline string: its ``t``, or the ``t`` of its rich-text runs
    (phonetic runs, ``rPh``, left out)."""
    parts: list[str] = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _sheet_part(zf: zipfile.ZipFile, wanted: str, clock: _Clock) -> tuple[str | None, tuple, str]:
    """(the part of the sheet named ``wanted`` or None, every sheet name, the strings part)."""
    sheets: list[tuple[str, str]] = []
    for event, element in _events(zf, "xl/workbook.xml", clock):
        if event == "end" and _local(element.tag) == "sheet":
            sheets.append((element.get("name") or "", element.get(f"{{{REL}}}id") or ""))
            if len(sheets) > 255:
                raise XlsxRefused("more than 255 sheets")
    targets: dict[str, str] = {}
    strings = "xl/sharedStrings.xml"
    rels = "xl/_rels/workbook.xml.rels"
    if rels in zf.namelist():
        for event, element in _events(zf, rels, clock):
            if event == "end" and _local(element.tag) == "Relationship":
                target = element.get("Target") or ""
                path = target.lstrip("/") if target.startswith("/") else "xl/" + target
                path = posixpath.normpath(path)
                targets[element.get("Id") or ""] = path
                if (element.get("Type") or "").endswith("/sharedStrings"):
                    strings = path
    names = tuple(name for name, _ in sheets)
    rid = next((rid for name, rid in sheets if name == wanted), None)
    return (targets.get(rid) if rid else None), names, strings


def _shared_strings(zf: zipfile.ZipFile, name: str, limits: Limits, clock: _Clock) -> list[str]:
    if name not in zf.namelist():
        return []
    strings: list[str] = []
    total = 0
    for event, element in _events(zf, name, clock):
        if event != "end" or _local(element.tag) != "si":
            continue
        if len(strings) >= limits.max_strings:
            raise XlsxRefused(f"more than {limits.max_strings:,} text strings")
        text = _text(element)
        total += len(text)
        if total > limits.max_text:
            raise XlsxRefused(f"more than {limits.max_text:,} characters of text")
        strings.append(text)
        element.clear()
    return strings


def _column(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _value(element, kind: str | None, strings: list[str]) -> Any:
    if kind == "inlineStr":
        inline = next((c for c in element if _local(c.tag) == "is"), None)
        return None if inline is None else _text(inline)
    raw = next((c.text for c in element if _local(c.tag) == "v"), None)
    if raw is None or raw == "":
        return None
    if kind == "s":
        if not raw.isascii() or not raw.isdigit() or int(raw) >= len(strings):
            raise XlsxRefused("damaged")
        return strings[int(raw)]
    if kind == "b":
        return raw.strip() == "1"
    if kind in ("str", "e", "d"):
        return raw
    try:
        return Decimal(raw.strip()) if len(raw) <= 40 else raw
    except InvalidOperation:
        return raw


def _cells(zf, part: str, strings: list[str], limits: Limits, clock: _Clock):
    """Stream the sheet: yield ``(row, col, value, is_formula)`` of the kept cells."""
    rows = cells = 0
    row_number, col_number = 0, 0
    for event, element in _events(zf, part, clock):
        tag = _local(element.tag)
        if event == "start":
            if tag == "row":
                rows += 1
                if rows > limits.max_rows:
                    raise XlsxRefused(f"more than {limits.max_rows:,} rows")
                given = element.get("r")
                row_number = int(given) if given and given.isdigit() else row_number + 1
                col_number = 0
            continue
        if tag == "c":
            cells += 1
            if cells > limits.max_cells:
                raise XlsxRefused(f"more than {limits.max_cells:,} cells")
            match = _REF.fullmatch(element.get("r") or "")
            col_number = _column(match.group(1)) if match else col_number + 1
            row = int(match.group(2)) if match else row_number
            if row <= limits.keep_rows and col_number <= limits.keep_cols:
                formula = any(_local(c.tag) == "f" for c in element)
                yield row, col_number, _value(element, element.get("t"), strings), formula
            element.clear()
        elif tag == "row":
            element.clear()


def read_sheet(data: bytes, sheet: str, limits: Limits | None = None) -> Sheet:
    """Read the sheet named ``sheet`` of the workbook ``data`` (see the module's docstring).

    :raise XlsxRefused: not a workbook (``"not xlsx"``), damaged, or over a limit (the reason
        names it). A workbook without that sheet gives an empty :class:`Sheet` with its names.
    """
    limits = limits or Limits()
    clock = _Clock(limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise XlsxRefused("not xlsx") from exc
    with zf:
        entries = zf.infolist()
        if "xl/workbook.xml" not in {e.filename for e in entries}:
            raise XlsxRefused("not xlsx")
        if len(entries) > limits.max_entries or sum(e.file_size for e in entries) > (
            limits.max_unpacked
        ):
            raise XlsxRefused("too large once unpacked")
        part, names, strings_part = _sheet_part(zf, sheet, clock)
        if part is None:
            return Sheet({}, frozenset(), names)
        if part not in zf.namelist():
            raise XlsxRefused("damaged")
        strings = _shared_strings(zf, strings_part, limits, clock)
        values: dict[tuple[int, int], Any] = {}
        formulas: set[tuple[int, int]] = set()
        for row, col, value, formula in _cells(zf, part, strings, limits, clock):
            values[(row, col)] = value
            if formula:
                formulas.add((row, col))
    return Sheet(values, frozenset(formulas), names)

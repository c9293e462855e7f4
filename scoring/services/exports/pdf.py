"""The printable award list (PDF, fpdf2), drawn page by page as the rows stream in: a heading
with the run and the totals, one line per application (two when a name or reason is long), the
column heads on every page, a totals line, and the staff exceptions with their justification."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import IO

from scoring.core.wording import dollars, status_words
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import Competition, RankingRun
from scoring.services.exports import awards
from scoring.services.ranking import board as boards

logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2's font subsetting chatter

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
# (heading, width mm, align) on US Letter landscape with 10 mm margins (259 mm)
COLUMNS = (
    ("Rank", 10, "R"),
    ("Ref", 20, "L"),
    ("School", 46, "L"),
    ("District", 30, "L"),
    ("Tier", 8, "R"),
    ("Priority", 13, "R"),
    ("Final", 14, "R"),
    ("Requested", 24, "R"),
    ("Decision", 23, "L"),
    ("Award", 24, "R"),
    ("Reason", 47, "L"),
)
WRAPPED = {2, 3, 8, 10}  # columns whose text may take two lines
LINE = 3.6
PAD = 0.6  # mm between a column's edge and its text
BASELINE = 2.6  # mm from a line's top to its text's baseline
SIZE = 7


def _font(pdf) -> tuple[str, bool]:
    """A Unicode TrueType font when the system has DejaVu, else Helvetica (Latin-1 only)."""
    for path in FONT_CANDIDATES:
        regular = Path(path)
        bold = regular.with_name("DejaVuSans-Bold.ttf")
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu", True
    return "Helvetica", False


def _measure(pdf):
    """The width of a string in the current font, in mm: from the font's own character widths
    (what ``get_string_width`` does, without its per-call cost), cached for repeated values."""
    cw = pdf.current_font.cw
    scale = pdf.font_size_pt / 1000 / pdf.k
    by_char = isinstance(cw, dict) and "A" in cw  # the core fonts (Helvetica) key by character

    @lru_cache(maxsize=65536)
    def width(text: str) -> float:
        if by_char:
            return scale * sum(cw.get(c, 500) for c in text)
        return scale * sum(cw[ord(c)] for c in text)

    return width


def _split(width, text: str, room: float, lines: int = 2, more: str = "…") -> list[str]:
    """``text`` in at most ``lines`` lines of ``room`` mm (the last one cut with ``more``)."""
    if width(text) <= room:
        return [text]
    out, words = [], text.split(" ")
    while words and len(out) < lines:
        line = words.pop(0)
        while words and width(line + " " + words[0]) <= room:
            line += " " + words.pop(0)
        out.append(line)
    if words or width(out[-1]) > room:
        last = out[-1] + (" " + " ".join(words) if words else "")
        while last and width(last + more) > room:
            last = last[:-1]
        out[-1] = last + more
    return out


def _document(title: str, footer: str):
    """An FPDF document (US Letter landscape) whose pages repeat the column heads and a footer."""
    from fpdf import FPDF

    class Document(FPDF):
        heads = False
        family = "Helvetica"
        unicode_ok = False

        def say(self, s) -> str:
            """Text the font can draw (Latin-1 only without DejaVu)."""
            s = str(s)
            return s if self.unicode_ok else s.encode("latin-1", "replace").decode("latin-1")

        def header(self) -> None:
            """The column heads on every page of the list."""
            if self.heads:
                self.set_font(self.family, "B", SIZE)
                for head, width, align in COLUMNS:
                    self.cell(width, LINE + 1, self.say(head), border="B", align=align)
                self.ln(LINE + 1.5)
                self.set_font(self.family, "", SIZE)

        def footer(self) -> None:
            """The list's name and the page number."""
            self.set_y(-9)
            self.set_font(self.family, "", 7)
            self.cell(0, 4, self.say(footer), align="L")
            self.set_x(self.l_margin)
            self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")

        def paragraph(self, height: float, s: str) -> None:
            """A left-aligned paragraph across the page."""
            self.multi_cell(0, height, self.say(s), align="L", new_x="LMARGIN", new_y="NEXT")

    pdf = Document(orientation="L", unit="mm", format="Letter")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(auto=False, margin=12)
    pdf.set_title(title)
    pdf.family, pdf.unicode_ok = _font(pdf)
    return pdf


def _heading(pdf, run: RankingRun, competition: Competition, totals: awards.Totals) -> None:
    slate = boards.slate_of(run)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 15)
    pdf.paragraph(8, f"Award list: {competition.title}")
    pdf.set_font(pdf.family, "", 10)
    state = slate.status.value if slate else "not submitted for approval"
    pdf.paragraph(
        5,
        f"Ranking run {run.id} ({'what-if' if run.what_if else 'official'}), computed "
        f"{local_dt(run.finished_at)}. Award list: {state}"
        + (f", approved by {slate.approved_by.name}" if slate and slate.approved_by else "")
        + (f", published {local_dt(slate.published_at)}" if slate and slate.published_at else "")
        + f". Inputs SHA-256 {run.inputs_sha256}.",
    )
    funds = run.total_funds or 0
    computed = f" Computed award total {dollars(totals.computed)} before staff exceptions."
    pdf.paragraph(
        5,
        f"Total funds {dollars(funds)}; awarded {dollars(totals.awarded)}; "
        f"remaining {dollars(funds - totals.awarded)}." + (computed if totals.exceptions else ""),
    )
    pdf.ln(2)
    pdf.heads = True
    pdf.header()


def _row(pdf, a: awards.AwardLine, mark: str) -> None:
    """One application: one line, or two when a name or the reason is long. Drawn with
    ``text()`` at computed positions (``cell()`` costs ten times as much per call)."""
    values = (
        "" if a.rank is None else str(a.rank),
        a.ref,
        a.school,
        f"{a.district} ({a.district_code})",
        str(a.tier),
        awards.plain_number(a.priority_points),
        "" if a.final is None else awards.plain_number(a.final),
        dollars(a.requested),
        status_words(a.status) + mark,
        dollars(a.award),
        a.reason,
    )
    width = pdf.measure
    more = "…" if pdf.unicode_ok else "..."  # Helvetica has no "…" (Latin-1 only)
    cells = [
        _split(width, pdf.say(v), COLUMNS[i][1] - 2 * PAD, more=more)
        if i in WRAPPED
        else [pdf.say(v)]
        for i, v in enumerate(values)
    ]
    height = LINE * max(len(c) for c in cells)
    if pdf.get_y() + height > pdf.h - 12:
        pdf.add_page()
    y, x = pdf.get_y() + BASELINE, pdf.l_margin
    for (_, col, align), text in zip(COLUMNS, cells, strict=True):
        for k, line in enumerate(text):
            if line:
                left = x + col - PAD - width(line) if align == "R" else x + PAD
                pdf.text(left, y + k * LINE, line)
        x += col
    pdf.set_xy(pdf.l_margin, y - BASELINE + height + 0.4)


def _ending(pdf, totals: awards.Totals, exceptions: list[awards.AwardLine]) -> None:
    """The totals line and the staff exceptions with their justification."""
    pdf.heads = False
    if pdf.get_y() + 12 > pdf.h - 12:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(pdf.family, "B", 9)
    computed = f" (computed {dollars(totals.computed)})" if totals.exceptions else ""
    pdf.paragraph(
        5,
        f"Total: {totals.applications} applications; requested {dollars(totals.requested)}; "
        f"{totals.funded} with an award; awarded {dollars(totals.awarded)}{computed}.",
    )
    if not exceptions:
        return
    pdf.ln(2)
    pdf.set_font(pdf.family, "B", 10)
    pdf.paragraph(5, "Staff exceptions to the computed result")
    pdf.set_font(pdf.family, "", 9)
    for i, a in enumerate(exceptions, start=1):
        if pdf.get_y() + 10 > pdf.h - 12:
            pdf.add_page()
        pdf.paragraph(
            4.5,
            f"*{i} {a.ref}: computed {status_words(a.computed_status).lower()} "
            f"{dollars(a.computed_award)}, set to {status_words(a.status).lower()} "
            f"{dollars(a.award)} by {a.decided_by} on {local_dt(a.decided_at)}. "
            f"Justification: {a.justification}",
        )


def write_pdf(out: IO[bytes], run: RankingRun, progress=None) -> int:
    """Write the award list of ``run`` into ``out``; returns the number of applications."""
    competition = db.session.get(Competition, run.competition_id)
    totals = awards.totals_of(run)
    pdf = _document(
        f"Award list: {competition.title}", f"{competition.title}: award list, run {run.id}"
    )
    _heading(pdf, run, competition, totals)
    pdf.measure = _measure(pdf)  # the rows' font, set by the column heads
    exceptions, n = [], 0
    for a in awards.lines(run):
        n += 1
        mark = ""
        if a.exception:
            exceptions.append(a)
            mark = f" *{len(exceptions)}"
        _row(pdf, a, mark)
        if progress is not None and n % 1000 == 0:
            progress(n)
    _ending(pdf, totals, exceptions)
    out.write(pdf.output())  # the bytearray itself: no second copy of the file
    return n

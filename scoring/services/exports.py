"""Exports of a ranking run: the award list and the full score detail as CSV and XLSX, a
printable PDF award list, and the audit trail as CSV.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return; OWASP "CSV injection") is neutralised: in CSV it gets a leading ``'``, in
XLSX it is stored as a plain string cell (never a formula). Money is exact: two decimals in CSV,
numeric cells with a money format in XLSX.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scoring.core.rubric import review_score
from scoring.extensions import db
from scoring.formatting import local_dt, money
from scoring.models import (
    Application,
    AuditEvent,
    Competition,
    Criterion,
    CriterionScore,
    RankingResult,
    RankingRun,
    Review,
    ReviewStatus,
    RubricSection,
    School,
    User,
)
from scoring.services import audit
from scoring.services.competitions.competitions import core_rubric
from scoring.services.queries import review_is_counted
from scoring.services.ranking import board as boards
from scoring.services.ranking.stability import stability_records

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2's font subsetting chatter


@dataclass
class Table:
    """A sheet: its title, column names and rows of plain values (str, int, Decimal, None)."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    money_columns: tuple[str, ...] = ()


# --------------------------------------------------------------------------- tables


def award_table(run: RankingRun) -> Table:
    """The award list in funding order (ranked), then unranked: computed and effective
    decision side by side; a staff exception is marked and justified."""
    view = boards.board(run)
    header = [
        "position",
        "rank",
        "ref",
        "school_code",
        "school",
        "district_code",
        "district",
        "tier",
        "reviews",
        "review_scores",
        "base",
        "priority_points",
        "final",
        "flags",
        "computed_status",
        "computed_award",
        "status",
        "award",
        "exception",
        "justification",
        "reason",
    ]
    rows = []
    for row in view.rows:
        r, o = row.result, row.override
        rows.append(
            [
                r.position,
                r.rank,
                r.ref,
                r.school_code,
                row.school_name,
                r.district_code,
                row.district_name,
                r.tier,
                r.reviews,
                " ".join(_num(s) for s in r.review_scores or []),
                r.base,
                r.priority_points,
                r.final,
                " ".join(r.flags or []),
                r.status,
                r.award,
                row.status,
                row.award,
                "yes" if o else "no",
                o.justification if o else None,
                r.reason,
            ]
        )
    return Table("Award list", header, rows, ("computed_award", "award"))


def score_table(run: RankingRun, *, comments: bool, actor: User | None = None) -> Table:
    """Every submitted review's points per criterion for the run's applications, with the
    review's score (docs/ranking.md §3.1) and whether it counts (conflicted reviews do not).

    Records an ``export.scores`` audit event (reviewers' names, scores and perhaps comments
    leave the system), so the caller commits."""
    competition = db.session.get(Competition, run.competition_id)
    rubric = core_rubric(competition.sections)
    criteria = db.session.execute(
        select(Criterion.id, Criterion.key, Criterion.title, RubricSection.key)
        .join(RubricSection, Criterion.section_id == RubricSection.id)
        .where(Criterion.competition_id == competition.id)
        .order_by(RubricSection.position, RubricSection.id, Criterion.position, Criterion.id)
    ).all()
    order = {
        ref: pos
        for ref, pos in db.session.execute(
            select(RankingResult.ref, RankingResult.position).where(RankingResult.run_id == run.id)
        )
    }
    reviews = db.session.execute(
        select(
            Review,
            Application.ref,
            Application.id,
            School.code,
            review_is_counted(Review, School.district_id),
            User.email,
            User.name,
        )
        .join(Application, Application.id == Review.application_id)
        .join(School, School.id == Application.school_id)
        .join(User, User.id == Review.reviewer_id)
        .where(
            Application.competition_id == competition.id,
            Review.status == ReviewStatus.SUBMITTED,
            Application.id.in_(
                select(RankingResult.application_id).where(RankingResult.run_id == run.id)
            ),
        )
        .options(selectinload(Review.scores))
    ).all()
    header = [
        "ref",
        "school_code",
        "reviewer",
        "reviewer_name",
        "counted",
        "review_score",
        "section",
        "criterion",
        "criterion_title",
        "points",
        "max_points",
    ]
    if comments:
        header.append("comment")
    stable = stability_records(run)  # docs/stability.md; the columns only once it is done
    if stable is not None:
        header += ["p_funded", "rank_interval_90", "toss_up"]
    rows = []
    reviews.sort(key=lambda t: (order[t[1]], t[5]))
    for review, ref, _app_id, school_code, counted, email, name in reviews:
        scores = {s.criterion_id: s for s in review.scores}
        points = {
            key: scores[cid].points
            for cid, key, _, _ in criteria
            if cid in scores and scores[cid].points is not None
        }
        s_r = _score(rubric, points)
        for cid, key, title, section in criteria:
            score: CriterionScore | None = scores.get(cid)
            row = [
                ref,
                school_code,
                email,
                name,
                "yes" if counted else "no (conflict)",
                s_r,
                section,
                key,
                title,
                None if score is None else _plain(score.points),
                None if score is None else _plain(score.max_points),
            ]
            if comments:
                row.append(None if score is None else score.comment)
            if stable is not None:
                row += _stability_cells(stable.get(ref))
            rows.append(row)
    audit.record(
        "export.scores",
        "ranking_run",
        run.id,
        actor=actor,
        competition_id=competition.id,
        after={"reviews": len(reviews), "comments": comments},
    )
    return Table("Score detail", header, rows)


def _stability_cells(figures: dict | None) -> list[Any]:
    """The application's stability: share funded, the 90% rank interval, toss-up."""
    if figures is None:
        return [None, None, None]
    lo_hi = figures["rank_interval"]
    return [
        Decimal(str(figures["p_funded"])),
        None if lo_hi is None else f"{lo_hi[0]}-{lo_hi[1]}",
        "yes" if figures["toss_up"] else "no",
    ]


def _score(rubric, points: dict[str, Decimal]) -> Decimal | None:
    """S_r rounded to 4 places as reported, or None when the review lacks a score."""
    if len(points) != len(rubric.criteria):
        return None
    return _plain(Decimal(repr(review_score(rubric, points))).quantize(Decimal("0.0001")))


def _plain(value: Decimal | None) -> Decimal | None:
    """``4.5000`` → ``4.5`` (no exponent, no trailing zeros)."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def audit_table(events: Iterable[AuditEvent]) -> Table:
    """The audit trail rows (times in UTC ISO 8601 and in Connecticut time)."""
    import json

    header = [
        "id",
        "at_utc",
        "at_local",
        "actor",
        "action",
        "entity",
        "entity_id",
        "competition_id",
        "before",
        "after",
        "note",
        "request_id",
    ]
    rows = [
        [
            e.id,
            e.at.isoformat(),
            local_dt(e.at),
            e.actor.email if e.actor else "system",
            e.action,
            e.entity,
            e.entity_id,
            e.competition_id,
            None if e.before is None else json.dumps(e.before, sort_keys=True, default=str),
            None if e.after is None else json.dumps(e.after, sort_keys=True, default=str),
            e.note,
            e.request_id,
        ]
        for e in events
    ]
    return Table("Audit trail", header, rows)


def _num(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


# --------------------------------------------------------------------------- writers


def neutralise(value: str) -> str:
    """Text that a spreadsheet would read as a formula, made inert with a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_START) else value


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads accents right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(
            [
                "" if v is None else neutralise(v) if isinstance(v, str) else _cell_text(v)
                for v in row
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def _cell_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """An XLSX workbook (openpyxl write-only), one sheet per table; text is never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    for table in tables:
        ws = wb.create_sheet(table.title[:31])
        ws.freeze_panes = "A2"
        head = []
        for name in table.header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = Font(bold=True)
            head.append(cell)
        ws.append(head)
        money_cols = {table.header.index(c) for c in table.money_columns}
        for row in table.rows:
            cells = []
            for i, value in enumerate(row):
                cell = WriteOnlyCell(ws, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # stored as text even if it starts with "="
                elif i in money_cols and value is not None:
                    cell.number_format = "#,##0.00"
                cells.append(cell)
            ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- PDF

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


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


def _line(pdf, height: float, text: str) -> None:
    """A full-width paragraph; the next one starts on the left margin below it."""
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def award_pdf(run: RankingRun) -> bytes:
    """A printable award list (A4 landscape would not fit US Letter; Letter landscape)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    competition = db.session.get(Competition, run.competition_id)
    view = boards.board(run)
    slate = boards.slate_of(run)
    pdf = FPDF(orientation="L", unit="mm", format="Letter")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_title(f"Award list: {competition.title}")
    family, unicode_ok = _font(pdf)
    t = (
        (lambda s: s)
        if unicode_ok
        else (lambda s: str(s).encode("latin-1", "replace").decode("latin-1"))
    )
    pdf.add_page()
    pdf.set_font(family, "B", 15)
    _line(pdf, 8, t(f"Award list: {competition.title}"))
    pdf.set_font(family, "", 10)
    state = slate.status.value if slate else "not submitted for approval"
    _line(
        pdf,
        5,
        t(
            f"Ranking run {run.id} ({'what-if' if run.what_if else 'official'}), computed "
            f"{local_dt(run.finished_at)}. Award list: {state}"
            + (f", approved by {slate.approved_by.name}" if slate and slate.approved_by else "")
            + (
                f", published {local_dt(slate.published_at)}"
                if slate and slate.published_at
                else ""
            )
            + f". Inputs SHA-256 {run.inputs_sha256}."
        ),
    )
    _line(
        pdf,
        5,
        t(
            f"Total funds {money(run.total_funds)}; awarded {money(view.effective_total)}; "
            f"remaining {money(view.remaining)}."
            + (
                f" Computed award total {money(view.computed_total)} before staff exceptions."
                if view.overrides
                else ""
            )
        ),
    )
    pdf.ln(2)
    widths = (12, 12, 28, 78, 40, 18, 36, 30)
    head = ("Pos", "Rank", "Ref", "School", "District", "Final", "Status", "Award")
    exceptions = []
    with pdf.table(
        col_widths=widths,
        text_align=("RIGHT", "RIGHT", "LEFT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=5.5,
        width=sum(widths),
    ) as table:
        table.row([t(h) for h in head])
        for row in view.rows:
            r = row.result
            mark = ""
            if row.override is not None:
                exceptions.append(row)
                mark = f" *{len(exceptions)}"
            table.row(
                [
                    t(x)
                    for x in (
                        str(r.position) if r.rank is not None else "",
                        str(r.rank or ""),
                        r.ref,
                        row.school_name,
                        f"{row.district_name} ({r.district_code})",
                        "" if r.final is None else _num(r.final),
                        row.status.replace("_", " ") + mark,
                        money(row.award),
                    )
                ]
            )
    if exceptions:
        pdf.ln(3)
        pdf.set_font(family, "B", 10)
        _line(pdf, 5, t("Staff exceptions to the computed result"))
        pdf.set_font(family, "", 9)
        for i, row in enumerate(exceptions, start=1):
            o, r = row.override, row.result
            _line(
                pdf,
                4.5,
                t(
                    f"*{i} {r.ref}: computed {r.status.replace('_', ' ')} {money(r.award)}, "
                    f"set to {o.status.replace('_', ' ')} {money(o.amount)} by "
                    f"{o.decided_by.name} on {local_dt(o.decided_at)}. Justification: "
                    f"{o.justification}"
                ),
            )
    return bytes(pdf.output())

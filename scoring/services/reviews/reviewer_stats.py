"""Reviewer statistics for staff: leniency against the panel and inter-rater reliability.

Counted reviews (docs/ranking.md §1) only: submitted, by a reviewer with an active assignment (not a
declared conflict, not removed). The math is in :mod:`scoring.core.reliability` (pure); this module
reads the reviews and lays out the inline SVG charts (drawn by the app, no script).

This is the one place leniency is judged: the statistics page, the panel board and the ranking
board all read :func:`compute` (offset against colleagues on the same applications; below
``MIN_REVIEWS`` counted reviews a reviewer is "too few reviews to judge").
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import selectinload

from scoring import charts
from scoring.core import reliability
from scoring.extensions import db
from scoring.models import (
    Competition,
    Criterion,
    CriterionScore,
    Review,
    User,
)
from scoring.services import queries
from scoring.services.kept import Kept
from scoring.services.reviews.reviews import points_score, rubric_criteria, to_rubric

#: Offsets (0-100 scale) at or beyond which a reviewer is labelled lenient or strict.
LENIENCY_MARGIN = 5.0
#: Fewer counted reviews than this and a reviewer's leniency is not judged.
MIN_REVIEWS = charts.MIN_REVIEWS
TOO_FEW = charts.TOO_FEW


@dataclass(frozen=True)
class ReliabilityRow:
    """Inter-rater reliability of one row: Krippendorff's alpha, ICC(1), units and ratings."""

    label: str
    alpha: float | None
    icc: float | None
    units: int
    ratings: int


@dataclass(frozen=True)
class ReviewerStat:
    """A reviewer with their leniency: own scores against the panel's (0-100 scale)."""

    reviewer: User
    stat: reliability.Leniency

    @property
    def judged(self) -> bool:
        """Enough counted reviews, and some shared with colleagues, to say anything."""
        return self.stat.n >= MIN_REVIEWS and self.stat.offset is not None

    @property
    def offset(self) -> float | None:
        """The offset against the panel when judged, else ``None``."""
        return self.stat.offset if self.judged else None

    @property
    def label(self) -> str:
        """``lenient``, ``strict``, ``in line``, ``too few reviews to judge`` or ``nothing shared
        with colleagues yet``."""
        offset = self.stat.offset
        if self.stat.n < MIN_REVIEWS:
            return TOO_FEW
        if offset is None:
            return "nothing shared with colleagues yet"
        if offset >= LENIENCY_MARGIN:
            return "lenient"
        if offset <= -LENIENCY_MARGIN:
            return "strict"
        return "in line"


@dataclass(frozen=True)
class Stats:
    """A competition's reviewer statistics: panel mean and spread, leniency and reliability."""

    competition: Competition
    reviews: int
    panel_mean: float | None
    panel_sd: float | None
    reviewers: list[ReviewerStat]
    reliability: list[ReliabilityRow]


def counted_reviews(competition: Competition) -> list[Review]:
    """The competition's counted reviews (docs/ranking.md §1: the same reviews the ranking counts,
    ``queries.counted_reviews``), in id order."""
    return list(
        db.session.scalars(
            queries.counted_reviews(competition.id, Review)
            .order_by(Review.id)
            # with their scores, each score's criterion and the reviewer: one statement each
            # for the statistics and the board's leniency chart, not one per review (the board
            # of a 15-application demo round sent 62 of its 85 statements here)
            .options(
                selectinload(Review.scores).selectinload(CriterionScore.criterion),
                selectinload(Review.reviewer),
            )
        )
    )


def _row(label: str, triples: list[tuple[int, int, float]]) -> ReliabilityRow:
    units = list(reliability.units_from(triples).values())
    pairable = reliability.pairable(units)
    return ReliabilityRow(
        label,
        reliability.krippendorff_alpha_interval(units),
        reliability.icc1(units),
        len(pairable),
        sum(len(u) for u in pairable),
    )


def _points_columns(competition: Competition):
    """The counted reviews' scores with points as plain columns: (review id, reviewer id,
    application id, criterion id, criterion key, points), in review and criterion order."""
    return (
        queries.counted_reviews(
            competition.id,
            Review.id,
            Review.reviewer_id,
            Review.application_id,
            CriterionScore.criterion_id,
            Criterion.key,
            CriterionScore.points,
        )
        .join(CriterionScore, CriterionScore.review_id == Review.id)
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        .where(CriterionScore.points.is_not(None))
        .order_by(Review.id, CriterionScore.criterion_id)
    )


def _counted_points(competition: Competition) -> dict[int, tuple[int, int, dict]]:
    """Review id -> (reviewer id, application id, {criterion id: (key, points)}) of the counted
    reviews' scores with points, in one statement of plain columns (the ORM objects of every
    review, score and criterion cost the board most of its time at demo scale)."""
    out: dict[int, tuple[int, int, dict]] = {}
    for review_id, reviewer_id, application_id, criterion_id, key, points in db.session.execute(
        _points_columns(competition)
    ):
        entry = out.setdefault(review_id, (reviewer_id, application_id, {}))
        entry[2][criterion_id] = (key, points)
    return out


def _points_digest(competition: Competition) -> str:
    """A digest of exactly what ``_counted_points`` reads: on PostgreSQL ``md5`` over the rows
    as text in the server (one row back), elsewhere SHA-256 of the rows read here."""
    stmt = _points_columns(competition)
    if db.engine.dialect.name == "postgresql":
        rows = stmt.subquery()
        line = func.concat_ws(":", *rows.c)
        order = (rows.c[0], rows.c[3])
        return (
            db.session.scalar(
                select(func.md5(func.string_agg(line, aggregate_order_by(literal(","), *order))))
            )
            or ""
        )
    rows = db.session.execute(stmt).all()
    return hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()


@dataclass(frozen=True)
class _Figures:
    """The statistics without ORM objects (kept between requests, shared between threads)."""

    reviews: int
    panel_mean: float | None
    panel_sd: float | None
    lenient: tuple[reliability.Leniency, ...]
    reliability: tuple[ReliabilityRow, ...]


#: The statistics of the last few competitions' counted reviews, by ``_key``.
_KEPT: Kept[_Figures] = Kept(16)


def _key(competition: Competition, criteria: list, rubric) -> tuple:
    """Everything the statistics depend on: the database, the competition, the rubric (its
    scoring and the criteria's titles) and the digest of the counted reviews' points (a review
    submitted, reopened or withdrawn, a conflict declared, a point changed: a new key)."""
    return (
        str(db.engine.url),
        competition.id,
        repr(rubric),
        tuple((c.id, c.title) for c in criteria),
        _points_digest(competition),
    )


def _figures(competition: Competition, criteria: list, rubric) -> _Figures:
    """Leniency per reviewer and reliability overall and per criterion, computed."""
    reviews = _counted_points(competition)
    overall = [
        (reviewer_id, application_id, s)
        for reviewer_id, application_id, scores in reviews.values()
        if (s := points_score(rubric, {k: p for k, p in scores.values()})) is not None
    ]
    rows = [_row("Overall review score (0-100)", overall)]
    for c in criteria:
        rows.append(
            _row(
                c.title,
                [
                    (reviewer_id, application_id, float(scores[c.id][1]))
                    for reviewer_id, application_id, scores in reviews.values()
                    if c.id in scores
                ],
            )
        )
    values = [s for _, _, s in overall]
    mean = math.fsum(values) / len(values) if values else None
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values)) if values else None
    lenient = tuple(reliability.leniency(overall).values())
    return _Figures(len(values), mean, sd, lenient, tuple(rows))


def compute(competition: Competition, *, fresh: bool = False) -> Stats:
    """Leniency per reviewer and reliability overall and per criterion. The figures are kept in
    this process while ``_key`` is unchanged (one digest statement instead of reading and
    scoring every counted review); ``fresh`` computes them again. The reviewers (names) are
    read each time."""
    criteria = rubric_criteria(competition.id)
    rubric = to_rubric(competition)  # once, not once per review
    if fresh:
        figures = _figures(competition, criteria, rubric)
    else:
        key = _key(competition, criteria, rubric)
        figures = _KEPT.get(key, lambda: _figures(competition, criteria, rubric))
    ids = {s.reviewer for s in figures.lenient}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    items = [ReviewerStat(people[s.reviewer], s) for s in figures.lenient]
    items.sort(key=lambda i: (not i.judged, -(i.offset or 0.0), i.reviewer.name))
    return Stats(
        competition,
        figures.reviews,
        figures.panel_mean,
        figures.panel_sd,
        items,
        list(figures.reliability),
    )


def by_reviewer(stats: Stats) -> dict[int, ReviewerStat]:
    """The reviewers' leniency keyed by user id (for the panel board's reviewer table)."""
    return {item.reviewer.id: item for item in stats.reviewers}


def leniency_chart(stats: Stats) -> Markup:
    """The leniency chart (wide and narrow drawings; CSS shows one): a bar per reviewer from the
    panel to their offset, words instead of a bar when there are too few reviews to judge."""
    rows = [charts.ReviewerLeniency(i.reviewer.name, i.stat.n, i.offset) for i in stats.reviewers]
    return charts.reviewer_leniency(rows, css="wide") + charts.reviewer_leniency(
        rows, width=380, css="narrow"
    )


# --- chart layout (SVG user units) ------------------------------------------------------------

#: Two layouts of each chart: wide for desktops, narrow for phones (CSS shows one of them).
LAYOUTS = {
    "wide": {"w": 760, "left": 210, "chars": 24},
    "narrow": {"w": 380, "left": 118, "chars": 13},
}
RIGHT, ROW, TOP = 30, 30, 34


def _x(value: float, lo: float, hi: float, layout: dict) -> float:
    value = min(max(value, lo), hi)
    return round(
        layout["left"] + (layout["w"] - layout["left"] - RIGHT) * (value - lo) / (hi - lo), 1
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alpha_chart(stats: Stats, size: str = "wide") -> dict:
    """Bars of Krippendorff's alpha per row (0 to 1; below 0 shown at 0), with 0.667 and 0.8
    marks."""
    lay = LAYOUTS[size]
    rows = []
    zero = _x(0, 0, 1, lay)
    for i, r in enumerate(stats.reliability):
        y, value = TOP + i * ROW, r.alpha
        rows.append(
            {
                "label": _short(r.label, lay["chars"]),
                "title": r.label,
                "y": y + 6,
                "ty": y + ROW / 2 + 4,
                "h": ROW - 12,
                "w": 0 if value is None else round(_x(value, 0, 1, lay) - zero, 1),
                "value": value,
                "tx": _x(max(value or 0, 0), 0, 1, lay) + 4,
            }
        )
    height = TOP + max(1, len(rows)) * ROW + 24
    marks = [{"x": _x(v, 0, 1, lay), "v": v} for v in (0.667, 0.8)]
    ticks = [
        {"x": _x(t / 5, 0, 1, lay), "v": t / 5} for t in range(0, 6, 1 if size == "wide" else 5)
    ]
    return {
        "id": size,
        "w": lay["w"],
        "h": height,
        "rows": rows,
        "marks": marks,
        "ticks": ticks,
        "x0": zero,
        "left": lay["left"],
        "top": TOP,
        "bottom": height - 24,
    }

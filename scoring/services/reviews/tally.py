"""Running totals of a review being scored: points per section and overall, criteria scored, and
the 0-100 review score once every criterion has points (docs/ranking.md §3.1).

Shown on the scoring form (server-rendered; ``static/score.js`` updates the same numbers as the
reviewer types) and on the confirmation page before submitting. Values in, values out: the
caller passes the competition, its criteria in rubric order and the points typed or saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from scoring.core import rubric as pure_rubric
from scoring.models import Competition, Criterion
from scoring.services.reviews.reviews import to_rubric


@dataclass(frozen=True)
class SectionTally:
    """One rubric section: points given so far out of its maximum, and criteria scored."""

    section_id: int
    title: str
    points: Decimal
    max_points: Decimal
    scored: int
    criteria: int


@dataclass(frozen=True)
class Tally:
    """The whole review: sections, overall points, criteria scored and (when complete) the
    0-100 review score."""

    sections: list[SectionTally]
    points: Decimal
    max_points: Decimal
    scored: int
    criteria: int
    score: float | None

    @property
    def complete(self) -> bool:
        """Every criterion has points."""
        return self.scored == self.criteria

    def section(self, section_id: int) -> SectionTally | None:
        """The tally of one section (None if it has no criteria)."""
        return next((s for s in self.sections if s.section_id == section_id), None)


def tally(
    competition: Competition,
    criteria: list[Criterion],
    points: Mapping[int, Decimal | None],
) -> Tally:
    """Totals of ``points`` (criterion id → points or None) over ``criteria``."""
    sections: dict[int, SectionTally] = {}
    for c in criteria:
        value = points.get(c.id)
        s = sections.get(c.section_id) or SectionTally(
            c.section_id, c.section.title, Decimal(0), Decimal(0), 0, 0
        )
        sections[c.section_id] = SectionTally(
            s.section_id,
            s.title,
            s.points + (value or 0),
            s.max_points + c.max_points,
            s.scored + (value is not None),
            s.criteria + 1,
        )
    rows = list(sections.values())
    scored = sum(s.scored for s in rows)
    score = None
    if criteria and scored == len(criteria):
        try:
            score = pure_rubric.review_score(
                to_rubric(competition), {c.key: points[c.id] for c in criteria}
            )
        except pure_rubric.RubricError:  # a rubric staff have not finished
            score = None
    return Tally(
        rows,
        sum((s.points for s in rows), Decimal(0)),
        sum((s.max_points for s in rows), Decimal(0)),
        scored,
        len(criteria),
        score,
    )

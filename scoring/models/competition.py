"""Competitions, their ranking policy, rubric (sections and criteria) and priorities."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import Money, Points, UTCDateTime, str_enum, utcnow


class Program(enum.StrEnum):
    """The grant program a competition belongs to."""

    TIME = "TIME Collaborative"
    HSR = "High School Redesign"
    SI_1003A = "1003(a)"
    SIG = "SIG"
    NETWORK = "Commissioner's Network"


class Aggregation(enum.StrEnum):
    """How a competition combines the review scores of an application."""

    MEAN = "mean"
    MEDIAN = "median"


class Normalization(enum.StrEnum):
    """How review scores are normalised per reviewer before they are combined."""

    NONE = "none"
    ZSCORE = "zscore"


class FundDown(enum.StrEnum):
    """What funding does when the next application does not fit: stop or skip it."""

    STRICT = "strict"
    SKIP = "skip"


class Competition(db.Model):
    """A grant competition with every knob of the ranking policy (docs/ranking.md §2)."""

    __table_args__ = (
        CheckConstraint("total_funds >= 0", name="total_funds_nonneg"),
        CheckConstraint("min_award IS NULL OR min_award >= 0", name="min_award_nonneg"),
        CheckConstraint(
            "max_award IS NULL OR min_award IS NULL OR max_award >= min_award", name="award_bounds"
        ),
        CheckConstraint("reviewers_per_application >= 1", name="reviewers_positive"),
        CheckConstraint("min_reviews >= 1", name="min_reviews_positive"),
        CheckConstraint("discrepancy_threshold >= 0", name="discrepancy_nonneg"),
        CheckConstraint("partial_min IS NULL OR partial_min > 0", name="partial_min_positive"),
        CheckConstraint(
            "district_max_awards IS NULL OR district_max_awards >= 0", name="district_awards_nonneg"
        ),
        CheckConstraint(
            "district_max_amount IS NULL OR district_max_amount >= 0", name="district_amount_nonneg"
        ),
        CheckConstraint(
            "closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at", name="window"
        ),
        CheckConstraint("budget_years >= 1 AND budget_years <= 5", name="budget_years_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    program: Mapped[Program] = mapped_column(str_enum(Program, "program"))
    title: Mapped[str] = mapped_column(String(200))
    cohort: Mapped[str | None] = mapped_column(String(40))
    fiscal_year: Mapped[str | None] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_funds: Mapped[Decimal] = mapped_column(Money)
    min_award: Mapped[Decimal | None] = mapped_column(Money)
    max_award: Mapped[Decimal | None] = mapped_column(Money)
    reviewers_per_application: Mapped[int] = mapped_column(default=3)
    blind_review: Mapped[bool] = mapped_column(default=False)
    comments_visible_to_applicants: Mapped[bool] = mapped_column(default=False)
    #: The rubric's points are made up for the demo (docs/domain.md [I]); shown as such in the UI.
    rubric_illustrative: Mapped[bool] = mapped_column(default=False)
    # Who may apply, and how many years the budget covers (issue 4).
    #: School classifications that may apply, e.g. ["Focus", "Turnaround"]; [] means any school.
    eligible_classifications: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    #: Only schools of Alliance Districts may apply.
    alliance_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Grant years the budget covers (budget lines are keyed by object code and year 1..N).
    budget_years: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    # Ranking policy, docs/ranking.md §2.
    aggregation: Mapped[Aggregation] = mapped_column(
        str_enum(Aggregation, "aggregation"), default=Aggregation.MEAN
    )
    normalization: Mapped[Normalization] = mapped_column(
        str_enum(Normalization, "normalization"), default=Normalization.NONE
    )
    min_reviews: Mapped[int] = mapped_column(default=2)
    discrepancy_threshold: Mapped[Decimal] = mapped_column(Points, default=Decimal(15))
    min_score: Mapped[Decimal] = mapped_column(Points, default=Decimal(0))
    #: Ordered list of "section:<key>", "priority_points", "requested_amount", "submitted_at".
    tie_breakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    fund_down: Mapped[FundDown] = mapped_column(
        str_enum(FundDown, "fund_down"), default=FundDown.STRICT
    )
    partial_funding: Mapped[bool] = mapped_column(default=False)
    partial_min: Mapped[Decimal | None] = mapped_column(Money)
    district_max_awards: Mapped[int | None] = mapped_column()
    district_max_amount: Mapped[Decimal | None] = mapped_column(Money)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the first review is submitted: the rubric may no longer change.
    rubric_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sections: Mapped[list[RubricSection]] = relationship(
        back_populates="competition",
        order_by="RubricSection.position",
        cascade="all, delete-orphan",
    )
    priorities: Mapped[list[Priority]] = relationship(
        back_populates="competition", order_by="Priority.key", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Competition {self.slug}>"


class RubricSection(db.Model):
    """A section of a competition's rubric, with its weight and narrative limit."""

    __table_args__ = (
        UniqueConstraint("competition_id", "key"),
        CheckConstraint("weight IS NULL OR weight >= 0", name="weight_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competition.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    #: None: the section's maximum points (plain points).
    weight: Mapped[Decimal | None] = mapped_column(Points)
    position: Mapped[int] = mapped_column(default=0)
    guidance: Mapped[str | None] = mapped_column(Text)
    #: Longest narrative response an applicant may give for this section, in characters.
    narrative_limit: Mapped[int] = mapped_column(default=6000)
    narrative_required: Mapped[bool] = mapped_column(default=True)

    competition: Mapped[Competition] = relationship(back_populates="sections")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="section", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class Criterion(db.Model):
    """A scored criterion of a rubric section: maximum points, step and rating levels."""

    __table_args__ = (
        UniqueConstraint("competition_id", "key"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
        CheckConstraint("step > 0", name="step_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competition.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_section.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    max_points: Mapped[Decimal] = mapped_column(Points)
    step: Mapped[Decimal] = mapped_column(Points, default=Decimal(1))
    position: Mapped[int] = mapped_column(default=0)
    #: Rating-level descriptors: [{"points": 0, "label": "Insufficient", "text": "..."}, ...].
    descriptors: Mapped[list[dict]] = mapped_column(JSON, default=list)

    section: Mapped[RubricSection] = relationship(back_populates="criteria")
    competition: Mapped[Competition] = relationship()


class Priority(db.Model):
    """A competitive preference priority worth bonus points."""

    __table_args__ = (
        UniqueConstraint("competition_id", "key"),
        CheckConstraint("points >= 0", name="points_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competition.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    points: Mapped[Decimal] = mapped_column(Points)

    competition: Mapped[Competition] = relationship(back_populates="priorities")

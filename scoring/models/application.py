"""Applications, their narratives, priorities, budget lines and attachments."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import Money, UTCDateTime, str_enum, utcnow
from scoring.models.competition import Competition, Priority, RubricSection
from scoring.models.geo import School
from scoring.models.user import User

#: Budget object codes, NCES major object categories (docs/domain.md §d).
OBJECT_CODES = {
    100: "Personal Services—Salaries",
    200: "Personal Services—Employee Benefits",
    300: "Purchased Professional and Technical Services",
    400: "Purchased Property Services",
    500: "Other Purchased Services",
    600: "Supplies",
    700: "Property",
    800: "Debt Service and Miscellaneous",
    900: "Other Items",
}


class ApplicationStatus(enum.StrEnum):
    """Where an application stands: draft, submitted or withdrawn."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Application(db.Model):
    """A school's application to a competition: contacts, request, eligibility and status."""

    __table_args__ = (
        UniqueConstraint("competition_id", "ref"),
        CheckConstraint("requested_amount >= 0", name="requested_nonneg"),
        CheckConstraint("tier >= 1", name="tier_positive"),
        CheckConstraint("eligible OR ineligible_reason IS NOT NULL", name="ineligible_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id"), index=True)
    ref: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus, "application_status"), default=ApplicationStatus.DRAFT
    )
    title: Mapped[str | None] = mapped_column(String(300))
    requested_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    tier: Mapped[int] = mapped_column(default=1)
    #: Contacts: [{"role": "principal", "name": ..., "email": ..., "phone": ...}, ...].
    contacts: Mapped[list[dict]] = mapped_column(JSON, default=list)
    eligible: Mapped[bool] = mapped_column(default=True)
    ineligible_reason: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when staff have screened it (eligibility, tier, priorities); ranking waits for it.
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A documented extension of the window for this one application (audited).
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(String(500))
    confirmation_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: Entries of the last "Save draft" that were not valid, kept exactly as typed so nothing is
    #: lost: {form field: {"typed": text, "error": message}}; the columns hold the valid state.
    draft_invalid: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()
    #: Optimistic locking: a save from a stale form is refused instead of overwriting.
    __mapper_args__ = {"version_id_col": version}

    competition: Mapped[Competition] = relationship()
    school: Mapped[School] = relationship()
    created_by: Mapped[User | None] = relationship()
    narratives: Mapped[list[ApplicationNarrative]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    priority_links: Mapped[list[ApplicationPriority]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="(BudgetLine.year, BudgetLine.object_code)",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Application {self.ref}>"


class ApplicationNarrative(db.Model):
    """The applicant's response to one rubric section."""

    __table_args__ = (UniqueConstraint("application_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[int] = mapped_column(ForeignKey("rubric_section.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="narratives")
    section: Mapped[RubricSection] = relationship()


class ApplicationPriority(db.Model):
    """A priority the applicant claims; staff confirm it before it earns points."""

    __table_args__ = (UniqueConstraint("application_id", "priority_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    priority_id: Mapped[int] = mapped_column(ForeignKey("priority.id", ondelete="CASCADE"))
    claimed: Mapped[bool] = mapped_column(default=True)
    confirmed: Mapped[bool] = mapped_column(default=False)
    #: Why staff refused a claimed priority (shown to the applicant); None while not refused.
    refused_reason: Mapped[str | None] = mapped_column(String(500))
    #: When staff confirmed or refused it; None while undecided.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="priority_links")
    priority: Mapped[Priority] = relationship()


class BudgetLine(db.Model):
    """One budget amount of an application: an object code in one grant year."""

    __table_args__ = (
        UniqueConstraint("application_id", "object_code", "year"),
        CheckConstraint(
            "object_code IN (100, 200, 300, 400, 500, 600, 700, 800, 900)", name="object_code"
        ),
        CheckConstraint("year >= 1 AND year <= 5", name="year_range"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    object_code: Mapped[int] = mapped_column()
    #: Grant year, 1-based.
    year: Mapped[int] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(String(500), default="")

    application: Mapped[Application] = relationship(back_populates="budget_lines")


class Attachment(db.Model):
    """A PDF stored outside the web root under a generated name."""

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")


__all__ = [
    "OBJECT_CODES",
    "Application",
    "ApplicationNarrative",
    "ApplicationPriority",
    "ApplicationStatus",
    "Attachment",
    "BudgetLine",
]

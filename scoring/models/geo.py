"""Districts and schools."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db


class District(db.Model):
    """A school district (Alliance Districts flagged)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    alliance: Mapped[bool] = mapped_column(default=False)

    schools: Mapped[list[School]] = relationship(back_populates="district", order_by="School.name")

    def __repr__(self) -> str:
        return f"<District {self.code} {self.name}>"


class School(db.Model):
    """A school in a district, with its grade span and accountability classification."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    grade_span: Mapped[str | None] = mapped_column(String(20))
    #: Accountability classification, e.g. "Turnaround", "Focus", "Category 4".
    classification: Mapped[str | None] = mapped_column(String(40))

    district: Mapped[District] = relationship(back_populates="schools")

    def __repr__(self) -> str:
        return f"<School {self.code} {self.name}>"

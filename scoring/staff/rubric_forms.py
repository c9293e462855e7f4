"""Forms of the rubric builder and priorities (shape only; the rubric rules are the core's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from scoring.staff.forms import BaseForm, key_field, points

# --------------------------------------------------------------------------- rubric builder


class DescriptorsField(TextAreaField):
    """Rating-level descriptors, one per line: ``points | label | description``."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Parse lines of ``points | label | description``; keep a malformed line's error."""
        super().process_formdata(valuelist)
        self.parsed: list[dict[str, str]] = []
        self.parse_error: str | None = None
        text = valuelist[0] if valuelist else ""  # a post without the field: no descriptors
        if not valuelist:
            self.data = ""
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|", 2)]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                self.parse_error = (
                    f"line {i}: write “points | label | description”, "
                    "e.g. “3 | Exemplary | Clear use of data”"
                )
                return
            self.parsed.append(
                {
                    "points": parts[0],
                    "label": parts[1][:100],
                    "text": parts[2][:2000] if len(parts) > 2 else "",
                }
            )

    def pre_validate(self, form: FlaskForm) -> None:
        """Refuse the descriptors if a line could not be parsed."""
        if getattr(self, "parse_error", None):
            raise ValidationError(self.parse_error)

    @staticmethod
    def render_value(descriptors: list[dict] | None) -> str:
        """Descriptors as the field's text, one ``points | label | description`` per line."""
        return "\n".join(
            f"{d.get('points')} | {d.get('label', '')} | {d.get('text', '')}".rstrip(" |")
            for d in descriptors or []
        )


class SectionForm(BaseForm):
    """Edit a rubric section in the rubric builder."""

    key = key_field("Key (used in tie-breakers, e.g. “plan”)", 60)
    title = StringField(
        "Title", validators=[DataRequired(message="enter a title"), Length(max=200)]
    )
    weight = points("Weight (blank = the section's maximum points)", 0, 100000, required=False)
    position = IntegerField("Order", default=0, validators=[InputRequired(), NumberRange(0, 1000)])
    guidance = TextAreaField("Guidance for applicants", validators=[Optional(), Length(max=20000)])
    narrative_limit = IntegerField(
        "Narrative limit (characters)",
        default=6000,
        validators=[InputRequired(), NumberRange(100, 100000)],
    )
    narrative_required = BooleanField("A narrative is required", default=True)

    def values(self) -> dict[str, Any]:
        """The section's fields as the competition service takes them."""
        return {
            k: self[k].data for k in ("key", "title", "weight", "position", "narrative_limit")
        } | {
            "guidance": self.guidance.data or None,
            "narrative_required": bool(self.narrative_required.data),
        }


class NewSectionForm(SectionForm):
    """A new section comes with its first criterion (a section needs one)."""

    criterion_key = key_field("First criterion's key (e.g. “plan.goals”)", 80)
    criterion_title = StringField(
        "First criterion's title",
        validators=[DataRequired(message="enter a title"), Length(max=300)],
    )
    criterion_max_points = points("Its maximum points", 0, 100000, above_low=True)
    criterion_step = points(
        "Its step (1 = whole points, 0.5 = halves)", 0, 100000, above_low=True, default=Decimal(1)
    )

    def values(self) -> dict[str, Any]:
        """The section's fields and its first criterion's, as the service takes them."""
        return super().values() | {
            k: self[k].data
            for k in ("criterion_key", "criterion_title", "criterion_max_points", "criterion_step")
        }


class CriterionForm(BaseForm):
    """Add or edit a criterion in the rubric builder."""

    key = key_field("Key (e.g. “need.data”)", 80)
    title = StringField(
        "Title", validators=[DataRequired(message="enter a title"), Length(max=300)]
    )
    max_points = points("Maximum points", 0, 100000, above_low=True)
    step = points(
        "Step (1 = whole points, 0.5 = halves)", 0, 100000, above_low=True, default=Decimal(1)
    )
    position = IntegerField("Order", default=0, validators=[InputRequired(), NumberRange(0, 1000)])
    descriptors = DescriptorsField(
        "Rating levels, one per line: points | label | description",
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 6},
    )

    def values(self) -> dict[str, Any]:
        """The criterion's fields (descriptors parsed) as the competition service takes them."""
        return {k: self[k].data for k in ("key", "title", "max_points", "step", "position")} | {
            "descriptors": getattr(self.descriptors, "parsed", [])
        }


class PriorityForm(BaseForm):
    """Add or edit a priority (bonus points) of a competition."""

    key = key_field("Key", 60)
    title = StringField(
        "Title", validators=[DataRequired(message="enter a title"), Length(max=300)]
    )
    points = points("Bonus points", 0, 100)

    def values(self) -> dict[str, Any]:
        """The priority's fields as the competition service takes them."""
        return {k: self[k].data for k in ("key", "title", "points")}

"""Forms of staff screening: one built per application (a radio and a reason per priority of the
competition), the bulk "confirm as claimed" list, and the extension of one application. Shape
only; the rules are in ``scoring.services.applications.screening``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from scoring.accounts.forms import choice, no_control_chars
from scoring.models import Application
from scoring.services.applications.screening import MAX_TIER, PriorityDecision


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _reason(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[
            Length(max=500, message="Keep the reason to 500 characters."),
            no_control_chars,
        ],
    )


class ScreenFormBase(FlaskForm):
    """Eligibility, reason and tier; the priority fields are added per application."""

    eligible = RadioField(
        "Screening result",
        choices=[choice("yes", "Eligible"), choice("no", "Ineligible")],
        validators=[InputRequired("Choose eligible or ineligible.")],
    )
    reason = _reason("Reason (shown to the applicant)")
    tier = IntegerField(
        "Tier",
        validators=[
            Optional(),
            NumberRange(1, MAX_TIER, f"The tier is a whole number from 1 to {MAX_TIER}."),
        ],
    )

    def priority_fields(self):
        """(priority, decision field, reason field) for each priority of the competition."""
        return [
            (p, self[f"priority_{p.id}"], self[f"priority_{p.id}_reason"]) for p in self._priorities
        ]

    def decisions(self) -> list[PriorityDecision]:
        """Staff's decision on each priority sent (one not sent is left as it is)."""
        return [
            PriorityDecision(p.id, field.data, reason.data or "")
            for p, field, reason in self.priority_fields()
            if field.data
        ]


def build_screen_form(application: Application) -> ScreenFormBase:
    """The screening form of one application: one decision and one reason per priority."""
    links = {link.priority_id: link for link in application.priority_links}
    priorities = list(application.competition.priorities)

    class ScreenForm(ScreenFormBase):
        _priorities = priorities

    data = {
        "eligible": "yes" if application.eligible else "no",
        "reason": application.ineligible_reason or "",
        "tier": application.tier,
    }
    for p in priorities:
        link = links.get(p.id)
        claimed = link is not None and link.claimed
        choices = (
            [choice("confirm", "Confirm"), choice("refuse", "Refuse (give the reason)")]
            if claimed
            else [choice("none", "Not claimed"), choice("confirm", "Add (staff confirm)")]
        )
        setattr(
            ScreenForm,
            f"priority_{p.id}",
            RadioField(
                f"{p.title} (+{p.points.normalize():f} points)"
                + (" — claimed" if claimed else " — not claimed"),
                choices=choices,
                validators=[Optional()],
            ),
        )
        setattr(ScreenForm, f"priority_{p.id}_reason", _reason("Reason for refusing"))
        if link is None:
            data[f"priority_{p.id}"] = "none"
        elif link.refused_reason:
            data[f"priority_{p.id}"] = "refuse"
            data[f"priority_{p.id}_reason"] = link.refused_reason
        else:
            data[f"priority_{p.id}"] = "confirm"
    return ScreenForm(data=data)


class BulkConfirmForm(FlaskForm):
    """The ticked rows of the screening list."""

    applications = SelectMultipleField("Applications", coerce=int, validate_choice=False)


class ExtensionForm(FlaskForm):
    """When one draft's extension ends, and why."""

    until = DateTimeLocalField(
        "Extended until (Connecticut time)",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Give the date and time the extension ends.")],
    )
    reason = TextAreaField(
        "Why (kept in the audit trail)",
        filters=[_strip],
        validators=[
            InputRequired("Document the extension."),
            Length(max=500, message="Keep the reason to 500 characters."),
            no_control_chars,
        ],
    )

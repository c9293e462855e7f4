"""Forms of the reviewer panel (shape only; the rules live in the services)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)


class Pick(SelectField):
    """A select of ids whose every refusal (not a number, not offered) reads ``message``."""

    def __init__(
        self, label=None, validators=None, message="Choose one of the options listed.", **kwargs
    ):
        super().__init__(label, validators, coerce=_id_or_none, **kwargs)
        self.message = message

    def process_formdata(self, valuelist) -> None:
        """Take a posted id as an int, blank or ``None`` as None; other text stays a string."""
        if valuelist:
            raw = valuelist[0].strip()
            if raw in ("", "None"):
                self.data = None
            else:  # anything not a plain id stays a string, which no choice matches
                self.data = int(raw) if raw.isdigit() and len(raw) < 10 else raw

    def pre_validate(self, form) -> None:
        """Refuse a value that is not one of the choices offered, with ``message``."""
        if self.data not in {c.value for c in self._choices_from_input(self.choices) or []}:
            raise ValidationError(self.message)


def _id_or_none(value):
    return (
        value
        if isinstance(value, int) or value is None
        else (int(value) if str(value).isdigit() else None)
    )


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class InviteForm(FlaskForm):
    """Invite a reviewer from the staff roster (name, email, district)."""

    name = StringField(
        "Full name",
        validators=[DataRequired(message="Enter the reviewer's name."), Length(max=200)],
        filters=[_strip],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired(message="Enter an email address."),
            Length(max=254),
            Email(message="Enter an email address like name@example.org."),
        ],
    )
    district = Pick(
        "District the reviewer works in (never assigned its applications)",
        message="Choose a district from the list, or none.",
    )
    submit = SubmitField("Send invitation")


class DistrictConflictForm(FlaskForm):
    """Add a district conflict on a reviewer's page."""

    district = Pick("District", message="Choose a district from the list.")
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Add conflict")


class CapForm(FlaskForm):
    """The preview's knob, sent with GET (no state changes, so no CSRF token)."""

    class Meta:
        csrf = False

    cap = IntegerField(
        "Most applications per reviewer",
        validators=[
            InputRequired(message="Enter a whole number."),
            NumberRange(min=0, max=10000, message="Enter a whole number from 0 to 10000."),
        ],
    )


class SaveAssignmentForm(FlaskForm):
    """Save the automatic assignment previewed (its cap and digest)."""

    cap = IntegerField(
        widget=HiddenField.widget, validators=[InputRequired(), NumberRange(min=0, max=10000)]
    )
    digest = HiddenField(validators=[InputRequired(), Regexp(r"^[0-9a-f]{64}$")])
    submit = SubmitField("Save these assignments")


class AddReviewerForm(FlaskForm):
    """Assign one more reviewer by hand, on an application's review page."""

    reviewer = Pick("Reviewer", message="Choose a reviewer from the list.")
    submit = SubmitField("Assign")


class ReopenForm(FlaskForm):
    """Reopen a submitted review, with the reason the reviewer sees."""

    reason = TextAreaField(
        "Why reopen it (the reviewer sees this)",
        validators=[DataRequired(message="Say why the review is reopened."), Length(max=500)],
    )
    submit = SubmitField("Reopen review")


class NoteForm(FlaskForm):
    """Write a reconciliation note on an application's review page."""

    note = TextAreaField(
        "Reconciliation note",
        validators=[DataRequired(message="Write what was decided and why."), Length(max=5000)],
    )
    submit = SubmitField("Save note")


class ExtraReviewerForm(FlaskForm):
    """Add an extra reviewer by the automatic rules; ``back`` says which page to return to."""

    back = HiddenField(validators=[Optional(), Regexp(r"^(discrepancies|application)$")])
    submit = SubmitField("Add a reviewer")

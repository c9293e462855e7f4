"""Reviewer forms: the conflict-of-interest declaration and the rubric scoring form."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from scoring.core.numbers import fmt_decimal
from scoring.models import Criterion, Review

COMMENT_MAX = 5000
OVERALL_MAX = 10000


class ConflictForm(FlaskForm):
    """The reviewer's conflict-of-interest declaration before seeing an application."""

    decision = RadioField(
        "Your declaration",
        choices=[
            SelectChoice("none", "I have no conflict of interest with this application."),
            SelectChoice("conflict", "I have a conflict of interest and cannot review it."),
        ],
        validators=[InputRequired(message="Choose one of the two statements.")],
    )
    reason = TextAreaField(
        "If you have a conflict, say briefly why (staff see this)",
        validators=[Optional(), Length(max=500)],
    )
    confirm = SubmitField("Confirm")

    def validate(self, extra_validators=None) -> bool:
        """Refuse a declared conflict that gives no reason."""
        ok = super().validate(extra_validators)
        if self.decision.data == "conflict" and not (self.reason.data or "").strip():
            self.reason.errors.append(
                "Say briefly what the conflict is, so staff can reassign the application."
            )
            ok = False
        return ok


class Finite:
    """Stop at NaN or infinity (``Decimal('NaN') < 0`` would raise), with a plain message."""

    def __call__(self, form, field) -> None:
        """Accept a missing or finite value; stop at NaN or infinity."""
        if field.data is not None and not field.data.is_finite():
            raise StopValidation("Enter a number, for example 7 or 7.5.")


class Step:
    """Points must be a whole number of steps (``step`` 1: whole points, 0.5: half points)."""

    def __init__(self, step: Decimal) -> None:
        self.step = step

    def __call__(self, form, field) -> None:
        """Accept a missing value or a whole number of steps; refuse anything else."""
        if field.data is None:
            return
        with localcontext() as ctx:
            ctx.prec = 60
            try:
                ok = field.data % self.step == 0
            except InvalidOperation:
                ok = False
        if not ok:
            raise ValidationError(
                f"Use steps of {fmt_decimal(self.step)} point(s), for example "
                f"{fmt_decimal(self.step * 2)}."
            )


class ScoreFormBase(FlaskForm):
    """The review score form's fixed fields; ``score_form_class`` adds the criteria."""

    version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    overall_comment = TextAreaField(
        "Overall comment", validators=[Optional(), Length(max=OVERALL_MAX)]
    )
    save = SubmitField("Save draft")
    #: Saves the draft and shows the confirmation page with the totals (the reviewer submits
    #: there); ``submit`` submits at once (kept for clients that post it directly).
    check = SubmitField("Check totals and submit")
    submit = SubmitField("Submit review")

    criteria: list[Criterion] = []

    def validate(self, extra_validators=None) -> bool:
        """On submit or check (not a draft), also refuse criteria left without points."""
        ok = super().validate(extra_validators)
        if self.submit.data or self.check.data:
            for c in self.criteria:
                field = self[f"points_{c.id}"]
                if field.data is None and not field.errors:
                    field.errors.append(
                        "Enter points for this criterion to submit (or save a draft)."
                    )
                    ok = False
        return ok

    def review_data(self) -> dict:
        """The service's arguments: points and comments per criterion id."""
        return {
            "points": {c.id: self[f"points_{c.id}"].data for c in self.criteria},
            "comments": {c.id: self[f"comment_{c.id}"].data for c in self.criteria},
            "overall_comment": self.overall_comment.data,
            "seen_version": int(self.version.data),
            "submit": bool(self.submit.data),
        }


class ConfirmSubmitForm(FlaskForm):
    """The confirmation page's form: submit the saved draft seen at ``version``."""

    version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    submit = SubmitField("Submit review")


def error_links(form: ScoreFormBase) -> list[tuple[str, str, str]]:
    """``(field id, what, message)`` of each field in error, in page order, for the summary
    at the top of the form."""
    names = {f"points_{c.id}": f"{c.title}: points" for c in form.criteria}
    names |= {f"comment_{c.id}": f"{c.title}: comment" for c in form.criteria}
    names["overall_comment"] = "Overall comment"
    return [
        (form[name].id, what, form[name].errors[0])
        for name, what in names.items()
        if form[name].errors
    ]


def score_form_class(criteria: list[Criterion]) -> type[ScoreFormBase]:
    """A form class with one points field (NumberRange, step check) and one comment per
    criterion."""
    fields = {"criteria": list(criteria)}
    for c in criteria:
        top = fmt_decimal(c.max_points)
        fields[f"points_{c.id}"] = DecimalField(
            f"Points (0 to {top})",
            places=None,
            widget=TextInput(),
            invalid_value_message="Enter a number, for example 7 or 7.5.",
            validators=[
                Optional(),
                Finite(),
                NumberRange(min=0, max=c.max_points, message=f"Enter a number from 0 to {top}."),
                Step(c.step),
            ],
        )
        fields[f"comment_{c.id}"] = TextAreaField(
            "Comment", validators=[Optional(), Length(max=COMMENT_MAX)]
        )
    return type("ScoreForm", (ScoreFormBase,), fields)


def saved_data(review: Review) -> dict:
    """Form data showing what is saved in ``review`` (and its current version)."""
    data = {"version": str(review.version), "overall_comment": review.overall_comment or ""}
    for s in review.scores:
        data[f"points_{s.criterion_id}"] = (
            None if s.points is None else Decimal(fmt_decimal(s.points))
        )
        data[f"comment_{s.criterion_id}"] = s.comment or ""
    return data

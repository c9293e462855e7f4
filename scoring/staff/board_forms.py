"""Forms of the ranking board, what-if, exceptions, the audit trail and exports (shape only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from scoring.core.ranking import registry
from scoring.formatting import words
from scoring.inputs import sane_date
from scoring.staff.forms import BaseForm, GetForm, cents, money, plain, points

STATUS_CHOICES = [
    "funded",
    "partially_funded",
    "waitlisted",
    "below_threshold",
    "incomplete",
    "ineligible",
]


# --------------------------------------------------------------------------- board, what-if


class BoardFilterForm(GetForm):
    """Filters, sort and page of the ranking board (run, status, district, flag, search), read
    from the query string so that links keep them across pages."""

    run = IntegerField("Run", validators=[Optional(), NumberRange(1, 2**31 - 1)])
    status = SelectField(
        "Decision",
        choices=[("", "any")] + [(s, words(s)) for s in STATUS_CHOICES],
        default="",
    )
    district = StringField("District code", validators=[Optional(), Length(max=16)])
    flag = SelectField(
        "Flag",
        choices=[
            ("", "any"),
            ("discrepancy", "discrepancy"),
            ("tie", "tie"),
            ("override", "staff exception"),
            ("toss_up", "toss-up"),
        ],
        default="",
    )
    q = StringField("Ref or school", validators=[Optional(), Length(max=80)])
    sort = SelectField(
        "Sort by",
        choices=[
            ("position", "funding order"),
            ("rank", "rank"),
            ("score", "final score"),
            ("district", "district"),
            ("requested", "requested"),
            ("awarded", "award"),
            ("stability", "funded in resamples"),
        ],
        default="position",
    )
    desc = SelectField(
        "Order", choices=[("", "natural"), ("1", "high to low"), ("0", "low to high")], default=""
    )
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(1, 10**6)])

    def value(self, name: str, default: Any = "") -> Any:
        """A field's data, or ``default`` when it is missing or was refused."""
        f = self[name]
        return default if f.errors or f.data in (None, "") else f.data


class WhatIfForm(BaseForm):
    """Policy changes to try. Blank means “as in the competition”."""

    total_funds = money("Total funds ($)")
    min_score = points("Lowest fundable final score", 0, 10000, required=False)
    normalization = SelectField(
        "Normalisation",
        choices=[("", "as set")] + [(name, name) for name in registry.NORMALISATIONS],
        default="",
    )
    aggregation = SelectField(
        "Combine review scores by",
        choices=[("", "as set")] + [(name, name) for name in registry.AGGREGATORS],
        default="",
    )
    fund_down = SelectField(
        "Fund-down",
        choices=[("", "as set"), ("strict", "strict: stop"), ("skip", "skip: keep going")],
        default="",
    )
    max_award = money("Largest award ($)", positive=True)
    district_max_awards = IntegerField(
        "Most funded per district", validators=[Optional(), NumberRange(0, 10000)]
    )
    district_max_amount = money("Most money per district ($)")
    partial_funding = SelectField(
        "Partial funding", choices=[("", "as set"), ("on", "on"), ("off", "off")], default=""
    )
    partial_min = money("Smallest partial award ($)", positive=True)
    label = StringField("Label for a saved run", validators=[Optional(), Length(max=200)])

    KNOBS = (
        "total_funds",
        "min_score",
        "normalization",
        "aggregation",
        "fund_down",
        "max_award",
        "district_max_awards",
        "district_max_amount",
        "partial_funding",
        "partial_min",
    )

    def overrides(self) -> dict[str, Any]:
        """The knobs given, as a JSON-ready policy override (money and scores as strings)."""
        out: dict[str, Any] = {}
        for name in self.KNOBS:
            value = self[name].data
            if value is None or value == "":
                continue
            if name == "partial_funding":
                value = value == "on"
            elif name in ("total_funds", "max_award", "district_max_amount", "partial_min"):
                value = str(cents(value))
            elif isinstance(value, Decimal):
                value = format(plain(value), "f")
            out[name] = value
        return out


class WhatIfQueryForm(WhatIfForm):
    """The same knobs read from the query string (trying costs nothing and saves nothing)."""

    class Meta(BaseForm.Meta):
        csrf = False


class OverrideForm(BaseForm):
    """A staff exception on the board: another decision and award, with a justification."""

    application_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,10}$")])
    status = SelectField(
        "Decision",
        choices=[(s, words(s)) for s in ("funded", "partially_funded", "waitlisted")],
    )
    amount = money("Award ($)", required=True)
    justification = TextAreaField(
        "Justification (required; shown with the exception)",
        validators=[
            DataRequired(message="a justification is required"),
            Length(min=10, max=4000, message="write at least 10 characters (at most 4000)"),
        ],
    )


class AuditFilterForm(GetForm):
    """Filters of the audit trail page (action, competition, who, dates, page)."""

    action = SelectField("Action", default="")
    competition = SelectField("Competition", default="")
    actor = SelectField("Who", default="")
    date_from = DateField("From (date)", validators=[Optional(), sane_date])
    date_to = DateField("To (date)", validators=[Optional(), sane_date])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(1, 100000)])


class ExportForm(GetForm):
    """Options of the score export (whether to include reviewers' comments)."""

    comments = BooleanField("Include reviewers' comments")

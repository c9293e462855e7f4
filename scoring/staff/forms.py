"""Staff forms. They check shape only (types, ranges, lengths); the rules live in services."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import TextInput

from scoring.core.ranking import registry
from scoring.formatting import LOCAL_TZ, words
from scoring.inputs import sane_date
from scoring.models import Aggregation, FundDown, Normalization, Program
from scoring.money_field import MoneyField

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
KEY_MESSAGE = "use letters, digits, dots, dashes or underscores, starting with a letter or digit"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
MAX_MONEY = Decimal("999999999999.99")


def _clean(value: Any) -> Any:
    """Strip text and drop NUL characters (PostgreSQL refuses them in text)."""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return value


class BaseForm(FlaskForm):
    """Every staff form: text is stripped and NUL-free before validation."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            """Bind every field with ``_clean`` first among its filters."""
            options["filters"] = (_clean, *options.get("filters", ()))
            return unbound_field.bind(form=form, **options)


class GetForm(BaseForm):
    """A read-only form sent by GET (filters, what-if): no CSRF token, read from the query."""

    class Meta(BaseForm.Meta):
        csrf = False


class Dec:
    """A finite decimal in ``[low, high]`` with at most ``places`` decimals (NaN-safe)."""

    def __init__(
        self,
        low: Decimal | int | None,
        high: Decimal | int | None,
        places: int,
        *,
        above_low: bool = False,
    ) -> None:
        self.low = None if low is None else Decimal(low)
        self.high = None if high is None else Decimal(high)
        self.places, self.above_low = places, above_low

    def __call__(self, form: FlaskForm, field: Field) -> None:
        """Accept None or a finite decimal in range with few enough places; refuse the rest."""
        value = field.data
        if value is None:
            return
        if not value.is_finite():
            raise ValidationError("must be a number")
        if self.low is not None and (value <= self.low if self.above_low else value < self.low):
            raise ValidationError(
                f"must be {'more than' if self.above_low else 'at least'} {self.low:,}"
            )
        if self.high is not None and value > self.high:
            raise ValidationError(f"must be at most {self.high:,}")
        if value.normalize().as_tuple().exponent < -self.places:
            raise ValidationError(f"use at most {self.places} decimal places")


def money(label: str, required: bool = False, *, positive: bool = False) -> MoneyField:
    """A dollar amount as people type it (``$2,000,000.00``, ``2,000,000``, ``2000000``): whole
    cents, not negative."""
    first = InputRequired(message="enter an amount") if required else Optional()
    return MoneyField(
        label, validators=[first, Dec(0, MAX_MONEY, 2, above_low=positive)], strict=False
    )


class PointsField(DecimalField):
    """A decimal shown as typed: stored ``10.0000`` is shown ``10``."""

    def _value(self) -> str:
        if not self.raw_data and isinstance(self.data, Decimal) and self.data.is_finite():
            return format(plain(self.data), "f")
        return super()._value()


def points(
    label: str,
    low: int,
    high: int,
    places: int = 4,
    *,
    required: bool = True,
    above_low: bool = False,
    default: Decimal | None = None,
) -> DecimalField:
    """A score, weight or point value: a finite decimal in range with at most ``places``."""
    first = InputRequired(message="enter a number") if required else Optional()
    return PointsField(
        label,
        places=None,
        default=default,
        widget=TextInput(),
        validators=[first, Dec(low, high, places, above_low=above_low)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


def key_field(label: str, length: int) -> StringField:
    """A required key field of at most ``length`` characters matching ``KEY_PATTERN``."""
    return StringField(
        label,
        validators=[
            DataRequired(message="enter a key"),
            Length(max=length),
            Regexp(KEY_PATTERN, message=KEY_MESSAGE),
        ],
    )


def classifications(text: str | None) -> list[str]:
    """“Focus, Turnaround” → ["Focus", "Turnaround"] (order kept, duplicates dropped)."""
    return list(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))


def cents(value: Decimal | None) -> Decimal | None:
    """A validated amount with exactly two decimals (``2000000`` → ``2000000.00``)."""
    return None if value is None else value.quantize(Decimal("0.01"))


def plain(value: Decimal | None) -> Decimal | None:
    """``12.5000`` → ``12.5`` (points are stored with 4 places; show what was typed)."""
    if value is None:
        return None
    return Decimal(format(value.normalize(), "f"))


def to_utc(value: datetime | None) -> datetime | None:
    """A datetime-local value typed in Connecticut time, as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


def to_local_naive(value: datetime | None) -> datetime | None:
    """A UTC datetime in Connecticut time without tzinfo, for a datetime-local field."""
    return None if value is None else value.astimezone(LOCAL_TZ).replace(tzinfo=None)


# --------------------------------------------------------------------------- competitions


def tie_breaker_choices(section_keys: list[str]) -> list[tuple[str, str]]:
    """Every registered tie-breaker (``scoring.core.ranking.registry``), after "none"."""
    return [("", "— none —")] + registry.tie_breaker_choices(section_keys)


class PolicyFields(BaseForm):
    """The ranking policy knobs of docs/ranking.md §2 (shared by the competition form)."""

    total_funds = money("Total funds available ($)", required=True)
    min_award = money("Smallest award ($)", positive=True)
    max_award = money("Largest award, caps each request ($)", positive=True)
    aggregation = SelectField(
        "Combine review scores by",
        choices=[(a.value, words(a.value)) for a in Aggregation],
        default=Aggregation.MEAN.value,
    )
    normalization = SelectField(
        "Normalisation", choices=registry.normalisation_choices(), default=Normalization.NONE.value
    )
    min_reviews = IntegerField(
        "Fewest counted reviews to be ranked",
        default=2,
        validators=[InputRequired(message="enter a whole number"), NumberRange(1, 50)],
    )
    discrepancy_threshold = points(
        "Discrepancy flag above a spread of (0-100 points)", 0, 100, default=Decimal(15)
    )
    min_score = points("Lowest fundable final score", 0, 10000, default=Decimal(0))
    tie_breaker_1 = SelectField("Tie-breaker 1", default="")
    tie_breaker_2 = SelectField("Tie-breaker 2", default="")
    tie_breaker_3 = SelectField("Tie-breaker 3", default="")
    tie_breaker_4 = SelectField("Tie-breaker 4", default="")
    fund_down = SelectField(
        "When an application does not fit",
        choices=[
            ("strict", "strict: stop funding there"),
            ("skip", "skip: pass it and keep going"),
        ],
        default=FundDown.STRICT.value,
    )
    partial_funding = BooleanField("Offer what is left to an application that does not fit")
    partial_min = money("Smallest partial award ($, blank = smallest award)", positive=True)
    district_max_awards = IntegerField(
        "Most funded applications per district", validators=[Optional(), NumberRange(0, 10000)]
    )
    district_max_amount = money("Most money per district ($)")

    TIE_BREAKERS = ("tie_breaker_1", "tie_breaker_2", "tie_breaker_3", "tie_breaker_4")

    def set_sections(self, section_keys: list[str]) -> None:
        """Offer, in every tie-breaker select, the tie-breakers these section keys allow."""
        for name in self.TIE_BREAKERS:
            self[name].choices = tie_breaker_choices(section_keys)

    def policy_values(self) -> dict[str, Any]:
        """The policy knobs as the competition service takes them."""
        tie_breakers = [self[n].data for n in self.TIE_BREAKERS if self[n].data]
        return {
            "total_funds": cents(self.total_funds.data),
            "min_award": cents(self.min_award.data),
            "max_award": cents(self.max_award.data),
            "aggregation": Aggregation(self.aggregation.data),
            "normalization": Normalization(self.normalization.data),
            "min_reviews": self.min_reviews.data,
            "discrepancy_threshold": self.discrepancy_threshold.data,
            "min_score": self.min_score.data,
            "tie_breakers": tie_breakers,
            "fund_down": FundDown(self.fund_down.data),
            "partial_funding": bool(self.partial_funding.data),
            "partial_min": cents(self.partial_min.data),
            "district_max_awards": self.district_max_awards.data,
            "district_max_amount": cents(self.district_max_amount.data),
        }

    def load_policy(self, competition) -> None:
        """Fill the policy fields from a competition (GET of the edit form)."""
        for name in (
            "total_funds",
            "min_award",
            "max_award",
            "min_reviews",
            "partial_funding",
            "partial_min",
            "district_max_awards",
            "district_max_amount",
        ):
            self[name].data = getattr(competition, name)
        for name in ("discrepancy_threshold", "min_score"):
            self[name].data = plain(getattr(competition, name))
        for name in ("aggregation", "normalization", "fund_down"):
            self[name].data = getattr(competition, name).value
        for name, tb in zip(
            self.TIE_BREAKERS, list(competition.tie_breakers or []) + [""] * 4, strict=False
        ):
            self[name].data = tb


class CompetitionForm(PolicyFields):
    """Create or edit a competition: settings, window, funds, award bounds and policy."""

    slug = StringField(
        "Short name for links (slug)",
        validators=[
            DataRequired(message="enter a short name"),
            Length(max=80),
            Regexp(SLUG_PATTERN, message="use lower-case letters, digits and dashes"),
        ],
    )
    program = SelectField("Program", choices=[(p.value, p.value) for p in Program])
    title = StringField(
        "Title", validators=[DataRequired(message="enter a title"), Length(max=200)]
    )
    cohort = StringField("Cohort", validators=[Optional(), Length(max=40)])
    fiscal_year = StringField("Fiscal year", validators=[Optional(), Length(max=10)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    eligibility = TextAreaField("Eligibility", validators=[Optional(), Length(max=20000)])
    opens_at = DateTimeLocalField(
        "Opens (Connecticut time)", format="%Y-%m-%dT%H:%M", validators=[Optional(), sane_date]
    )
    closes_at = DateTimeLocalField(
        "Closes (Connecticut time)", format="%Y-%m-%dT%H:%M", validators=[Optional(), sane_date]
    )
    review_due_at = DateTimeLocalField(
        "Reviews due (Connecticut time)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    decision_at = DateTimeLocalField(
        "Decisions expected (Connecticut time)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    reviewers_per_application = IntegerField(
        "Reviewers per application",
        default=3,
        validators=[InputRequired(message="enter a whole number"), NumberRange(1, 20)],
    )
    blind_review = BooleanField("Blind review (reviewers do not see the school's name)")
    comments_visible_to_applicants = BooleanField("Applicants see reviewers' comments")
    rubric_illustrative = BooleanField("Rubric points are illustrative (labelled so everywhere)")
    alliance_only = BooleanField("Only schools of Alliance Districts may apply")
    eligible_classifications = StringField(
        "School classifications that may apply (comma-separated; blank = any)",
        validators=[Optional(), Length(max=400)],
    )
    budget_years = IntegerField(
        "Grant years the budget covers",
        default=1,
        validators=[InputRequired(message="enter a whole number"), NumberRange(1, 5)],
    )
    illustrative_rubric = BooleanField("Start from the program's illustrative rubric [I]")

    def values(self) -> dict[str, Any]:
        """Every field as the competition service takes it (policy included)."""
        return self.policy_values() | {
            "slug": self.slug.data,
            "program": Program(self.program.data),
            "title": self.title.data,
            "cohort": self.cohort.data or None,
            "fiscal_year": self.fiscal_year.data or None,
            "description": self.description.data or None,
            "eligibility": self.eligibility.data or None,
            "opens_at": to_utc(self.opens_at.data),
            "closes_at": to_utc(self.closes_at.data),
            "review_due_at": to_utc(self.review_due_at.data),
            "decision_at": to_utc(self.decision_at.data),
            "reviewers_per_application": self.reviewers_per_application.data,
            "blind_review": bool(self.blind_review.data),
            "comments_visible_to_applicants": bool(self.comments_visible_to_applicants.data),
            "rubric_illustrative": bool(self.rubric_illustrative.data),
            "alliance_only": bool(self.alliance_only.data),
            "eligible_classifications": classifications(self.eligible_classifications.data),
            "budget_years": self.budget_years.data,
        }

    def validate_eligible_classifications(self, field: Field) -> None:
        """Refuse a classification longer than 40 characters."""
        if any(len(c) > 40 for c in classifications(field.data)):
            raise ValidationError("each classification is at most 40 characters")

    def load(self, competition) -> None:
        """Fill every field from a competition (GET of the edit form)."""
        self.load_policy(competition)
        for name in (
            "slug",
            "title",
            "cohort",
            "fiscal_year",
            "description",
            "eligibility",
            "reviewers_per_application",
            "blind_review",
            "comments_visible_to_applicants",
            "rubric_illustrative",
            "alliance_only",
            "budget_years",
        ):
            self[name].data = getattr(competition, name)
        self.eligible_classifications.data = ", ".join(competition.eligible_classifications or [])
        self.program.data = competition.program.value
        self.opens_at.data = to_local_naive(competition.opens_at)
        self.closes_at.data = to_local_naive(competition.closes_at)
        self.review_due_at.data = to_local_naive(competition.review_due_at)
        self.decision_at.data = to_local_naive(competition.decision_at)


class ConfirmForm(BaseForm):
    """A bare POST (delete, start a ranking, approve, publish): the CSRF token only."""

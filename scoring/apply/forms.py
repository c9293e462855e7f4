"""Forms of the apply area. The application form is built from the competition (Indico's
``build_review_form`` pattern): one narrative field per rubric section, one checkbox per priority,
one amount field per (object code, year) of the budget. Forms check shape only; the rules
(eligibility, bounds, totals, the window) live in ``scoring.services.applications.applications``.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from scoring.accounts.forms import (  # noqa: F401  (ConfirmForm: the apply area's too)
    ConfirmForm,
    PickField,
    choice,
    choice_values,
    no_control_chars,
)
from scoring.models import OBJECT_CODES, Competition, School
from scoring.money_field import MoneyField
from scoring.services.applications.checks import CONTACT_ROLES
from scoring.services.applications.content import MAX_AMOUNT, ApplicationInput


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _newlines(value):
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (the application's priorities)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        """Refuse any checked value that is not one of the choices offered."""
        if any(v not in choice_values(self.choices) for v in self.data or []):
            raise ValidationError("Choose only the priorities listed here.")


def _narrative_length(limit: int):
    def check(form, field) -> None:
        n = len(field.data or "")
        if n > limit:
            raise ValidationError(
                f"This response is {n:,} characters; the limit is {limit:,}. "
                f"Shorten it by {n - limit:,}."
            )

    return check


def _text(label: str, limit: int, *validators, **kw) -> StringField:
    too_long = Length(max=limit, message=f"Keep this to {limit} characters.")
    return StringField(
        label,
        validators=[Optional(), too_long, no_control_chars, *validators],
        filters=[_strip],
        **kw,
    )


def _visible(text) -> str:
    return "".join(c for c in str(text) if ord(c) >= 32 or c in "\n\r\t")


NOT_ENTRIES = {"csrf_token", "version", "save_draft", "submit_app"}


class ApplicationFormBase(FlaskForm):
    """The application form's fixed fields; ``build_application_form`` adds the competition's."""

    version = HiddenField()
    title = _text("Project title", 300)
    save_draft = SubmitField("Save draft")
    submit_app = SubmitField("Save and submit")

    def entries(self):
        """The fields a person types into (not the CSRF token, the version or the buttons)."""
        return [f for f in self if f.name not in NOT_ENTRIES]

    def typed(self) -> dict:
        """Every entry as posted (a list for the priorities), less invisible control characters
        (NUL and the like: never stored)."""
        return {
            f.name: [_visible(v) for v in f.raw_data or []]
            if f.name == "priorities"
            else _visible((f.raw_data or [""])[0])
            for f in self.entries()
        }

    def refused(self) -> dict[str, dict]:
        """The entries the form refused: {field: {"typed": as posted, "error": first message}}."""
        typed = self.typed()
        return {
            f.name: {"typed": typed[f.name], "error": f.errors[0]}
            for f in self.entries()
            if f.errors
        }

    def show_typed(self, kept: dict | None) -> None:
        """Show a draft's entries kept as typed (not valid) with their message, as typed."""
        for name, entry in (kept or {}).items():
            if name not in self._fields or name in ("school", "priorities"):
                if name in self._fields:
                    self[name].errors = [entry.get("error", "")]
                continue
            field = self[name]
            field.raw_data = [entry.get("typed", "")]
            field.data = None if isinstance(field, MoneyField) else entry.get("typed", "")
            field.errors = [entry.get("error", "")]

    def budget_field(self, code: int, year: int) -> MoneyField:
        """The budget cell for object ``code`` in grant year ``year``."""
        return self[f"b_{code}_{year}"]

    def to_input(self, competition: Competition) -> ApplicationInput:
        """The typed values, as the service takes them (undeclared fields are never read)."""
        contacts = {
            role: {k: self[f"{role}_{k}"].data or "" for k in ("name", "email", "phone")}
            for role in CONTACT_ROLES
        }
        budget = {
            (code, year): self[f"b_{code}_{year}"].data
            for code in OBJECT_CODES
            for year in range(1, competition.budget_years + 1)
            if self[f"b_{code}_{year}"].data is not None
        }
        version = int(self.version.data) if (self.version.data or "").isdigit() else None
        return ApplicationInput(
            school_id=self.school.data if not self.school.errors else None,
            title=self.title.data or "",
            contacts=contacts,
            narratives={s.id: self[f"narrative_{s.id}"].data or "" for s in competition.sections},
            requested_amount=self.requested_amount.data,
            priority_ids=frozenset(self.priorities.data or [])
            if competition.priorities
            else frozenset(),
            budget=budget,
            budget_notes={code: self[f"note_{code}"].data or "" for code in OBJECT_CODES},
            version=version,
        )


def build_application_form(
    competition: Competition, schools: list[School], **kwargs
) -> ApplicationFormBase:
    """A form class for ``competition``, instantiated (request data bound on POST)."""

    class ApplicationForm(ApplicationFormBase):
        pass

    F = ApplicationForm
    F.school = PickField(
        "School",
        choices=[choice("", "Choose the school…")]
        + [choice(s.id, f"{s.name} ({s.code})") for s in schools],
        message="Choose the school this application is for.",
    )
    for role, label in CONTACT_ROLES.items():
        setattr(F, f"{role}_name", _text(f"{label}: name", 200))
        setattr(
            F,
            f"{role}_email",
            _text(
                f"{label}: email", 254, Email("Enter a full email address, like name@school.org.")
            ),
        )
        setattr(
            F,
            f"{role}_phone",
            _text(
                f"{label}: phone",
                40,
                Regexp(
                    r"^[0-9+().\- x]{7,40}$",
                    message="Enter a phone number with digits, like 203-555-0100 x12.",
                ),
            ),
        )
    for section in competition.sections:
        setattr(
            F,
            f"narrative_{section.id}",
            TextAreaField(
                section.title,
                filters=[_newlines],
                validators=[
                    Optional(),
                    _narrative_length(section.narrative_limit),
                    no_control_chars,
                ],
            ),
        )
    F.requested_amount = MoneyField("Amount requested (all years)", maximum=MAX_AMOUNT)
    if competition.priorities:
        F.priorities = MultiCheckboxField(
            "Priorities you claim",
            coerce=int,
            choices=[choice(p.id, p.title) for p in competition.priorities],
        )
    for code in OBJECT_CODES:
        setattr(F, f"note_{code}", _text(f"{code} description", 500))
        for year in range(1, competition.budget_years + 1):
            setattr(F, f"b_{code}_{year}", MoneyField(f"{code}, year {year}", maximum=MAX_AMOUNT))
    return F(**kwargs)


def initial_data(application) -> dict:
    """Form data for an existing application."""
    data = {
        "version": str(application.version),
        "title": application.title or "",
        "school": application.school_id,
        "requested_amount": application.requested_amount,
        "priorities": [link.priority_id for link in application.priority_links if link.claimed],
    }
    for contact in application.contacts or []:
        for key in ("name", "email", "phone"):
            data[f"{contact.get('role')}_{key}"] = contact.get(key, "")
    for narrative in application.narratives:
        data[f"narrative_{narrative.section_id}"] = narrative.text
    for line in application.budget_lines:
        data[f"b_{line.object_code}_{line.year}"] = line.amount
        if line.description:
            data[f"note_{line.object_code}"] = line.description
    return data


class BudgetUploadForm(FlaskForm):
    """Upload a filled budget workbook into a draft application."""

    workbook = FileField("Filled budget workbook (.xlsx)")


class AttachmentForm(FlaskForm):
    """Upload a PDF attachment to a draft application."""

    file = FileField("PDF file")

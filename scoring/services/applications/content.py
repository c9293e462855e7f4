"""Writing an applicant's form into a draft: text cleaned and limited, money exact to the cent,
narratives, claimed priorities and budget lines synchronised in place (each keyed by a unique
(section), (priority) or (object code, year), so a save updates rows instead of re-inserting
them). Every value is checked before anything is written; the first problem raises InputError
naming the form field, and the caller rolls the whole save back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from scoring.errors import InputError
from scoring.models import (
    OBJECT_CODES,
    Application,
    ApplicationNarrative,
    ApplicationPriority,
    BudgetLine,
    Competition,
)
from scoring.services.applications.checks import CONTACT_ROLES

#: Largest amount typed anywhere in an application (a sanity bound, far above any award).
MAX_AMOUNT = Decimal("999999999.99")
MAX_TITLE = 300
MAX_NOTE = 500


@dataclass(frozen=True)
class ApplicationInput:
    """What an applicant may change in a draft; nothing else is ever bound from a form."""

    school_id: int
    title: str = ""
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    narratives: dict[int, str] = field(default_factory=dict)
    requested_amount: Decimal | None = None
    priority_ids: frozenset[int] = frozenset()
    budget: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    budget_notes: dict[int, str] = field(default_factory=dict)
    version: int | None = None


def clean_text(value: str, limit: int, path: str, what: str) -> str:
    """``value`` with newlines normalised; InputError at ``path`` if too long or has controls."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        raise InputError(f"{what} is {len(text):,} characters; the limit is {limit:,}.", path)
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise InputError("Remove the invisible control characters from this text.", path)
    return text


def _check_amount(value: Decimal, path: str) -> Decimal:
    if (
        not value.is_finite()
        or value < 0
        or value > MAX_AMOUNT
        or value != value.quantize(Decimal("0.01"))
    ):
        raise InputError(
            "Enter a dollar amount from 0 to 999,999,999.99 with at most 2 decimal places.", path
        )
    return value.quantize(Decimal("0.01"))


def apply_input(application: Application, data: ApplicationInput) -> None:
    """Copy the form input into the draft, narratives, priorities and budget included."""
    competition = application.competition
    application.school_id = data.school_id
    application.title = clean_text(data.title.strip(), MAX_TITLE, "title", "The title") or None
    application.contacts = [
        {
            "role": role,
            **{
                k: clean_text(v.strip(), 254, f"{role}_{k}", "This entry")
                for k, v in data.contacts.get(role, {}).items()
            },
        }
        for role in CONTACT_ROLES
    ]
    requested = data.requested_amount
    application.requested_amount = (
        _check_amount(requested, "requested_amount") if requested is not None else Decimal("0.00")
    )
    _sync_narratives(application, competition, data.narratives)
    _sync_priorities(application, competition, data.priority_ids)
    sync_budget(application, data.budget, data.budget_notes)


def _sync_narratives(
    application: Application, competition: Competition, texts: dict[int, str]
) -> None:
    existing = {n.section_id: n for n in application.narratives}
    for section in competition.sections:
        path = f"narrative_{section.id}"
        text = clean_text(texts.get(section.id, ""), section.narrative_limit, path, "This response")
        if section.id in existing:
            existing[section.id].text = text
        else:
            application.narratives.append(ApplicationNarrative(section_id=section.id, text=text))


def _sync_priorities(
    application: Application, competition: Competition, claimed: frozenset[int]
) -> None:
    valid = {p.id for p in competition.priorities}
    if not claimed <= valid:
        raise InputError("Choose only the priorities listed for this competition.", "priorities")
    for link in list(application.priority_links):
        if link.priority_id not in claimed:
            application.priority_links.remove(link)
    have = {link.priority_id for link in application.priority_links}
    for priority_id in sorted(claimed - have):
        application.priority_links.append(
            ApplicationPriority(priority_id=priority_id, claimed=True)
        )


def sync_budget(
    application: Application, lines: dict[tuple[int, int], Decimal], notes: dict[int, str]
) -> None:
    """Update lines in place (the (code, year) key is unique), add new ones, drop missing ones."""
    years = application.competition.budget_years
    for (code, year), amount in lines.items():
        if code not in OBJECT_CODES or not 1 <= year <= years:
            raise InputError(
                f"Object code {code}, year {year} is not part of this budget.", "budget"
            )
        _check_amount(amount, f"b_{code}_{year}")
    clean_notes = {
        c: clean_text(n.strip(), MAX_NOTE, f"note_{c}", "The description") for c, n in notes.items()
    }
    for code, note in clean_notes.items():
        if note and not any(c == code for c, _ in lines):
            raise InputError(
                "Enter an amount for at least one year, or clear this description.", f"note_{code}"
            )
    existing = {(b.object_code, b.year): b for b in application.budget_lines}
    for key, line in existing.items():
        if key not in lines:
            application.budget_lines.remove(line)
    for (code, year), amount in sorted(lines.items()):
        line = existing.get((code, year))
        if line is None:
            line = BudgetLine(object_code=code, year=year)
            application.budget_lines.append(line)
        line.amount = amount.quantize(Decimal("0.01"))
        line.description = clean_notes.get(code, "")


# --- A draft saved as typed ------------------------------------------------------------------


def without(data: ApplicationInput, name: str) -> ApplicationInput:
    """``data`` with the entry of form field ``name`` left empty (an invalid entry of a draft:
    the typed text is kept aside, the columns keep only valid values).

    :raise KeyError: ``name`` is not an entry that can be left empty (the school, the budget).
    """
    if name == "title":
        return replace(data, title="")
    if name == "requested_amount":
        return replace(data, requested_amount=None)
    if name == "priorities":
        return replace(data, priority_ids=frozenset())
    kind, _, rest = name.partition("_")
    if kind == "narrative" and rest.isdigit():
        return replace(data, narratives={**data.narratives, int(rest): ""})
    if kind == "note" and rest.isdigit():
        return replace(data, budget_notes={**data.budget_notes, int(rest): ""})
    if kind == "b" and rest.replace("_", "").isdigit():
        code, year = (int(x) for x in rest.split("_"))
        return replace(data, budget={k: v for k, v in data.budget.items() if k != (code, year)})
    role, _, key = name.rpartition("_")
    if role in CONTACT_ROLES and key in ("name", "email", "phone"):
        contacts = {r: dict(v) for r, v in data.contacts.items()}
        contacts.setdefault(role, {})[key] = ""
        return replace(data, contacts=contacts)
    raise KeyError(name)


def apply_draft(
    application: Application, data: ApplicationInput, invalid: dict[str, dict], typed: dict
) -> dict[str, dict]:
    """Write every valid entry of ``data``; an entry the rules refuse is left empty and kept in
    the returned ``invalid`` map as typed, with the reason: {field: {"typed", "error"}}.

    ``invalid`` starts with what the form itself refused (``data`` already empty there);
    ``typed`` is every entry as the person typed it.
    """
    invalid = dict(invalid)
    for name in invalid:
        if name != "school":  # the caller keeps the saved school in ``data``
            data = without(data, name)
    for _ in range(len(typed) + 1):  # each pass sets one more entry aside
        try:
            apply_input(application, data)
            return invalid
        except InputError as exc:
            try:
                data = without(data, exc.path or "")
            except KeyError:
                raise exc from None
            invalid[exc.path] = {"typed": typed.get(exc.path, ""), "error": exc.detail}
    raise InputError("This draft could not be saved; check the entries marked.")

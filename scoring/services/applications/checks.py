"""What an application still needs before it can be submitted, its budget totals, and the
summaries recorded in the audit trail. Read-only: nothing here changes the database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from scoring.formatting import money
from scoring.models import OBJECT_CODES, Application, BudgetLine
from scoring.services.applications.blind import identity_problems
from scoring.services.applications.eligibility import eligible_schools

CONTACT_ROLES = {"principal": "Principal", "grant_contact": "Grant contact"}


# --- Budget arithmetic ----------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetTotals:
    """An application's budget totals: by object code, by year and overall."""

    by_code: dict[int, Decimal]
    by_year: dict[int, Decimal]
    total: Decimal


def budget_totals(lines: list[BudgetLine], years: int) -> BudgetTotals:
    """Row (object code), column (year) and grand totals, exact to the cent."""
    by_code = {code: Decimal("0.00") for code in OBJECT_CODES}
    by_year = {year: Decimal("0.00") for year in range(1, years + 1)}
    for line in lines:
        by_code[line.object_code] = by_code.get(line.object_code, Decimal("0.00")) + line.amount
        by_year[line.year] = by_year.get(line.year, Decimal("0.00")) + line.amount
    return BudgetTotals(by_code, by_year, sum(by_year.values(), Decimal("0.00")))


# --- Submission -----------------------------------------------------------------------------


def submission_problems(application: Application) -> dict[str, str]:
    """What stands between this draft and a valid submission, keyed by form field."""
    competition = application.competition
    problems: dict[str, str] = {}
    if not application.title:
        problems["title"] = "Give the project a title."
    contacts = {c.get("role"): c for c in application.contacts or []}
    for role, label in CONTACT_ROLES.items():
        for key, what in (("name", "name"), ("email", "email address")):
            if not (contacts.get(role) or {}).get(key):
                problems[f"{role}_{key}"] = f"Enter the {label.lower()}'s {what}."
    texts = {n.section_id: n.text for n in application.narratives}
    for section in competition.sections:
        if section.narrative_required and not texts.get(section.id, "").strip():
            problems[f"narrative_{section.id}"] = f"The “{section.title}” response is required."
    problems.update(_amount_problems(application))
    if application.school_id not in {
        s.id for s in eligible_schools(competition, application.school.district_id)
    }:
        problems["school"] = "This school is not eligible for the competition."
    for field, text in identity_problems(application).items():
        problems[field] = f"{problems[field]} {text}" if field in problems else text
    kept = {  # entries saved as typed but not valid come first, and say so
        name: f"Fix this entry (kept as you typed it): {entry.get('error', 'not valid')}"
        for name, entry in (application.draft_invalid or {}).items()
    }
    return kept | {k: v for k, v in problems.items() if k not in kept}


def _amount_problems(application: Application) -> dict[str, str]:
    competition = application.competition
    requested = application.requested_amount or Decimal("0.00")
    problems: dict[str, str] = {}
    if requested <= 0:
        problems["requested_amount"] = "Enter the amount requested."
    elif competition.min_award is not None and requested < competition.min_award:
        problems["requested_amount"] = (
            f"The request must be at least {money(competition.min_award)}, the smallest award."
        )
    elif competition.max_award is not None and requested > competition.max_award:
        problems["requested_amount"] = (
            f"The request must be at most {money(competition.max_award)}, the largest award."
        )
    total = budget_totals(application.budget_lines, competition.budget_years).total
    if not application.budget_lines:
        problems["budget"] = (
            "Enter the budget: at least one line with an object code, a year and an amount."
        )
    elif total != requested:
        problems["budget"] = (
            f"The budget totals {money(total)} but the request is {money(requested)}; they must be "
            f"equal (difference {money(abs(total - requested))})."
        )
    return problems


# --- Summaries for the audit trail ------------------------------------------------------------


def summary(application: Application) -> dict:
    """The fields staff are asked about: who, how much, what state."""
    return {
        "ref": application.ref,
        "status": application.status.value if application.status else "draft",
        "school_id": application.school_id,
        "requested_amount": str(application.requested_amount),
        "budget_total": str(sum((b.amount for b in application.budget_lines), Decimal("0.00"))),
        "eligible": application.eligible,
    }


def snapshot(application: Application) -> dict:
    """Everything submitted, as it was at submission (budget lines, priorities, files' hashes)."""
    return summary(application) | {
        "confirmation_number": application.confirmation_number,
        "submitted_at": application.submitted_at.isoformat() if application.submitted_at else None,
        "title": application.title,
        "budget": sorted([b.object_code, b.year, str(b.amount)] for b in application.budget_lines),
        "priorities": sorted(
            link.priority.key for link in application.priority_links if link.claimed
        ),
        "narrative_chars": {str(n.section_id): len(n.text) for n in application.narratives},
        "attachments": [{"name": a.filename, "sha256": a.sha256} for a in application.attachments],
    }

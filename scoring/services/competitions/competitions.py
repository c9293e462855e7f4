"""Competitions: settings, ranking policy, the rubric builder and priorities.

Every policy knob of docs/ranking.md §2 is checked by the pure core (``Policy.validate``) and every
rubric change by ``Rubric.validate``, so the forms and the ranking can never disagree about what
is allowed. A refusal raises ``InputError`` whose ``path`` names the form field at fault.

The rubric is frozen once any review of the competition is submitted (or
``Competition.rubric_frozen_at`` is set): a rubric edit then raises ``Conflict``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select

from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    Competition,
    Criterion,
    Priority,
    Program,
    Review,
    ReviewStatus,
    RubricSection,
    User,
)
from scoring.services import audit
from scoring.services.competitions.policy import (
    POLICY_FIELDS,
    _check_window,
    check_policy,
)
from scoring.services.competitions.templates import RATING_LEVELS, RUBRICS

#: Settings a staff member edits on the competition form (besides the policy knobs).
SETTING_FIELDS = (
    "program",
    "title",
    "cohort",
    "fiscal_year",
    "description",
    "eligibility",
    "opens_at",
    "closes_at",
    "review_due_at",
    "decision_at",
    "reviewers_per_application",
    "blind_review",
    "comments_visible_to_applicants",
    "rubric_illustrative",
    "alliance_only",
    "eligible_classifications",
    "budget_years",
)
SECTION_FIELDS = (
    "key",
    "title",
    "weight",
    "position",
    "guidance",
    "narrative_limit",
    "narrative_required",
)
CRITERION_FIELDS = ("key", "title", "max_points", "step", "position", "descriptors")
PRIORITY_FIELDS = ("key", "title", "points")


def snapshot(obj: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """JSON-ready copy of ``fields`` of ``obj`` for the audit trail's before/after."""
    return {name: jsonable(getattr(obj, name)) for name in fields}


#: The parts of a competition added and removed one by one: (audit entity, action prefix,
#: the fields the audit trail keeps).
PARTS: dict[type, tuple[str, str, tuple[str, ...]]] = {
    Priority: ("priority", "priority.", PRIORITY_FIELDS),
    RubricSection: ("rubric_section", "rubric.section_", SECTION_FIELDS),
    Criterion: ("criterion", "rubric.criterion_", CRITERION_FIELDS),
}


def audit_added(part: Any, *, actor: User, extra: Mapping[str, Any] | None = None) -> None:
    """Flush a new priority, section or criterion and audit it (``<prefix>add``)."""
    entity, prefix, fields = PARTS[type(part)]
    db.session.flush()
    audit.record(
        f"{prefix}add",
        entity,
        part.id,
        actor=actor,
        competition_id=part.competition_id,
        after=snapshot(part, fields) | dict(extra or {}),
    )


def update_audited(part: Any, values: Mapping[str, Any], *, actor: User) -> None:
    """Set the audited fields of a priority, section or criterion from ``values``, flush, and
    audit the before and after (``<prefix>update``)."""
    entity, prefix, fields = PARTS[type(part)]
    before = snapshot(part, fields)
    for name in fields:
        setattr(part, name, values[name])
    db.session.flush()
    audit.record(
        f"{prefix}update",
        entity,
        part.id,
        actor=actor,
        competition_id=part.competition_id,
        before=before,
        after=snapshot(part, fields),
    )


def remove_audited(
    part: Any, remove, *, actor: User, extra: Mapping[str, Any] | None = None
) -> None:
    """Remove a priority, section or criterion with ``remove()``, flush, and audit what it was
    (``<prefix>delete``, with ``extra`` beside its fields)."""
    entity, prefix, fields = PARTS[type(part)]
    before = snapshot(part, fields) | dict(extra or {})
    part_id, competition_id = part.id, part.competition_id
    remove()
    db.session.flush()
    audit.record(
        f"{prefix}delete",
        entity,
        part_id,
        actor=actor,
        competition_id=competition_id,
        before=before,
    )


def jsonable(value: Any) -> Any:
    """``value`` with Decimals, datetimes and enums turned into JSON-ready strings, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- competitions


def create_competition(
    values: Mapping[str, Any], *, actor: User, illustrative_rubric: bool = False
) -> Competition:
    """Create a competition from the form values; optionally start from the illustrative rubric
    of its program (docs/domain.md §c, every point [I])."""
    slug = values["slug"]
    if db.session.scalar(select(exists().where(Competition.slug == slug))):
        raise InputError(f"“{slug}” is already used by another competition", "slug")
    _check_window(values)
    competition = Competition(slug=slug)
    for name in SETTING_FIELDS + POLICY_FIELDS:
        setattr(competition, name, values[name])
    if illustrative_rubric:
        _add_illustrative_rubric(competition)
    check_policy(values, competition.sections)
    db.session.add(competition)
    db.session.flush()
    audit.record(
        "competition.create",
        "competition",
        competition.id,
        actor=actor,
        competition_id=competition.id,
        after=snapshot(competition, ("slug",) + SETTING_FIELDS + POLICY_FIELDS),
    )
    return competition


def _add_illustrative_rubric(competition: Competition) -> None:
    rows = RUBRICS.get(competition.program.value)
    if rows is None:
        raise InputError(
            f"there is no illustrative rubric for {competition.program.value}; "
            "leave this unticked and build the rubric by hand",
            "illustrative_rubric",
        )
    competition.rubric_illustrative = True
    for position, (key, title, criterion_title, max_points) in enumerate(rows):
        section = RubricSection(key=key, title=title, position=position)
        section.criteria.append(
            Criterion(
                competition=competition,
                key=f"{key}.main",
                title=criterion_title,
                max_points=Decimal(max_points),
                step=Decimal(1),
                position=0,
                # Whole points for each rating level of the [I] scale: floor(rating / 3 × max).
                descriptors=[
                    {
                        "points": str(rating * max_points // 3),
                        "label": label,
                        "text": f"{label} [I]",
                    }
                    for rating, label in RATING_LEVELS
                ],
            )
        )
        competition.sections.append(section)


def update_competition(
    competition: Competition, values: Mapping[str, Any], *, actor: User
) -> Competition:
    """Change a competition's settings and policy (the rubric has its own functions)."""
    _check_window(values)
    check_policy(values, competition.sections)
    fields = SETTING_FIELDS + POLICY_FIELDS
    changed = tuple(k for k in fields if getattr(competition, k) != values[k])  # 12.5 == 12.5000
    before = snapshot(competition, changed)
    for name in changed:
        setattr(competition, name, values[name])
    db.session.flush()
    if changed:
        audit.record(
            "competition.update",
            "competition",
            competition.id,
            actor=actor,
            competition_id=competition.id,
            before=before,
            after=snapshot(competition, changed),
        )
    return competition


def policy_values(competition: Competition) -> dict[str, Any]:
    """The competition's stored policy knobs, by name."""
    return {name: getattr(competition, name) for name in POLICY_FIELDS}


# --------------------------------------------------------------------------- rubric freeze


def submitted_reviews(competition: Competition) -> int:
    """How many submitted reviews the competition has (any one freezes the rubric)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Review)
            .join(Application)
            .where(
                Application.competition_id == competition.id,
                Review.status == ReviewStatus.SUBMITTED,
            )
        )
        or 0
    )


def rubric_frozen_reason(competition: Competition) -> str | None:
    """Why the rubric may no longer change, or ``None`` while it may."""
    n = submitted_reviews(competition)
    if n:
        return (
            f"The rubric is frozen: {n} review{'s have' if n != 1 else ' has'} been "
            "submitted against it, and changing it would change scores already given."
        )
    if competition.rubric_frozen_at is not None:
        return "The rubric is frozen: reviewing has started."
    return None


def ensure_rubric_editable(competition: Competition) -> None:
    """Raise ``Conflict`` when the rubric is frozen."""
    reason = rubric_frozen_reason(competition)
    if reason:
        raise Conflict(reason + " Edits are refused.")


# --------------------------------------------------------------------------- keys


def check_unique(
    model: type, competition: Competition, key: str, exclude: int | None, field: str = "key"
) -> None:
    """Section, criterion and priority keys are unique within a competition."""
    clauses = [model.competition_id == competition.id, model.key == key]
    if exclude is not None:
        clauses.append(model.id != exclude)
    if db.session.scalar(select(exists().where(*clauses))):
        raise InputError(f"“{key}” is already used in this competition", field)


# --------------------------------------------------------------------------- priorities


def add_priority(competition: Competition, values: Mapping[str, Any], *, actor: User) -> Priority:
    """Add a competitive preference priority worth bonus points."""
    check_unique(Priority, competition, values["key"], None)
    priority = Priority(competition=competition, **{k: values[k] for k in PRIORITY_FIELDS})
    db.session.add(priority)
    audit_added(priority, actor=actor)
    return priority


def update_priority(priority: Priority, values: Mapping[str, Any], *, actor: User) -> Priority:
    """Change a priority's key, title or points (counts from the next ranking run)."""
    check_unique(Priority, priority.competition, values["key"], priority.id)
    update_audited(priority, values, actor=actor)
    return priority


def delete_priority(priority: Priority, *, actor: User) -> None:
    """Remove a priority no application has claimed."""
    claimed = db.session.scalar(
        select(func.count())
        .select_from(ApplicationPriority)
        .where(ApplicationPriority.priority_id == priority.id)
    )
    if claimed:
        raise InputError(
            f"priority “{priority.title}” is claimed by {claimed} application(s), "
            "so it cannot be deleted; set its points to 0 instead",
            "priority",
        )
    remove_audited(priority, lambda: db.session.delete(priority), actor=actor)


def programs_with_template() -> list[Program]:
    """Programs that have an illustrative rubric to start from."""
    return [p for p in Program if p.value in RUBRICS]

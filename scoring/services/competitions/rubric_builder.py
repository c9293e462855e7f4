"""The rubric builder: sections, criteria, weights, steps and rating-level descriptors.

Every change is first tried on a plain copy of the rubric (``rubric_layout``) and checked by the
pure core (``Rubric.validate``, and ``Policy.validate`` for tie-breakers naming a section), so a
refused change leaves nothing half-applied. A frozen rubric (a review was submitted) refuses
every change with ``Conflict``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from scoring.core.ranking import PolicyError
from scoring.core.rubric import Criterion as CoreCriterion
from scoring.core.rubric import Rubric, RubricError
from scoring.core.rubric import Section as CoreSection
from scoring.errors import InputError
from scoring.models import Competition, Criterion, RubricSection, User
from scoring.services.competitions.competitions import (
    CRITERION_FIELDS,
    SECTION_FIELDS,
    audit_added,
    check_unique,
    ensure_rubric_editable,
    jsonable,
    policy_values,
    remove_audited,
    snapshot,
    update_audited,
)
from scoring.services.competitions.policy import policy_from, rubric_layout, rubric_of_layout

# --------------------------------------------------------------------------- rubric builder


def _check_rubric(
    competition: Competition, layout: list[dict[str, Any]], field: str = "key"
) -> None:
    """Validate a would-be rubric (and the policy's tie-breakers against it) before any change."""
    rubric = rubric_of_layout(layout)
    try:
        rubric.validate()
    except RubricError as exc:
        raise InputError(
            re.sub(r"^sections\[\d+\](\.criteria\[\d+\])?(\.\w+)?: ", "", str(exc)), field
        ) from None
    try:
        policy_from(policy_values(competition)).validate(rubric)
    except PolicyError as exc:
        raise InputError(
            f"the ranking policy would break ({exc}); change the tie-breakers "
            "on the competition settings first",
            field,
        ) from None


def _section_dict(
    values: Mapping[str, Any], section_id: int | None, criteria: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": section_id,
        "key": values["key"],
        "title": values["title"],
        "weight": values["weight"],
        "position": values["position"],
        "criteria": criteria,
    }


def _criterion_dict(values: Mapping[str, Any], criterion_id: int | None) -> dict[str, Any]:
    return {
        "id": criterion_id,
        **{k: values[k] for k in ("key", "title", "max_points", "step", "position")},
    }


def add_section(
    competition: Competition, values: Mapping[str, Any], *, actor: User
) -> RubricSection:
    """Add a rubric section with its first criterion (``values['criterion_*']``): a section
    without criteria would not be a valid rubric (docs/ranking.md §1)."""
    ensure_rubric_editable(competition)
    check_unique(RubricSection, competition, values["key"], None)
    first = {
        "key": values["criterion_key"],
        "title": values["criterion_title"],
        "max_points": values["criterion_max_points"],
        "step": values["criterion_step"],
        "position": 0,
    }
    check_unique(Criterion, competition, first["key"], None, "criterion_key")
    layout = rubric_layout(competition.sections)
    _check_rubric(competition, [*layout, _section_dict(values, None, [first])])
    section = RubricSection(**{k: values[k] for k in SECTION_FIELDS})
    section.criteria.append(Criterion(competition=competition, descriptors=[], **first))
    competition.sections.append(section)
    audit_added(section, actor=actor, extra={"criterion": jsonable(first)})
    return section


def update_section(
    section: RubricSection, values: Mapping[str, Any], *, actor: User
) -> RubricSection:
    """Change a section's key, title, weight, position or guidance."""
    competition = section.competition
    ensure_rubric_editable(competition)
    check_unique(RubricSection, competition, values["key"], section.id)
    layout = [
        s if s["id"] != section.id else _section_dict(values, section.id, s["criteria"])
        for s in rubric_layout(competition.sections)
    ]
    _check_rubric(competition, layout)
    update_audited(section, values, actor=actor)
    return section


def delete_section(section: RubricSection, *, actor: User) -> None:
    """Remove a section and its criteria (refused if the rubric would be empty or a
    tie-breaker names it)."""
    competition = section.competition
    ensure_rubric_editable(competition)
    layout = [s for s in rubric_layout(competition.sections) if s["id"] != section.id]
    if not layout:
        raise InputError(
            "a rubric needs at least one section; add another section first", "section"
        )
    _check_rubric(competition, layout, field="section")
    remove_audited(
        section,
        lambda: competition.sections.remove(section),
        actor=actor,
        extra={"criteria": [snapshot(c, CRITERION_FIELDS) for c in section.criteria]},
    )


def add_criterion(section: RubricSection, values: Mapping[str, Any], *, actor: User) -> Criterion:
    """Add a criterion to a section."""
    competition = section.competition
    ensure_rubric_editable(competition)
    check_unique(Criterion, competition, values["key"], None)
    _check_descriptors(values)
    layout = rubric_layout(competition.sections)
    for s in layout:
        if s["id"] == section.id:
            s["criteria"].append(_criterion_dict(values, None))
    _check_rubric(competition, layout)
    criterion = Criterion(competition=competition, **{k: values[k] for k in CRITERION_FIELDS})
    section.criteria.append(criterion)
    audit_added(criterion, actor=actor)
    return criterion


def update_criterion(criterion: Criterion, values: Mapping[str, Any], *, actor: User) -> Criterion:
    """Change a criterion's key, title, maximum, step, position or descriptors."""
    competition = criterion.section.competition
    ensure_rubric_editable(competition)
    check_unique(Criterion, competition, values["key"], criterion.id)
    _check_descriptors(values)
    layout = rubric_layout(competition.sections)
    for s in layout:
        s["criteria"] = [
            c if c["id"] != criterion.id else _criterion_dict(values, criterion.id)
            for c in s["criteria"]
        ]
    _check_rubric(competition, layout)
    update_audited(criterion, values, actor=actor)
    return criterion


def delete_criterion(criterion: Criterion, *, actor: User) -> None:
    """Remove a criterion (a section keeps at least one)."""
    section = criterion.section
    competition = section.competition
    ensure_rubric_editable(competition)
    if len(section.criteria) == 1:
        raise InputError(
            "a section needs at least one criterion; delete the section instead", "criterion"
        )
    remove_audited(criterion, lambda: section.criteria.remove(criterion), actor=actor)


def _check_descriptors(values: Mapping[str, Any]) -> None:
    """Every rating-level descriptor's points must be a score the criterion allows."""
    rubric = Rubric(
        (
            CoreSection(
                key="_",
                criteria=(
                    CoreCriterion(key="c", max_points=values["max_points"], step=values["step"]),
                ),
            ),
        )
    )
    seen: set[Decimal] = set()
    for i, d in enumerate(values.get("descriptors") or [], start=1):
        problem = rubric.check_points("c", d["points"])
        if problem:
            raise InputError(f"line {i}: {problem}", "descriptors")
        points = Decimal(d["points"])
        if points in seen:
            raise InputError(f"line {i}: {d['points']} points are described twice", "descriptors")
        seen.add(points)

"""From the stored competition to the pure core: the rubric and policy objects, and a core
policy error turned into a message beside the form field it names.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from scoring.core.ranking import Policy, PolicyError
from scoring.core.rubric import Criterion as CoreCriterion
from scoring.core.rubric import Rubric
from scoring.core.rubric import Section as CoreSection
from scoring.errors import InputError
from scoring.models import (
    RubricSection,
)

#: The ranking policy knobs of docs/ranking.md §2, as stored on the competition.
POLICY_FIELDS = (
    "aggregation",
    "normalization",
    "min_reviews",
    "discrepancy_threshold",
    "min_score",
    "tie_breakers",
    "total_funds",
    "min_award",
    "max_award",
    "fund_down",
    "partial_funding",
    "partial_min",
    "district_max_awards",
    "district_max_amount",
)


def rubric_layout(sections: list[RubricSection]) -> list[dict[str, Any]]:
    """Plain dicts of the sections and criteria in position order (what a change is tried on)."""
    return [
        {
            "id": s.id,
            "key": s.key,
            "title": s.title,
            "weight": s.weight,
            "position": s.position,
            "criteria": [
                {
                    "id": c.id,
                    "key": c.key,
                    "title": c.title,
                    "max_points": c.max_points,
                    "step": c.step,
                    "position": c.position,
                }
                for c in sorted(s.criteria, key=lambda c: (c.position, c.id or 0))
            ],
        }
        for s in sorted(sections, key=lambda s: (s.position, s.id or 0))
    ]


def rubric_of_layout(layout: list[dict[str, Any]]) -> Rubric:
    """The pure-core rubric of a layout (sorted by position); not validated."""
    return Rubric(
        tuple(
            CoreSection(
                key=s["key"],
                title=s["title"],
                weight=s["weight"],
                criteria=tuple(
                    CoreCriterion(
                        key=c["key"], max_points=c["max_points"], step=c["step"], title=c["title"]
                    )
                    for c in sorted(s["criteria"], key=lambda c: c["position"])
                ),
            )
            for s in sorted(layout, key=lambda s: s["position"])
        )
    )


def core_rubric(sections: list[RubricSection]) -> Rubric:
    """The pure-core rubric of these sections (criteria in position order); not validated."""
    return rubric_of_layout(rubric_layout(sections))


def policy_from(values: Mapping[str, Any]) -> Policy:
    """A core ``Policy`` from the stored knobs (enums as their values, lists as tuples)."""
    kwargs = {name: _json_enum(values[name]) for name in POLICY_FIELDS}
    kwargs["tie_breakers"] = tuple(kwargs["tie_breakers"] or ())
    return Policy(**kwargs)


def _json_enum(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


#: How the core's knob names read in a message shown to staff.
KNOB_WORDS = {
    "max_award": "the largest award",
    "min_award": "the smallest award",
    "total_funds": "the total funds",
    "partial_min": "the smallest partial award",
    "min_score": "the lowest fundable score",
    "min_reviews": "the fewest counted reviews",
}
_FIELD_OF_MESSAGE = re.compile(r"^(?P<name>[a-z_]+)(?:\[(?P<i>\d+)\])?")


def policy_error(exc: PolicyError, fields: tuple[str, ...] = POLICY_FIELDS) -> InputError:
    """The core's ``PolicyError`` as an ``InputError`` naming the form field it is about."""
    message = str(exc)
    match = _FIELD_OF_MESSAGE.match(message)
    name = match.group("name") if match else None
    if name == "tie_breakers" and match.group("i") is not None:
        name = f"tie_breaker_{int(match.group('i')) + 1}"
    elif name not in fields:
        name = None
    for knob, words in KNOB_WORDS.items():
        message = re.sub(rf"\b{knob}\b(?!\[)", words, message) if knob != name else message
    detail = message
    if name and message.startswith(name):  # "min_award: 0 is ..." → "0 is ..." beside the field
        detail = message[len(name) :].lstrip(": ") or message
    elif name and match and message.startswith(match.group(0)):
        detail = message[len(match.group(0)) :].lstrip(": ") or message
    return InputError(detail, name)


def check_policy(values: Mapping[str, Any], sections: list[RubricSection]) -> Policy:
    """Validate the policy knobs through the core; ``InputError`` names the form field."""
    try:
        return policy_from(values).validate(core_rubric(sections))
    except PolicyError as exc:
        raise policy_error(exc) from None


def _check_window(values: Mapping[str, Any]) -> None:
    opens, closes = values.get("opens_at"), values.get("closes_at")
    if opens is not None and closes is not None and closes <= opens:
        raise InputError("must be after the opening time", "closes_at")
    for name, what in (("review_due_at", "reviews"), ("decision_at", "decisions")):
        when = values.get(name)
        if when is not None and closes is not None and when <= closes:
            raise InputError(f"{what} come after the close: give a later time", name)

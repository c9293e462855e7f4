"""Bundle validation of the competition, its policy, rubric and priorities (``_CompetitionChecks``).

A mixin of :class:`scoring.services.bundles.validation._Validator`: it reads ``self.plan`` and
reports through the ``_Checker`` methods (``fail``, ``obj``, ``text`` ...).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from scoring.core.ranking import (
    AGGREGATORS,
    FUND_DOWN,
    NORMALISATIONS,
    Policy,
    PolicyError,
)
from scoring.core.ranking.registry import tie_breaker_problem
from scoring.core.rubric import Criterion as RubricCriterion
from scoring.core.rubric import Rubric, RubricError, Section
from scoring.models import Program
from scoring.services.bundles.checks import _at, _kind

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
POLICY_KNOBS = (
    "aggregation",
    "normalization",
    "min_reviews",
    "discrepancy_threshold",
    "min_score",
    "tie_breakers",
    "fund_down",
    "partial_funding",
    "partial_min",
    "district_max_awards",
    "district_max_amount",
)


class _CompetitionChecks:
    """Checks of the competition, policy, rubric and priorities; mixed into ``_Validator``."""

    # -- competition and policy

    def competition(self, value: Any) -> None:
        c = self.obj(
            value,
            "competition",
            ("slug", "program", "title", "total_funds"),
            (
                "fiscal_year",
                "opens_at",
                "closes_at",
                "reviewers_per_application",
                "min_award",
                "max_award",
                "policy",
            ),
        )
        if c is None:
            return
        p = "competition"
        out = {
            "slug": self.text(c.get("slug"), _at(p, "slug"), 80),
            "program": self.choice(c.get("program"), _at(p, "program"), [x.value for x in Program]),
            "title": self.text(c.get("title"), _at(p, "title"), 200),
            "fiscal_year": self.text(c.get("fiscal_year"), _at(p, "fiscal_year"), 10, null=True),
            "opens_at": self.timestamp(c.get("opens_at"), _at(p, "opens_at")),
            "closes_at": self.timestamp(c.get("closes_at"), _at(p, "closes_at")),
            "reviewers_per_application": self.integer(
                c.get("reviewers_per_application", 3), _at(p, "reviewers_per_application"), 1
            ),
            "total_funds": self.money(c.get("total_funds"), _at(p, "total_funds")),
            "min_award": self.money(
                c.get("min_award"), _at(p, "min_award"), null=True, at_least_a_cent=True
            ),
            "max_award": self.money(
                c.get("max_award"), _at(p, "max_award"), null=True, at_least_a_cent=True
            ),
        }
        slug = out["slug"]
        if slug is not None and not _SLUG.match(slug):
            self.fail(_at(p, "slug"), "use lowercase letters, digits and hyphens only")
        if out["opens_at"] and out["closes_at"] and out["closes_at"] <= out["opens_at"]:
            self.fail(_at(p, "closes_at"), "must be after opens_at")
        if out["min_award"] and out["max_award"] and out["min_award"] > out["max_award"]:
            self.fail(_at(p, "max_award"), "is below min_award")
        out["policy"] = self.policy(c.get("policy", {}), out)
        self.plan.competition = out

    def policy(self, value: Any, comp: dict[str, Any]) -> dict[str, Any]:
        path = "competition.policy"
        k = self.obj(value, path, (), POLICY_KNOBS)
        if k is None:
            return {}
        checks = {
            "aggregation": lambda v, p: self.choice(v, p, tuple(AGGREGATORS)),
            "normalization": lambda v, p: self.choice(v, p, tuple(NORMALISATIONS)),
            "min_reviews": lambda v, p: self.integer(v, p, 1),
            "discrepancy_threshold": lambda v, p: self.number(v, p),
            "min_score": lambda v, p: self.number(v, p, minimum=None),
            "tie_breakers": self.tie_breakers,
            "fund_down": lambda v, p: self.choice(v, p, FUND_DOWN),
            "partial_funding": self.boolean,
            "partial_min": lambda v, p: self.money(v, p, null=True, at_least_a_cent=True),
            "district_max_awards": lambda v, p: self.integer(v, p, 0, null=True),
            "district_max_amount": lambda v, p: self.money(v, p, null=True),
        }
        out: dict[str, Any] = {
            key: checks[key](k[key], _at(path, key)) for key in POLICY_KNOBS if key in k
        }
        if not self.errors and self.plan.rubric is not None:
            try:  # the engine's own checks, so a bundle never holds a policy rank() refuses
                Policy(
                    **out,
                    total_funds=comp["total_funds"],
                    min_award=comp["min_award"],
                    max_award=comp["max_award"],
                ).validate(self.plan.rubric)
            except PolicyError as exc:
                self.fail(path, str(exc))
        return out

    def tie_breakers(self, value: Any, path: str) -> list[str]:
        """Each must be a registered tie-breaker (``scoring.core.ranking.registry``), once."""
        rubric = self.plan.rubric
        sections = None if rubric is None else [s.key for s in rubric.sections]
        out: list[str] = []
        for i, tb in enumerate(self.array(value, path)):
            where = _at(path, i)
            problem = (
                f"expected a string, got {_kind(tb)}"
                if not isinstance(tb, str)
                else f"{tb!r} is listed twice"
                if tb in out
                else tie_breaker_problem(tb, sections)
            )
            if problem is not None:
                self.fail(where, problem)
            else:
                out.append(tb)
        return out

    # -- rubric and priorities

    def rubric(self, value: Any) -> None:
        r = self.obj(value, "rubric", ("sections",))
        if r is None:
            return
        sections, section_keys, criterion_keys = [], set(), set()
        for i, s in enumerate(self.array(r.get("sections", []), "rubric.sections", nonempty=True)):
            p = f"rubric.sections[{i}]"
            s = self.obj(s, p, ("key", "title", "criteria"), ("weight",))
            if s is None:
                continue
            key = self._unique(
                self.text(s.get("key"), _at(p, "key"), 60),
                section_keys,
                _at(p, "key"),
                "section key",
            )
            weight = self.number(s["weight"], _at(p, "weight")) if "weight" in s else None
            criteria = []
            for j, c in enumerate(
                self.array(s.get("criteria", []), _at(p, "criteria"), nonempty=True)
            ):
                criteria.append(self.criterion(c, f"{p}.criteria[{j}]", criterion_keys))
            title = self.text(s.get("title"), _at(p, "title"), 200, empty=True)
            sections.append(
                Section(key or "", tuple(x for x in criteria if x), weight, title or "")
            )
        if self.errors:
            return
        try:
            self.plan.rubric = Rubric(tuple(sections)).validate()
        except RubricError as exc:
            self.fail("rubric", str(exc))

    def criterion(self, value: Any, path: str, seen: set[str]) -> RubricCriterion | None:
        c = self.obj(value, path, ("key", "title", "max_points"), ("step",))
        if c is None:
            return None
        key = self._unique(
            self.text(c.get("key"), _at(path, "key"), 80), seen, _at(path, "key"), "criterion key"
        )
        title = self.text(c.get("title"), _at(path, "title"), 300, empty=True)
        max_points = self.number(c.get("max_points"), _at(path, "max_points"), positive=True)
        step = (
            self.number(c["step"], _at(path, "step"), positive=True) if "step" in c else Decimal(1)
        )
        if None in (key, title, max_points, step):
            return None
        return RubricCriterion(key, max_points, step, title)

    def _unique(self, value: str | None, seen: set[str], path: str, what: str) -> str | None:
        if value is not None:
            if value in seen:
                self.fail(path, f"duplicate {what} {value!r}")
                return None
            seen.add(value)
        return value

    def priorities(self, value: Any) -> None:
        seen: set[str] = set()
        for i, item in enumerate(self.array(value, "priorities")):
            p = f"priorities[{i}]"
            x = self.obj(item, p, ("key", "title", "points"))
            if x is None:
                continue
            self.plan.priorities.append(
                {
                    "key": self._unique(
                        self.text(x.get("key"), _at(p, "key"), 60),
                        seen,
                        _at(p, "key"),
                        "priority key",
                    ),
                    "title": self.text(x.get("title"), _at(p, "title"), 300, empty=True),
                    "points": self.number(x.get("points"), _at(p, "points")),
                }
            )

"""Bundle validation: the whole document is checked, top to bottom, into a ``_Plan``.

``validate_bundle(data)`` runs every check (this module: format, competition and policy,
rubric, priorities, districts, schools, reviewers, applications, what is unused;
``validate_reviews``: reviews and scores; ``validate_existing``: the database) and raises
``BundleError`` with every problem found, or returns the plan the importer writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
from scoring.models import District, Program, School, User
from scoring.services.bundles.checks import (
    FORMAT,
    BundleError,
    _at,
    _Checker,
    _kind,
    _TooMany,
)
from scoring.services.bundles.validate_existing import _DatabaseChecks
from scoring.services.bundles.validate_reviews import _ReviewChecks

__all__ = ["POLICY_KNOBS", "validate_bundle"]

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


@dataclass
class _Plan:
    """The validated bundle, ready to write."""

    competition: dict[str, Any] = field(default_factory=dict)
    rubric: Rubric | None = None
    priorities: list[dict[str, Any]] = field(default_factory=list)
    districts: list[dict[str, Any]] = field(default_factory=list)
    schools: list[dict[str, Any]] = field(default_factory=list)
    reviewers: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    #: (application index, reviewer index, submitted, scores dict, comments dict)
    reviews: list[tuple[int, int, bool, dict, dict]] = field(default_factory=list)
    #: (criterion key, value as given) → (criterion column, canonical points text)
    score_cache: dict[tuple[str, Any], tuple[int, str] | str] = field(default_factory=dict)
    existing_districts: dict[str, District] = field(default_factory=dict)
    existing_schools: dict[str, School] = field(default_factory=dict)
    existing_users: dict[str, User] = field(default_factory=dict)
    existing_conflicts: dict[str, set[str]] = field(default_factory=dict)


class _Validator(_ReviewChecks, _DatabaseChecks, _Checker):
    """Checks a bundle, top to bottom, into a ``_Plan``."""

    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data = data
        self.plan = _Plan()

    def run(self) -> _Plan:
        if isinstance(self.data, dict) and self.data.get("format", FORMAT) != FORMAT:
            self.fail("format", f"must be {FORMAT!r} (got {self.data['format']!r})")
        top = self.obj(
            self.data,
            "",
            ("format", "competition", "rubric"),
            ("priorities", "districts", "schools", "reviewers", "applications", "reviews"),
        )
        if top is None:
            return self.plan
        self.rubric(top.get("rubric"))
        self.competition(top.get("competition"))
        self.priorities(top.get("priorities", []))
        self.districts(top.get("districts", []))
        self.schools(top.get("schools", []))
        self.reviewers(top.get("reviewers", []))
        self.applications(top.get("applications", []))
        self.reviews(top.get("reviews", []))
        self.unused()
        self.against_database()
        return self.plan

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

    # -- districts, schools, reviewers

    def districts(self, value: Any) -> None:
        seen: set[str] = set()
        for i, item in enumerate(self.array(value, "districts")):
            p = f"districts[{i}]"
            x = self.obj(item, p, ("code", "name"), ("alliance",))
            if x is None:
                continue
            self.plan.districts.append(
                {
                    "code": self._unique(
                        self.text(x.get("code"), _at(p, "code"), 16),
                        seen,
                        _at(p, "code"),
                        "district code",
                    ),
                    "name": self.text(x.get("name"), _at(p, "name"), 120),
                    "alliance": self.boolean(x.get("alliance", False), _at(p, "alliance")),
                }
            )

    def schools(self, value: Any) -> None:
        seen: set[str] = set()
        districts = {d["code"] for d in self.plan.districts}
        for i, item in enumerate(self.array(value, "schools")):
            p = f"schools[{i}]"
            x = self.obj(item, p, ("code", "name", "district"))
            if x is None:
                continue
            district = self.text(x.get("district"), _at(p, "district"), 16)
            if district is not None and district not in districts:
                self.fail(_at(p, "district"), f"unknown district {district!r}")
            self.plan.schools.append(
                {
                    "code": self._unique(
                        self.text(x.get("code"), _at(p, "code"), 16),
                        seen,
                        _at(p, "code"),
                        "school code",
                    ),
                    "name": self.text(x.get("name"), _at(p, "name"), 200),
                    "district": district,
                }
            )

    def reviewers(self, value: Any) -> None:
        seen: set[str] = set()
        districts = {d["code"] for d in self.plan.districts}
        for i, item in enumerate(self.array(value, "reviewers")):
            p = f"reviewers[{i}]"
            x = self.obj(item, p, ("email", "name"), ("conflicts",))
            if x is None:
                continue
            email = self.text(x.get("email"), _at(p, "email"), 254)
            if email is not None:
                email = email.strip().lower()
                if "@" not in email or " " in email:
                    self.fail(_at(p, "email"), f"{email!r} is not an email address")
            conflicts: list[str] = []
            for j, code in enumerate(self.array(x.get("conflicts", []), _at(p, "conflicts"))):
                where = f"{p}.conflicts[{j}]"
                if not isinstance(code, str) or code not in districts:
                    self.fail(where, f"unknown district {code!r}")
                elif code in conflicts:
                    self.fail(where, f"district {code!r} is listed twice")
                else:
                    conflicts.append(code)
            self.plan.reviewers.append(
                {
                    "email": self._unique(email, seen, _at(p, "email"), "reviewer email"),
                    "name": self.text(x.get("name"), _at(p, "name"), 200),
                    "conflicts": conflicts,
                }
            )

    # -- applications and reviews

    def applications(self, value: Any) -> None:
        seen: set[str] = set()
        schools = {s["code"] for s in self.plan.schools}
        priorities = {x["key"] for x in self.plan.priorities}
        for i, item in enumerate(self.array(value, "applications")):
            p = f"applications[{i}]"
            x = self.obj(
                item,
                p,
                ("ref", "school", "requested_amount"),
                ("tier", "priorities", "eligible", "ineligible_reason", "submitted_at"),
            )
            if x is None:
                continue
            school = self.text(x.get("school"), _at(p, "school"), 16)
            if school is not None and school not in schools:
                self.fail(_at(p, "school"), f"unknown school {school!r}")
            keys: list[str] = []
            for j, key in enumerate(self.array(x.get("priorities", []), _at(p, "priorities"))):
                where = f"{p}.priorities[{j}]"
                if not isinstance(key, str) or key not in priorities:
                    self.fail(where, f"unknown priority {key!r}")
                elif key in keys:
                    self.fail(where, f"priority {key!r} is listed twice")
                else:
                    keys.append(key)
            eligible = self.boolean(x.get("eligible", True), _at(p, "eligible"))
            reason = self.text(
                x.get("ineligible_reason"), _at(p, "ineligible_reason"), 500, null=True
            )
            if eligible is False and reason is None and x.get("ineligible_reason") is None:
                self.fail(_at(p, "ineligible_reason"), "is required when eligible is false")
            if eligible is True and reason is not None:
                self.fail(_at(p, "ineligible_reason"), "must be null when eligible is true")
            self.plan.applications.append(
                {
                    "ref": self._unique(
                        self.text(x.get("ref"), _at(p, "ref"), 40),
                        seen,
                        _at(p, "ref"),
                        "application ref",
                    ),
                    "school": school,
                    "requested_amount": self.money(
                        x.get("requested_amount"), _at(p, "requested_amount")
                    ),
                    "tier": self.integer(x.get("tier", 1), _at(p, "tier"), 1),
                    "priorities": keys,
                    "eligible": eligible,
                    "ineligible_reason": reason,
                    "submitted_at": self.timestamp(x.get("submitted_at"), _at(p, "submitted_at")),
                }
            )

    # -- cross checks

    def unused(self) -> None:
        """Refuse listed districts, schools and reviewers that nothing uses (exact round trip)."""
        used_schools = {a["school"] for a in self.plan.applications}
        used_districts = {s["district"] for s in self.plan.schools if s["code"] in used_schools}
        used_districts |= {c for r in self.plan.reviewers for c in r["conflicts"]}
        used_reviewers = {r for _, r, *_ in self.plan.reviews}
        for i, d in enumerate(self.plan.districts):
            if d["code"] is not None and d["code"] not in used_districts:
                self.fail(
                    f"districts[{i}]",
                    f"district {d['code']!r} is not used by any "
                    "application's school or reviewer's conflicts",
                )
        for i, s in enumerate(self.plan.schools):
            if s["code"] is not None and s["code"] not in used_schools:
                self.fail(f"schools[{i}]", f"school {s['code']!r} is not used by any application")
        for i, r in enumerate(self.plan.reviewers):
            if r["email"] is not None and i not in used_reviewers:
                self.fail(f"reviewers[{i}]", f"reviewer {r['email']!r} has no review")


def validate_bundle(data: Any) -> _Plan:
    """Check everything (format, references, scores, the database); raise ``BundleError``."""
    checker = _Validator(data)
    try:
        plan = checker.run()
    except _TooMany:
        raise BundleError(checker.errors, truncated=True) from None
    if checker.errors:
        raise BundleError(checker.errors)
    return plan

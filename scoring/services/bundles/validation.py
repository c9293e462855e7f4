"""Bundle validation: the whole document is checked, top to bottom, into a ``_Plan``.

``validate_bundle(data)`` runs every check (this module: format, districts, schools,
reviewers, applications, what is unused; ``validate_competition``: competition, policy, rubric
and priorities; ``validate_reviews``: reviews and scores; ``validate_existing``: the database)
and raises
``BundleError`` with every problem found, or returns the plan the importer writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scoring.core.rubric import Rubric
from scoring.models import District, School, User
from scoring.services.bundles.checks import (
    FORMAT,
    BundleError,
    _at,
    _Checker,
    _TooMany,
)
from scoring.services.bundles.validate_competition import POLICY_KNOBS, _CompetitionChecks
from scoring.services.bundles.validate_existing import _DatabaseChecks
from scoring.services.bundles.validate_reviews import _ReviewChecks

__all__ = ["POLICY_KNOBS", "validate_bundle"]


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


class _Validator(_CompetitionChecks, _ReviewChecks, _DatabaseChecks, _Checker):
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

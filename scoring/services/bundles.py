"""Competition bundles (docs/bundle.md): validate, import all or nothing, export.

``import_bundle(data)`` checks the whole document first and writes nothing unless every check
passes; a refusal raises ``BundleError`` (an ``InputError``) naming the JSON path of the first
problem, e.g. ``reviews[12].scores.need.data: 5 is above max_points 4``, with every problem
found (up to ``MAX_ERRORS``) in ``.errors``. ``export_bundle(competition)`` gives the document
back. The caller commits (services flush, never commit).

Rules this module decides (docs/bundle.md leaves them open):

* **Required keys.** Every key of the format is required except those docs/bundle.md lets you omit
  (``weight``, ``step``, ``tier``, ``priorities``, ``eligible``, ``comments``, ``conflicts``),
  the nullable ones (``fiscal_year``, ``opens_at``, ``closes_at``, ``min_award``,
  ``max_award``, ``ineligible_reason``, ``submitted_at``; omitted means null), every policy knob
  (docs/ranking.md §2 defaults), ``competition.policy`` itself, ``reviewers_per_application`` (3),
  district ``alliance`` (false) and review ``comments`` ({}). Any other key is refused.
* **Types.** Scores, points, weights, ``max_points``, ``step``, ``discrepancy_threshold`` and
  ``min_score`` must be JSON numbers with at most 4 decimal places (the database keeps 4).
  Money may be a string or a number; it must be a whole number of cents, >= 0 and below 10^12.
  ``min_award``, ``max_award`` and ``partial_min`` must be at least 0.01 when given. Timestamps
  are ISO 8601 with a UTC offset. ``slug`` is lowercase letters, digits and hyphens.
* **A submitted review must score every criterion** (docs/ranking.md §1: a missing score is never
  read as 0); a draft (``submitted: false``) may be partial, and may hold a comment on a
  criterion it has not scored yet (stored with empty points, as the review form does).
* **Everything listed is used.** Every district must be some school's district or some
  reviewer's conflict, every school some application's school, every reviewer the author of
  some review; otherwise the bundle is refused, so that an export gives the input back.
* **Existing records.** Districts and schools (by ``code``) and reviewers (by ``email``,
  compared in lowercase) that already exist are reused when their data is the same; an existing
  record with different data (name, alliance, a school's district, a user who is not a
  reviewer or has another name) refuses the bundle: nothing is overwritten silently. A reused
  reviewer keeps their recorded district conflicts; the bundle's conflicts are added (a conflict
  is global to the person) and the conflict check on reviews uses both.
* **New reviewers** become users with role ``reviewer``, active, without a password: they
  cannot sign in until staff send an invitation or a password reset.
* **Stored as.** Every application is stored ``submitted`` with its priorities claimed and
  confirmed; each review gets a reviewer assignment (``assigned``); a submitted review is
  stored ``submitted`` (its ``submitted_at`` is unknown and left empty), a draft ``draft``.
  The rubric is frozen when a submitted review is imported. Emails are stored in lowercase.
* **Speed.** Rows are bulk inserted (PostgreSQL ``COPY``; SQLite ``executemany``). An import of
  at least ``BULK_FK_THRESHOLD`` scores on PostgreSQL checks criterion_score's foreign keys in
  one pass instead of row by row (dropped and re-added, validated, in the same transaction),
  holding a lock on the score tables until it commits; see ``_drop_score_foreign_keys``.
* **Export** writes the submitted applications (import order) and their reviews (import order);
  districts, schools and reviewers sorted by code/email; defaults filled in; money as strings
  with two decimals; timestamps in the app's time zone (America/New_York) with their offset;
  ``weight`` only for a section that has one. A withdrawn review, or one whose assignment is
  in conflict, is exported with ``submitted: false`` so it never counts after a re-import.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Table, cast, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from scoring.errors import InputError
from scoring.extensions import db
from scoring.formatting import LOCAL_TZ
from scoring.models import (
    Aggregation,
    Application,
    ApplicationPriority,
    ApplicationStatus,
    AssignmentStatus,
    Competition,
    Criterion,
    CriterionScore,
    District,
    FundDown,
    Normalization,
    Priority,
    Program,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    Role,
    RubricSection,
    School,
    User,
)
from scoring.models._types import utcnow
from scoring.ranking import AGGREGATORS, Policy, PolicyError
from scoring.rubric import Criterion as RubricCriterion
from scoring.rubric import Rubric, RubricError, Section, fmt_decimal, to_decimal
from scoring.services import audit

__all__ = ["FORMAT", "MAX_ERRORS", "BundleError", "allocate_ids", "bulk_insert",
           "export_bundle", "import_bundle", "is_postgres"]

FORMAT = "grant-scoring-bundle/1"
#: Validation stops collecting after this many problems.
MAX_ERRORS = 50
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_POINTS_LIMIT = Decimal(10) ** 6  # NUMERIC(10, 4)
_MONEY_LIMIT = Decimal(10) ** 12  # NUMERIC(14, 2)
_NUMBER_TYPES = (int, float, Decimal)
POLICY_KNOBS = ("aggregation", "normalization", "min_reviews", "discrepancy_threshold",
                "min_score", "tie_breakers", "fund_down", "partial_funding", "partial_min",
                "district_max_awards", "district_max_amount")
_TIE_BREAKERS = ("priority_points", "requested_amount", "submitted_at")
#: From this many criterion scores on, a PostgreSQL import drops and re-adds criterion_score's
#: foreign keys around the COPY (see ``_drop_score_foreign_keys``); below it, no table lock.
BULK_FK_THRESHOLD = 1_000_000
#: How long a large import waits for the table locks before taking the slower, lock-free path.
BULK_LOCK_TIMEOUT = "5s"

log = logging.getLogger(__name__)


class BundleError(InputError):
    """A refused bundle. ``path``/``detail`` describe the first problem; ``errors`` all found."""

    def __init__(self, errors: Sequence[tuple[str, str]], truncated: bool = False) -> None:
        path, message = errors[0]
        super().__init__(message, path or None)
        self.errors = list(errors)
        self.truncated = truncated


class _TooMany(Exception):
    """Raised internally once MAX_ERRORS problems are collected."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, _NUMBER_TYPES):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- field checks


class _Checker:
    """Collects (path, message) problems; each check returns the clean value or None."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))
        if len(self.errors) >= MAX_ERRORS:
            raise _TooMany

    def obj(self, value: Any, path: str, required: Iterable[str],
            optional: Iterable[str] = ()) -> dict | None:
        """An object with exactly these keys (the optional ones may be missing)."""
        if not isinstance(value, dict):
            self.fail(path or "bundle", f"expected an object, got {_kind(value)}")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                self.fail(_at(path, str(key)), "unknown key")
        for key in required:
            if key not in value:
                self.fail(_at(path, key), "is required")
        return value

    def array(self, value: Any, path: str, *, nonempty: bool = False) -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
            return []
        if nonempty and not value:
            self.fail(path, "must not be empty")
        return value

    def text(self, value: Any, path: str, max_len: int, *, null: bool = False,
             empty: bool = False) -> str | None:
        if value is None and null:
            return None
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_kind(value)}")
        elif not empty and not value.strip():
            self.fail(path, "must not be empty")
        elif len(value) > max_len:
            self.fail(path, f"is longer than {max_len} characters")
        else:
            return value
        return None

    def integer(self, value: Any, path: str, minimum: int, *, null: bool = False) -> int | None:
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_kind(value)}")
        elif value < minimum:
            self.fail(path, f"{value} is below {minimum}")
        elif value >= 2**31:
            self.fail(path, f"{value} is too large")
        else:
            return value
        return None

    def boolean(self, value: Any, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.fail(path, f"expected true or false, got {_kind(value)}")
        return None

    def number(self, value: Any, path: str, *, minimum: Decimal | None = Decimal(0),
               positive: bool = False) -> Decimal | None:
        """A JSON number with at most 4 decimal places (scores, points, weights)."""
        if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
            self.fail(path, f"expected a number, got {_kind(value)}")
            return None
        try:
            d = to_decimal(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None
        shown = fmt_decimal(d)
        if positive and d <= 0:
            self.fail(path, f"{shown} must be greater than 0")
        elif minimum is not None and d < minimum:
            self.fail(path, f"{shown} is below {fmt_decimal(minimum)}")
        elif abs(d) >= _POINTS_LIMIT:
            self.fail(path, f"{shown} is too large")
        elif d != d.quantize(Decimal("0.0001"), rounding="ROUND_DOWN"):
            self.fail(path, f"{shown} has more than 4 decimal places")
        else:
            return d
        return None

    def money(self, value: Any, path: str, *, null: bool = False,
              at_least_a_cent: bool = False) -> Decimal | None:
        """Exact money from a string or a number: whole cents, >= 0, below 10^12."""
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, (*_NUMBER_TYPES, str)):
            self.fail(path, f"expected an amount of money, got {_kind(value)}")
            return None
        try:
            d = to_decimal(value)
        except ValueError:
            self.fail(path, f"{value!r} is not a valid amount of money")
            return None
        shown = fmt_decimal(d)
        if d != d.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
            self.fail(path, f"{shown} is not a whole number of cents")
        elif d < 0:
            self.fail(path, f"{shown} is negative")
        elif d >= _MONEY_LIMIT:
            self.fail(path, f"{shown} is too large")
        elif at_least_a_cent and d < Decimal("0.01"):
            self.fail(path, "must be at least 0.01 (use null for no bound)")
        else:
            return d.quantize(Decimal("0.01"))
        return None

    def timestamp(self, value: Any, path: str) -> datetime | None:
        """ISO 8601 with a UTC offset, or null."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"expected an ISO 8601 timestamp, got {_kind(value)}")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{value!r} is not an ISO 8601 timestamp")
            return None
        if moment.utcoffset() is None:
            self.fail(path, f"{value!r} has no UTC offset (e.g. -05:00)")
            return None
        return moment

    def choice(self, value: Any, path: str, allowed: Sequence[str]) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.fail(path, f"must be one of {', '.join(allowed)} (got {value!r})")
        return None


# --------------------------------------------------------------------------- validation


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


class _Validator(_Checker):
    """Checks a bundle, top to bottom, into a ``_Plan``."""

    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data = data
        self.plan = _Plan()

    def run(self) -> _Plan:
        if isinstance(self.data, dict) and self.data.get("format", FORMAT) != FORMAT:
            self.fail("format", f"must be {FORMAT!r} (got {self.data['format']!r})")
        top = self.obj(self.data, "", ("format", "competition", "rubric"),
                       ("priorities", "districts", "schools", "reviewers", "applications",
                        "reviews"))
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
        c = self.obj(value, "competition",
                     ("slug", "program", "title", "total_funds"),
                     ("fiscal_year", "opens_at", "closes_at", "reviewers_per_application",
                      "min_award", "max_award", "policy"))
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
                c.get("reviewers_per_application", 3), _at(p, "reviewers_per_application"), 1),
            "total_funds": self.money(c.get("total_funds"), _at(p, "total_funds")),
            "min_award": self.money(c.get("min_award"), _at(p, "min_award"), null=True,
                                    at_least_a_cent=True),
            "max_award": self.money(c.get("max_award"), _at(p, "max_award"), null=True,
                                    at_least_a_cent=True),
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
        at = lambda key: _at(path, key)  # noqa: E731
        out: dict[str, Any] = {}
        if "aggregation" in k:
            out["aggregation"] = self.choice(k["aggregation"], at("aggregation"),
                                             tuple(AGGREGATORS))
        if "normalization" in k:
            out["normalization"] = self.choice(k["normalization"], at("normalization"),
                                               ("none", "zscore"))
        if "min_reviews" in k:
            out["min_reviews"] = self.integer(k["min_reviews"], at("min_reviews"), 1)
        if "discrepancy_threshold" in k:
            out["discrepancy_threshold"] = self.number(k["discrepancy_threshold"],
                                                       at("discrepancy_threshold"))
        if "min_score" in k:
            out["min_score"] = self.number(k["min_score"], at("min_score"), minimum=None)
        if "tie_breakers" in k:
            out["tie_breakers"] = self.tie_breakers(k["tie_breakers"], at("tie_breakers"))
        if "fund_down" in k:
            out["fund_down"] = self.choice(k["fund_down"], at("fund_down"), ("strict", "skip"))
        if "partial_funding" in k:
            out["partial_funding"] = self.boolean(k["partial_funding"], at("partial_funding"))
        if "partial_min" in k:
            out["partial_min"] = self.money(k["partial_min"], at("partial_min"), null=True,
                                            at_least_a_cent=True)
        if "district_max_awards" in k:
            out["district_max_awards"] = self.integer(k["district_max_awards"],
                                                      at("district_max_awards"), 0, null=True)
        if "district_max_amount" in k:
            out["district_max_amount"] = self.money(k["district_max_amount"],
                                                    at("district_max_amount"), null=True)
        if not self.errors and self.plan.rubric is not None:
            try:  # the engine's own checks, so a bundle never holds a policy rank() refuses
                Policy(**out, total_funds=comp["total_funds"], min_award=comp["min_award"],
                       max_award=comp["max_award"]).validate(self.plan.rubric)
            except PolicyError as exc:
                self.fail(path, str(exc))
        return out

    def tie_breakers(self, value: Any, path: str) -> list[str]:
        sections = {s.key for s in self.plan.rubric.sections} if self.plan.rubric else set()
        out: list[str] = []
        for i, tb in enumerate(self.array(value, path)):
            where = _at(path, i)
            if not isinstance(tb, str):
                self.fail(where, f"expected a string, got {_kind(tb)}")
            elif tb in out:
                self.fail(where, f"{tb!r} is listed twice")
            elif tb.startswith("section:"):
                if self.plan.rubric is not None and tb[len("section:"):] not in sections:
                    self.fail(where, f"unknown section {tb[len('section:'):]!r}")
                out.append(tb)
            elif tb not in _TIE_BREAKERS:
                self.fail(where, f"{tb!r} is not one of section:<key>, {', '.join(_TIE_BREAKERS)}")
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
            key = self._unique(self.text(s.get("key"), _at(p, "key"), 60), section_keys,
                               _at(p, "key"), "section key")
            weight = self.number(s["weight"], _at(p, "weight")) if "weight" in s else None
            criteria = []
            for j, c in enumerate(self.array(s.get("criteria", []), _at(p, "criteria"),
                                             nonempty=True)):
                criteria.append(self.criterion(c, f"{p}.criteria[{j}]", criterion_keys))
            title = self.text(s.get("title"), _at(p, "title"), 200, empty=True)
            sections.append(Section(key or "", tuple(x for x in criteria if x), weight,
                                    title or ""))
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
        key = self._unique(self.text(c.get("key"), _at(path, "key"), 80), seen, _at(path, "key"),
                           "criterion key")
        title = self.text(c.get("title"), _at(path, "title"), 300, empty=True)
        max_points = self.number(c.get("max_points"), _at(path, "max_points"), positive=True)
        step = self.number(c["step"], _at(path, "step"), positive=True) if "step" in c \
            else Decimal(1)
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
            self.plan.priorities.append({
                "key": self._unique(self.text(x.get("key"), _at(p, "key"), 60), seen,
                                    _at(p, "key"), "priority key"),
                "title": self.text(x.get("title"), _at(p, "title"), 300, empty=True),
                "points": self.number(x.get("points"), _at(p, "points")),
            })

    # -- districts, schools, reviewers

    def districts(self, value: Any) -> None:
        seen: set[str] = set()
        for i, item in enumerate(self.array(value, "districts")):
            p = f"districts[{i}]"
            x = self.obj(item, p, ("code", "name"), ("alliance",))
            if x is None:
                continue
            self.plan.districts.append({
                "code": self._unique(self.text(x.get("code"), _at(p, "code"), 16), seen,
                                     _at(p, "code"), "district code"),
                "name": self.text(x.get("name"), _at(p, "name"), 120),
                "alliance": self.boolean(x.get("alliance", False), _at(p, "alliance")),
            })

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
            self.plan.schools.append({
                "code": self._unique(self.text(x.get("code"), _at(p, "code"), 16), seen,
                                     _at(p, "code"), "school code"),
                "name": self.text(x.get("name"), _at(p, "name"), 200),
                "district": district,
            })

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
            self.plan.reviewers.append({
                "email": self._unique(email, seen, _at(p, "email"), "reviewer email"),
                "name": self.text(x.get("name"), _at(p, "name"), 200),
                "conflicts": conflicts,
            })

    # -- applications and reviews

    def applications(self, value: Any) -> None:
        seen: set[str] = set()
        schools = {s["code"] for s in self.plan.schools}
        priorities = {x["key"] for x in self.plan.priorities}
        for i, item in enumerate(self.array(value, "applications")):
            p = f"applications[{i}]"
            x = self.obj(item, p, ("ref", "school", "requested_amount"),
                         ("tier", "priorities", "eligible", "ineligible_reason", "submitted_at"))
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
            reason = self.text(x.get("ineligible_reason"), _at(p, "ineligible_reason"), 500,
                               null=True)
            if eligible is False and reason is None and x.get("ineligible_reason") is None:
                self.fail(_at(p, "ineligible_reason"), "is required when eligible is false")
            if eligible is True and reason is not None:
                self.fail(_at(p, "ineligible_reason"), "must be null when eligible is true")
            self.plan.applications.append({
                "ref": self._unique(self.text(x.get("ref"), _at(p, "ref"), 40), seen,
                                    _at(p, "ref"), "application ref"),
                "school": school,
                "requested_amount": self.money(x.get("requested_amount"),
                                               _at(p, "requested_amount")),
                "tier": self.integer(x.get("tier", 1), _at(p, "tier"), 1),
                "priorities": keys, "eligible": eligible, "ineligible_reason": reason,
                "submitted_at": self.timestamp(x.get("submitted_at"), _at(p, "submitted_at")),
            })

    def reviews(self, value: Any) -> None:
        """The hot loop (7.5M scores at scale): each (criterion, value) is checked once."""
        rubric = self.plan.rubric
        apps = {a["ref"]: i for i, a in enumerate(self.plan.applications) if a["ref"]}
        reviewers = {r["email"]: i for i, r in enumerate(self.plan.reviewers) if r["email"]}
        school_district = {s["code"]: s["district"] for s in self.plan.schools}
        app_district = [school_district.get(a["school"]) for a in self.plan.applications]
        conflicts = [set(r["conflicts"]) for r in self.plan.reviewers]
        n_criteria = len(rubric.criteria) if rubric else 0
        allowed, required = {"application", "reviewer", "submitted", "scores"}, \
            ("application", "reviewer", "submitted", "scores")
        pairs: set[tuple[int, int]] = set()
        for i, item in enumerate(self.array(value, "reviews")):
            if type(item) is not dict or not item.keys() <= allowed or len(item) != 4:
                if self.obj(item, f"reviews[{i}]", required, ("comments",)) is None:
                    continue
            email = item.get("reviewer")
            a = apps.get(item.get("application"))
            r = reviewers.get(email.strip().lower()) if type(email) is str else None
            submitted = item.get("submitted")
            if a is None or r is None or type(submitted) is not bool:
                self._review_refs(item, i, a, r)
            elif (a, r) in pairs:
                self.fail(f"reviews[{i}]", f"a second review of {item['application']!r} by "
                          f"{item['reviewer']!r}")
            else:
                pairs.add((a, r))
                if app_district[a] in conflicts[r]:
                    self.fail(f"reviews[{i}].reviewer",
                              f"{item['reviewer']} has a declared conflict with district "
                              f"{app_district[a]!r} of application {item['application']!r}")
            scores = item.get("scores")
            if type(scores) is not dict:
                self.fail(f"reviews[{i}].scores", f"expected an object, got {_kind(scores)}")
                scores = {}
            elif rubric is not None:
                self._scores(scores, i)
                if submitted is True and len(scores) != n_criteria:
                    missing = [c.key for c in rubric.criteria if c.key not in scores]
                    self.fail(f"reviews[{i}].scores",
                              f"a submitted review must score every criterion; missing "
                              f"{', '.join(missing)}")
            comments = self._comments(item.get("comments", {}), scores, i)
            self.plan.reviews.append((a, r, submitted is True, scores, comments))

    def _review_refs(self, item: dict, i: int, a: int | None, r: int | None) -> None:
        p = f"reviews[{i}]"
        if a is None and "application" in item:
            self.fail(_at(p, "application"), f"unknown application {item['application']!r}")
        if r is None and "reviewer" in item:
            self.fail(_at(p, "reviewer"), f"unknown reviewer {item['reviewer']!r}")
        if "submitted" in item and type(item["submitted"]) is not bool:
            self.fail(_at(p, "submitted"),
                      f"expected true or false, got {_kind(item['submitted'])}")

    def _scores(self, scores: dict, i: int) -> None:
        cache, rubric = self.plan.score_cache, self.plan.rubric
        for key, v in scores.items():
            if type(v) not in _NUMBER_TYPES:  # bool, str, None, list ...: not a number
                self.fail(f"reviews[{i}].scores.{key}", f"expected a number, got {_kind(v)}")
                continue
            hit = cache.get((key, v))
            if hit is None:
                hit = self._check_score(key, v)
                if v == v:  # NaN never equals itself: do not cache it
                    cache[(key, v)] = hit
            if type(hit) is str:
                self.fail(f"reviews[{i}].scores.{key}", hit)

    def _check_score(self, key: str, v: Any) -> tuple[int, str] | str:
        rubric = self.plan.rubric
        problem = rubric.check_points(key, v)
        if problem is not None:
            return problem
        d = to_decimal(v)
        if d != d.quantize(Decimal("0.0001"), rounding="ROUND_DOWN"):
            return f"{fmt_decimal(d)} has more than 4 decimal places"
        return rubric.criterion_index[key], fmt_decimal(d)

    def _comments(self, value: Any, scores: dict, i: int) -> dict[str, str]:
        if value == {}:
            return {}
        p = f"reviews[{i}].comments"
        if not isinstance(value, dict):
            self.fail(p, f"expected an object, got {_kind(value)}")
            return {}
        index = self.plan.rubric.criterion_index if self.plan.rubric else {}
        for key, note in value.items():
            if key not in index:
                self.fail(f"{p}.{key}", "unknown criterion")
            elif not isinstance(note, str):
                self.fail(f"{p}.{key}", f"expected a string, got {_kind(note)}")
        return value

    # -- cross checks

    def unused(self) -> None:
        """Refuse listed districts, schools and reviewers that nothing uses (exact round trip)."""
        used_schools = {a["school"] for a in self.plan.applications}
        used_districts = {s["district"] for s in self.plan.schools if s["code"] in used_schools}
        used_districts |= {c for r in self.plan.reviewers for c in r["conflicts"]}
        used_reviewers = {r for _, r, *_ in self.plan.reviews}
        for i, d in enumerate(self.plan.districts):
            if d["code"] is not None and d["code"] not in used_districts:
                self.fail(f"districts[{i}]", f"district {d['code']!r} is not used by any "
                          "application's school or reviewer's conflicts")
        for i, s in enumerate(self.plan.schools):
            if s["code"] is not None and s["code"] not in used_schools:
                self.fail(f"schools[{i}]", f"school {s['code']!r} is not used by any application")
        for i, r in enumerate(self.plan.reviewers):
            if r["email"] is not None and i not in used_reviewers:
                self.fail(f"reviewers[{i}]", f"reviewer {r['email']!r} has no review")

    def against_database(self) -> None:
        """The slug must be new; existing districts, schools and reviewers must match."""
        slug = self.plan.competition.get("slug")
        if slug and db.session.scalar(select(Competition.id).where(Competition.slug == slug)):
            self.fail("competition.slug", f"a competition {slug!r} already exists")
        self._existing_districts()
        self._existing_schools()
        self._existing_reviewers()

    def _existing_districts(self) -> None:
        codes = [d["code"] for d in self.plan.districts if d["code"]]
        found = {d.code: d for d in _in_chunks(select(District), District.code, codes)}
        for i, d in enumerate(self.plan.districts):
            old = found.get(d["code"])
            if old is not None and (old.name, old.alliance) != (d["name"], d["alliance"]):
                self.fail(f"districts[{i}]", f"district {d['code']!r} already exists with other "
                          f"data (name {old.name!r}, alliance {str(old.alliance).lower()})")
        self.plan.existing_districts = found

    def _existing_schools(self) -> None:
        codes = [s["code"] for s in self.plan.schools if s["code"]]
        rows = _in_chunks(select(School, District.code).join(District), School.code, codes,
                          scalars=False)
        found = {school.code: (school, code) for school, code in rows}
        for i, s in enumerate(self.plan.schools):
            old = found.get(s["code"])
            if old is not None and (old[0].name, old[1]) != (s["name"], s["district"]):
                self.fail(f"schools[{i}]", f"school {s['code']!r} already exists with other data "
                          f"(name {old[0].name!r}, district {old[1]!r})")
        self.plan.existing_schools = {code: school for code, (school, _) in found.items()}

    def _existing_reviewers(self) -> None:
        emails = [r["email"] for r in self.plan.reviewers if r["email"]]
        found = {u.email.lower(): u for u in
                 _in_chunks(select(User), func.lower(User.email), emails)}
        for i, r in enumerate(self.plan.reviewers):
            old = found.get(r["email"])
            if old is None:
                continue
            if old.role != Role.REVIEWER:
                self.fail(f"reviewers[{i}].email", f"{r['email']} is an existing {old.role.value} "
                          "account, not a reviewer")
            elif old.name != r["name"]:
                self.fail(f"reviewers[{i}].name", f"{r['email']} already exists with the name "
                          f"{old.name!r}")
        self.plan.existing_users = found
        ids = {u.id: email for email, u in found.items()}
        conflicts: dict[str, set[str]] = {}
        for user_id, code in _in_chunks(
                select(ReviewerConflict.user_id, District.code).join(District),
                ReviewerConflict.user_id, list(ids), scalars=False):
            conflicts.setdefault(ids[user_id], set()).add(code)
        self.plan.existing_conflicts = conflicts
        self._recorded_conflicts()

    def _recorded_conflicts(self) -> None:
        """A review may not break a conflict the database already records for its reviewer."""
        recorded = self.plan.existing_conflicts
        if not recorded:
            return
        school_district = {s["code"]: s["district"] for s in self.plan.schools}
        for i, (a, r, *_rest) in enumerate(self.plan.reviews):
            if a is None or r is None:
                continue
            email = self.plan.reviewers[r]["email"]
            app = self.plan.applications[a]
            district = school_district.get(app["school"])
            if district in recorded.get(email, ()) and \
                    district not in self.plan.reviewers[r]["conflicts"]:
                self.fail(f"reviews[{i}].reviewer",
                          f"{email} has a recorded conflict with district {district!r} of "
                          f"application {app['ref']!r}")


def _in_chunks(stmt, column, values: list, *, scalars: bool = True, size: int = 5000) -> list:
    """Run ``stmt`` filtered by ``column IN values`` in chunks (bounded bind parameters)."""
    out: list = []
    for start in range(0, len(values), size):
        chunk = stmt.where(column.in_(values[start:start + size]))
        result = db.session.execute(chunk)
        out.extend(result.scalars() if scalars else result.all())
    return out


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


# --------------------------------------------------------------------------- bulk writes


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def allocate_ids(table: Table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``, ascending (PostgreSQL: from its sequence).

    On SQLite the transaction already holds the write lock (the caller has written first), so
    ``max(id) + 1 ...`` cannot be taken by anyone else before the commit.
    """
    if n == 0:
        return []
    if is_postgres():
        rows = db.session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": f'"{table.name}"', "n": n}).scalars().all()
        return sorted(rows)
    start = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
    return list(range(start, start + n))


def bulk_insert(table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                *, chunk: int = 20000) -> int:
    """Insert tuples (``columns`` order) in the session's transaction; return the count.

    PostgreSQL: ``COPY ... FROM STDIN`` on the session's connection. SQLite: executemany in
    chunks. Values are plain Python (Decimal, datetime with tz, str, bool, None).
    """
    if is_postgres():
        return _copy_rows(table, columns, rows)
    count, batch = 0, []
    stmt = insert(table)
    for row in rows:
        batch.append(dict(zip(columns, row)))
        if len(batch) >= chunk:
            db.session.execute(stmt, batch)
            count += len(batch)
            batch = []
    if batch:
        db.session.execute(stmt, batch)
        count += len(batch)
    return count


def _copy_rows(table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with copy_in(table, columns) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextmanager
def copy_in(table: Table, columns: Sequence[str]) -> Iterator[Any]:
    """A psycopg ``COPY table (columns) FROM STDIN`` on the session's connection (same
    transaction as everything else the caller does)."""
    raw = db.session.connection().connection.driver_connection
    cols = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        yield copy


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


# --------------------------------------------------------------------------- import


def import_bundle(data: dict, *, actor: User | None = None, source: str | None = None) -> dict:
    """Import a whole competition (all or nothing) and return its counts.

    Validates everything first (``BundleError`` names the JSON path of each problem and nothing
    is written), then writes in the caller's transaction with bulk inserts. ``source`` (e.g. the
    file name and its sha256) goes into the audit note. Returns
    ``{"competition": slug, "applications": N, "reviews": N}``.
    """
    plan = validate_bundle(data)
    competition = _write_competition(plan, actor)
    criteria_ids = _write_rubric(plan, competition)
    priority_ids = _write_priorities(plan, competition)
    district_ids, created_d = _write_districts(plan)
    school_ids, created_s = _write_schools(plan, district_ids)
    user_ids, created_u, added_c = _write_reviewers(plan, district_ids)
    app_ids = _write_applications(plan, competition, school_ids, priority_ids, actor)
    n_scores = _write_reviews(plan, app_ids, user_ids, criteria_ids, actor)
    counts = {"competition": competition.slug, "applications": len(app_ids),
              "reviews": len(plan.reviews)}
    audit.record("bundle.import", "competition", competition.id, actor=actor,
                 competition_id=competition.id, note=source,
                 after=counts | {"criterion_scores": n_scores,
                                 "submitted_reviews": sum(1 for r in plan.reviews if r[2]),
                                 "districts_created": created_d, "schools_created": created_s,
                                 "reviewers_created": created_u, "conflicts_added": added_c})
    db.session.flush()
    return counts


def _write_competition(plan: _Plan, actor: User | None) -> Competition:
    c, policy = plan.competition, plan.competition["policy"]
    competition = Competition(
        slug=c["slug"], program=Program(c["program"]), title=c["title"],
        fiscal_year=c["fiscal_year"], opens_at=c["opens_at"], closes_at=c["closes_at"],
        reviewers_per_application=c["reviewers_per_application"], total_funds=c["total_funds"],
        min_award=c["min_award"], max_award=c["max_award"],
        rubric_frozen_at=utcnow() if any(r[2] for r in plan.reviews) else None,
        **_policy_columns(policy),
    )
    db.session.add(competition)
    db.session.flush()  # on SQLite this takes the write lock before any id is allocated
    return competition


def _policy_columns(policy: dict[str, Any]) -> dict[str, Any]:
    """Validated policy knobs as Competition column values (enums as enum members)."""
    enums = {"aggregation": Aggregation, "normalization": Normalization, "fund_down": FundDown}
    out = {}
    for key, value in policy.items():
        if key in enums:
            value = enums[key](value)
        elif key == "tie_breakers":
            value = list(value)
        out[key] = value
    return out


def _write_rubric(plan: _Plan, competition: Competition) -> list[int]:
    """Sections and criteria in order; return criterion ids in rubric column order."""
    criteria = []
    for i, s in enumerate(plan.rubric.sections):
        section = RubricSection(competition=competition, key=s.key, title=s.title,
                                weight=s.weight, position=i)
        for j, c in enumerate(s.criteria):
            criterion = Criterion(competition_id=competition.id, section=section, key=c.key,
                                  title=c.title, max_points=c.max_points, step=c.step, position=j)
            criteria.append(criterion)
        db.session.add(section)
    db.session.flush()
    return [c.id for c in criteria]


def _write_priorities(plan: _Plan, competition: Competition) -> dict[str, int]:
    rows = [Priority(competition_id=competition.id, key=p["key"], title=p["title"],
                     points=p["points"]) for p in plan.priorities]
    db.session.add_all(rows)
    db.session.flush()
    return {p.key: p.id for p in rows}


def _write_districts(plan: _Plan) -> tuple[dict[str, int], int]:
    new = [District(code=d["code"], name=d["name"], alliance=d["alliance"])
           for d in plan.districts if d["code"] not in plan.existing_districts]
    db.session.add_all(new)
    db.session.flush()
    ids = {code: d.id for code, d in plan.existing_districts.items()}
    ids.update({d.code: d.id for d in new})
    return ids, len(new)


def _write_schools(plan: _Plan, district_ids: dict[str, int]) -> tuple[dict[str, int], int]:
    new = [s for s in plan.schools if s["code"] not in plan.existing_schools]
    ids = dict(zip((s["code"] for s in new), allocate_ids(School.__table__, len(new))))
    bulk_insert(School.__table__, ("id", "code", "name", "district_id"),
                ((ids[s["code"]], s["code"], s["name"], district_ids[s["district"]]) for s in new))
    ids.update({code: s.id for code, s in plan.existing_schools.items()})
    return ids, len(new)


def _write_reviewers(plan: _Plan, district_ids: dict[str, int]) -> tuple[dict[str, int], int, int]:
    new = [User(email=r["email"], name=r["name"], role=Role.REVIEWER, active=True,
                password_hash=None, session_token=secrets.token_hex(16))
           for r in plan.reviewers if r["email"] not in plan.existing_users]
    db.session.add_all(new)
    db.session.flush()
    ids = {email: u.id for email, u in plan.existing_users.items()}
    ids.update({u.email: u.id for u in new})
    conflicts = [(ids[r["email"]], district_ids[code]) for r in plan.reviewers
                 for code in r["conflicts"]
                 if code not in plan.existing_conflicts.get(r["email"], ())]
    bulk_insert(ReviewerConflict.__table__, ("user_id", "district_id"), conflicts)
    return ids, len(new), len(conflicts)


def _write_applications(plan: _Plan, competition: Competition, school_ids: dict[str, int],
                        priority_ids: dict[str, int], actor: User | None) -> list[int]:
    ids = allocate_ids(Application.__table__, len(plan.applications))
    now = utcnow()
    columns = ("id", "competition_id", "ref", "school_id", "created_by_id", "status",
               "requested_amount", "tier", "contacts", "eligible", "ineligible_reason",
               "submitted_at", "created_at", "updated_at", "version")
    contacts = "[]" if is_postgres() else []
    bulk_insert(Application.__table__, columns, (
        (i, competition.id, a["ref"], school_ids[a["school"]], actor.id if actor else None,
         ApplicationStatus.SUBMITTED.value, a["requested_amount"], a["tier"], contacts,
         a["eligible"], a["ineligible_reason"], a["submitted_at"], now, now, 1)
        for i, a in zip(ids, plan.applications)))
    bulk_insert(ApplicationPriority.__table__,
                ("application_id", "priority_id", "claimed", "confirmed"),
                ((i, priority_ids[k], True, True)
                 for i, a in zip(ids, plan.applications) for k in a["priorities"]))
    return ids


def _write_reviews(plan: _Plan, app_ids: list[int], user_ids: dict[str, int],
                   criteria_ids: list[int], actor: User | None) -> int:
    """Reviews, their assignments and every criterion score; return the number of scores."""
    ids = allocate_ids(Review.__table__, len(plan.reviews))
    emails = [r["email"] for r in plan.reviewers]
    now = utcnow()
    submitted, draft = ReviewStatus.SUBMITTED.value, ReviewStatus.DRAFT.value
    pairs = [(app_ids[a], user_ids[emails[r]]) for a, r, *_ in plan.reviews]
    bulk_insert(Review.__table__,
                ("id", "application_id", "reviewer_id", "status", "updated_at", "version"),
                ((i, a, u, submitted if rv[2] else draft, now, 1)
                 for i, (a, u), rv in zip(ids, pairs, plan.reviews)))
    bulk_insert(ReviewerAssignment.__table__,
                ("application_id", "reviewer_id", "status", "assigned_by_id", "assigned_at"),
                ((a, u, AssignmentStatus.ASSIGNED.value, actor.id if actor else None, now)
                 for a, u in pairs))
    if not is_postgres():
        return _insert_scores(plan, ids, criteria_ids)
    n_scores = sum(len(r[3]) for r in plan.reviews)
    dropped = _drop_score_foreign_keys() if n_scores >= BULK_FK_THRESHOLD else None
    count = _copy_scores(plan, ids, criteria_ids)
    if dropped is not None:
        _restore_foreign_keys(dropped)
    return count


def _drop_score_foreign_keys() -> list[tuple[str, str]] | None:
    """Drop criterion_score's foreign keys for this transaction; None if that is not possible.

    PostgreSQL checks a foreign key with one trigger call per inserted row (~6 µs here, two
    keys per score); re-adding the key afterwards checks every row in one join (~2 s for 7.5M
    rows). It needs the table's owner and an ACCESS EXCLUSIVE lock on criterion_score (SHARE
    ROW EXCLUSIVE on review and criterion) until commit: if the locks are not granted within
    ``BULK_LOCK_TIMEOUT`` or the user may not alter the table, the import falls back to the
    row-by-row checks. Everything is undone by a rollback.
    """
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{BULK_LOCK_TIMEOUT}'"))
        db.session.execute(text(
            'LOCK TABLE "review", "criterion" IN SHARE ROW EXCLUSIVE MODE'))
        db.session.execute(text('LOCK TABLE "criterion_score" IN ACCESS EXCLUSIVE MODE'))
        keys = db.session.execute(text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'criterion_score'::regclass AND contype = 'f' ORDER BY conname"
        )).all()
        for name, _ in keys:
            db.session.execute(text(f'ALTER TABLE "criterion_score" DROP CONSTRAINT "{name}"'))
        db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    except DBAPIError as exc:  # lock not granted in time, or not the table's owner
        savepoint.rollback()
        log.info("bulk score import keeps row-by-row foreign key checks: %s",
                 str(getattr(exc, "orig", exc)).splitlines()[0])
        return None
    savepoint.commit()
    return [tuple(k) for k in keys]


def _restore_foreign_keys(keys: list[tuple[str, str]]) -> None:
    """Re-add the dropped keys, same names and definitions; PostgreSQL validates every row."""
    for name, definition in keys:
        db.session.execute(text(
            f'ALTER TABLE "criterion_score" ADD CONSTRAINT "{name}" {definition}'))


def _score_suffixes(plan: _Plan, criteria_ids: list[int]) -> dict[tuple[str, Any], str]:
    """(key, value) → the COPY text after the review id: criterion, points, max, no comment."""
    maxima = [fmt_decimal(c.max_points) for c in plan.rubric.criteria]
    return {k: f"\t{criteria_ids[col]}\t{pts}\t{maxima[col]}\t\\N\n"
            for k, (col, pts) in plan.score_cache.items()}


def _copy_scores(plan: _Plan, review_ids: list[int], criteria_ids: list[int]) -> int:
    """COPY every criterion score as text built straight from the validated values."""
    suffix = _score_suffixes(plan, criteria_ids)
    index = plan.rubric.criterion_index
    maxima = [fmt_decimal(c.max_points) for c in plan.rubric.criteria]
    count, parts = 0, []
    with copy_in(CriterionScore.__table__,
                 ("review_id", "criterion_id", "points", "max_points", "comment")) as copy:
        for rid, (_, _, _, scores, comments) in zip(review_ids, plan.reviews):
            rid = str(rid)
            if comments:
                for key, v in scores.items():
                    line = suffix[(key, v)]
                    if key in comments:
                        line = line[:-3] + _copy_text(comments[key]) + "\n"
                    parts.append(rid + line)
                for key in comments.keys() - scores.keys():  # a draft's comment, no points yet
                    col = index[key]
                    parts.append(f"{rid}\t{criteria_ids[col]}\t\\N\t{maxima[col]}\t"
                                 f"{_copy_text(comments[key])}\n")
                    count += 1
            else:
                parts.extend([rid + suffix[item] for item in scores.items()])
            count += len(scores)
            if len(parts) >= 100_000:
                copy.write("".join(parts))
                parts = []
        copy.write("".join(parts))
    return count


def _insert_scores(plan: _Plan, review_ids: list[int], criteria_ids: list[int]) -> int:
    maxima = [c.max_points for c in plan.rubric.criteria]
    cache = plan.score_cache
    points = {text: Decimal(text) for _, text in cache.values()}

    index = plan.rubric.criterion_index

    def rows():
        for rid, (_, _, _, scores, comments) in zip(review_ids, plan.reviews):
            for key, v in scores.items():
                col, pts = cache[(key, v)]
                yield rid, criteria_ids[col], points[pts], maxima[col], comments.get(key)
            for key in comments.keys() - scores.keys():  # a draft's comment, no points yet
                col = index[key]
                yield rid, criteria_ids[col], None, maxima[col], comments[key]

    return bulk_insert(CriterionScore.__table__,
                       ("review_id", "criterion_id", "points", "max_points", "comment"), rows())


# --------------------------------------------------------------------------- export


def _num(value: Decimal | float) -> int | float:
    """A stored number as a JSON number: an int when integral, else a float."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return int(value) if value == value.to_integral_value() else float(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(Decimal('0.01'))}"


def _local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LOCAL_TZ).isoformat()


def export_bundle(competition: Competition, *, actor: User | None = None) -> dict:
    """The competition as a bundle (docs/bundle.md format 1); importing it gives the same data.

    Records a ``bundle.export`` audit event (the bundle holds reviewers' names and scores), so
    the caller commits.
    """
    rubric = _export_rubric(competition)
    apps = _export_applications(competition)
    reviews, reviewer_ids = _export_reviews(competition)
    reviewers, conflict_districts = _export_reviewers(reviewer_ids)
    schools = sorted(_in_chunks(select(School.code, School.name, District.code).join(District),
                                School.code, sorted({a["school"] for a in apps}), scalars=False))
    district_codes = sorted({s[2] for s in schools} | conflict_districts)
    districts = sorted(_in_chunks(select(District.code, District.name, District.alliance),
                                  District.code, district_codes, scalars=False))
    audit.record("bundle.export", "competition", competition.id, actor=actor,
                 competition_id=competition.id,
                 after={"applications": len(apps), "reviews": len(reviews)})
    return {
        "format": FORMAT,
        "competition": _export_competition(competition),
        "rubric": rubric,
        "priorities": [{"key": p.key, "title": p.title, "points": _num(p.points)}
                       for p in db.session.scalars(select(Priority).where(
                           Priority.competition_id == competition.id).order_by(Priority.id))],
        "districts": [{"code": c, "name": n, "alliance": a} for c, n, a in districts],
        "schools": [{"code": c, "name": n, "district": d} for c, n, d in schools],
        "reviewers": reviewers,
        "applications": apps,
        "reviews": reviews,
    }


def _export_competition(c: Competition) -> dict:
    return {
        "slug": c.slug, "program": c.program.value, "title": c.title,
        "fiscal_year": c.fiscal_year, "opens_at": _local(c.opens_at),
        "closes_at": _local(c.closes_at), "reviewers_per_application": c.reviewers_per_application,
        "total_funds": _money(c.total_funds), "min_award": _money(c.min_award),
        "max_award": _money(c.max_award),
        "policy": {
            "aggregation": c.aggregation.value, "normalization": c.normalization.value,
            "min_reviews": c.min_reviews, "discrepancy_threshold": _num(c.discrepancy_threshold),
            "min_score": _num(c.min_score), "tie_breakers": list(c.tie_breakers or []),
            "fund_down": c.fund_down.value, "partial_funding": c.partial_funding,
            "partial_min": _money(c.partial_min), "district_max_awards": c.district_max_awards,
            "district_max_amount": _money(c.district_max_amount),
        },
    }


def _export_rubric(c: Competition) -> dict:
    sections = db.session.scalars(select(RubricSection).where(
        RubricSection.competition_id == c.id).order_by(RubricSection.position, RubricSection.id))
    out = []
    for s in sections:
        d: dict[str, Any] = {"key": s.key, "title": s.title}
        if s.weight is not None:
            d["weight"] = _num(s.weight)
        d["criteria"] = [{"key": x.key, "title": x.title, "max_points": _num(x.max_points),
                          "step": _num(x.step)} for x in s.criteria]
        out.append(d)
    return {"sections": out}


def _export_applications(c: Competition) -> list[dict]:
    prios: dict[int, list[str]] = {}
    for app_id, key in db.session.execute(
            select(ApplicationPriority.application_id, Priority.key).join(Priority)
            .join(Application, Application.id == ApplicationPriority.application_id)
            .where(Application.competition_id == c.id, ApplicationPriority.confirmed.is_(True))
            .order_by(ApplicationPriority.application_id, Priority.id)):
        prios.setdefault(app_id, []).append(key)
    rows = db.session.execute(
        select(Application.id, Application.ref, School.code, Application.requested_amount,
               Application.tier, Application.eligible, Application.ineligible_reason,
               Application.submitted_at).join(School)
        .where(Application.competition_id == c.id,
               Application.status == ApplicationStatus.SUBMITTED)
        .order_by(Application.id))
    return [{"ref": ref, "school": school, "requested_amount": _money(amount), "tier": tier,
             "priorities": prios.get(app_id, []), "eligible": eligible,
             "ineligible_reason": reason, "submitted_at": _local(submitted)}
            for app_id, ref, school, amount, tier, eligible, reason, submitted in rows]


def _export_reviews(c: Competition) -> tuple[list[dict], set[int]]:
    """Reviews of the submitted applications, in import order, with their scores."""
    counted_apps = (select(Application.id).where(Application.competition_id == c.id,
                                                 Application.status == ApplicationStatus.SUBMITTED))
    conflicted = select(ReviewerAssignment.id).where(
        ReviewerAssignment.application_id == Review.application_id,
        ReviewerAssignment.reviewer_id == Review.reviewer_id,
        ReviewerAssignment.status == AssignmentStatus.CONFLICT).exists()
    reviews = db.session.execute(
        select(Review.id, Application.ref, User.email, Review.reviewer_id,
               (Review.status == ReviewStatus.SUBMITTED) & ~conflicted)
        .join(Application, Application.id == Review.application_id)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.application_id.in_(counted_apps)).order_by(Review.id)).all()
    scores: dict[int, dict] = {}
    comments: dict[int, dict] = {}
    stream = db.session.execute(
        select(CriterionScore.review_id, Criterion.key, cast(CriterionScore.points, Float),
               CriterionScore.comment)
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        .join(RubricSection, RubricSection.id == Criterion.section_id)
        .where(Criterion.competition_id == c.id)
        .order_by(CriterionScore.review_id, RubricSection.position, Criterion.position),
        execution_options={"yield_per": 50_000})
    for review_id, key, points, comment in stream:
        if points is not None:  # a draft may hold a comment before its points
            scores.setdefault(review_id, {})[key] = _num(points)
        if comment is not None:
            comments.setdefault(review_id, {})[key] = comment
    out = [{"application": ref, "reviewer": email, "submitted": bool(counted),
            "scores": scores.get(rid, {}), "comments": comments.get(rid, {})}
           for rid, ref, email, _, counted in reviews]
    return out, {r[3] for r in reviews}


def _export_reviewers(user_ids: set[int]) -> tuple[list[dict], set[str]]:
    users = _in_chunks(select(User.id, User.email, User.name), User.id, sorted(user_ids),
                       scalars=False)
    conflicts: dict[int, list[str]] = {}
    for user_id, code in _in_chunks(
            select(ReviewerConflict.user_id, District.code).join(District),
            ReviewerConflict.user_id, sorted(user_ids), scalars=False):
        conflicts.setdefault(user_id, []).append(code)
    out = [{"email": email, "name": name, "conflicts": sorted(conflicts.get(uid, []))}
           for uid, email, name in sorted(users, key=lambda u: u[1])]
    return out, {code for codes in conflicts.values() for code in codes}

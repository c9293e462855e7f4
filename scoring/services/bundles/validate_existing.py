"""Bundle validation against the database: the slug is new, and the districts, schools and
reviewers the bundle shares with existing records match them (nothing is overwritten).

A mixin of the validator (``validation._Validator``); it fills ``plan.existing_*``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import Competition, District, ReviewerConflict, Role, School, User
from scoring.services.db import in_chunks


class _DatabaseChecks:
    """The database part of the validator (needs ``plan`` and ``fail``)."""

    plan: Any
    fail: Any

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
        found = {d.code: d for d in in_chunks(select(District), District.code, codes)}
        for i, d in enumerate(self.plan.districts):
            old = found.get(d["code"])
            if old is not None and (old.name, old.alliance) != (d["name"], d["alliance"]):
                self.fail(
                    f"districts[{i}]",
                    f"district {d['code']!r} already exists with other "
                    f"data (name {old.name!r}, alliance {str(old.alliance).lower()})",
                )
        self.plan.existing_districts = found

    def _existing_schools(self) -> None:
        codes = [s["code"] for s in self.plan.schools if s["code"]]
        rows = in_chunks(
            select(School, District.code).join(District), School.code, codes, scalars=False
        )
        found = {school.code: (school, code) for school, code in rows}
        for i, s in enumerate(self.plan.schools):
            old = found.get(s["code"])
            if old is not None and (old[0].name, old[1]) != (s["name"], s["district"]):
                self.fail(
                    f"schools[{i}]",
                    f"school {s['code']!r} already exists with other data "
                    f"(name {old[0].name!r}, district {old[1]!r})",
                )
        self.plan.existing_schools = {code: school for code, (school, _) in found.items()}

    def _existing_reviewers(self) -> None:
        emails = [r["email"] for r in self.plan.reviewers if r["email"]]
        found = {
            u.email.lower(): u for u in in_chunks(select(User), func.lower(User.email), emails)
        }
        for i, r in enumerate(self.plan.reviewers):
            old = found.get(r["email"])
            if old is None:
                continue
            if old.role != Role.REVIEWER:
                self.fail(
                    f"reviewers[{i}].email",
                    f"{r['email']} is an existing {old.role.value} account, not a reviewer",
                )
            elif old.name != r["name"]:
                self.fail(
                    f"reviewers[{i}].name",
                    f"{r['email']} already exists with the name {old.name!r}",
                )
        self.plan.existing_users = found
        ids = {u.id: email for email, u in found.items()}
        conflicts: dict[str, set[str]] = {}
        for user_id, code in in_chunks(
            select(ReviewerConflict.user_id, District.code).join(District),
            ReviewerConflict.user_id,
            list(ids),
            scalars=False,
        ):
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
            if (
                district in recorded.get(email, ())
                and district not in self.plan.reviewers[r]["conflicts"]
            ):
                self.fail(
                    f"reviews[{i}].reviewer",
                    f"{email} has a recorded conflict with district {district!r} of "
                    f"application {app['ref']!r}",
                )

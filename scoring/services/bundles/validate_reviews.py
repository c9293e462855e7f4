"""Bundle validation of the reviews: references, conflicts, every score against the rubric.

A mixin of the validator (``validation._Validator``): it reads the plan built so far
(applications, reviewers, schools, rubric) and appends each review to ``plan.reviews``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from scoring.core.numbers import fmt_decimal, to_decimal
from scoring.services.bundles.checks import _NUMBER_TYPES, _at, _kind

_NUMERIC = frozenset(_NUMBER_TYPES)  # exact types: a bool is not a number here
_PAIR = frozenset((tuple,))  # a cached (column, points) pair: checked before and valid


_REVIEW_KEYS = frozenset(("application", "reviewer", "submitted", "scores"))
_REVIEW_REQUIRED = ("application", "reviewer", "submitted", "scores")


@dataclass
class _Lookups:
    """What checking one review needs, built once per bundle."""

    apps: dict[str, int]
    reviewers: dict[str, int]
    app_district: list[str | None]
    conflicts: list[set[str]]
    n_criteria: int
    pairs: set[tuple[int, int]] = field(default_factory=set)


class _ReviewChecks:
    """The ``reviews`` part of the validator (needs ``plan``, ``fail``, ``obj``, ``array``)."""

    plan: Any
    fail: Any
    obj: Any
    array: Any

    def reviews(self, value: Any) -> None:
        """The hot loop (7.5M scores at scale): each (criterion, value) is checked once."""
        look = self._review_lookups()
        for i, item in enumerate(self.array(value, "reviews")):
            if not self._review_object(item, i):
                continue
            a, r, submitted = self._review_pair(item, i, look)
            scores = self._review_scores(item.get("scores"), i, submitted is True, look)
            comments = self._comments(item.get("comments", {}), scores, i)
            self.plan.reviews.append((a, r, submitted is True, scores, comments))

    def _review_lookups(self) -> _Lookups:
        plan = self.plan
        school_district = {s["code"]: s["district"] for s in plan.schools}
        return _Lookups(
            apps={a["ref"]: i for i, a in enumerate(plan.applications) if a["ref"]},
            reviewers={r["email"]: i for i, r in enumerate(plan.reviewers) if r["email"]},
            app_district=[school_district.get(a["school"]) for a in plan.applications],
            conflicts=[set(r["conflicts"]) for r in plan.reviewers],
            n_criteria=len(plan.rubric.criteria) if plan.rubric else 0,
        )

    def _review_object(self, item: Any, i: int) -> bool:
        """A review is an object with exactly its keys (fast path), else checked in full."""
        if type(item) is dict and item.keys() <= _REVIEW_KEYS and len(item) == 4:
            return True
        return self.obj(item, f"reviews[{i}]", _REVIEW_REQUIRED, ("comments",)) is not None

    def _review_pair(self, item: dict, i: int, look: _Lookups) -> tuple[Any, Any, Any]:
        """(application index, reviewer index, submitted); one review per pair, no conflict."""
        email = item.get("reviewer")
        a = look.apps.get(item.get("application"))
        r = look.reviewers.get(email.strip().lower()) if type(email) is str else None
        submitted = item.get("submitted")
        if a is None or r is None or type(submitted) is not bool:
            self._review_refs(item, i, a, r)
        elif (a, r) in look.pairs:
            self.fail(
                f"reviews[{i}]",
                f"a second review of {item['application']!r} by {item['reviewer']!r}",
            )
        else:
            look.pairs.add((a, r))
            if look.app_district[a] in look.conflicts[r]:
                self.fail(
                    f"reviews[{i}].reviewer",
                    f"{item['reviewer']} has a declared conflict with district "
                    f"{look.app_district[a]!r} of application {item['application']!r}",
                )
        return a, r, submitted

    def _review_scores(self, scores: Any, i: int, submitted: bool, look: _Lookups) -> dict:
        """The review's scores (``{}`` if not an object); a submitted one scores everything."""
        rubric = self.plan.rubric
        if type(scores) is not dict:
            self.fail(f"reviews[{i}].scores", f"expected an object, got {_kind(scores)}")
            return {}
        if rubric is not None:
            self._scores(scores, i)
            if submitted and len(scores) != look.n_criteria:
                missing = [c.key for c in rubric.criteria if c.key not in scores]
                self.fail(
                    f"reviews[{i}].scores",
                    f"a submitted review must score every criterion; missing {', '.join(missing)}",
                )
        return scores

    def _review_refs(self, item: dict, i: int, a: int | None, r: int | None) -> None:
        p = f"reviews[{i}]"
        if a is None and "application" in item:
            self.fail(_at(p, "application"), f"unknown application {item['application']!r}")
        if r is None and "reviewer" in item:
            self.fail(_at(p, "reviewer"), f"unknown reviewer {item['reviewer']!r}")
        if "submitted" in item and type(item["submitted"]) is not bool:
            self.fail(
                _at(p, "submitted"), f"expected true or false, got {_kind(item['submitted'])}"
            )

    def _scores(self, scores: dict, i: int) -> None:
        cache = self.plan.score_cache
        # fast path: every value a number (not a bool) whose (criterion, value) passed before
        if _NUMERIC.issuperset(map(type, scores.values())) and _PAIR.issuperset(
            map(type, map(cache.get, scores.items()))
        ):
            return
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

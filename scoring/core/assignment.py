"""Balanced reviewer assignment (pure: standard library only, no Flask, no database).

Rules, applied to every pair this module proposes:

- an application gets up to ``needed`` *more* reviewers (the caller subtracts the reviewers it
  already has from ``Competition.reviewers_per_application``);
- never a reviewer already on the application, nor one ``blocked`` for it (a conflict the
  reviewer declared on it, or an assignment staff removed);
- never a reviewer whose own district or declared conflict districts (``Reviewer.districts``)
  contain the application's school district;
- no reviewer ends with more than ``cap`` assignments in the competition (existing load counted).

Algorithm (deterministic; the input order does not matter):

1. *Most constrained first.* Applications are ordered by how many reviewers may take them
   (fewest first), then by id.
2. *Balanced rounds.* In round ``k`` every application still short gets its ``k``-th new
   reviewer, so when reviewers run short every application has one before any has two. Each pick
   is the eligible reviewer with the lowest ``(load, times already paired with this application's
   reviewers, id)``: the lightest load first, then the most varied panels.
3. *Repair.* For an application still short, an augmenting path (as in Kuhn's algorithm, on
   the flow network source → application → reviewer → sink) moves new pairs around to free a
   reviewer for it, until no such path is left. Then no assignment covering more slots exists
   under the rules (max-flow/min-cut), so a shortfall that remains is real: raise the cap or
   invite more reviewers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["ApplicationNeed", "Plan", "Reviewer", "eligible", "plan_assignment"]


@dataclass(frozen=True, slots=True)
class ApplicationNeed:
    """An application to staff: ``needed`` more reviewers, avoiding ``current`` and ``blocked``."""

    id: int
    district_id: int | None
    needed: int
    current: frozenset[int] = frozenset()
    blocked: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Reviewer:
    """A reviewer with the districts they may not review and their current load."""

    id: int
    districts: frozenset[int] = frozenset()
    load: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """New ``(application_id, reviewer_id)`` pairs, sorted, and what could not be filled."""

    pairs: tuple[tuple[int, int], ...]
    #: application id → slots left unfilled (only applications with a shortfall).
    shortfall: dict[int, int] = field(default_factory=dict)
    #: reviewer id → load after the plan (existing plus new).
    loads: dict[int, int] = field(default_factory=dict)


def eligible(app: ApplicationNeed, reviewer: Reviewer) -> bool:
    """May ``reviewer`` be added to ``app`` under the rules of this module?"""
    if reviewer.id in app.current or reviewer.id in app.blocked:
        return False
    return app.district_id is None or app.district_id not in reviewer.districts


class _State:
    """Working state of one planning run."""

    def __init__(self, apps: list[ApplicationNeed], reviewers: list[Reviewer], cap: int | None):
        self.apps = {a.id: a for a in apps}
        self.cap = cap
        self.loads = {r.id: r.load for r in reviewers}
        self.candidates = {a.id: [r.id for r in reviewers if eligible(a, r)] for a in apps}
        self.new: dict[int, list[int]] = {a.id: [] for a in apps}  # app → new reviewers
        self.held: dict[int, set[int]] = {r.id: set() for r in reviewers}  # reviewer → new apps
        self.together: Counter[tuple[int, int]] = Counter()  # reviewer pairs sharing an app
        for a in apps:
            self._pair_up(sorted(a.current))

    def _pair_up(self, ids: list[int]) -> None:
        for i, x in enumerate(ids):
            for y in ids[i + 1 :]:
                self.together[(min(x, y), max(x, y))] += 1

    def short(self, app_id: int) -> int:
        return self.apps[app_id].needed - len(self.new[app_id])

    def has_room(self, reviewer_id: int) -> bool:
        return self.cap is None or self.loads[reviewer_id] < self.cap

    def on_app(self, app_id: int) -> set[int]:
        return set(self.apps[app_id].current) | set(self.new[app_id])

    def give(self, app_id: int, reviewer_id: int) -> None:
        for other in self.on_app(app_id):
            self.together[(min(other, reviewer_id), max(other, reviewer_id))] += 1
        self.new[app_id].append(reviewer_id)
        self.held[reviewer_id].add(app_id)
        self.loads[reviewer_id] += 1

    def take_back(self, app_id: int, reviewer_id: int) -> None:
        self.new[app_id].remove(reviewer_id)
        self.held[reviewer_id].discard(app_id)
        self.loads[reviewer_id] -= 1
        for other in self.on_app(app_id):
            self.together[(min(other, reviewer_id), max(other, reviewer_id))] -= 1

    def best(self, app_id: int) -> int | None:
        """The eligible reviewer with room and the lowest (load, pairings, id), or None."""
        on = self.on_app(app_id)
        options = [r for r in self.candidates[app_id] if r not in on and self.has_room(r)]
        if not options:
            return None
        return min(
            options,
            key=lambda r: (
                self.loads[r],
                sum(self.together[(min(o, r), max(o, r))] for o in on),
                r,
            ),
        )

    def augment(self, app_id: int, seen: set[int]) -> bool:
        """Kuhn's step: find a reviewer for ``app_id``, moving other new pairs if needed."""
        on = self.on_app(app_id)
        for r in self.candidates[app_id]:
            if r in on or r in seen:
                continue
            seen.add(r)
            if self.has_room(r):
                self.give(app_id, r)
                return True
            for other in sorted(self.held[r]):
                if self.augment(other, seen):
                    self.take_back(other, r)
                    self.give(app_id, r)
                    return True
        return False


def plan_assignment(
    applications: Iterable[ApplicationNeed], reviewers: Iterable[Reviewer], cap: int | None
) -> Plan:
    """Propose new pairs under the module's rules; see the module docstring for the algorithm.

    ``cap`` is the most assignments a reviewer may hold in the competition (``None``: no cap).
    Raise ``ValueError`` for a negative need or cap, or duplicate ids.
    """
    apps = sorted(applications, key=lambda a: a.id)
    people = sorted(reviewers, key=lambda r: r.id)
    _check(apps, people, cap)
    state = _State(apps, people, cap)
    order = sorted((a.id for a in apps), key=lambda i: (len(state.candidates[i]), i))
    for _ in range(max((a.needed for a in apps), default=0)):
        for app_id in order:
            if state.short(app_id) > 0:
                pick = state.best(app_id)
                if pick is not None:
                    state.give(app_id, pick)
    progress = True
    while progress:  # repeat until no augmenting path is left (then the cover is maximal)
        progress = False
        for app_id in order:
            while state.short(app_id) > 0 and state.augment(app_id, set()):
                progress = True
    pairs = tuple(sorted((a, r) for a, rs in state.new.items() for r in rs))
    shortfall = {a: state.short(a) for a in state.new if state.short(a) > 0}
    return Plan(pairs=pairs, shortfall=shortfall, loads=dict(sorted(state.loads.items())))


def _check(apps: list[ApplicationNeed], people: list[Reviewer], cap: int | None) -> None:
    if cap is not None and cap < 0:
        raise ValueError("cap must be >= 0")
    if any(a.needed < 0 for a in apps):
        raise ValueError("needed must be >= 0")
    if len({a.id for a in apps}) != len(apps) or len({r.id for r in people}) != len(people):
        raise ValueError("duplicate ids")

"""What-if: rank the committed data with changed policy knobs and compare the slate with the
current run, over narrow columns, shown a page at a time (issue 14).

A competition of up to ``WHAT_IF_INLINE_MAX`` applications (150,000) is ranked in the request
by the core over the narrow columns a ranking run reads (``read_inputs``: no explanation, no
result row written, nothing saved). A larger one is ranked by the worker as a what-if run
(``save_what_if``, the run machinery) and compared once it is done (``compare_run``). Either
way the comparison is ``scoring.core.ranking.compare`` over the tried ranks and awards and the
baseline's ranks and awards (the narrow columns the board keeps per run, ``board_index``,
never the explanation), and only the page shown is turned into rows with school names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select

from scoring.core.numbers import cents_dec, report
from scoring.core.ranking import Policy, PolicyError, rank_columns, rank_columns_beside
from scoring.core.ranking.columns import STATUSES
from scoring.core.ranking.compare import CHANGES, KINDS, Comparison, compare
from scoring.core.ranking.stability import stability
from scoring.core.rubric import RubricError
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import (
    Competition,
    RankingRun,
    School,
    User,
)
from scoring.runtime import app_config
from scoring.services.kept import Kept
from scoring.services.ranking import board_index
from scoring.services.ranking.board import current_run
from scoring.services.ranking.inputs import read_inputs
from scoring.services.ranking.runs import create_run, policy_for

#: The what-if page bootstraps the tried set in the request only up to this many applications
#: (B = 200); a larger competition's what-if gets its stability when saved as a run.
WHAT_IF_STABILITY_MAX = 2000
WHAT_IF_RESAMPLES = 200
#: Above this many applications (``WHAT_IF_INLINE_MAX`` in the configuration) a what-if is
#: ranked by the worker as a what-if run rather than in the request (at 100,000 applications
#: the request takes about as long as reading a ranking run's inputs: bench/README.md).
WHAT_IF_INLINE_MAX = 150000
PAGE_SIZE = 100


@dataclass
class WhatIfRow:
    """One application under the tried policy, beside its result in the current run."""

    ref: str
    school: str
    district: str
    rank: int | None
    final: float | None
    status: str
    award: Decimal
    before_status: str | None
    before_award: Decimal | None
    before_rank: int | None
    exception: bool = False
    change: str | None = None


@dataclass
class Slate:
    """A slate as narrow columns in document order: refs, school codes, districts, rank
    (0: not ranked), final (reporting places, ``None`` without a review), status, award."""

    refs: list[str]
    schools: list[str]
    districts: list[str]
    rank: np.ndarray
    final: list[float | None]
    status: list[str]
    award: np.ndarray  # cents


@dataclass
class Baseline:
    """The current run's narrow columns aligned on a slate's refs."""

    run: RankingRun | None
    rank: np.ndarray
    award: np.ndarray
    status: list[str | None]
    present: np.ndarray
    exceptions: set[str] = field(default_factory=set)


@dataclass
class WhatIf:
    """The slate a policy change gives and how it differs from the current run."""

    overrides: dict[str, Any]
    policy: dict[str, Any]
    total_funds: Decimal
    total_awarded: Decimal
    remaining: Decimal
    slate: Slate
    before: Baseline
    diff: Comparison
    data_changed: bool
    #: ref → stability figures of the tried set (docs/stability.md), for small competitions
    stability: dict[str, dict[str, Any]] | None = None
    stability_resamples: int = WHAT_IF_RESAMPLES
    run: RankingRun | None = None  # the what-if run compared (worker path)
    #: Names this computation (baseline run, settings, inputs hash) for its pages (``recent``).
    snapshot: str = ""
    inputs_sha256: str = ""  # of the data ranked (in the request)

    @property
    def baseline(self) -> RankingRun | None:
        """The run compared with."""
        return self.before.run

    def counts(self) -> dict[str, int]:
        """How many enter, leave, change amount, move up or down (``compare.KINDS``)."""
        return self.diff.counts()

    def page(self, kind: str = "changed", page: int = 1, per: int = PAGE_SIZE):
        """The rows of one page of ``kind``, how many there are, the page shown and pages."""
        kind = kind if kind in KINDS else "changed"
        matching = int(self.diff.mask(kind).sum())
        pages = max(1, -(-matching // per))
        page = min(max(1, page), pages)
        idx, _ = self.diff.select(kind, (page - 1) * per, page * per)
        return self._rows(idx.tolist()), matching, page, pages

    def of(self, kind: str) -> list[WhatIfRow]:
        """Every row of ``kind`` (small competitions and tests)."""
        return self._rows(np.flatnonzero(self.diff.mask(kind)).tolist())

    def _rows(self, idx: list[int]) -> list[WhatIfRow]:
        s, b = self.slate, self.before
        names = _school_names([s.schools[i] for i in idx])
        out = []
        for i in idx:
            there = bool(b.present[i])
            out.append(
                WhatIfRow(
                    s.refs[i],
                    names.get(s.schools[i], s.schools[i]),
                    s.districts[i],
                    int(s.rank[i]) or None,
                    s.final[i],
                    s.status[i],
                    cents_dec(int(s.award[i])),
                    b.status[i] if there else None,
                    cents_dec(int(b.award[i])) if there else None,
                    (int(b.rank[i]) or None) if there else None,
                    s.refs[i] in b.exceptions,
                    CHANGES[int(self.diff.change[i])],
                )
            )
        return out


WHAT_IF_KNOBS = (
    "total_funds",
    "min_score",
    "normalization",
    "aggregation",
    "fund_down",
    "max_award",
    "district_max_awards",
    "district_max_amount",
    "partial_funding",
    "partial_min",
)


def inline_max() -> int:
    """The largest competition whose what-if is ranked in the request."""
    return int(app_config().get("WHAT_IF_INLINE_MAX", WHAT_IF_INLINE_MAX))


def size_of(competition: Competition) -> int:
    """How many applications a ranking of ``competition`` reads (submitted ones)."""
    from scoring.services.competitions.phases import screening_counts

    return screening_counts(competition.id)[1]


def check_knobs(competition: Competition, overrides: Mapping[str, Any]) -> Policy:
    """The policy with ``overrides``, or ``InputError`` naming the knob at fault."""
    from scoring.services.competitions.policy import policy_error

    unknown = sorted(set(overrides) - set(WHAT_IF_KNOBS))
    if unknown:
        raise InputError(f"{unknown[0]} cannot be tried here", None)
    try:
        return policy_for(competition, dict(overrides))
    except PolicyError as exc:
        raise policy_error(exc, WHAT_IF_KNOBS) from None


def what_if(competition: Competition, overrides: Mapping[str, Any]) -> WhatIf:
    """Rank the committed data in-process with policy ``overrides`` and compare with the current
    run. Nothing is written. ``InputError`` names the knob at fault."""
    from scoring.services.competitions.policy import policy_error

    policy = check_knobs(competition, overrides)
    baseline = current_run(competition)
    try:
        tie_breakers = [
            *policy.tie_breakers,
            *((baseline.policy or {}).get("tie_breakers") or () if baseline is not None else ()),
        ]
        inputs = read_inputs(competition, tie_breakers=tie_breakers)
        args = (inputs.applications, inputs.review_app, inputs.review_reviewer, inputs.points)
        if baseline is None:
            result, data_changed = (
                rank_columns(inputs.rubric, policy, *args, inputs.priorities),
                False,
            )
        else:  # the data changed if its hash under the run's policy is not the run's
            result, before_sha = rank_columns_beside(
                inputs.rubric, policy, Policy.from_dict(baseline.policy), *args, inputs.priorities
            )
            data_changed = before_sha != baseline.inputs_sha256
    except PolicyError as exc:
        raise policy_error(exc, WHAT_IF_KNOBS) from None
    except (RubricError, ValueError) as exc:
        raise InputError(f"the data cannot be ranked as it is: {exc}") from None
    slate = _slate_of_result(result)
    before = _baseline(baseline, slate.refs)
    return WhatIf(
        dict(overrides),
        result.policy.to_dict(),
        result.total_funds,
        result.total_awarded,
        result.remaining,
        slate,
        before,
        compare(slate.rank, slate.award, before.rank, before.award, before.present),
        data_changed,
        stability(result, WHAT_IF_RESAMPLES).records()
        if len(inputs.applications) <= WHAT_IF_STABILITY_MAX
        else None,
        inputs_sha256=result.inputs_sha256,
    )


#: What-ifs computed in this process in the last few minutes, by snapshot: the pages of one
#: diff (``?snapshot=``) come from one computation. Kept without the baseline run object (a
#: session's), and never changed in place (``services.kept``).
_RECENT: Kept[tuple[int | None, WhatIf]] = Kept(8, ttl=300)


def recent(competition: Competition, overrides: Mapping[str, Any], snapshot: str = "") -> WhatIf:
    """``what_if``, or the one computed in this process in the last few minutes under
    ``snapshot`` (made from the baseline run, the settings and the inputs hash) when it was of
    the same baseline run and settings: a page of it equals the same page computed fresh from
    the data as it was then. A new computation gets its ``snapshot``."""
    baseline = current_run(competition)
    base_id = None if baseline is None else baseline.id
    key = (str(db.engine.url), competition.id, snapshot)
    found = _RECENT.peek(key) if snapshot else None
    if found is not None and found[0] == base_id and found[1].overrides == dict(overrides):
        kept = found[1]
        return replace(kept, before=replace(kept.before, run=baseline))
    outcome = what_if(competition, overrides)
    named = json.dumps(
        [base_id, outcome.overrides, outcome.inputs_sha256], sort_keys=True, default=str
    )
    outcome.snapshot = hashlib.sha256(named.encode()).hexdigest()[:32]
    shared = replace(outcome, before=replace(outcome.before, run=None))
    _RECENT.put((str(db.engine.url), competition.id, outcome.snapshot), (base_id, shared))
    return outcome


def compare_run(run: RankingRun) -> WhatIf:
    """A done what-if run compared with the competition's current run (the worker path), over
    both runs' narrow columns as the board keeps them (``board_index.columns_of``)."""
    cols = board_index.columns_of(run)
    statuses = [cols.statuses[i] for i in cols.status.tolist()]
    slate = Slate(
        cols.refs.tolist(),
        [cols.school_codes[i] for i in cols.school.tolist()],
        [cols.district_codes[i] for i in cols.district.tolist()],
        np.nan_to_num(cols.rank).astype(np.int64),
        [None if f != f else f / 1e4 for f in cols.final.tolist()],
        statuses,
        cols.award.copy(),
    )
    before = _baseline(current_run(run.competition), slate.refs)
    return WhatIf(
        dict(run.policy_overrides or {}),
        dict(run.policy or {}),
        run.total_funds,
        run.total_awarded,
        run.remaining,
        slate,
        before,
        compare(slate.rank, slate.award, before.rank, before.award, before.present),
        False,
        run=run,
    )


def _slate_of_result(result) -> Slate:
    """The core result's columns in document order (no per-application objects)."""
    c = result._c
    o = c.doc_order
    final4 = report(c.final_nano[o]).tolist()
    counts = c.counts[o].tolist()
    return Slate(
        [c.refs[i] for i in o.tolist()],
        [c.schools[i] for i in o.tolist()],
        [c.districts[i] for i in o.tolist()],
        c.rank[o].astype(np.int64),
        [f if n else None for f, n in zip(final4, counts, strict=True)],
        [STATUSES[s] for s in c.status[o].tolist()],
        (c.rem_before - c.rem_after)[o].astype(np.int64),
    )


def _baseline(run: RankingRun | None, refs: list[str]) -> Baseline:
    """The run's rank, award and status aligned on ``refs`` (its narrow columns as the board
    keeps them, ``board_index.columns_of``), and the refs with a staff exception."""
    n = len(refs)
    rank, award = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    status: list[str | None] = [None] * n
    present = np.zeros(n, dtype=bool)
    if run is None:
        return Baseline(None, rank, award, status, present)
    cols = board_index.columns_of(run)
    if n and len(cols):
        wanted = np.array(refs, dtype=str)
        by_ref = np.argsort(cols.refs)
        at = by_ref[np.minimum(np.searchsorted(cols.refs, wanted, sorter=by_ref), len(cols) - 1)]
        present = cols.refs[at] == wanted
        rank = np.where(present, np.nan_to_num(cols.rank[at]), 0).astype(np.int64)
        award = np.where(present, cols.award[at], 0)
        codes = cols.status[at].tolist()
        status = [
            cols.statuses[c] if p else None for c, p in zip(codes, present.tolist(), strict=True)
        ]
    exceptions = set(cols.refs[board_index.effective(run, cols).exception].tolist())
    return Baseline(run, rank, award, status, present, exceptions)


def _school_names(codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(
        db.session.execute(select(School.code, School.name).where(School.code.in_(codes))).all()
    )


def save_what_if(
    competition: Competition, overrides: Mapping[str, Any], *, actor: User, label: str | None
) -> RankingRun:
    """Queue the tried policy as a what-if run (the caller commits, then dispatches it)."""
    if not overrides:
        raise InputError(
            "change at least one setting to save a what-if run (or start an "
            "ordinary ranking from the board)",
            None,
        )
    if size_of(competition) <= inline_max():
        what_if(competition, overrides)  # same checks and messages as trying it
    else:
        check_knobs(competition, overrides)  # the run itself checks the rest
    label = label or "What-if: " + ", ".join(f"{k} {v}" for k, v in overrides.items())
    return create_run(competition, actor=actor, overrides=dict(overrides), label=label[:200])

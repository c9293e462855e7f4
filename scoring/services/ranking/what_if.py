"""What-if: rank the committed data in-process with changed policy knobs, without saving, and
compare the slate with the current run (who enters or leaves the funded set, changed amounts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from scoring.core.ranking import Policy, PolicyError, rank_columns, result_document
from scoring.core.ranking.stability import stability
from scoring.core.rubric import RubricError
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    Competition,
    RankingResult,
    RankingRun,
    School,
    User,
)
from scoring.services.ranking.board import current_run, overrides_of
from scoring.services.ranking.inputs import read_inputs
from scoring.services.ranking.runs import create_run, policy_for

# --------------------------------------------------------------------------- what-if


#: The what-if page bootstraps the tried set in the request only up to this many applications
#: (B = 200); a larger competition's what-if gets its stability when saved as a run.
WHAT_IF_STABILITY_MAX = 2000
WHAT_IF_RESAMPLES = 200


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

    @property
    def change(self) -> str | None:
        """How the award changed: ``enters``, ``leaves``, ``amount`` or None (no change)."""
        now, was = self.award > 0, (self.before_award or 0) > 0
        if now and not was:
            return "enters"
        if was and not now:
            return "leaves"
        if now and was and self.award != self.before_award:
            return "amount"
        return None


@dataclass
class WhatIf:
    """The slate a policy change would give, not saved, and how it differs from a run."""

    overrides: dict[str, Any]
    policy: dict[str, Any]
    total_funds: Decimal
    total_awarded: Decimal
    remaining: Decimal
    rows: list[WhatIfRow]
    baseline: RankingRun | None
    data_changed: bool
    #: ref → stability figures of the tried set (docs/stability.md), for small competitions
    stability: dict[str, dict[str, Any]] | None = None
    stability_resamples: int = WHAT_IF_RESAMPLES

    def of(self, change: str) -> list[WhatIfRow]:
        """The rows whose change is ``change``."""
        return [r for r in self.rows if r.change == change]


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


def what_if(competition: Competition, overrides: Mapping[str, Any]) -> WhatIf:
    """Rank the committed data in-process with policy ``overrides`` and compare with the current
    run. Nothing is written. ``InputError`` names the knob at fault."""
    from scoring.services.competitions.policy import policy_error

    unknown = sorted(set(overrides) - set(WHAT_IF_KNOBS))
    if unknown:
        raise InputError(f"{unknown[0]} cannot be tried here", None)
    baseline = current_run(competition)
    try:
        policy = policy_for(competition, dict(overrides))
        tie_breakers = [
            *policy.tie_breakers,
            *((baseline.policy or {}).get("tie_breakers") or () if baseline is not None else ()),
        ]
        inputs = read_inputs(competition, tie_breakers=tie_breakers)
        result = rank_columns(
            inputs.rubric,
            policy,
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
    except PolicyError as exc:
        raise policy_error(exc, WHAT_IF_KNOBS) from None
    except (RubricError, ValueError) as exc:
        raise InputError(f"the data cannot be ranked as it is: {exc}") from None
    doc = result_document(result, competition.slug, None)
    before: dict[str, RankingResult] = {}
    exceptions: set[int] = set()
    data_changed = False
    if baseline is not None:
        before = {
            r.ref: r
            for r in db.session.scalars(
                select(RankingResult).where(RankingResult.run_id == baseline.id)
            )
        }
        exceptions = set(overrides_of(baseline))
        same_policy = rank_columns(
            inputs.rubric,
            Policy.from_dict(baseline.policy),
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
        data_changed = same_policy.inputs_sha256 != baseline.inputs_sha256
    schools = _school_names(competition)
    rows = []
    for a in doc["applications"]:
        b = before.get(a["ref"])
        rows.append(
            WhatIfRow(
                a["ref"],
                schools.get(a["school"], a["school"]),
                a["district"],
                a["rank"],
                a["final"],
                a["status"],
                Decimal(a["award"]),
                b.status if b else None,
                b.award if b else None,
                b.rank if b else None,
                bool(b and b.application_id in exceptions),
            )
        )
    return WhatIf(
        dict(overrides),
        doc["policy"],
        Decimal(doc["total_funds"]),
        Decimal(doc["total_awarded"]),
        Decimal(doc["remaining"]),
        rows,
        baseline,
        data_changed,
        stability(result, WHAT_IF_RESAMPLES).records()
        if len(inputs.applications) <= WHAT_IF_STABILITY_MAX
        else None,
    )


def _school_names(competition: Competition) -> dict[str, str]:
    return dict(
        db.session.execute(
            select(School.code, School.name)
            .join(Application, Application.school_id == School.id)
            .where(Application.competition_id == competition.id)
        ).all()
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
    what_if(competition, overrides)  # same checks and messages as trying it
    label = label or "What-if: " + ", ".join(f"{k} {v}" for k, v in overrides.items())
    return create_run(competition, actor=actor, overrides=dict(overrides), label=label[:200])

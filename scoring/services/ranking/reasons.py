"""Why an application was not funded, or funded only in part, in plain words (issue 10).

One function, :func:`reason_words`, used by the decision mail, the applicant's status page, the
public award list and the PDF/CSV award list, so they all say the same thing. The words come
from the stored result (``RankingResult.status`` and ``reason``: ``funds``, ``district_cap`` or
the ineligibility reason) and the run's policy (``run.policy``); a staff exception gives its
justification. The rules themselves are docs/ranking.md §4-§6.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from scoring.extensions import db
from scoring.formatting import money
from scoring.models import AwardOverride, RankingResult, RankingRun


def _policy(run: RankingRun, name: str):
    return (run.policy or {}).get(name)


def cap_words(run: RankingRun) -> str | None:
    """The district caps of the run's policy in words, or None when there are none."""
    awards, amount = _policy(run, "district_max_awards"), _policy(run, "district_max_amount")
    parts = []
    if awards is not None:
        parts.append(f"at most {awards} award{'s' if int(awards) != 1 else ''} per district")
    if amount is not None:
        parts.append(f"at most {money(Decimal(str(amount)))} per district")
    return " and ".join(parts) or None


def _district_cap(run: RankingRun, result: RankingResult) -> str:
    awards, amount = _policy(run, "district_max_awards"), _policy(run, "district_max_amount")
    funded = db.session.scalar(
        select(func.count()).where(
            RankingResult.run_id == run.id,
            RankingResult.district_code == result.district_code,
            RankingResult.award > 0,
        )
    )
    if awards is not None and funded >= int(awards):
        return f"district limit of {awards} award{'s' if int(awards) != 1 else ''} reached"
    if amount is not None:
        return f"district limit of {money(Decimal(str(amount)))} reached"
    return "district limit reached"


def _district_amount_reached(run: RankingRun, result: RankingResult) -> bool:
    cap = _policy(run, "district_max_amount")
    if cap is None:
        return False
    total = db.session.scalar(
        select(func.coalesce(func.sum(RankingResult.award), 0)).where(
            RankingResult.run_id == run.id, RankingResult.district_code == result.district_code
        )
    )
    return Decimal(str(total)) >= Decimal(str(cap))


def reason_words(
    run: RankingRun,
    result: RankingResult,
    *,
    override: AwardOverride | None = None,
) -> str | None:
    """Why ``result`` is not funded or only partly funded (None when fully funded)."""
    if override is not None:
        if override.status == "funded":
            return None
        return f"staff exception: {override.justification}"
    status = result.status
    if status == "funded":
        return None
    if status == "ineligible":
        return result.reason or "found ineligible at screening"
    if status == "incomplete":
        need = _policy(run, "min_reviews")
        return f"fewer than {need} completed reviews" if need else "not enough completed reviews"
    if status == "below_threshold":
        floor = _policy(run, "min_score")
        return (
            f"final score below the lowest fundable score of {floor}"
            if floor
            else ("final score below the lowest fundable score")
        )
    if result.reason == "district_cap":
        return _district_cap(run, result)
    if status == "partially_funded":
        requested = money(result.application.requested_amount)
        if _district_amount_reached(run, result):
            cap = money(Decimal(str(_policy(run, "district_max_amount"))))
            return f"partly funded: district limit of {cap} reached ({requested} requested)"
        return (
            f"partly funded: {money(result.award)} of the {requested} requested was what "
            "remained of the funds at its place in the funding order"
        )
    if result.reason == "funds" or status == "waitlisted":
        return "the funds ran out before its place in the funding order (tier, then rank)"
    return None

"""Why an application was not funded, or funded only in part, for the decision mail, the
applicant's status page and the public award list (issue 10).

The words themselves are written once, in :func:`scoring.core.wording.reason_words` (the exports
use it too); this module only gathers the facts it needs from the stored run: the result's status
and reason code, the run's policy, and the awards of the result's district in that run. A staff
exception gives its justification. The rules are docs/ranking.md §4-§6.
"""

from __future__ import annotations

from decimal import Decimal

from scoring.core.wording import reason_words
from scoring.formatting import money
from scoring.models import AwardOverride, RankingResult, RankingRun
from scoring.services.exports.awards import district_awards


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


def why_not_funded(
    run: RankingRun,
    result: RankingResult,
    *,
    override: AwardOverride | None = None,
) -> str | None:
    """Why ``result`` is not funded or only partly funded (None when it is fully funded)."""
    if override is not None:
        if override.status == "funded":
            return None
        return reason_words(override.status, None, run.policy, exception=override.justification)
    if result.status == "funded":
        return None
    awards, amount = district_awards(run).get(result.district_code, (0, Decimal("0")))
    return reason_words(
        result.status,
        result.reason,
        run.policy,
        requested=result.application.requested_amount,
        district_awards=awards,
        district_amount=amount,
    )

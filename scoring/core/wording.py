"""Plain words for the ranking's codes: what a program manager reads in exports, mails and pages.

The codes (``partially_funded``, ``district_cap`` …) stay in the bundle, the result document and
the CLI; these functions only say them in words. Pure: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

STATUS_WORDS = {
    "funded": "Funded",
    "partially_funded": "Partly funded",
    "waitlisted": "Waitlisted",
    "below_threshold": "Below the minimum score",
    "incomplete": "Too few reviews",
    "ineligible": "Ineligible",
}


def status_words(code: str | None) -> str:
    """``partially_funded`` → ``Partly funded``; an unknown code is shown with spaces."""
    if not code:
        return ""
    return STATUS_WORDS.get(code, code.replace("_", " ").capitalize())


def dollars(value: Any) -> str:
    """``Decimal("1500000")`` → ``$1,500,000.00`` (exact: no float)."""
    return f"${Decimal(str(value)):,.2f}"


def _number(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def reason_words(
    status: str | None,
    reason: str | None,
    policy: Mapping[str, Any] | None,
    *,
    requested: Decimal | None = None,
    district_awards: int | None = None,
    district_amount: Decimal | None = None,
) -> str:
    """Why an application got its computed status, in words (docs/ranking.md §4 and §6).

    ``reason`` is the result's reason code (``funds``, ``district_cap``) or, for an ineligible
    application, the reason staff gave. ``district_awards`` and ``district_amount`` are the
    computed awards (count and sum) of the application's district in the same run: they tell
    which district limit applied.
    """
    policy = policy or {}
    max_awards = policy.get("district_max_awards")
    max_amount = policy.get("district_max_amount")
    if status == "ineligible":
        return f"not eligible: {reason}" if reason else "not eligible"
    if status == "incomplete":
        n = int(policy.get("min_reviews") or 1)
        return f"fewer than {_plural(n, 'counted review')}"
    if status == "below_threshold":
        return f"final score below the minimum of {_number(policy.get('min_score') or 0)}"
    if status == "waitlisted":
        if reason == "district_cap":
            if max_awards is not None and (district_awards or 0) >= int(max_awards):
                return f"district limit of {_plural(int(max_awards), 'award')} reached"
            if max_amount is not None:
                return f"district limit of {dollars(max_amount)} reached"
            return "district limit reached"
        return "not enough funds left"
    if status == "partially_funded":
        if (
            max_amount is not None
            and district_amount is not None
            and Decimal(str(district_amount)) >= Decimal(str(max_amount))
        ):
            return f"funded in part, up to the district limit of {dollars(max_amount)}"
        return "funded in part with the funds left"
    if status == "funded":
        cap = policy.get("max_award")
        if cap is not None and requested is not None and requested > Decimal(str(cap)):
            return f"funded at the maximum award of {dollars(cap)}"
        return "funded as requested"
    return ""

"""Display helpers: money and local (America/New_York) times; reading money as people type it."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from scoring.core.wording import STATUS_WORDS

LOCAL_TZ = ZoneInfo("America/New_York")


#: The one mapping from codes (kept in the bundle, the CLI and the database) to the words a
#: program manager uses: statuses, reasons and knobs, for every page and mail.
#: Statuses are ``scoring.core.wording.STATUS_WORDS`` (the exports' words), lower-cased to sit
#: inside a sentence.
WORDS = {
    **{code: text[0].lower() + text[1:] for code, text in STATUS_WORDS.items()},
    # why money stopped
    "funds": "money ran out",
    "district_cap": "district limit reached",
    # knobs
    "priority_points": "priority points",
    "max_points": "maximum points",
    "min_score": "minimum score",
    "min_award": "smallest award",
    "max_award": "largest award",
    "partial_min": "smallest partial award",
    "district_max_amount": "most money per district",
    "district_max_awards": "most awards per district",
    "total_funds": "money available",
    "zscore": "adjusted for each reviewer's scale (z-score)",
    "mean": "average of the reviews",
    "median": "middle review (median)",
    "strict": "stop at the first that does not fit",
    "skip": "skip to the next that fits",
}


def words(code: object) -> str:
    """The plain words for a status, reason or knob code (unknown codes: underscores as
    spaces); an em dash for nothing."""
    if code is None or code == "":
        return "—"
    text = str(getattr(code, "value", code))
    return WORDS.get(text, text.replace("_", " "))


def money(value: Decimal | int | None) -> str:
    """``$1,234,567.89``; an em dash for nothing."""
    if value is None:
        return "—"
    return f"${Decimal(value):,.2f}"


def count(value: int | None) -> str:
    """A count with thousands commas (``87,960``); an em dash for nothing."""
    if value is None:
        return "—"
    return f"{int(value):,}"


#: What a person may type for an amount: optional "$", thousands commas, optional cents.
_TYPED_MONEY = re.compile(r"-?\$?-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
MONEY_HELP = (
    "Enter dollars and cents, like 150000 or 150,000.00 (no minus sign, at most 2 decimals)."
)


def parse_money(raw: str | None) -> Decimal | None:
    """The one reading of a typed amount, for every form: ``2000000``, ``2,000,000`` and
    ``$2,000,000.00`` are the same ``Decimal``; blank is ``None``. Bounds and decimal places
    are the form's to check. Raise ``ValueError(MONEY_HELP)`` for anything else."""
    text = (raw or "").strip().replace(" ", "")
    if text == "":
        return None
    if not _TYPED_MONEY.fullmatch(text) or text.count("-") > 1:
        raise ValueError(MONEY_HELP)
    return Decimal(text.replace("$", "").replace(",", ""))


def local_dt(value: datetime | None) -> str:
    """A timestamp in Connecticut's time zone, with the zone named (EST/EDT)."""
    if value is None:
        return "—"
    return value.astimezone(LOCAL_TZ).strftime("%b %d, %Y %I:%M %p %Z")

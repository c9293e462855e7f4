"""Display helpers: money and local (America/New_York) times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("America/New_York")


def money(value: Decimal | int | None) -> str:
    """``$1,234,567.89``; an em dash for nothing."""
    if value is None:
        return "—"
    return f"${Decimal(value):,.2f}"


def local_dt(value: datetime | None) -> str:
    """A timestamp in Connecticut's time zone, with the zone named (EST/EDT)."""
    if value is None:
        return "—"
    return value.astimezone(LOCAL_TZ).strftime("%b %d, %Y %I:%M %p %Z")

"""The service's clock: ``now()`` is the current time, timezone-aware UTC.

Every timestamp the app writes comes from here (``scoring.models._types.utcnow`` delegates to it),
so a test can set the time for the whole app::

    with clock.frozen(datetime(2025, 3, 1, 12, tzinfo=timezone.utc)):
        ...  # services, views and model defaults all see 2025-03-01 12:00 UTC

The pure core never reads the clock: it is given the time as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """The current time (aware, UTC), or the time set by :func:`frozen`."""
    return _fixed if _fixed is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Within the block, :func:`now` returns ``at`` (which must be timezone-aware)."""
    global _fixed
    if at.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware values")
    before, _fixed = _fixed, at.astimezone(UTC)
    try:
        yield _fixed
    finally:
        _fixed = before

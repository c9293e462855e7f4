"""Column types shared by the models: money, points and string-backed enums."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, Numeric
from sqlalchemy.types import TypeDecorator

from scoring import clock

#: Money is NUMERIC(14, 2), read as Decimal: never binary floating point.
Money = Numeric(14, 2, asdecimal=True)
#: Rubric points and weights: exact decimals with up to 4 places (half and quarter steps).
Points = Numeric(10, 4, asdecimal=True)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum stored as its string value with a CHECK constraint (no native PG type)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def utcnow() -> datetime:
    """The current time, aware UTC, from the app's clock (``scoring.clock``, which tests can
    set)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

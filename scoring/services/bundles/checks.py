"""Bundle field checks: the error collector and the typed checks every part of a bundle uses.

``_Checker`` collects ``(JSON path, message)`` problems (up to ``MAX_ERRORS``); each check
returns the value converted (Decimal, datetime ...) or ``None`` after recording a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from scoring.core.numbers import fmt_decimal, to_decimal
from scoring.errors import InputError

__all__ = ["FORMAT", "MAX_ERRORS", "BundleError"]

FORMAT = "grant-scoring-bundle/1"
#: Validation stops collecting after this many problems.
MAX_ERRORS = 50
_POINTS_LIMIT = Decimal(10) ** 6  # NUMERIC(10, 4)
_MONEY_LIMIT = Decimal(10) ** 12  # NUMERIC(14, 2)
_NUMBER_TYPES = (int, float, Decimal)


class BundleError(InputError):
    """A refused bundle. ``path``/``detail`` describe the first problem; ``errors`` all found."""

    def __init__(self, errors: Sequence[tuple[str, str]], truncated: bool = False) -> None:
        path, message = errors[0]
        super().__init__(message, path or None)
        self.errors = list(errors)
        self.truncated = truncated


class _TooMany(Exception):
    """Raised internally once MAX_ERRORS problems are collected."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, _NUMBER_TYPES):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- field checks


class _Checker:
    """Collects (path, message) problems; each check returns the clean value or None."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))
        if len(self.errors) >= MAX_ERRORS:
            raise _TooMany

    def obj(
        self, value: Any, path: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> dict | None:
        """An object with exactly these keys (the optional ones may be missing)."""
        if not isinstance(value, dict):
            self.fail(path or "bundle", f"expected an object, got {_kind(value)}")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                self.fail(_at(path, str(key)), "unknown key")
        for key in required:
            if key not in value:
                self.fail(_at(path, key), "is required")
        return value

    def array(self, value: Any, path: str, *, nonempty: bool = False) -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
            return []
        if nonempty and not value:
            self.fail(path, "must not be empty")
        return value

    def text(
        self, value: Any, path: str, max_len: int, *, null: bool = False, empty: bool = False
    ) -> str | None:
        if value is None and null:
            return None
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_kind(value)}")
        elif not empty and not value.strip():
            self.fail(path, "must not be empty")
        elif len(value) > max_len:
            self.fail(path, f"is longer than {max_len} characters")
        else:
            return value
        return None

    def integer(self, value: Any, path: str, minimum: int, *, null: bool = False) -> int | None:
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_kind(value)}")
        elif value < minimum:
            self.fail(path, f"{value} is below {minimum}")
        elif value >= 2**31:
            self.fail(path, f"{value} is too large")
        else:
            return value
        return None

    def boolean(self, value: Any, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.fail(path, f"expected true or false, got {_kind(value)}")
        return None

    def number(
        self, value: Any, path: str, *, minimum: Decimal | None = Decimal(0), positive: bool = False
    ) -> Decimal | None:
        """A JSON number with at most 4 decimal places (scores, points, weights)."""
        if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
            self.fail(path, f"expected a number, got {_kind(value)}")
            return None
        try:
            d = to_decimal(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None
        shown = fmt_decimal(d)
        if positive and d <= 0:
            self.fail(path, f"{shown} must be greater than 0")
        elif minimum is not None and d < minimum:
            self.fail(path, f"{shown} is below {fmt_decimal(minimum)}")
        elif abs(d) >= _POINTS_LIMIT:
            self.fail(path, f"{shown} is too large")
        elif d != d.quantize(Decimal("0.0001"), rounding="ROUND_DOWN"):
            self.fail(path, f"{shown} has more than 4 decimal places")
        else:
            return d
        return None

    def money(
        self, value: Any, path: str, *, null: bool = False, at_least_a_cent: bool = False
    ) -> Decimal | None:
        """Exact money from a string or a number: whole cents, >= 0, below 10^12."""
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, (*_NUMBER_TYPES, str)):
            self.fail(path, f"expected an amount of money, got {_kind(value)}")
            return None
        try:
            d = to_decimal(value)
        except ValueError:
            self.fail(path, f"{value!r} is not a valid amount of money")
            return None
        shown = fmt_decimal(d)
        if d != d.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
            self.fail(path, f"{shown} is not a whole number of cents")
        elif d < 0:
            self.fail(path, f"{shown} is negative")
        elif d >= _MONEY_LIMIT:
            self.fail(path, f"{shown} is too large")
        elif at_least_a_cent and d < Decimal("0.01"):
            self.fail(path, "must be at least 0.01 (use null for no bound)")
        else:
            return d.quantize(Decimal("0.01"))
        return None

    def timestamp(self, value: Any, path: str) -> datetime | None:
        """ISO 8601 with a UTC offset, or null."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"expected an ISO 8601 timestamp, got {_kind(value)}")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{value!r} is not an ISO 8601 timestamp")
            return None
        if moment.utcoffset() is None:
            self.fail(path, f"{value!r} has no UTC offset (e.g. -05:00)")
            return None
        return moment

    def choice(self, value: Any, path: str, allowed: Sequence[str]) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.fail(path, f"must be one of {', '.join(allowed)} (got {value!r})")
        return None

"""Exact decimals, money in cents and the score rounding of the ranking (pure: stdlib + numpy).

Every step of the core meets numbers the same way, so the rules are written here once:

* ``to_decimal``/``fmt_decimal``: a JSON-ish number as an exact ``Decimal`` and back as text.
* Money is integer cents inside the core (``money_cents`` refuses negative or sub-cent amounts,
  so every total reproduces by hand) and ``Decimal``/two-decimal strings at the edges
  (``cents_dec``, ``cents_str``).
* Scores are float64; to stop float noise (~1e-14) from flipping a comparison every score is
  first rounded to 9 places (integer nano-points, ``nano``), then half up toward +∞ to 6 places
  for comparisons (``micro``) or 4 places for reporting (``report``); ``round_score`` applies the
  same rule to one float. ``json_number``/``plain_number`` write a Decimal as a JSON number.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np

__all__ = [
    "CENT",
    "MAX_CENTS",
    "MAX_SCORE",
    "NANO",
    "cents_dec",
    "cents_str",
    "fmt_decimal",
    "is_int",
    "json_number",
    "micro",
    "money_cents",
    "nano",
    "plain_number",
    "report",
    "round_score",
    "to_decimal",
]

CENT = Decimal("0.01")
MAX_CENTS = 10**17  # a bound that keeps every sum of cents far inside int64
MAX_SCORE = 10**9  # |score| and priority points bound: nano-points stay inside int64
NANO = Decimal(10) ** 9


# --------------------------------------------------------------------------- decimals


def to_decimal(value: Any) -> Decimal:
    """Return ``value`` as a finite ``Decimal``; raise ``ValueError`` otherwise.

    ``int`` and ``str`` convert exactly; a ``float`` converts through its shortest ``repr``
    (so ``0.1`` becomes ``Decimal("0.1")``, as a JSON number would read). ``bool`` is refused.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{value} is not a finite number")
    return result


def fmt_decimal(value: Decimal) -> str:
    """Format a Decimal without exponent or trailing zeros: ``4.0`` → ``4``, ``0.50`` → ``0.5``.

    An absurdly long plain form (over 40 characters) is left in scientific notation.
    """
    if not value.is_finite():
        return str(value)
    normal = value.normalize()
    text = format(normal, "f")
    if len(text) > 40:
        return str(normal)
    return "0" if text == "-0" else text


def plain_number(value: Decimal) -> int | float:
    """Return a Decimal as a JSON number: an int when integral, else the nearest float."""
    return int(value) if value == value.to_integral_value() else float(value)


def json_number(value: Decimal, places: int = 4) -> int | float:
    """Return a Decimal as a JSON number rounded half up to ``places`` (int if integral)."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(q) if q == q.to_integral_value() else float(q)


def is_int(value: Any) -> bool:
    """A real integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- money


def money_cents(value: Any, what: str, error: type[ValueError] = ValueError) -> int:
    """Exact Decimal money → integer cents; refuse negative or sub-cent amounts."""
    try:
        d = value if type(value) is Decimal and value.is_finite() else to_decimal(value)
    except ValueError as exc:
        raise error(f"{what}: {exc}") from None
    c = d.scaleb(2)
    cents = int(c)
    if cents != c:
        raise error(f"{what}: {fmt_decimal(d)} is not a whole number of cents")
    if cents < 0:
        raise error(f"{what}: {fmt_decimal(d)} is negative")
    if cents >= MAX_CENTS:
        raise error(f"{what}: {fmt_decimal(d)} is too large")
    return cents


def cents_str(cents: int) -> str:
    """Integer cents → money string with two decimals (``"1500000.00"``)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def cents_dec(cents: int) -> Decimal:
    """Integer cents → ``Decimal`` with two places."""
    return Decimal(cents).scaleb(-2)


# --------------------------------------------------------------------------- score rounding


def nano(x: np.ndarray) -> np.ndarray:
    """Round to 9 places: integer nano-points (removes float noise)."""
    x = np.where(np.isfinite(x), x, 0.0)  # NaN marks "no counted review"; masked by callers
    if x.size and np.abs(x).max() >= MAX_SCORE:
        raise ValueError("a score is out of range (>= 1e9)")
    return np.rint(x * 1e9).astype(np.int64)


def micro(nano_points: np.ndarray) -> np.ndarray:
    """Nano-points → micro-points (6 places), half up toward +∞."""
    return np.floor_divide(nano_points + 500, 1000)


def report(nano_points: np.ndarray) -> np.ndarray:
    """Nano-points → float rounded half up (toward +∞) to 4 places, for reporting."""
    return np.floor_divide(nano_points + 50_000, 100_000) / 1e4


def round_score(value: float, places: int = 4) -> float:
    """Round one score exactly as the ranking does.

    First to 9 places (float noise), then half up, toward +∞, to ``places`` (4: as reported;
    6: as compared).

    Use it wherever a score is shown next to the result document (exports, pages), so the
    same review shows the same number everywhere.
    """
    if places not in (4, 6):
        raise ValueError("places must be 4 (reporting) or 6 (comparison)")
    step = 10 ** (9 - places)
    return ((round(value * 1e9) + step // 2) // step) / 10**places

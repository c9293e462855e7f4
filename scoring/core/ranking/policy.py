"""The ranking policy of docs/ranking.md §2: every knob with its default, checked in one place.

Choices (aggregation, normalisation, tie-breakers) are checked against ``registry``; money
knobs are whole cents (see ``scoring.core.numbers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from scoring.core.numbers import (
    CENT,
    cents_str,
    is_int,
    json_number,
    money_cents,
    to_decimal,
)
from scoring.core.ranking.registry import (
    AGGREGATORS,
    NORMALISATIONS,
    tie_breaker_problem,
)
from scoring.core.rubric import Rubric

__all__ = ["FUND_DOWN", "Policy", "PolicyError"]

FUND_DOWN = ("strict", "skip")


class PolicyError(ValueError):
    """A ranking policy knob with a bad value (docs/ranking.md §2)."""


_DECIMAL_FIELDS = (
    "discrepancy_threshold",
    "min_score",
    "total_funds",
    "min_award",
    "max_award",
    "partial_min",
    "district_max_amount",
)
_MONEY_FIELDS = ("total_funds", "min_award", "max_award", "partial_min", "district_max_amount")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Every knob of docs/ranking.md §2 with its default; ``total_funds`` is required.

    Numbers given as ``int``/``str``/``float`` are converted to ``Decimal`` on construction;
    call ``validate()`` (``rank`` does) to check the values.
    """

    aggregation: str = "mean"
    normalization: str = "none"
    min_reviews: int = 2
    discrepancy_threshold: Decimal = Decimal(15)
    min_score: Decimal = Decimal(0)
    tie_breakers: tuple[str, ...] = ()
    total_funds: Decimal
    min_award: Decimal | None = None
    max_award: Decimal | None = None
    fund_down: str = "strict"
    partial_funding: bool = False
    partial_min: Decimal | None = None
    district_max_awards: int | None = None
    district_max_amount: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                try:
                    object.__setattr__(self, name, to_decimal(value))
                except ValueError:
                    pass  # validate() reports it
        if isinstance(self.tie_breakers, list):
            object.__setattr__(self, "tie_breakers", tuple(self.tie_breakers))

    @property
    def effective_partial_min(self) -> Decimal:
        """``partial_min``, else ``min_award``, else 0.01 (§2)."""
        if self.partial_min is not None:
            return self.partial_min
        return self.min_award if self.min_award is not None else CENT

    def validate(self, rubric: Rubric | None = None) -> Policy:
        """Check every knob and return ``self``; raise ``PolicyError`` with a clear message.

        With a rubric, ``section:<key>`` tie-breakers must name one of its sections.
        """
        _choice("aggregation", self.aggregation, tuple(AGGREGATORS))
        _choice("normalization", self.normalization, tuple(NORMALISATIONS))
        _choice("fund_down", self.fund_down, FUND_DOWN)
        if not is_int(self.min_reviews) or self.min_reviews < 1:
            raise PolicyError(f"min_reviews must be an integer >= 1 (got {self.min_reviews!r})")
        for name in ("discrepancy_threshold", "min_score"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise PolicyError(f"{name}: {value!r} is not a number")
            if value.normalize().as_tuple().exponent < -6:
                raise PolicyError(f"{name}: at most 6 decimal places (scores compare at 6)")
        if self.discrepancy_threshold < 0:
            raise PolicyError("discrepancy_threshold must be >= 0")
        self._validate_tie_breakers(rubric)
        self._validate_money()
        if not isinstance(self.partial_funding, bool):
            raise PolicyError(
                f"partial_funding must be true or false (got {self.partial_funding!r})"
            )
        dma = self.district_max_awards
        if dma is not None and (not is_int(dma) or dma < 0):
            raise PolicyError(f"district_max_awards must be an integer >= 0 or null (got {dma!r})")
        return self

    def _validate_tie_breakers(self, rubric: Rubric | None) -> None:
        if not isinstance(self.tie_breakers, tuple):
            raise PolicyError("tie_breakers must be a list")
        seen: set[str] = set()
        for i, tb in enumerate(self.tie_breakers):
            where = f"tie_breakers[{i}]"
            if not isinstance(tb, str):
                raise PolicyError(f"{where}: {tb!r} is not a string")
            problem = tie_breaker_problem(
                tb, None if rubric is None else [s.key for s in rubric.sections]
            )
            if problem is not None:
                raise PolicyError(f"{where}: {problem}")
            if tb in seen:
                raise PolicyError(f"{where}: {tb!r} is listed twice")
            seen.add(tb)

    def _validate_money(self) -> None:
        if self.total_funds is None:
            raise PolicyError("total_funds is required")
        for name in _MONEY_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            cents = money_cents(value, name, PolicyError)
            if name in ("min_award", "max_award", "partial_min") and cents == 0:
                raise PolicyError(f"{name} must be at least 0.01 (leave it unset for no bound)")
        if (
            self.min_award is not None
            and self.max_award is not None
            and self.min_award > self.max_award
        ):
            raise PolicyError("min_award is above max_award")

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-ready policy (the "policy used"): money as 2-decimal strings."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _MONEY_FIELDS:
                value = None if value is None else cents_str(money_cents(value, f.name))
            elif f.name in ("discrepancy_threshold", "min_score"):
                value = json_number(value, 6)
            elif f.name == "tie_breakers":
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build and validate a policy from a JSON-like mapping; raise ``PolicyError``.

        Unknown keys are refused; ``total_funds`` is required; money may be a string or a number.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise PolicyError(f"unknown policy key {unknown[0]!r}")
        if data.get("total_funds") is None:
            raise PolicyError("total_funds is required")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in _DECIMAL_FIELDS and value is not None:
                try:
                    value = to_decimal(value)
                except ValueError as exc:
                    raise PolicyError(f"{name}: {exc}") from None
            elif name == "tie_breakers":
                if not isinstance(value, (list, tuple)):
                    raise PolicyError("tie_breakers must be a list")
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs).validate()


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise PolicyError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")

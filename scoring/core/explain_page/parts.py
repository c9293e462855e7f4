"""The building blocks of the explanation page: tables, parts, the facts given in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoring.core.explain import number_text
from scoring.core.wording import dollars

__all__ = ["Facts", "Part", "Table", "money", "n", "plural", "reviewer"]

n = number_text


@dataclass(frozen=True)
class Table:
    """A table: ``head`` cells, ``rows`` of cells (the first cell of a row is its header);
    ``numeric`` flags the columns aligned as numbers; ``foot`` an optional total row."""

    caption: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[bool] = ()
    foot: Sequence[str] | None = None


@dataclass(frozen=True)
class Part:
    """A part of the page: a heading, sentences before and after, and its tables."""

    key: str
    title: str
    intro: Sequence[str] = ()
    tables: Sequence[Table] = ()
    after: Sequence[str] = ()


@dataclass(frozen=True)
class Facts:
    """What the page says that the stored explanation keeps only as codes.

    ``claims``: each of the competition's priorities as a dict (key, title, points, claimed,
    confirmed, refused_reason). ``uncounted``: (reviewer, why) of the application's reviews
    that this run did not count.
    """

    section_titles: Mapping[str, str] = field(default_factory=dict)
    reviewer_names: Mapping[str, str] = field(default_factory=dict)
    claims: Sequence[Mapping[str, Any]] = ()
    uncounted: Sequence[tuple[str, str]] = ()
    min_reviews: int | None = None


def money(value: Any) -> str:
    """Dollars, or a dash for none."""
    return "—" if value is None else dollars(value)


def plural(n: int, word: str) -> str:
    """``1 award``, ``2 awards``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def reviewer(name: str, facts: Facts) -> str:
    """A reviewer's name and email (the run knows the email)."""
    shown = facts.reviewer_names.get(name)
    return f"{shown} ({name})" if shown and shown != name else name

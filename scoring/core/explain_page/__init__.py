"""The explanation of one application as tables in plain words (the staff page; pure).

``explanation_sheet(data, facts)`` reads the stored ``explanation_data`` dict (the same one
``scoring.core.explain.render_explanation`` turns into the CLI's text) and returns parts, each with
sentences and tables of display strings: reviewers, sections, normalisation, priority points, tier
and rank, and the funding step. It never parses the text. ``facts`` gives what the stored run
does not hold in words: section titles, reviewer names, the applicant's claims, reviews that were
not counted. Numbers are written as the text writes them (``_n``), money as dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring.core.explain_page.decision import funding_part, priorities_part, rank_part
from scoring.core.explain_page.parts import Facts, Part, Table
from scoring.core.explain_page.scores import normalisation_part, reviewers_part, sections_part

__all__ = ["Facts", "Part", "Table", "explanation_sheet"]


def explanation_sheet(data: Mapping[str, Any], facts: Facts | None = None) -> list[Part]:
    """The parts of the explanation page for one stored ``explanation_data`` dict."""
    facts = facts or Facts()
    return [
        reviewers_part(data, facts),
        sections_part(data, facts),
        normalisation_part(data, facts),
        priorities_part(data, facts),
        rank_part(data, facts),
        funding_part(data, facts),
    ]

"""The score parts of the explanation page: reviewers, sections, normalisation."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from scoring.core.explain_page.parts import Facts, Part, Table
from scoring.core.explain_page.parts import n as _n
from scoring.core.explain_page.parts import plural as _plural
from scoring.core.explain_page.parts import reviewer as _reviewer

# --------------------------------------------------------------------------- reviewers


def reviewers_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """Each counted review's points per section and its score; reviews not counted."""
    rubric = data["rubric"]
    keys, maxima, weights = rubric["sections"], rubric["max_points"], rubric["weights"]
    head = ["Reviewer"]
    head += [
        f"{facts.section_titles.get(k, k)} (out of {_n(m)})"
        for k, m in zip(keys, maxima, strict=True)
    ]
    head += ["How the review score is worked out", "Review score (out of 100)", "Counted"]
    rows = []
    for r in data["reviews"]:
        terms = " + ".join(
            f"{_n(w)} × {_n(p)}/{_n(m)}"
            for w, p, m in zip(weights, r["points"], maxima, strict=True)
        )
        working = f"100 × ({terms}) ÷ {_n(rubric['total_weight'])}"
        rows.append(
            [_reviewer(r["reviewer"], facts)]
            + [_n(p) for p in r["points"]]
            + [working, _n(r["score"]), "Yes"]
        )
    for name, why in facts.uncounted:
        rows.append([_reviewer(name, facts)] + ["—"] * len(keys) + ["—", "—", f"No: {why}"])
    intro = [
        "Each review's points in each section, out of the section's maximum. A review's score "
        "out of 100 is each section's points divided by its maximum, multiplied by the "
        f"section's weight, added up, and divided by the total weight "
        f"({_n(rubric['total_weight'])})."
    ]
    if not rows:
        intro.append("No review of this application was counted.")
    numeric = [False] + [True] * len(keys) + [False, True, False]
    table = Table("Reviews of this application", head, rows, numeric)
    return Part("reviewers", "Reviewers and their points", intro, [table] if rows else [])


# --------------------------------------------------------------------------- sections


def sections_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """Sections: maximum points, weights, share of the score, section scores."""
    rubric = data["rubric"]
    total = Decimal(str(rubric["total_weight"]))
    scores = data.get("sections") or {}
    rows = []
    for key, m, w, default in zip(
        rubric["sections"],
        rubric["max_points"],
        rubric["weights"],
        rubric["default_weights"],
        strict=True,
    ):
        share = Decimal(str(w)) * 100 / total if total else Decimal(0)
        rows.append(
            [
                facts.section_titles.get(key, key),
                _n(m),
                _n(w) + (" (its maximum points)" if default else ""),
                f"{_n(float(round(share, 2)))}%",
                f"{_n(scores[key])}%" if key in scores else "—",
            ]
        )
    how = "median" if data["aggregation"]["method"] == "median" else "mean"
    intro = [
        "A section's weight sets its share of the review score. The application's section "
        f"score is the {how} of its counted reviews' percentages in that section."
    ]
    head = ["Section", "Maximum points", "Weight", "Share of the score", "This application"]
    table = Table("Sections, weights and section scores", head, rows, [False] + [True] * 4)
    foot = ["All sections", "", _n(rubric["total_weight"]), "100%", ""]
    table = Table(table.caption, table.head, table.rows, table.numeric, foot)
    return Part("sections", "Sections and weights", intro, [table])


# --------------------------------------------------------------------------- normalisation


def _adjustment(r: Mapping[str, Any], zscore: bool) -> tuple[str, str]:
    """(z-score cell, what was done) for one review."""
    st = r["reviewer_stats"]
    if not zscore:
        return "—", "Used as given"
    if st["applied"]:
        z = (Decimal(str(r["score"])) - Decimal(str(st["mean"]))) / Decimal(str(st["std"]))
        z2 = round(z, 2)
        side = "above" if z2 > 0 else "below" if z2 < 0 else "at"
        return _n(float(z2)), (
            f"Adjusted: {_n(float(abs(z2)))} standard deviations {side} this reviewer's own "
            "mean, put at the same place on the panel's scale"
        )
    if st["n"] < 3:
        why = f"this reviewer has only {_plural(st['n'], 'counted review')} (3 are needed)"
    else:
        why = "this reviewer gave every application the same score"
    return "—", f"Used as given: {why}"


def normalisation_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """Raw score, reviewer mean and spread, z-score and score used, in words."""
    norm = data["normalization"]
    zscore = norm["method"] == "zscore"
    if zscore:
        intro = [
            "Some reviewers score high and some low. To be fair to the applications each one "
            "read, each reviewer's scores are put on the panel's scale: over all counted "
            f"reviews the panel's mean is {_n(norm['mean'])} and its standard deviation "
            f"{_n(norm['std'])}. Adjusted score = {_n(norm['mean'])} + {_n(norm['std'])} × "
            "(raw score − the reviewer's mean) ÷ the reviewer's standard deviation. Only "
            "reviewers with at least 3 counted reviews that are not all equal are adjusted."
        ]
    else:
        intro = [
            "This competition uses the reviewers' scores as given: no adjustment is made "
            "for reviewers who score high or low."
        ]
    rows = []
    for r in data["reviews"]:
        st = r["reviewer_stats"]
        z, words = _adjustment(r, zscore)
        rows.append(
            [
                _reviewer(r["reviewer"], facts),
                _n(r["score"]),
                str(st["n"]),
                _n(st["mean"]),
                _n(st["std"]),
                z,
                _n(r["normalised"]),
                words,
            ]
        )
    head = [
        "Reviewer",
        "Raw score",
        "Reviews by this reviewer",
        "Reviewer's mean",
        "Reviewer's standard deviation",
        "Z-score",
        "Score used",
        "What was done",
    ]
    tables = [Table("Each review before and after", head, rows, [False] + [True] * 6 + [False])]
    return Part(
        "normalisation",
        "Putting reviewers on one scale",
        intro,
        tables if rows else [],
        _application_score(data),
    )


def _application_score(data: Mapping[str, Any]) -> list[str]:
    agg, values = data["aggregation"], data["aggregation"]["values"]
    if data["base"] is None:
        return ["With no counted review, the application has no score."]
    if agg["method"] == "median":
        listed = ", ".join(_n(v) for v in sorted(values))
        out = [f"Application score: the median (middle value) of {listed} = {_n(data['base'])}."]
    else:
        listed = " + ".join(_n(v) for v in values)
        out = [
            f"Application score: the mean of the scores used, ({listed}) ÷ {len(values)} = "
            f"{_n(data['base'])}."
        ]
    d = data["discrepancy"]
    if d["spread_6"] is not None:
        if "discrepancy" in data["flags"]:
            out.append(
                f"The raw review scores are {_n(d['spread_6'])} points apart, more than the "
                f"{_n(d['threshold'])} allowed: the application is flagged for a discrepancy."
            )
        else:
            out.append(
                f"The raw review scores are {_n(d['spread_6'])} points apart, within the "
                f"{_n(d['threshold'])} allowed."
            )
    return out

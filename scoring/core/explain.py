"""Plain-text rendering of a stored ranking explanation (pure: stdlib only).

``render_explanation(data)`` works on the JSON-ready dict made by
``scoring.core.ranking.explanation_data`` (which a service stores with the run), so an explanation
can be shown later without re-running the ranking. Section numbers refer to docs/ranking.md.
How each normalisation and tie-breaker is worded comes from ``scoring.core.ranking.registry``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["number_text", "render_explanation"]


def _n(x: Any) -> str:
    """Write a number as the explanation does: ``70`` rather than ``70.0``."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


number_text = _n  # the staff page (scoring.core.explain_page) writes numbers the same way


def _registry() -> Any:
    """``scoring.core.ranking.registry`` (imported on use: the ranking package imports this
    module, so a top-level import would be circular)."""
    from scoring.core.ranking import registry

    return registry


def render_explanation(data: dict[str, Any]) -> str:
    """Render an ``explanation_data`` dict as text a grant officer can check by hand."""
    lines = [
        f"Application {data['ref']} (school {data['school']}, district {data['district']}, "
        f"tier {data['tier']})",
        f"Status: {data['status']}; award {data['funding']['award']}"
        + (f"; rank {data['rank']}" if data["rank"] else "; not ranked"),
        "",
    ]
    lines += _scores(data)
    lines += _aggregate(data)
    lines += _status(data)
    lines += _rank(data)
    lines += _funding(data)
    return "\n".join(lines).rstrip() + "\n"


def _scores(data: dict[str, Any]) -> list[str]:
    out = ["Review scores (§3.1): S = 100 × Σ w_s × (P_s / M_s) / Σ w_s"]
    if not data["reviews"]:
        return out + ["  no counted review", ""]
    norm = data["normalization"]
    method = _registry().NORMALISATIONS[norm["method"]]
    out.append(
        "Normalisation (§3.2): "
        + method.explains.format(mean=_n(norm["mean"]), std=_n(norm["std"]))
    )
    rubric = data["rubric"]
    for r in data["reviews"]:
        out.append(f"  Reviewer {r['reviewer']}:")
        terms = []
        for key, m, w, pts, frac, pct in zip(
            rubric["sections"],
            rubric["max_points"],
            rubric["weights"],
            r["points"],
            r["fraction"],
            r["pct"],
            strict=True,
        ):
            out.append(
                f"    {key}: P_s = {_n(pts)} of M_s = {_n(m)}, P_s/M_s = {_n(frac)} "
                f"({_n(pct)}%), weight w_s = {_n(w)}"
            )
            terms.append(f"{_n(w)} × {_n(pts)}/{_n(m)}")
        out.append(
            f"    S = 100 × ({' + '.join(terms)}) / {_n(rubric['total_weight'])} = {_n(r['score'])}"
        )
        out.append("    " + _normalised(r, norm))
    return out + [""]


def _normalised(r: dict[str, Any], norm: dict[str, Any]) -> str:
    st = r["reviewer_stats"]
    stats = f"n_v = {st['n']}, μ_v = {_n(st['mean'])}, σ_v = {_n(st['std'])}"
    if st["applied"]:
        return (
            f"S' = μ + σ × (S − μ_v) / σ_v with {stats}: {_n(norm['mean'])} + "
            f"{_n(norm['std'])} × ({_n(r['score'])} − {_n(st['mean'])}) / {_n(st['std'])}"
            f" = {_n(r['normalised'])}"
        )
    if _registry().NORMALISATIONS[norm["method"]].rescale is None:
        return f"S' = S = {_n(r['normalised'])}"
    return f"not normalised ({st['why_not']}; {stats}): S' = S = {_n(r['normalised'])}"


def _aggregate(data: dict[str, Any]) -> list[str]:
    agg = data["aggregation"]
    out = [
        f"Application score (§3.3): {agg['method']} of S' over {len(agg['values'])} counted "
        f"review(s) (min_reviews {agg['min_reviews']})"
    ]
    if data["base"] is None:
        return out + ["  no counted review: base, final and sections are null", ""]
    values = agg["values"] if agg["method"] == "mean" else sorted(agg["values"])
    out.append(f"  base = {agg['method']}({', '.join(_n(v) for v in values)}) = {_n(data['base'])}")
    prios = ", ".join(f"{p['key']} (+{_n(p['points'])})" for p in data["priorities"]) or "none"
    out.append(f"  priority points: {prios} = {_n(data['priority_points'])}")
    out.append(
        f"  final = base + priority points = {_n(data['base'])} + "
        f"{_n(data['priority_points'])} = {_n(data['final'])} "
        f"(compared at 6 places: {_n(data['final_6'])})"
    )
    sections = ", ".join(f"{k} {_n(v)}%" for k, v in data["sections"].items())
    out.append(f"  section percentages ({agg['method']} of 100 × P_s / M_s): {sections}")
    d = data["discrepancy"]
    if d["spread_6"] is not None:
        flagged = "discrepancy" in data["flags"]
        out.append(
            f"  spread of raw review scores = {_n(d['spread_6'])} "
            f"{'>' if flagged else '<='} threshold {_n(d['threshold'])}: "
            f"{'flagged discrepancy' if flagged else 'no discrepancy flag'}"
        )
    return out + [""]


def _status(data: dict[str, Any]) -> list[str]:
    f, status, reason = data["funding"], data["status"], data["reason"]
    if status == "ineligible":
        text = f"ineligible: {reason or 'no reason given'}; not ranked (§4)"
    elif status == "incomplete":
        text = (
            f"incomplete: {len(data['reviews'])} counted review(s), fewer than "
            f"min_reviews {data['aggregation']['min_reviews']}; not ranked (§4)"
        )
    elif status == "below_threshold":
        text = (
            f"below_threshold: final {_n(data['final_6'])} < min_score "
            f"{_n(f['min_score'])}; no award"
        )
    elif status == "funded":
        text = f"funded: request {f['request']} <= room {f['room']}; award {f['award']}"
    elif status == "partially_funded":
        text = (
            f"partially_funded: request {f['request']} > room {f['room']}; partial funding "
            f"is on and room >= partial_min {f['partial_min']}, so award = room "
            f"= {f['award']}"
        )
    else:
        text = _waitlisted(data)
    return [f"Status (§4, §6): {text}", ""]


def _waitlisted(data: dict[str, Any]) -> str:
    f, reason = data["funding"], data["reason"]
    if f["stopped_at"] is not None:
        return (
            f"waitlisted (funds): funding stopped at {f['stopped_at']}, which did not fit, "
            "and fund_down is strict"
        )
    if f["room"] is None:
        return (
            f"waitlisted (district_cap): district {data['district']} already has "
            f"{f['district_awards_before']} funded award(s), district_max_awards "
            f"{f['district_max_awards']}"
        )
    why = (
        f"; partial funding needs room >= partial_min {f['partial_min']}"
        if f["partial_funding"]
        else "; partial funding is off"
    )
    if reason == "district_cap":
        return (
            f"waitlisted (district_cap): district {data['district']} has "
            f"{f['district_amount_before']} awarded of district_max_amount "
            f"{f['district_max_amount']}, so room {f['room']} < request {f['request']}"
            f"{why}"
        )
    after = (
        "fund_down is strict, so funding stops here"
        if f["fund_down"] == "strict"
        else "fund_down is skip, so later applications are still considered"
    )
    return f"waitlisted (funds): request {f['request']} > room {f['room']}{why}; {after}"


def _rank(data: dict[str, Any]) -> list[str]:
    r = data["ranking"]
    if r is None:
        return []
    describe = _registry().describe_tie_breaker
    order = ["final score desc"] + [describe(tb) for tb in r["tie_breakers"]] + ["ref asc"]
    out = [f"Rank (§5): {r['rank']} of {r['of']}; order: {', then '.join(order)}"]
    if r["above"] is None:
        out.append("  first place: no application above it")
    else:
        out.append(
            f"  below {r['above']['ref']} (final {_n(r['above']['final_6'])}), "
            f"separated by: {r['decided_by']}"
        )
    if r["tied_with"]:
        more = r["tied_count"] - len(r["tied_with"])
        out.append(
            f"  tie: same final (6 places) as {', '.join(r['tied_with'])}"
            + (f" and {more} more" if more > 0 else "")
        )
    return out + [""]


def _funding(data: dict[str, Any]) -> list[str]:
    f = data["funding"]
    if f["position"] is None:
        return []
    capped = (
        f"min(requested {f['requested_amount']}, max_award {f['max_award']}) = "
        if f["max_award"] is not None
        else "requested_amount (no max_award) = "
    )
    out = [
        f"Funding (§6): position {f['position']} of {f['of']} in funding order "
        f"(tier, then rank); total_funds {f['total_funds']}",
        f"  request = {capped}{f['request']}",
        f"  remaining before {f['remaining_before']}, after {f['remaining_after']}",
    ]
    if f["district_max_awards"] is not None or f["district_max_amount"] is not None:
        out.append(
            f"  district {data['district']} before it: {f['district_awards_before']} "
            f"award(s), {f['district_amount_before']} awarded (caps: "
            f"{f['district_max_awards']} awards, {f['district_max_amount']})"
        )
    return out

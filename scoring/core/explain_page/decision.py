"""The decision parts of the explanation page: priority points, tier and rank, funding."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from scoring.core.explain_page.parts import Facts, Part, Table
from scoring.core.explain_page.parts import money as _money
from scoring.core.explain_page.parts import n as _n
from scoring.core.explain_page.parts import plural as _plural
from scoring.core.ranking.registry import tie_breaker
from scoring.core.wording import reason_words, status_words

# --------------------------------------------------------------------------- priority points


def priorities_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """Priority points: each priority claimed, confirmed by staff, and counted."""
    counted = {p["key"]: p["points"] for p in data["priorities"]}
    rows = []
    seen = set()
    for c in facts.claims:
        seen.add(c["key"])
        if c.get("confirmed"):
            confirmed = "Yes"
        elif c.get("refused_reason"):
            confirmed = f"No: {c['refused_reason']}"
        else:
            confirmed = "No"
        rows.append(
            [
                c["title"],
                _n(c["points"]),
                "Yes" if c.get("claimed") else "No",
                confirmed,
                _n(counted[c["key"]]) if c["key"] in counted else "0",
            ]
        )
    for key, points in counted.items():
        if key not in seen:
            rows.append([key, _n(points), "—", "Yes", _n(points)])
    intro = [
        "An applicant claims priorities; only those staff confirmed earn points, added to the "
        "application score."
    ]
    after = []
    if data["base"] is not None:
        after.append(
            f"Final score = application score + priority points = {_n(data['base'])} + "
            f"{_n(data['priority_points'])} = {_n(data['final'])}."
        )
    head = ["Priority", "Points", "Claimed", "Confirmed by staff", "Points counted"]
    table = Table(
        "Priorities claimed and confirmed",
        head,
        rows,
        [False, True, False, False, True],
        ["Total", "", "", "", _n(data["priority_points"])],
    )
    if not rows:
        intro.append("This competition has no priority points.")
    return Part("priorities", "Priority points", intro, [table] if rows else [], after)


# --------------------------------------------------------------------------- tier and rank


def _tie_breaker_words(name: str, facts: Facts) -> str:
    if name == "final score":
        return "higher final score first"
    if name == "ref":
        return "reference, in alphabetical order"
    try:
        entry, arg = tie_breaker(name)
    except KeyError:
        return name.replace("_", " ")
    words = entry.label.format(arg=facts.section_titles.get(arg, arg))
    return words[:1].lower() + words[1:]


def rank_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """The tier and the rank: the order used, the application above, any tie."""
    out = [
        f"Tier {data['tier']}. Applications are funded tier by tier (tier 1 first), and by "
        "rank within a tier."
    ]
    r = data["ranking"]
    if r is None:
        why = reason_words(data["status"], data["reason"], {"min_reviews": facts.min_reviews})
        out.append(f"Not ranked: {status_words(data['status']).lower()} ({why}).")
        return Part("rank", "Tier and rank", out)
    order = ["final score"] + list(r["tie_breakers"]) + ["ref"]
    out.append(
        f"Rank {r['rank']} of {r['of']}. The order: "
        + ", then ".join(_tie_breaker_words(t, facts) for t in order)
        + "."
    )
    if r["above"] is None:
        out.append("First place: no application is above it.")
    else:
        out.append(
            f"Placed below {r['above']['ref']} (final score {_n(r['above']['final_6'])}), "
            f"decided by: {_tie_breaker_words(r['decided_by'] or 'final score', facts)}."
        )
    if r["tied_with"]:
        more = r["tied_count"] - len(r["tied_with"])
        out.append(
            "Same final score as "
            + ", ".join(r["tied_with"])
            + (f" and {more} more" if more > 0 else "")
            + "."
        )
    return Part("rank", "Tier and rank", out)


# --------------------------------------------------------------------------- funding step


def _outcome(data: Mapping[str, Any], facts: Facts) -> str:
    f = data["funding"]
    policy = {**f, "min_reviews": facts.min_reviews}
    amount = None
    if f.get("district_amount_before") is not None:
        amount = Decimal(f["district_amount_before"]) + Decimal(f["award"])
    words = reason_words(
        data["status"],
        data["reason"],
        policy,
        requested=Decimal(f["requested_amount"]),
        district_awards=f.get("district_awards_before"),
        district_amount=amount,
    )
    return f"{status_words(data['status'])}: {words}"


def funding_part(data: Mapping[str, Any], facts: Facts) -> Part:
    """The funding step: place, funds before, request, award, funds after, outcome."""
    f = data["funding"]
    if f["position"] is None:
        return Part(
            "funding",
            "The funding step",
            ["Not in the funding order. " + _outcome(data, facts) + "."],
        )
    capped = (
        f"Request considered (at most the largest award, {_money(f['max_award'])})"
        if f["max_award"] is not None
        else "Request considered (no largest award)"
    )
    rows = [
        ["Place in the funding order", f"{f['position']} of {f['of']}"],
        ["Funds available in total", _money(f["total_funds"])],
        ["Requested", _money(f["requested_amount"])],
        [capped, _money(f["request"])],
        ["Funds left before this application", _money(f["remaining_before"])],
        ["Room for this application", _money(f["room"]) if f["room"] else "none"],
    ]
    if f["district_max_awards"] is not None or f["district_max_amount"] is not None:
        rows.append(
            [
                f"District {data['district']} before this application",
                f"{_plural(f['district_awards_before'], 'award')}, "
                f"{_money(f['district_amount_before'])}",
            ]
        )
    rows += [
        ["Award", _money(f["award"])],
        ["Funds left after", _money(f["remaining_after"])],
        ["Outcome", _outcome(data, facts)],
    ]
    intro = [_rules(f)]
    if f["stopped_at"] is not None:
        intro.append(f"Funding stopped at {f['stopped_at']}, which did not fit.")
    table = Table(
        "This application's funding step", ["Step", "This application"], rows, [False, True]
    )
    return Part("funding", "The funding step", intro, [table])


def _rules(f: Mapping[str, Any]) -> str:
    partial = (
        f"an application that does not fit may be funded in part when at least "
        f"{_money(f['partial_min'])} is left"
        if f["partial_funding"]
        else "an application that does not fit is not funded in part"
    )
    after = (
        "funding stops at the first application that does not fit"
        if f["fund_down"] == "strict"
        else "one that does not fit is passed over and later ones are still considered"
    )
    caps = []
    if f["district_max_awards"] is not None:
        caps.append(f"at most {_plural(int(f['district_max_awards']), 'award')} per district")
    if f["district_max_amount"] is not None:
        caps.append(f"at most {_money(f['district_max_amount'])} per district")
    limit = f"; {' and '.join(caps)}" if caps else ""
    return (
        "Applications are funded in the funding order until the money runs out: "
        f"{partial}; {after}{limit}."
    )

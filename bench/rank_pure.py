"""An independent pure-Python implementation of docs/ranking.md, the benchmark's baseline.

Written from the rules (§1-§8), not from ``scoring.core``: plain dicts, lists, floats and
integer cents, no numpy. ``step_pure`` parses the bundle (not timed), ranks it in memory
(timed: review scores, normalisation, aggregation, status, flags, rank, fund-down and the
result rows) and compares ref, rank, status, award, reason and final with the document of the
last ``cli`` step (bench/out/rank-<db>.json) when there is one.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from datetime import datetime
from decimal import Decimal

from rank_common import OUT, bundle_path, emit, peak_rss_mb


def nano(x: float) -> int:
    """§8: a score as an integer number of nano-points."""
    return round(x * 1e9)


def up(n: int, places: int) -> int:
    """§8: nano-points rounded half up (toward +inf) to ``places`` decimals, as an integer."""
    step = 10 ** (9 - places)
    return (n + step // 2) // step


def cents(value) -> int:
    """Money as integer cents."""
    return int(Decimal(str(value)) * 100)


def _review_scores(bundle: dict) -> tuple[dict, list]:
    """§3.1: (application ref → counted reviews [(reviewer, S, section pct)]), sections."""
    sections = []
    for s in bundle["rubric"]["sections"]:
        m = sum(c["max_points"] for c in s["criteria"])
        w = s.get("weight", m)
        sections.append((s["key"], w, m, [c["key"] for c in s["criteria"]]))
    wsum = sum(w for _, w, _, _ in sections)
    out: dict[str, list] = {}
    for r in bundle["reviews"]:
        if not r["submitted"]:
            continue
        p = r["scores"]
        pct = {key: 100 * sum(p[k] for k in keys) / m for key, _, m, keys in sections}
        score = 100 * sum(w * sum(p[k] for k in keys) / m for _, w, m, keys in sections) / wsum
        out.setdefault(r["application"], []).append((r["reviewer"], score, pct))
    for reviews in out.values():
        reviews.sort(key=lambda x: x[0])
    return out, sections


def _normalise(counted: dict, policy: dict) -> dict:
    """§3.2: (ref, reviewer) → S' (z-score per reviewer, or S itself)."""
    adjusted = {(ref, v): s for ref, rs in counted.items() for v, s, _ in rs}
    if policy.get("normalization", "none") != "zscore":
        return adjusted
    allv = [s for _, rs in sorted(counted.items()) for _, s, _ in rs]
    mu, sigma = statistics.fmean(allv), statistics.pstdev(allv)
    by: dict[str, list] = {}
    for ref in sorted(counted):
        for v, s, _ in counted[ref]:
            by.setdefault(v, []).append(s)
    stats = {}
    for v, ss in by.items():
        flat = len({nano(s) for s in ss}) == 1
        stats[v] = (len(ss), statistics.fmean(ss), 0.0 if flat else statistics.pstdev(ss))
    for (ref, v), s in adjusted.items():
        n, m, sd = stats[v]
        if n >= 3 and sd > 0:
            adjusted[(ref, v)] = mu + sigma * (s - m) / sd
    return adjusted


def _aggregate(values: list[float], how: str) -> float:
    return statistics.median(values) if how == "median" else sum(values) / len(values)


def rank_bundle(bundle: dict) -> list[dict]:
    """The ranking's rows in document order (§3-§7)."""
    comp, policy = bundle["competition"], bundle["competition"].get("policy", {})
    how = policy.get("aggregation", "mean")
    counted, sections = _review_scores(bundle)
    adjusted = _normalise(counted, policy)
    prio = {p["key"]: Decimal(str(p["points"])) for p in bundle["priorities"]}
    district = {s["code"]: s["district"] for s in bundle["schools"]}
    rows = []
    for a in sorted(bundle["applications"], key=lambda a: a["ref"]):
        rs = counted.get(a["ref"], [])
        pp = sum((prio[k] for k in set(a.get("priorities", []))), Decimal(0))
        row = {"ref": a["ref"], "district": district[a["school"]], "tier": a.get("tier", 1)}
        row |= {"pp": pp, "request": cents(a["requested_amount"]), "at": a.get("submitted_at")}
        raw = sorted(s for _, s, _ in rs)
        row["raw"] = raw
        row["flags"] = []
        if (
            len(raw) >= 2
            and up(nano(raw[-1]), 6) - up(nano(raw[0]), 6)
            > policy.get("discrepancy_threshold", 15) * 10**6
        ):
            row["flags"].append("discrepancy")
        if rs:
            base = _aggregate([adjusted[(a["ref"], v)] for v, _, _ in rs], how)
            row["final9"] = nano(base) + int(pp * 10**9)
            row["sect6"] = {
                key: up(nano(_aggregate([pct[key] for _, _, pct in rs], how)), 6)
                for key, *_ in sections
            }
        if not a.get("eligible", True):
            row["status"] = "ineligible"
        elif len(rs) < policy.get("min_reviews", 2):
            row["status"] = "incomplete"
        rows.append(row)
    ranked = [r for r in rows if "status" not in r]
    _order(ranked, policy)
    _fund(ranked, comp, policy)
    unranked = [r for r in rows if r["status"] in ("incomplete", "ineligible")]
    unranked.sort(key=lambda r: (r["status"] != "incomplete", r["ref"]))
    return ranked + unranked


def _order(ranked: list[dict], policy: dict) -> None:
    """§4-§5: tie flags, then final descending, the tie-breakers and ref."""
    finals: dict[int, int] = {}
    for r in ranked:
        r["final6"] = up(r["final9"], 6)
        finals[r["final6"]] = finals.get(r["final6"], 0) + 1
    for r in ranked:
        if finals[r["final6"]] > 1:
            r["flags"].append("tie")

    def key(r):
        k = [-r["final6"]]
        for tb in policy.get("tie_breakers", []):
            if tb.startswith("section:"):
                k.append(-r["sect6"][tb[8:]])
            elif tb == "priority_points":
                k.append(-r["pp"])
            elif tb == "requested_amount":
                k.append(r["request"])
            else:
                at = r["at"]
                k.append((at is None, datetime.fromisoformat(at).timestamp() if at else 0))
        return (*k, r["ref"])

    ranked.sort(key=key)
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    ranked.sort(key=lambda r: (r["tier"], r["rank"]))


def _fund(order: list[dict], comp: dict, policy: dict) -> None:
    """§6: the fund-down loop in integer cents."""
    remaining = cents(comp["total_funds"])
    max_award = cents(comp["max_award"]) if comp.get("max_award") else None
    partial_min = policy.get("partial_min") or comp.get("min_award") or "0.01"
    partial_min = cents(partial_min)
    cap_n, cap_amt = policy.get("district_max_awards"), policy.get("district_max_amount")
    cap_amt = None if cap_amt is None else cents(cap_amt)
    min6 = int(Decimal(str(policy.get("min_score", 0))) * 10**6)
    count: dict[str, int] = {}
    amount: dict[str, int] = {}
    stopped = False
    for r in order:
        r["award"], r["reason"] = 0, None
        d = r["district"]
        if r["final6"] < min6:
            r["status"] = "below_threshold"
            continue
        if stopped:
            r["status"], r["reason"] = "waitlisted", "funds"
            continue
        request = min(r["request"], max_award) if max_award is not None else r["request"]
        if cap_n is not None and count.get(d, 0) >= cap_n:
            r["status"], r["reason"] = "waitlisted", "district_cap"
            continue
        room = remaining if cap_amt is None else min(remaining, cap_amt - amount.get(d, 0))
        if request <= room:
            r["status"], r["award"] = "funded", request
        elif policy.get("partial_funding") and room >= partial_min:
            r["status"], r["award"] = "partially_funded", room
        else:
            r["status"] = "waitlisted"
            r["reason"] = "district_cap" if room < remaining else "funds"
            stopped = policy.get("fund_down", "strict") == "strict" and r["reason"] == "funds"
        remaining -= r["award"]
        if r["award"]:
            count[d] = count.get(d, 0) + 1
            amount[d] = amount.get(d, 0) + r["award"]


def _summary(rows: list[dict]) -> list[tuple]:
    return [
        (
            r["ref"],
            r.get("rank"),
            r["status"],
            r.get("award", 0),
            r.get("reason") if r["status"] != "ineligible" else None,
            None if "final9" not in r else up(r["final9"], 4),
        )
        for r in rows
    ]


def _stored_summary(document: dict) -> list[tuple]:
    out = []
    for a in document["applications"]:
        reason = a["reason"] if a["status"] != "ineligible" else None
        final = None if a["final"] is None else round(a["final"] * 10**4)
        out.append((a["ref"], a["rank"], a["status"], cents(a["award"]), reason, final))
    return out


def step_pure(args) -> None:
    """Time the pure-Python ranking of the bundle in memory; compare with the cli document."""
    path = bundle_path(args)
    bundle = json.loads(path.read_bytes())
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    rows = rank_bundle(bundle)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
    mine, mismatches, compared = _summary(rows), None, None
    stored = OUT / f"rank-{args.db}.json"
    if stored.exists():
        theirs = _stored_summary(json.loads(stored.read_bytes()))
        compared = str(stored.name)
        mismatches = sum(1 for a, b in zip(mine, theirs, strict=False) if a != b)
        mismatches += abs(len(mine) - len(theirs))
    emit(
        step="pure",
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        applications=len(rows),
        compared_with=compared,
        mismatches=mismatches,
        peak_rss_mb=peak_rss_mb(),
    )

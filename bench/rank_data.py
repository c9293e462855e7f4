"""The ranking benchmark's data: a deterministic bundle of apps × reviews × criteria."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from rank_common import OUT, SLUG, bundle_path, emit


def generate(args) -> None:
    """A deterministic bundle of apps × reviews × criteria (numpy RNG, seed 2016)."""
    import numpy as np

    path = bundle_path(args)
    if path.exists() and not args.force:
        emit(step="generate", skipped=True, path=str(path), mb=round(path.stat().st_size / 2**20))
        return
    start = time.perf_counter()
    rng = np.random.default_rng(2016)
    n, r, c = args.apps, args.reviews, args.criteria
    n_sections = max(1, c // 5)
    keys, maxima, steps = [], [], []
    sections = []
    for s in range(n_sections):
        criteria = []
        for k in range(s, c, n_sections):
            key, half = f"s{s}.c{k}", k % 4 == 3
            keys.append(key)
            maxima.append(5 if half else 4)
            steps.append(0.5 if half else 1)
            criteria.append(
                {"key": key, "title": f"Criterion {k}", "max_points": maxima[-1], "step": steps[-1]}
            )
        sections.append(
            {"key": f"s{s}", "title": f"Section {s}", "weight": 10 + 5 * s, "criteria": criteria}
        )
    n_districts, n_schools = max(2, n // 500), max(1, n // 2)
    n_reviewers = max(r + 2, n * r // 1000)
    districts = [
        {"code": f"D{d:04d}", "name": f"District {d}", "alliance": d % 7 == 0}
        for d in range(n_districts)
    ]
    schools = [
        {"code": f"S{s:06d}", "name": f"School {s}", "district": f"D{s % n_districts:04d}"}
        for s in range(n_schools)
    ]
    reviewers = [
        {
            "email": f"reviewer{v:05d}@example.org",
            "name": f"Reviewer {v}",
            "conflicts": [f"D{v % n_districts:04d}"],
        }
        for v in range(n_reviewers)
    ]
    amounts = rng.integers(50_000, 2_000_001, size=n)
    tiers = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    prio = rng.random((n, 3)) < 0.1
    ineligible = rng.random(n) < 0.02
    base = datetime(2016, 4, 1, 9, tzinfo=timezone(timedelta(hours=-4)))
    apps = []
    for i in range(n):
        apps.append(
            {
                "ref": f"B-{i:06d}",
                "school": f"S{i % n_schools:06d}",
                "requested_amount": f"{int(amounts[i])}.00",
                "tier": int(tiers[i]),
                "priorities": [
                    p
                    for p, on in zip(("network", "turnaround", "alliance"), prio[i], strict=True)
                    if on
                ],
                "eligible": not ineligible[i],
                "ineligible_reason": "Missing budget narrative" if ineligible[i] else None,
                "submitted_at": (base + timedelta(seconds=int(i * 37))).isoformat(),
            }
        )
    # points: integer multiples of each criterion's step in [0, max], skewed to the upper half
    units = np.array([int(m / st) for m, st in zip(maxima, steps, strict=True)])
    draws = np.minimum(units, (rng.beta(4, 2, size=(n * r, c)) * (units + 1)).astype(int))
    int_cols = [st == 1 for st in steps]
    drafts = rng.random(n * r) < 0.01
    reviews = []
    row = 0
    for i in range(n):
        district = (i % n_schools) % n_districts
        chosen, v = [], (i * r) % n_reviewers
        while len(chosen) < r:
            if v % n_districts != district and v not in chosen:
                chosen.append(v)
            v = (v + 1) % n_reviewers
        for v in chosen:
            values = [
                int(x) if ok else x / 2 for x, ok in zip(draws[row].tolist(), int_cols, strict=True)
            ]
            scores = dict(zip(keys, values, strict=True))
            if drafts[row]:
                scores = dict(list(scores.items())[: c // 2])
            reviews.append(
                {
                    "application": apps[i]["ref"],
                    "reviewer": reviewers[v]["email"],
                    "submitted": not bool(drafts[row]),
                    "scores": scores,
                }
            )
            row += 1
    total_requested = int(amounts.sum())
    bundle = {
        "format": "grant-scoring-bundle/1",
        "competition": {
            "slug": SLUG,
            "program": "SIG",
            "title": f"Benchmark {n} x {r} x {c}",
            "fiscal_year": "2016-17",
            "opens_at": "2016-03-01T09:00:00-05:00",
            "closes_at": "2016-04-30T16:00:00-04:00",
            "total_funds": f"{total_requested // 10}.00",
            "min_award": "50000.00",
            "max_award": "2000000.00",
            "policy": {
                "min_score": 50,
                "tie_breakers": [
                    "section:s0",
                    "priority_points",
                    "requested_amount",
                    "submitted_at",
                ],
                "fund_down": "skip",
                "partial_funding": True,
                "district_max_awards": max(1, n // 1000),
            },
        },
        "rubric": {"sections": sections},
        "priorities": [
            {"key": "network", "title": "Network", "points": 5},
            {"key": "turnaround", "title": "Turnaround", "points": 3},
            {"key": "alliance", "title": "Alliance district", "points": 2},
        ],
        "districts": districts,
        "schools": schools,
        "reviewers": reviewers,
        "applications": apps,
        "reviews": reviews,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        json.dump(bundle, f, separators=(",", ":"))
    emit(
        step="generate",
        seconds=round(time.perf_counter() - start, 2),
        path=str(path),
        mb=round(path.stat().st_size / 2**20),
        applications=n,
        reviews=n * r,
        criterion_scores=int(sum(len(x["scores"]) for x in reviews)),
    )

"""Benchmark the pure ranking core on a synthetic competition; prints one JSON line.

Usage::

    python bench/bench_core.py --apps 100000 --reviews 3 --criteria 25

The competition is generated from a fixed seed (same arguments → same inputs → same
``inputs_sha256``): ``--apps`` applications, each with ``--reviews`` counted reviews by distinct
reviewers drawn from a pool, and a rubric of ``--criteria`` criteria grouped three to a section.
Only ``rank_columns`` (the core) is timed for ``core_s``; building the result document and
serialising it (``document_s``) and one ``explanation_data`` per application
(``explanations_s``) are timed separately. Memory: ``tracemalloc`` peak during one
core run (a separate, untimed run, since tracing slows Python code), and the process's
``ru_maxrss`` (includes generating the inputs).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.core.ranking import (  # noqa: E402
    ApplicationInput,
    Policy,
    dumps_document,
    explanation_data,
    rank_columns,
    result_document,
)
from scoring.core.rubric import Criterion, Rubric, Section  # noqa: E402


def make_rubric(n_criteria: int, rng: np.random.Generator) -> Rubric:
    """Criteria with max 2..10 points, three to a section (the last takes the remainder)."""
    maxima = rng.integers(2, 11, size=n_criteria).tolist()
    n_sections = max(1, n_criteria // 3)
    sections, start = [], 0
    for s in range(n_sections):
        stop = n_criteria if s == n_sections - 1 else start + 3
        crits = tuple(Criterion(f"s{s}.c{c}", Decimal(maxima[c])) for c in range(start, stop))
        sections.append(Section(f"s{s}", crits, weight=Decimal(int(rng.integers(1, 30)))))
        start = stop
    return Rubric(tuple(sections)).validate()


def make_competition(
    n_apps: int, per_app: int, n_criteria: int, seed: int, shuffle_apps: bool = False
):
    """Applications, review columns, points and priorities of a synthetic competition.

    Applications come sorted by ref (as the service reads them, ``ORDER BY ref``) unless
    ``shuffle_apps``; reviews always come in random order.
    """
    rng = np.random.default_rng(seed)
    rubric = make_rubric(n_criteria, rng)
    n_districts = max(1, n_apps // 500)
    requested = rng.integers(50_000, 2_000_000, size=n_apps) * 100
    prio = rng.random(n_apps) < 0.2
    apps = [
        ApplicationInput(
            ref=f"APP-{i:07d}",
            school=f"{i:07d}",
            district=f"{d:03d}",
            requested_amount=Decimal(int(c)).scaleb(-2),
            tier=int(t),
            priorities=("network",) if p else (),
            eligible=bool(e),
            ineligible_reason=None if e else "late",
        )
        for i, d, c, t, p, e in zip(
            range(n_apps),
            rng.integers(0, n_districts, n_apps).tolist(),
            requested.tolist(),
            rng.integers(1, 3, n_apps).tolist(),
            prio.tolist(),
            (rng.random(n_apps) > 0.01).tolist(),
            strict=True,
        )
    ]
    order = rng.permutation(n_apps)
    if shuffle_apps:  # same competition, different input order (same inputs_sha256)
        apps = [apps[i] for i in order.tolist()]
    n_reviewers = max(per_app, n_apps * per_app // 150)
    review_app = np.repeat(np.arange(n_apps), per_app)
    if shuffle_apps:  # review_app indexes the list as passed
        inverse = np.empty(n_apps, dtype=np.int64)
        inverse[order] = np.arange(n_apps)
        review_app = inverse[review_app]
    offsets = rng.integers(0, n_reviewers, size=n_apps)
    reviewer_idx = (offsets[:, None] + np.arange(per_app)) % n_reviewers  # distinct per app
    names = [f"reviewer{k}@example.org" for k in range(n_reviewers)]
    reviewer = [names[k] for k in reviewer_idx.reshape(-1).tolist()]
    maxima = np.array([float(c.max_points) for c in rubric.criteria])
    points = np.floor(rng.random((len(review_app), n_criteria)) * (maxima + 1))
    shuffle = rng.permutation(len(review_app))  # reviews arrive in no particular order
    return (
        rubric,
        apps,
        review_app[shuffle],
        [reviewer[i] for i in shuffle.tolist()],
        points[shuffle],
        {"network": Decimal(5)},
    )


def main() -> None:
    """Parse the options, time the core on the generated competition and print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, default=100_000)
    ap.add_argument("--reviews", type=int, default=3, help="counted reviews per application")
    ap.add_argument("--criteria", type=int, default=25)
    ap.add_argument("--seed", type=int, default=20160415)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--aggregation", default="mean")
    ap.add_argument("--normalization", default="none")
    ap.add_argument(
        "--shuffle-apps",
        action="store_true",
        help="pass applications in random order instead of sorted by ref",
    )
    args = ap.parse_args()

    rubric, apps, review_app, reviewer, points, priorities = make_competition(
        args.apps, args.reviews, args.criteria, args.seed, args.shuffle_apps
    )
    total = sum((a.requested_amount for a in apps), Decimal(0)) / 3
    policy = Policy(
        aggregation=args.aggregation,
        normalization=args.normalization,
        min_score=Decimal(40),
        tie_breakers=("section:s0", "priority_points", "requested_amount"),
        total_funds=total.quantize(Decimal("0.01")),
        max_award=Decimal(1_500_000),
        fund_down="skip",
        partial_funding=True,
        district_max_awards=200,
    ).validate(rubric)
    call = (rubric, policy, apps, review_app, reviewer, points, priorities)

    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = rank_columns(*call)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t0 = time.perf_counter()
    text = dumps_document(result_document(result, "bench", 1))
    document_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in result.applications:  # what the service stores with a run: one per application
        explanation_data(result, a.ref)
    explanations_s = time.perf_counter() - t0

    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    rank_columns(*call)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    statuses: dict[str, int] = {}
    for a in result.applications:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    print(
        json.dumps(
            {
                "apps": args.apps,
                "reviews_per_app": args.reviews,
                "criteria": args.criteria,
                "sections": len(rubric.sections),
                "reviews": int(len(review_app)),
                "aggregation": args.aggregation,
                "normalization": args.normalization,
                "apps_sorted_by_ref": not args.shuffle_apps,
                "core_s_first": round(times[0], 4),
                "core_s_min": round(min(times), 4),
                "core_s_median": round(sorted(times)[len(times) // 2], 4),
                "core_cpu_s_min": round(min(cpu), 4),
                "document_s": round(document_s, 4),
                "document_bytes": len(text.encode()),
                "explanations_s": round(explanations_s, 4),
                "core_tracemalloc_peak_mb": round((peak - base) / 2**20, 1),
                "process_maxrss_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                ),
                "points_array_mb": round(points.nbytes / 2**20, 1),
                "total_awarded": str(result.total_awarded),
                "statuses": statuses,
                "inputs_sha256": result.inputs_sha256,
            }
        )
    )


if __name__ == "__main__":
    main()

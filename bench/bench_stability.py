"""Benchmark the rank stability bootstrap (docs/stability.md) against one ranking; one JSON line.

Usage::

    python bench/bench_stability.py --apps 100000 --reviews 3 --criteria 25 --resamples 200

The competition is ``bench_core.make_competition`` (fixed seed). ``--policy bench`` is the
policy of ``bench_core.py`` (skip fund-down, partial funding, a district cap: the fund-down
loop visits every application); ``--policy default`` is a strict fund-down with no caps (the
loop stops at the first application that does not fit). ``rank_s`` is one ``rank_columns``
(the compute step of a run) timed in the same process just before the bootstrap, so
``ratio`` = bootstrap seconds / rank seconds is comparable across machines and loads; CPU
seconds are the process's user + sys time (``resource.getrusage``), the figure that the load of
a shared machine does not inflate. ``--reference N`` also times, in the same process, the
per-resample path (``resamples_of``: the engine's ``order_ranked`` and ``fund_down`` once per
resample, the implementation before the batch path) for ``N`` resamples, as a same-run
baseline per resample.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import make_competition  # noqa: E402

from scoring.core.ranking import Policy, rank_columns  # noqa: E402
from scoring.core.ranking.stability import TOSS_UP, resamples_of, stability  # noqa: E402


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reference_cpu(result, resamples: int) -> float:
    """CPU seconds of the per-resample path (what ``stability`` did before the batch path)."""
    import numpy as np

    from scoring.core.ranking.columns import FUNDED, PARTIAL

    c = result._c
    c0 = cpu()
    funded = np.zeros(len(c.refs), dtype=np.int64)
    for r in resamples_of(c, resamples, 1):
        funded += np.isin(r.status, (FUNDED, PARTIAL))
    return cpu() - c0


def policy_for(name: str, apps, rubric) -> Policy:
    """``bench``: the policy of bench_core.py; ``default``: strict, no caps."""
    total = (sum((a.requested_amount for a in apps), Decimal(0)) / 3).quantize(Decimal("0.01"))
    if name == "default":
        return Policy(total_funds=total, tie_breakers=("requested_amount",)).validate(rubric)
    return Policy(
        min_score=Decimal(40),
        tie_breakers=("section:s0", "priority_points", "requested_amount"),
        total_funds=total,
        max_award=Decimal(1_500_000),
        fund_down="skip",
        partial_funding=True,
        district_max_awards=200,
    ).validate(rubric)


def main() -> None:
    """Rank once, bootstrap, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, default=100_000)
    ap.add_argument("--reviews", type=int, default=3)
    ap.add_argument("--criteria", type=int, default=25)
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--policy", choices=("bench", "default"), default="bench")
    ap.add_argument("--seed", type=int, default=20160415)
    ap.add_argument("--reference", type=int, default=0, help="resamples of the old path")
    args = ap.parse_args()
    rubric, apps, review_app, reviewer, points, priorities = make_competition(
        args.apps, args.reviews, args.criteria, args.seed
    )
    policy = policy_for(args.policy, apps, rubric)
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), cpu()
    result = rank_columns(rubric, policy, apps, review_app, reviewer, points, priorities)
    rank_s, rank_cpu = time.perf_counter() - t0, cpu() - c0
    t0, c0 = time.perf_counter(), cpu()
    figures = stability(result, args.resamples)
    boot_s, boot_cpu = time.perf_counter() - t0, cpu() - c0
    ref = {}
    if args.reference:
        ref_cpu = reference_cpu(result, args.reference)
        ref = {
            "reference_resamples": args.reference,
            "reference_cpu_s": round(ref_cpu, 2),
            "reference_cpu_per_resample_ms": round(1000 * ref_cpu / args.reference, 2),
            "speedup_cpu_per_resample": round(
                (ref_cpu / args.reference) / max(boot_cpu / max(args.resamples, 1), 1e-9), 1
            ),
        }
    p = figures.funded / max(args.resamples, 1)
    toss = figures.ranked & (p >= TOSS_UP[0]) & (p <= TOSS_UP[1])
    print(
        json.dumps(
            {
                "apps": args.apps,
                "reviews_per_app": args.reviews,
                "criteria": args.criteria,
                "policy": args.policy,
                "resamples": args.resamples,
                "load_1min_at_start": round(load, 2),
                "rank_s": round(rank_s, 3),
                "rank_cpu_s": round(rank_cpu, 3),
                "stability_s": round(boot_s, 2),
                "stability_cpu_s": round(boot_cpu, 2),
                "cpu_ratio_per_resample": round(
                    boot_cpu / max(rank_cpu, 1e-9) / max(args.resamples, 1), 3
                ),
                "per_resample_ms": round(1000 * boot_s / max(args.resamples, 1), 2),
                "ratio_to_rank": round(boot_s / rank_s, 1),
                "ratio_per_resample": round(boot_s / rank_s / max(args.resamples, 1), 3),
                "ranked": int(figures.ranked.sum()),
                "toss_ups": int(toss.sum()),
                "always_funded": int((figures.ranked & (p == 1)).sum()),
                "never_funded": int((figures.ranked & (p == 0)).sum()),
                **ref,
                "load_1min_at_end": round(os.getloadavg()[0], 2),
                "process_maxrss_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                ),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

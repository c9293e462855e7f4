"""Give the benchmark database a done ranking run with its rank stability (for bench_exports.py).

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_h7 \
        .venv/bin/python bench/seed_run.py --resamples 200

Run after ``bench/bench_rank.py --apps 100000 --db postgresql --step import`` against the same
``BENCH_PG_URL``. The bench bundle has no closing date, so the service refuses an official run
(``phases.require_official``); this script inserts the queued run row itself, then runs
``execute_run`` and ``compute_stability`` exactly as the worker does. One JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_h7")


def main() -> None:
    """Insert a queued run, execute it, compute its stability; print the timings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--slug", default="bench")
    args = ap.parse_args()
    from sqlalchemy import select

    from config import Config, celery_settings
    from scoring import create_app
    from scoring.extensions import db
    from scoring.models import Competition, RankingRun, RunStatus
    from scoring.services import ranking
    from scoring.services.ranking import stability

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = PG_URL
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True

    app = create_app(BenchConfig)
    with app.app_context():
        competition = db.session.scalar(select(Competition).where(Competition.slug == args.slug))
        run = RankingRun(
            competition_id=competition.id,
            status=RunStatus.QUEUED,
            what_if=False,
            policy_overrides={},
            attempts=0,
        )
        db.session.add(run)
        db.session.commit()
        t0 = time.perf_counter()
        ranking.execute_run(run.id)
        db.session.commit()
        rank_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        row = stability.compute_stability(run.id, resamples=args.resamples)
        db.session.commit()
        print(
            json.dumps(
                {
                    "run": run.id,
                    "status": run.status.value,
                    "rank_s": round(rank_s, 2),
                    "stability_status": row.status.value,
                    "stability_s": round(time.perf_counter() - t0, 2),
                    "resamples": row.resamples,
                    "load_1m": round(os.getloadavg()[0], 2),
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Benchmark: bundle import and ranking end to end from the database, at scale.

    .venv/bin/python bench/bench_rank.py --apps 100000 --reviews 3 --criteria 25 --db postgresql

Steps (each runs in its own process so that its peak RSS is its own; one JSON line each):

* ``generate``: write a deterministic bundle JSON file (bench/out/, not timed as a goal);
* ``import``: an empty schema, then read + parse the file exactly as ``flask bundle import``
  does, ``import_bundle`` and commit (goal: < 60 s on PostgreSQL at 100k × 3 × 25);
* ``rank``: ``create_run`` + commit + ``execute_run`` + commit, in process (goal: <= 10 s on
  PostgreSQL), with the run's own read/compute/write split;
* ``cli``: the real command line, ``flask --app scoring rank SLUG --json`` in the embedded
  mode (tasks in-process), output to a file: process start-up included.

Memory: ``peak_rss_mb`` is the process's ``ru_maxrss``; with ``--tracemalloc`` the import and
rank steps run a second time under tracemalloc to report the peak of Python allocations
(``tracemalloc_peak_mb``; wall time under tracemalloc is slower and is reported separately).

Databases: ``--db postgresql`` uses ``BENCH_PG_URL`` (default the ``bench_ranking`` database on
127.0.0.1, whose public schema the benchmark drops and recreates); ``--db sqlite`` uses
bench/out/bench.sqlite3.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_ranking"
)
SLUG = "bench"
sys.path.insert(0, str(ROOT))


def database_url(db: str) -> str:
    """The benchmark database's URL (``BENCH_PG_URL``, or the SQLite file in bench/out/)."""
    return PG_URL if db == "postgresql" else f"sqlite:///{OUT / 'bench.sqlite3'}"


def bundle_path(args) -> Path:
    """The generated bundle's path in bench/out/, named by its size."""
    return OUT / f"bundle-{args.apps}x{args.reviews}x{args.criteria}.json"


def peak_rss_mb() -> float:
    """This process's peak resident memory (``ru_maxrss``) in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(**fields) -> None:
    """Print one JSON line of results and flush it."""
    print(json.dumps(fields), flush=True)


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- steps


def make_app(db_name: str):
    """A Flask app on the benchmark database whose tasks run in this process."""
    from config import Config, celery_settings
    from scoring import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url(db_name)
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True

    return create_app(BenchConfig)


def reset_schema(app, db_name: str) -> None:
    """Start from an empty database (drop the schema or the SQLite file), then create the tables."""
    import sqlalchemy as sa

    from scoring.extensions import db

    with app.app_context():
        if db_name == "postgresql":
            db.engine.dispose()
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
        else:
            db.engine.dispose()
            (OUT / "bench.sqlite3").unlink(missing_ok=True)
        db.create_all()


def step_import(args) -> None:
    """Time parsing, validating, importing and committing the bundle into an empty schema."""
    import hashlib
    from decimal import Decimal

    from scoring.extensions import db
    from scoring.services import bundles

    app = make_app(args.db)
    reset_schema(app, args.db)
    trace = _trace_start(args)
    path = bundle_path(args)
    start = time.perf_counter()
    raw = path.read_bytes()
    data = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    digest = hashlib.sha256(raw).hexdigest()
    del raw
    parsed = time.perf_counter()
    with app.app_context():
        t0 = time.perf_counter()
        plan = bundles.validate_bundle(data)
        validated = time.perf_counter() - t0
        del plan
        db.session.rollback()
        t0 = time.perf_counter()
        counts = bundles.import_bundle(data, source=f"{path.name} sha256={digest}")
        imported = time.perf_counter()
        db.session.commit()
        committed = time.perf_counter()
        analyze = None
        if args.db == "postgresql":
            from sqlalchemy import text

            t = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
            analyze = round(time.perf_counter() - t, 2)
    emit(
        step="import",
        db=args.db,
        traced=bool(args.trace),
        parse_s=round(parsed - start, 2),
        validate_only_s=round(validated, 2),
        import_s=round(imported - t0, 2),
        commit_s=round(committed - imported, 2),
        total_s=round(parsed - start + committed - t0, 2),
        analyze_s=analyze,
        peak_rss_mb=peak_rss_mb(),
        **_trace_stop(trace),
        **counts,
    )


def step_rank(args) -> None:
    """Time creating and executing a ranking run in process, with its read/compute/write split."""
    from sqlalchemy import select

    from scoring.extensions import db
    from scoring.models import Competition, RankingRun
    from scoring.services import ranking

    app = make_app(args.db)
    trace = _trace_start(args)
    with app.app_context():
        start = time.perf_counter()
        competition = db.session.scalar(select(Competition).where(Competition.slug == SLUG))
        run = ranking.create_run(competition)
        db.session.commit()
        run_id = run.id
        ranking.execute_run(run_id)
        db.session.commit()
        wall = time.perf_counter() - start
        run = db.session.get(RankingRun, run_id)
        emit(
            step="rank",
            db=args.db,
            traced=bool(args.trace),
            wall_s=round(wall, 2),
            status=run.status.value,
            error=run.error,
            timings=run.timings,
            applications=run.stats and run.stats["applications"],
            counted_reviews=run.stats and run.stats["counted_reviews"],
            peak_rss_mb=peak_rss_mb(),
            **_trace_stop(trace),
        )


def step_cli(args) -> None:
    """Time the real ``flask rank SLUG --json`` command (embedded mode, start-up included)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DATABASE_URL=database_url(args.db).replace("postgresql+psycopg", "postgresql"),
        PYTHONPATH=str(ROOT),
        SCORING_INSTANCE_DIR=str(OUT),
    )
    out = OUT / f"rank-{args.db}.json"
    start = time.perf_counter()
    with out.open("w") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "scoring", "rank", SLUG, "--json"],
            cwd=ROOT,
            env=env,
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
        )
    wall = time.perf_counter() - start
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    emit(
        step="cli",
        db=args.db,
        wall_s=round(wall, 2),
        exit_code=proc.returncode,
        stderr=proc.stderr.strip()[-300:] or None,
        output_mb=round(out.stat().st_size / 2**20, 1),
        peak_rss_mb=round(child, 1),
    )


def _trace_start(args):
    if not args.trace:
        return None
    import tracemalloc

    tracemalloc.start()
    return tracemalloc


def _trace_stop(trace) -> dict:
    if trace is None:
        return {}
    peak = trace.get_traced_memory()[1]
    trace.stop()
    return {"tracemalloc_peak_mb": round(peak / 2**20, 1)}


def machine() -> dict:
    """CPU model and count, memory, Python version and load, reported with the results."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem / 2**20, 1),
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0],
    }


def run_all(args) -> None:
    """Report the machine, generate the bundle, then run each step in its own process."""
    emit(
        step="machine",
        **machine(),
        apps=args.apps,
        reviews=args.reviews,
        criteria=args.criteria,
        db=args.db,
    )
    generate(args)
    base = [
        sys.executable,
        __file__,
        "--apps",
        str(args.apps),
        "--reviews",
        str(args.reviews),
        "--criteria",
        str(args.criteria),
        "--db",
        args.db,
    ]
    steps = [["--step", "import"], ["--step", "rank"], ["--step", "rank"], ["--step", "cli"]]
    if args.tracemalloc:
        steps += [["--step", "rank", "--trace"], ["--step", "import", "--trace"]]
    for extra in steps:
        subprocess.run(base + extra, cwd=ROOT, check=False)


def main() -> None:
    """Parse the options and run the chosen step (or all of them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=3)
    parser.add_argument("--criteria", type=int, default=25)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--step", choices=("all", "generate", "import", "rank", "cli"), default="all"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also rerun import and rank under tracemalloc (all only)",
    )
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help="regenerate the bundle file")
    args = parser.parse_args()
    {
        "all": run_all,
        "generate": generate,
        "import": step_import,
        "rank": step_rank,
        "cli": step_cli,
    }[args.step](args)


if __name__ == "__main__":
    main()

"""The ranking benchmark's timed steps, each run in its own process: import, rank, cli."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import rank_common
from rank_common import OUT, PG_URL, SLUG, bundle_path, database_url, emit, peak_rss_mb


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
    from scoring.cli.bundle import _read_json
    from scoring.extensions import db
    from scoring.services import bundles

    os.environ["PGAPPNAME"] = APP_NAME  # libpq: the backends of this step are named so
    app = make_app(args.db)
    reset_schema(app, args.db)
    trace = _trace_start(args)
    path = bundle_path(args)
    start, cpu0 = time.perf_counter(), _cpu()
    data, digest = _read_json(str(path))  # what `flask bundle import` does (--code: theirs)
    parsed, cpu_parse = time.perf_counter(), _cpu() - cpu0
    with app.app_context():
        t0 = time.perf_counter()
        if not args.skip_validate_only:
            plan = bundles.validate_bundle(data)
            del plan
        validated = time.perf_counter() - t0
        db.session.rollback()
        server0 = _server_cpu(db) if args.db == "postgresql" else None
        t0, cpu1 = time.perf_counter(), _cpu()
        counts = bundles.import_bundle(data, source=f"{path.name} sha256={digest}")
        imported = time.perf_counter()
        db.session.commit()
        committed, cpu_import = time.perf_counter(), _cpu() - cpu1
        server = _server_cpu(db) if args.db == "postgresql" else None
        if server is not None and server0 is not None:
            server = round(server - server0, 2)
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
        code=str(rank_common.CODE),
        load_avg_1m=os.getloadavg()[0],
        traced=bool(args.trace),
        parse_s=round(parsed - start, 2),
        validate_only_s=round(validated, 2),
        import_s=round(imported - t0, 2),
        commit_s=round(committed - imported, 2),
        total_s=round(parsed - start + committed - t0, 2),
        cpu_s=round(cpu_parse + cpu_import, 2),
        server_cpu_s=server,
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

    os.environ["PGAPPNAME"] = APP_NAME  # libpq: the backends of this step are named so
    app = make_app(args.db)
    trace = _trace_start(args)
    with app.app_context():
        start, cpu0 = time.perf_counter(), _cpu()
        competition = db.session.scalar(select(Competition).where(Competition.slug == SLUG))
        run = ranking.create_run(competition)
        db.session.commit()
        run_id = run.id
        ranking.execute_run(run_id)
        db.session.commit()
        wall, cpu = time.perf_counter() - start, _cpu() - cpu0
        run = db.session.get(RankingRun, run_id)
        emit(
            step="rank",
            db=args.db,
            code=str(rank_common.CODE),
            load_avg_1m=os.getloadavg()[0],
            traced=bool(args.trace),
            wall_s=round(wall, 2),
            cpu_s=round(cpu, 2),
            server_cpu_s=_server_cpu(db) if args.db == "postgresql" else None,
            status=run.status.value,
            error=run.error,
            timings=run.timings,
            applications=run.stats and run.stats["applications"],
            counted_reviews=run.stats and run.stats["counted_reviews"],
            peak_rss_mb=peak_rss_mb(),
            **_trace_stop(trace),
        )


#: ``application_name`` of the rank step's PostgreSQL connections (to find their backends).
APP_NAME = f"bench_rank_{os.getpid()}"


def _cpu() -> float:
    """This process's user + system CPU seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(db) -> float | None:
    """User + system CPU seconds of the PostgreSQL backends this step opened (still open in
    the pool), read from /proc (the server runs on this machine)."""
    from sqlalchemy import text

    pids = db.session.scalars(
        text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": APP_NAME}
    ).all()
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return round(total / tick, 2)


def step_cli(args) -> None:
    """Time the real ``flask rank SLUG --json`` command (embedded mode, start-up included)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DATABASE_URL=database_url(args.db).replace("postgresql+psycopg", "postgresql"),
        PYTHONPATH=str(rank_common.CODE),
        SCORING_INSTANCE_DIR=str(OUT),
    )
    out = OUT / f"rank-{args.db}{'' if rank_common.CODE == rank_common.ROOT else '-base'}.json"
    start = time.perf_counter()
    with out.open("w") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "scoring", "rank", SLUG, "--json"],
            cwd=rank_common.CODE,
            env=env,
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
        )
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = usage.ru_maxrss / 1024
    emit(
        step="cli",
        db=args.db,
        code=str(rank_common.CODE),
        load_avg_1m=os.getloadavg()[0],
        wall_s=round(wall, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
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

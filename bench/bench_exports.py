"""Benchmark: every export of a run, streamed (the worker's path) against the old direct export.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_wx \
        .venv/bin/python bench/bench_exports.py [--only awards.csv,scores.csv] [--baseline]

Uses the latest done run in the database (seed one with ``bench/bench_rank.py --apps 100000
--db postgresql --step import`` then ``--step rank`` against the same ``BENCH_PG_URL``). Each
export runs in its own process, so its peak RSS (``ru_maxrss``) is its own, and writes to
bench/out/. One JSON line per export: wall seconds, peak RSS, rows, file size.

``--baseline`` also runs the direct export as it was before the streamed writers (the module
``scoring/services/exports.py`` at ``--baseline-rev``, loaded from git), in the same session;
each baseline process is capped at ``--baseline-mb`` of address space and ``--baseline-s``
seconds so that it cannot take the machine: a cap reached is reported, not hidden.
Goals (issue 14): award list in any format < 30 s, score detail CSV < 60 s, each < 300 MB.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_wx")
sys.path.insert(0, str(ROOT))
#: The code measured: this tree, or another one (``BENCH_CODE=/tmp/base``: a baseline archived
#: from git, measured by this same script in the same session).
if os.environ.get("BENCH_CODE"):
    sys.path.insert(0, os.environ["BENCH_CODE"])
EXPORTS = ("awards.csv", "awards.xlsx", "awards.pdf", "board.csv", "scores.csv", "scores.xlsx")


def emit(**fields) -> None:
    """One JSON line."""
    print(json.dumps(fields), flush=True)


def make_app():
    """The app on the benchmark's PostgreSQL, tasks in-process, files under bench/out/."""
    from config import Config, celery_settings
    from scoring import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = PG_URL
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True
        EXPORT_DIR = OUT

    return create_app(BenchConfig)


def latest_run():
    """The latest done ranking run."""
    from sqlalchemy import select

    from scoring.extensions import db
    from scoring.models import RankingRun, RunStatus

    return db.session.scalar(
        select(RankingRun)
        .where(RankingRun.status == RunStatus.DONE)
        .order_by(RankingRun.id.desc())
        .limit(1)
    )


def child_new(name: str) -> None:
    """The streamed writer, as the worker runs it (``jobs.write`` into a file)."""
    from sqlalchemy import text

    from scoring.extensions import db
    from scoring.services.exports import jobs

    kind, fmt = name.split(".")
    app = make_app()
    with app.app_context():
        run = latest_run()
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        path = OUT / f"new-{name}"
        load, c0, s0 = os.getloadavg()[0], cpu(), backend_cpu(pid)
        start = time.perf_counter()
        with path.open("wb") as out:
            rows = jobs.write(out, run, kind, fmt)
        wall = time.perf_counter() - start
        client, server = cpu() - c0, backend_cpu(pid) - s0
    emit(path="streamed", export=name, run=run.id, wall_s=round(wall, 2), rows=rows,
         cpu_s=round(client, 2), server_cpu_s=round(server, 2),
         mb=round(path.stat().st_size / 1e6, 1), peak_rss_mb=peak_rss_mb(),
         load_1m_start=round(load, 2), load_1m_end=round(os.getloadavg()[0], 2))  # fmt: skip


def child_old(name: str, rev: str) -> None:
    """The direct export before this change (award_table/score_table + to_csv/to_xlsx, and
    award_pdf), loaded from git at ``rev``."""
    import importlib.util

    source = subprocess.run(
        ["git", "show", f"{rev}:scoring/services/exports.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    module_path = OUT / "old_exports.py"
    module_path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_exports", module_path)
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_exports"] = old  # its dataclasses look their module up
    spec.loader.exec_module(old)
    kind, fmt = name.split(".")
    app = make_app()
    with app.app_context():
        run = latest_run()
        start = time.perf_counter()
        if fmt == "pdf":
            body = old.award_pdf(run)
        else:
            table = (
                old.award_table(run) if kind == "awards" else old.score_table(run, comments=False)
            )
            body = old.to_csv(table) if fmt == "csv" else old.to_xlsx([table])
        wall = time.perf_counter() - start
        run_id = run.id
        from scoring.extensions import db

        db.session.rollback()  # score_table records an audit event: not kept
    (OUT / f"old-{name}").write_bytes(body)
    emit(path="old direct", export=name, run=run_id, wall_s=round(wall, 2),
         mb=round(len(body) / 1e6, 1), peak_rss_mb=peak_rss_mb())  # fmt: skip


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def backend_cpu(pid: int) -> float:
    """User + sys CPU seconds of a PostgreSQL backend on this machine (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process's peak resident memory."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict:
    """Python, CPU, cores and the 1-minute load."""
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def spawn(args, extra: list[str], limits: tuple[int, int] | None = None) -> None:
    """Run one export in a child process (capped for the baseline); relay its JSON line."""

    def cap():
        if limits:
            mb, seconds = limits
            resource.setrlimit(resource.RLIMIT_AS, (mb * 2**20, mb * 2**20))
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))

    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, *extra], cwd=ROOT, preexec_fn=cap, capture_output=True,
        text=True, timeout=(limits[1] * 3 if limits else None),
    )  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    for line in lines:
        print(line, flush=True)
    if proc.returncode != 0 or not lines:
        emit(
            path="old direct" if limits else "streamed",
            export=extra[1],
            failed=True,
            returncode=proc.returncode,
            after_s=round(time.perf_counter() - started, 1),
            cap=(f"{limits[0]} MB, {limits[1]} s CPU" if limits else None),
            error=(proc.stderr.strip().splitlines() or [""])[-1][:300],
        )


def main() -> None:
    """Each export streamed, then (``--baseline``) the old direct export, one process each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(EXPORTS))
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--baseline-rev", default="5637c31")
    parser.add_argument("--baseline-mb", type=int, default=3000)
    parser.add_argument("--baseline-s", type=int, default=240)
    parser.add_argument("--new", help=argparse.SUPPRESS)
    parser.add_argument("--old", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.new:
        return child_new(args.new)
    if args.old:
        return child_old(args.old, args.baseline_rev)
    emit(step="machine", **machine())
    for name in args.only.split(","):
        spawn(args, ["--new", name])
        if args.baseline:
            spawn(args, ["--old", name, "--baseline-rev", args.baseline_rev],
                  (args.baseline_mb, args.baseline_s))  # fmt: skip
        emit(step="load", load_1m=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()

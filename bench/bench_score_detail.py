"""Benchmark: the score detail CSV at scale (issue 14 item 2), fast path against the row writer.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_h7 \\
        nice -n 10 .venv/bin/python bench/bench_score_detail.py --xlsx-rows 200000

Uses the latest done run of the database (``bench/bench_rank.py --step import`` then
``bench/seed_run.py``). Each measurement runs in its own process and prints one JSON line:

* ``fast``: ``jobs.write(out, run, "scores", "csv")``, what the worker and the download run on
  PostgreSQL (``services/exports/score_csv.py``), into bench/out/;
* ``rows``: the row-by-row writer (``write_csv`` over ``scores.rows``, the path before, still
  used on SQLite) for the first ``--baseline-rows`` rows, in the same session: its CPU per row
  against the fast path's is the same-run ratio;
* ``xlsx``: the XLSX writer (xlsxwriter, constant memory) for the first ``--xlsx-rows`` rows.

Wall seconds, CPU seconds of the Python process (user + sys) and of its PostgreSQL backend
(``/proc/<pid>/stat``; the server runs on this machine), peak RSS, the 1-minute load.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
#: The code measured: this tree, or another one (``BENCH_CODE=/tmp/base``: a baseline archived
#: from git, measured by this same script in the same session).
if os.environ.get("BENCH_CODE"):
    sys.path.insert(0, os.environ["BENCH_CODE"])
sys.path.insert(0, str(ROOT / "bench"))


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def backend_cpu(pid: int) -> float:
    """User + sys CPU seconds of a PostgreSQL backend on this machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(kind: str, limit: int) -> None:
    """One measurement in this process; one JSON line."""
    from bench_exports import latest_run, make_app
    from sqlalchemy import text

    from scoring.extensions import db
    from scoring.services.exports import jobs, scores
    from scoring.services.exports.writers import Sheet, write_csv, write_xlsx

    app = make_app()
    with app.app_context():
        run = latest_run()
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        load, t0, c0, s0 = os.getloadavg()[0], time.perf_counter(), cpu(), backend_cpu(pid)
        if kind == "fast":
            path = OUT / "scores-fast.csv"
            with path.open("wb") as out:
                rows = jobs.write(out, run, "scores", "csv")
            size = path.stat().st_size
        else:
            body = io.BytesIO()
            head = [c.name for c in scores.columns(False)]
            some = itertools.islice(scores.rows(run, comments=False), limit)
            if kind == "rows":
                rows = write_csv(body, head, some)
            elif kind == "xlsx":
                rows = write_xlsx(body, [Sheet("Score detail", scores.columns(False), some)])
            else:  # xlsx-fast: the worker's XLSX on PostgreSQL (score_xlsx), first rows
                from scoring.services.exports import score_xlsx

                some = itertools.islice(score_xlsx.rows(run, comments=False), limit)
                rows = write_xlsx(body, [Sheet("Score detail", scores.columns(False), some)])
            size = len(body.getvalue())
        wall, client, server = time.perf_counter() - t0, cpu() - c0, backend_cpu(pid) - s0
    print(json.dumps({
        "path": kind, "rows": rows, "mb": round(size / 1e6, 1), "wall_s": round(wall, 2),
        "cpu_s": round(client, 2), "server_cpu_s": round(server, 2),
        "cpu_us_per_row": round(1e6 * (client + server) / max(rows, 1), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_1m_start": round(load, 2), "load_1m_end": round(os.getloadavg()[0], 2),
    }), flush=True)  # fmt: skip


def main() -> None:
    """The fast path, then the baselines, each in its own process."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rows", type=int, default=300_000)
    ap.add_argument("--xlsx-rows", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.child:
        return child(args.child, args.limit)
    plan = [("fast", 0), ("rows", args.baseline_rows)]
    if args.xlsx_rows:
        plan.append(("xlsx", args.xlsx_rows))
        code = Path(os.environ.get("BENCH_CODE", ROOT))
        if (code / "scoring/services/exports/score_xlsx.py").exists():
            plan.append(("xlsx-fast", args.xlsx_rows))
    for kind, limit in plan:
        if kind != "fast" and not limit:
            continue
        cmd = [sys.executable, __file__, "--child", kind, "--limit", str(limit)]
        subprocess.run(cmd, cwd=ROOT, check=False)


if __name__ == "__main__":
    main()

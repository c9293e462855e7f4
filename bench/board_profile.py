"""Where a board or what-if request goes: SQL, Python and template time, in process.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_board \\
        .venv/bin/python bench/board_profile.py [--repeat 3] [--explain 50] [PATH ...]

On a database ``bench_board.py prepare`` made (the ``bench`` competition ranked, its staff
account): signs in with the Flask test client (no server) and requests each path (default: the
pages ``bench_board.py measure`` times) once to warm up (``first_ms``: a run's columns are read
then), then ``--repeat`` times. For each path one JSON line: median wall and CPU milliseconds
of this process and of its PostgreSQL backends, the SQL statements' count and summed wall time
(``before/after_cursor_execute``), the template rendering time (Flask's
``before_render_template``/``template_rendered`` signals), the slowest statements, and with
``--explain MS`` the ``EXPLAIN (ANALYZE, BUFFERS)`` plan of each statement slower than MS.
The rest of the wall time is Python in the view and the services. No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_board")
#: ``application_name`` of this process's PostgreSQL connections (to find their backends).
APP_NAME = f"board_profile_{os.getpid()}"
EMAIL, PASSWORD = "bench.staff@example.org", "bench-board-staff-2026"


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def server_cpu(engine) -> float:
    """User + system CPU seconds of the PostgreSQL backends this process opened, from /proc
    (the server runs on this machine)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": APP_NAME}
        ).all()
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def default_paths(cid: int, rid: int | None) -> list[str]:
    """The pages ``bench_board.py measure`` times (its deep pages at fixed numbers)."""
    board = f"/staff/competitions/{cid}/board"
    paths = [
        board,
        f"{board}?page=1000",
        f"{board}?status=waitlisted&district=D001",
        f"{board}?flag=toss_up",
        f"{board}?q=School+1234",
        f"{board}?sort=score",
        f"{board}?sort=requested&page=500",
        f"{board}?sort=stability",
        f"/staff/competitions/{cid}/what-if?min_score=78",
    ]
    if rid:
        paths += [f"/staff/what-if-runs/{rid}", f"/staff/what-if-runs/{rid}?kind=leaves&page=2"]
    return paths


def main() -> None:
    """Sign in, request each path, print where its time went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", type=float, default=0, help="EXPLAIN statements above MS")
    parser.add_argument("--cprofile", type=int, default=0, help="print the N costliest calls")
    parser.add_argument("--config", action="append", default=[], help="NAME=INT app setting")
    parser.add_argument(
        "--follow-snapshot",
        action="store_true",
        help="request each what-if path once and measure it with the snapshot its links carry "
        "(the pages of one what-if kept in the process)",
    )
    args = parser.parse_args()
    from flask import before_render_template, template_rendered
    from sqlalchemy import event, text

    from config import Config, celery_settings
    from scoring import create_app
    from scoring.extensions import db
    from tests.conftest import AuthActions

    class Cfg(Config):
        SQLALCHEMY_DATABASE_URI = (
            PG_URL + ("&" if "?" in PG_URL else "?") + f"application_name={APP_NAME}"
        )
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True
        RATELIMIT_ENABLED = False

    for setting in args.config:
        name, value = setting.split("=", 1)
        setattr(Cfg, name, int(value))
    app = create_app(Cfg)
    with app.app_context():
        cid = db.session.scalar(text("SELECT id FROM competition WHERE slug = 'bench'"))
        rid = db.session.scalar(
            text("SELECT max(id) FROM ranking_run WHERE what_if AND status = 'done'")
        )
        engine = db.engine
    statements: list[tuple[float, str, object]] = []
    started: dict[int, float] = {}
    rendering: list[float] = []

    def before(conn, cursor, stmt, params, context, many):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, stmt, params, context, many):
        spent = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        statements.append((spent, stmt, params))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    before_render_template.connect(
        lambda *a, **k: rendering.append(-time.perf_counter()), app, weak=False
    )
    template_rendered.connect(
        lambda *a, **k: rendering.append(time.perf_counter()), app, weak=False
    )
    client = app.test_client()
    AuthActions(client).login(EMAIL, PASSWORD)  # with the two-factor step staff now take
    assert client.get("/staff/").status_code == 200, "not signed in"
    for path in args.paths or default_paths(cid, rid):
        if args.follow_snapshot and "/what-if?" in path:
            found = re.search(r"snapshot=(\w+)", client.get(path).get_data(as_text=True))
            path = f"{path}&snapshot={found.group(1)}" if found else path
        line, profile, slow = one_path(client, engine, path, args, statements, rendering)
        print(json.dumps(line), flush=True)
        if profile is not None:
            import pstats

            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.cprofile)
        if args.explain:
            explain(engine, slow, args.explain)


def one_path(client, engine, path, args, statements, rendering):
    """Request ``path`` once to warm up and ``--repeat`` times: the JSON line, the cProfile of
    the last request (``--cprofile``) and its slowest statements."""
    walls, cpus, sqls, templates, counts, servers, size = [], [], [], [], [], [], 0
    profile = None
    for n in range(args.repeat + 1):
        if n == args.repeat and args.cprofile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        s0 = server_cpu(engine)
        statements.clear()
        rendering.clear()
        t, c = time.perf_counter(), cpu()
        response = client.get(path)
        wall, spent = time.perf_counter() - t, cpu() - c
        done = list(statements)
        if profile is not None:
            profile.disable()
        size = len(response.data)
        if not n:
            first = wall * 1000
        if n:
            servers.append((server_cpu(engine) - s0) * 1000)
            walls.append(wall * 1000)
            cpus.append(spent * 1000)
            sqls.append(sum(s for s, _, _ in done) * 1000)
            templates.append(sum(rendering) * 1000)
            counts.append(len(done))
    slow = sorted(done, key=lambda s: -s[0])[:5]
    line = {
        "path": path,
        "status": response.status_code,
        "html_bytes": size,
        "first_ms": round(first, 1),
        "wall_ms": round(statistics.median(walls), 1),
        "cpu_ms": round(statistics.median(cpus), 1),
        "pg_cpu_ms": round(statistics.median(servers), 1),
        "sql_ms": round(statistics.median(sqls), 1),
        "template_ms": round(statistics.median(templates), 1),
        "statements": statistics.median(counts),
        "slowest": [[round(s * 1000, 1), " ".join(stmt.split())[:160]] for s, stmt, _ in slow],
        "load_1m": os.getloadavg()[0],
    }
    return line, profile, slow


def explain(engine, slow, above_ms: float) -> None:
    """Print ``EXPLAIN (ANALYZE, BUFFERS)`` of each statement slower than ``above_ms``."""
    with engine.connect() as conn:
        for s, stmt, params in slow:
            if s * 1000 < above_ms:
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)
            print(f"--- {round(s * 1000, 1)} ms", " ".join(stmt.split())[:300])
            print("\n".join(r[0] for r in plan))


if __name__ == "__main__":
    main()

"""Where a reviewer's save goes: SQL statements and CPU of one scoring-form GET and POST.

    nice -n 10 .venv/bin/python bench/bench_review_save.py --db sqlite
    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_h2 \\
        nice -n 10 .venv/bin/python bench/bench_review_save.py --db postgresql

In process (Flask test client, no server): an empty schema, the demo (``seed_demo``, no ranking
runs), reviewer1 signs in and opens the draft of the round in review; then ``--rounds`` times
GET the form and POST it back with "Save draft". Counts the SQL statements of each request
(a ``before_cursor_execute`` listener on the engine), CPU seconds of this process (user + sys)
per request, and lists the statements issued more than once in one request (an N+1 shows here).
Prints one JSON line per request kind and the 1-minute load. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


_PROFILES: dict[str, cProfile.Profile] = {}


@contextlib.contextmanager
def profiled(path: Path | None, kind: str, n: int):
    """Profile the block into ``path`` + ``.<kind>`` (rounds after the warm-up only)."""
    if path is None or n == 0:
        yield
        return
    prof = _PROFILES.setdefault(kind, cProfile.Profile())
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(f"{path}.{kind.split()[0].lower()}")


def make_app(kind: str, tmp: Path):
    """The app on an empty schema of SQLite (file) or PostgreSQL (``BENCH_PG_URL``)."""
    from sqlalchemy import text

    from config import TestConfig
    from scoring import create_app
    from scoring.extensions import db

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            os.environ["BENCH_PG_URL"] if kind == "postgresql" else f"sqlite:///{tmp / 'b.db'}"
        )
        UPLOAD_DIR = tmp / "uploads"

    app = create_app(Cfg)
    with app.app_context():
        if kind == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
    return app


def main() -> None:
    """Seed, sign in, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a cProfile of the measured rounds' requests (one file per kind, suffixed)",
    )
    parser.add_argument(
        "--show", action="store_true", help="print every statement of the last round's requests"
    )
    args = parser.parse_args()
    from sqlalchemy import event, select

    from scoring import demo
    from scoring.extensions import db
    from scoring.models import Review, ReviewerAssignment, ReviewStatus, User
    from tests.conftest import AuthActions, csrf_token_from

    app = make_app(args.db, Path(tempfile.mkdtemp(prefix="bench-review-")))
    with app.app_context():
        demo.seed_demo()
        db.session.commit()
        reviewer = db.session.scalar(select(User).where(User.email == "reviewer1@demo.scoring"))
        assignment_id = db.session.scalar(
            select(ReviewerAssignment.id)
            .join(
                Review,
                (Review.application_id == ReviewerAssignment.application_id)
                & (Review.reviewer_id == reviewer.id),
            )
            .where(ReviewerAssignment.reviewer_id == reviewer.id)
            .where(Review.status == ReviewStatus.DRAFT)
        )
        engine = db.engine
    client = app.test_client()
    AuthActions(client).login("reviewer1@demo.scoring", "demo-review-2016")
    url = f"/review/a/{assignment_id}"
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
    started: list[float] = []
    waited: list[float] = []  # wall seconds of each statement (send to result), this request
    event.listen(engine, "before_cursor_execute", lambda *a: started.append(time.perf_counter()))
    event.listen(
        engine, "after_cursor_execute", lambda *a: waited.append(time.perf_counter() - started[-1])
    )
    out: dict[str, dict] = {
        k: {"statements": [], "cpu_ms": [], "wall_ms": [], "sql_wall_ms": []}
        for k in ("GET form", "POST save")
    }
    repeated: dict[str, Counter] = {}
    for n in range(args.rounds + 1):  # round 0 warms up (templates, statement caches)
        for kind in ("GET form", "POST save"):
            if kind == "GET form":
                seen.clear()
                waited.clear()
                start, wall = cpu(), time.perf_counter()
                with profiled(args.profile, kind, n):
                    page = client.get(url).get_data(as_text=True)
            else:
                data = {
                    "csrf_token": csrf_token_from(page),
                    "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1),
                    **dict(re.findall(r'name="(points_\d+)"[^>]*value="([^"]*)"', page)),
                    "overall_comment": f"Saved {n} times.",
                    "save": "Save draft",
                }
                seen.clear()
                waited.clear()
                start, wall = cpu(), time.perf_counter()
                with profiled(args.profile, kind, n):
                    status = client.post(url, data=data).status_code
                assert status == 302, status
            spent, wall = cpu() - start, time.perf_counter() - wall
            if n:
                out[kind]["statements"].append(len(seen))
                out[kind]["cpu_ms"].append(spent * 1000)
                out[kind]["wall_ms"].append(wall * 1000)
                out[kind]["sql_wall_ms"].append(sum(waited) * 1000)
                repeated[kind] = Counter(" ".join(s.split())[:90] for s in seen)
                if args.show and n == args.rounds:
                    print(f"-- {kind}: {len(seen)} statements", file=sys.stderr)
                    for stmt in seen:
                        print("   " + " ".join(stmt.split())[:160], file=sys.stderr)
    for kind, row in out.items():
        print(
            json.dumps(
                {
                    "db": args.db,
                    "request": kind,
                    "rounds": args.rounds,
                    "statements": statistics.median(row["statements"]),
                    "cpu_ms_median": round(statistics.median(row["cpu_ms"]), 1),
                    "wall_ms_median": round(statistics.median(row["wall_ms"]), 1),
                    "sql_wall_ms_median": round(statistics.median(row["sql_wall_ms"]), 1),
                    "repeated": {s: c for s, c in repeated[kind].items() if c > 1},
                    "load_1min": round(os.getloadavg()[0], 2),
                }
            )
        )


if __name__ == "__main__":
    main()

"""Benchmark: the staff board and the what-if pages at 10k and 100k applications (issue 14).

    export BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_board
    .venv/bin/python bench/bench_rank.py --apps 10000 --db postgresql --step generate
    .venv/bin/python bench/bench_rank.py --apps 10000 --db postgresql --step import
    nice -n 10 .venv/bin/python bench/bench_board.py prepare --resamples 200
    nice -n 10 .venv/bin/python bench/bench_board.py measure

``prepare`` makes the imported ``bench`` competition rankable (closes it, marks every submitted
application screened), creates the board's indexes if the schema predates them, adds a staff
account, ranks it once (in process, as the worker would) and computes its stability with
``--resamples`` resamples (0: none), then ANALYZEs the database. ``measure`` starts
``gunicorn -w 2`` on 127.0.0.1 serving ``bench/board_app.py`` (the real app plus a bare Flask
route), signs in, and times each page
``--repeat`` times after one warm-up request: the bare route (baseline), the board's first page,
a deep page, filtered, searched and sorted pages, and the what-if with a higher minimum score
and its diff's second page. One JSON line per page: median and best milliseconds, HTML bytes,
the ratio to the bare route's median, and the 1-minute load average (``uptime``) before and
after. Loopback only; gunicorn is stopped at the end. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from webclient import Client, wait_until_up  # noqa: E402  (bench/load.py: a cookie session without redirects)

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_board")
EMAIL, PASSWORD = "bench.staff@example.org", "bench-board-staff-2026"
SLUG = "bench"


def emit(**fields) -> None:
    """Print one JSON line and flush it."""
    print(json.dumps(fields), flush=True)


def load() -> float:
    """The 1-minute load average, as ``uptime`` prints it."""
    return os.getloadavg()[0]


def prepare(args) -> None:
    """Close and screen the competition, add the indexes and a staff account, rank, stability."""
    from datetime import timedelta

    from sqlalchemy import select, text, update

    from config import Config, celery_settings
    from scoring import clock, create_app
    from scoring.extensions import db
    from scoring.models import (
        Application,
        ApplicationStatus,
        Competition,
        RankingResult,
        RankingRun,
        Role,
        RunStatus,
        User,
    )
    from scoring.services import ranking
    from scoring.services.accounts import users
    from scoring.services.ranking import stability

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = PG_URL
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True

    app = create_app(BenchConfig)
    with app.app_context():
        competition = db.session.scalar(select(Competition).where(Competition.slug == SLUG))
        competition.closes_at = clock.now() - timedelta(days=1)
        db.session.execute(
            update(Application)
            .where(
                Application.competition_id == competition.id,
                Application.status == ApplicationStatus.SUBMITTED,
                Application.screened_at.is_(None),
            )
            .values(screened_at=clock.now())
        )
        for index in RankingResult.__table__.indexes:
            index.create(db.engine, checkfirst=True)
        staff = db.session.scalar(select(User).where(User.email == EMAIL))
        if staff is None:
            staff = users.create_user(EMAIL, "Bench Staff", Role.STAFF, password=PASSWORD)
        if not staff.totp_secret:  # every staff member signs in with a second factor
            import pyotp

            from scoring.models._types import utcnow

            staff.totp_secret, staff.totp_enrolled_at = pyotp.random_base32(), utcnow()
        db.session.commit()
        run = db.session.scalar(
            select(RankingRun)
            .where(
                RankingRun.competition_id == competition.id,
                RankingRun.status == RunStatus.DONE,
                RankingRun.what_if.is_(False),
            )
            .order_by(RankingRun.id.desc())  # the latest: the official run (no slate here)
            .limit(1)
        )
        start = time.perf_counter()
        if run is None:
            run = ranking.create_run(competition)
            db.session.commit()
            ranking.execute_run(run.id)
            db.session.commit()
        ranked = time.perf_counter()
        if args.resamples:
            stability.compute_stability(run.id, args.resamples)
            db.session.commit()
        stable = time.perf_counter()
        tried = None
        if args.what_if:  # the what-if as the worker computes it for a large competition
            t = time.perf_counter()
            tried = ranking.create_run(competition, overrides={"min_score": "78"}, label="bench")
            db.session.commit()
            ranking.execute_run(tried.id)
            db.session.commit()
            emit(step="what-if run", run=tried.id, seconds=round(time.perf_counter() - t, 1))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # fresh planner statistics for the new result rows
        emit(
            step="prepare",
            competition=competition.id,
            run=run.id,
            rank_s=round(ranked - start, 1),
            stability_s=round(stable - ranked, 1),
            resamples=args.resamples,
            load_1m=load(),
        )


def timed(client: Client, path: str, repeat: int) -> dict:
    """One warm-up request (its time is ``first_ms``: a run's columns are read then), then
    ``repeat`` timed ones: median and best ms, bytes."""
    t = time.perf_counter()
    status, body = client.request(path)
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        status, body = client.request(path)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "status": status,
        "first_ms": round(first, 1),
        "median_ms": round(statistics.median(times), 1),
        "best_ms": round(min(times), 1),
        "html_bytes": len(body.encode()),
    }


def cases(client: Client, cid: int, rid: int | None) -> list[tuple[str, str]]:
    """The pages to time, found from the board itself (its last page, a district)."""
    import re

    status, first = client.request(f"/staff/competitions/{cid}/board")
    found = re.search(
        r'<select id="district" name="district"><option value="">any</option>'
        r'<option value="([^"]+)"',
        first,
    )
    if status != 200 or found is None:
        raise SystemExit(f"the board's first page answered {status}: {first[:2000]}")
    last = max(int(n) for n in re.findall(r"page=(\d+)", first) or ["1"])
    district = found.group(1)
    board = f"/staff/competitions/{cid}/board"
    return [
        ("board first page", board),
        ("board deep page", f"{board}?page={last}"),
        ("board filtered (decision + district)", f"{board}?status=waitlisted&district={district}"),
        ("board filtered (toss-ups)", f"{board}?flag=toss_up"),
        ("board search (school name)", f"{board}?q=School+1234"),
        ("board sorted by final score", f"{board}?sort=score"),
        ("board sorted by requested, deep page", f"{board}?sort=requested&page={last // 2}"),
        ("board sorted by stability", f"{board}?sort=stability"),
        *[
            (f"what-if run {rid} compared (worker path)", f"/staff/what-if-runs/{rid}"),
            (
                f"what-if run {rid} compared, newly unfunded page 2",
                f"/staff/what-if-runs/{rid}?kind=leaves&page=2",
            ),
        ][: 2 if rid else 0],
        ("what-if (min score 78)", f"/staff/competitions/{cid}/what-if?min_score=78"),
        ("what-if diff page 2", f"/staff/competitions/{cid}/what-if?min_score=78&page=2"),
    ]


def measure(args) -> None:
    """Start gunicorn, sign in, time every page beside the bare route, stop gunicorn."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        cid = conn.execute(text("SELECT id FROM competition WHERE slug = :s"), {"s": SLUG}).scalar()
        rid = conn.execute(
            text("SELECT max(id) FROM ranking_run WHERE what_if AND status = 'done'")
        ).scalar()
        apps = conn.execute(
            text("SELECT count(*) FROM application WHERE competition_id = :c"), {"c": cid}
        ).scalar()
        secret = conn.execute(  # staff sign in with a second factor once enrolled
            text('SELECT totp_secret FROM "user" WHERE email = :e'), {"e": EMAIL}
        ).scalar()
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": PG_URL.replace("+psycopg", "")}
    env.update(SCORING_INSTANCE_DIR="/tmp/bench-board")
    env.pop("REDIS_URL", None)
    gunicorn = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-t", "300"]
    server = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{args.port}", "--chdir", str(ROOT), "bench.board_app:app"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_until_up(base + "/bench/bare")
        client = Client(base)
        client.login(EMAIL, PASSWORD, secret)
        emit(step="machine", applications=apps, load_1m=load(), nproc=os.cpu_count())
        bare = timed(client, "/bench/bare", max(args.repeat, 10))
        emit(page="baseline: bare Flask route", **bare, load_1m=load())
        for name, path in cases(client, cid, rid):
            before = load()
            result = timed(client, path, args.repeat)
            emit(
                page=name,
                path=path,
                **result,
                ratio_to_bare=round(result["median_ms"] / max(bare["median_ms"], 0.1), 1),
                load_1m_before=before,
                load_1m_after=load(),
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    """Parse the options and run the step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("prepare", "measure"))
    parser.add_argument("--resamples", type=int, default=0)
    parser.add_argument("--what-if", action="store_true", help="also rank a what-if run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=8725)
    args = parser.parse_args()
    {"prepare": prepare, "measure": measure}[args.step](args)


if __name__ == "__main__":
    main()

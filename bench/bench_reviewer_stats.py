"""The reviewer statistics (the staff board's leniency chart, the panel's statistics page):
computed against kept (``reviewer_stats._KEPT``), in process, on the demo data.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats \\
        .venv/bin/python bench/bench_reviewer_stats.py [--repeat 20]

Seeds the demo into an empty database (``flask db upgrade`` first), then for each demo
competition with counted reviews prints one JSON line: the median wall and CPU milliseconds of
this process per ``compute(fresh=True)`` and per kept ``compute``, and the statements of each.
No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats")


def cpu() -> float:
    """User + sys CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    """Seed if empty, then time both paths per competition."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from sqlalchemy import event, select

    from config import Config, celery_settings
    from scoring import create_app, demo
    from scoring.extensions import db
    from scoring.models import Competition
    from scoring.services.reviews import reviewer_stats

    class Cfg(Config):
        SQLALCHEMY_DATABASE_URI = PG_URL
        CELERY = celery_settings(None)
        TASKS_EMBEDDED = True

    app = create_app(Cfg)
    with app.app_context():
        if db.session.scalar(select(Competition.id).limit(1)) is None:
            demo.seed_demo()
            db.session.commit()
        seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        for competition in db.session.scalars(select(Competition).order_by(Competition.id)):
            line = {"competition": competition.slug}
            for name, fresh in (("fresh", True), ("kept", False)):
                reviewer_stats.compute(competition, fresh=fresh)  # warm
                walls, cpus = [], []
                for _ in range(args.repeat):
                    db.session.expire_all()
                    seen.clear()
                    w, c = time.perf_counter(), cpu()
                    stats = reviewer_stats.compute(competition, fresh=fresh)
                    walls.append(time.perf_counter() - w)
                    cpus.append(cpu() - c)
                line[f"{name}_wall_ms"] = round(statistics.median(walls) * 1000, 2)
                line[f"{name}_cpu_ms"] = round(statistics.median(cpus) * 1000, 2)
                line[f"{name}_statements"] = len(seen)
            line["reviews"] = stats.reviews
            line["load_1m"] = os.getloadavg()[0]
            if stats.reviews:
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

"""Load on loopback: simulated reviewers, applicants and staff against gunicorn + PostgreSQL.

    export DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    DATABASE_URL=$DB .venv/bin/flask --app scoring seed-demo --reset > bench/out/accounts.txt
    .venv/bin/python bench/load.py --db-url $DB --accounts bench/out/accounts.txt --users 50

The script starts ``gunicorn -w 2`` on 127.0.0.1 (``bench/load_app.py``: the real app with the
login rate limit off, since 50 sessions sign in from one address), signs every simulated user in,
then for ``--seconds`` each user loops without think time over its own task:

* a reviewer opens the scoring form of one of its assignments in the demo round that is in
  review (declaring no conflict first if asked) and saves it as a draft (GET, POST);
* an applicant opens its draft in the open demo round and saves it (GET, POST);
* staff open the ranking board (first page) of the demo competition (anything but a 200 counts
  as an error);
* one user fetches ``/api/health`` (no database, no template): the baseline of the same server.

Users are split 50 % reviewers, 30 % applicants, 20 % staff (at least one each; a form is posted
back with the values the page shows). It prints one JSON line per kind of request (count, errors,
median, p95, max in ms, requests/s) and the load average. Bounded: loopback only, at most 200
users and 600 seconds, gunicorn stopped at the end. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from webclient import Client, FormReader, form_of, links, wait_until_up  # noqa: E402


class Stats:
    """Times and errors of every kind of request (shared by the threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def timed(self, kind: str, fn, ok=(200, 302)):
        """Call ``fn`` and record its time, and an error when the status is not in ``ok``."""
        start = time.perf_counter()
        status, page = fn()
        elapsed = time.perf_counter() - start
        with self.lock:
            self.times[kind].append(elapsed)
            if status not in ok:
                self.errors[kind] += 1
                self.statuses[kind][status] += 1
        return status, page


def accounts_of(path: Path) -> dict[str, list[dict]]:
    """The demo accounts by role, from seed-demo's output."""
    line = [x for x in path.read_text().splitlines() if x.startswith('{"accounts"')][-1]
    out: dict[str, list[dict]] = defaultdict(list)
    for a in json.loads(line)["accounts"]:
        out[a["role"]].append(a)
    return out


def open_form(client: Client, urls: list[str], index: int, wanted: str) -> tuple[str, FormReader]:
    """The ``index``-th (round robin) of ``urls`` whose page shows an editable form with the
    field ``wanted`` (a submitted review or application shows none and is skipped); a review
    that asks for the conflict-of-interest declaration first is declared."""
    usable = []
    for url in urls:
        status, page = client.request(url)
        if status == 302:  # declare no conflict first
            _, declare = client.request(url + "/declare")
            form = form_of(declare)
            client.request(url + "/declare", [*form.fields, ("confirm", "Confirm")])
            status, page = client.request(url)
        form = form_of(page)
        if status == 200 and any(
            name == wanted or name.startswith(wanted) for name, _ in form.fields
        ):
            usable.append((url, form))
    if not usable:
        return "", FormReader()
    return usable[index % len(usable)]


class Clock:
    """Every user prepares (signs in, finds its form), then all start together for
    ``seconds``."""

    def __init__(self, parties: int, seconds: int) -> None:
        self.barrier = threading.Barrier(parties, action=self._start)
        self.seconds, self.stop = seconds, 0.0

    def _start(self) -> None:
        self.started_load = os.getloadavg()[0]
        self.stop = time.perf_counter() + self.seconds

    def ready(self) -> float:
        """Wait for everyone; the time to stop at."""
        self.barrier.wait()
        return self.stop


def save_loop(kind, client, stats, stop, url, wanted, button) -> None:
    """GET the form, POST it back as it is shown with ``button`` (save as draft), repeat."""
    while time.perf_counter() < stop:
        _, page = stats.timed(f"{kind}: GET form", lambda: client.request(url))
        form = form_of(page)
        if not any(name == wanted or name.startswith(wanted) for name, _ in form.fields):
            stats.errors[f"{kind}: form not editable"] += 1
            time.sleep(1)
            continue
        data = [*form.fields, button]
        stats.timed(f"{kind}: POST save", lambda data=data: client.request(url, data))


def draft_loop(label: str, home: str, link: str, wanted: str, button: tuple[str, str]):
    """A user's loop: open the first editable form linked (``link``) from ``home`` and save it as
    a draft with ``button`` again and again; counted as an error when none is editable."""

    def loop(client: Client, stats: Stats, clock: Clock, index: int) -> None:
        _, page = client.request(home)
        url, _ = open_form(client, links(page, link), index, wanted)
        stop = clock.ready()
        if url:
            save_loop(label, client, stats, stop, url, wanted, button)
        else:
            stats.errors[f"{label}: no editable form"] += 1

    return loop


#: Save one open review of this reviewer as a draft, again and again.
reviewer_loop = draft_loop(
    "reviewer", "/review/", r'href="(/review/a/\d+)"', "points_", ("save", "Save draft")
)
#: Save one draft of this applicant, again and again.
applicant_loop = draft_loop(
    "applicant",
    "/apply/",
    r'href="(/apply/applications/\d+)"',
    "title",
    ("save_draft", "Save draft"),
)


def staff_loop(client: Client, stats: Stats, clock: Clock, index: int) -> None:
    """Open the ranking board of a competition, again and again."""
    _, home = client.request("/staff/")
    boards = links(home, r'href="(/staff/competitions/\d+)/?"')
    board = (boards[index % len(boards)] if boards else "/staff/competitions/1") + "/board"
    stop = clock.ready()
    while time.perf_counter() < stop:
        stats.timed("staff: board page", lambda: client.request(board), ok=(200,))


def health_loop(client: Client, stats: Stats, clock: Clock, index: int) -> None:
    """The baseline: a route without database or template on the same server."""
    stop = clock.ready()
    while time.perf_counter() < stop:
        stats.timed("baseline: /api/health", lambda: client.request("/api/health"))


def main() -> None:
    """Start gunicorn, sign the users in, run the load, print the figures, stop gunicorn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--accounts", type=Path, required=True, help="seed-demo's output")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8714)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    users, seconds = min(args.users, 200), min(args.seconds, 600)
    accounts = accounts_of(args.accounts)
    env = {**os.environ, "DATABASE_URL": args.db_url, "SCORING_INSTANCE_DIR": "/tmp/bench-load"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--chdir",
            str(ROOT),
            "bench.load_app:app",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_until_up(base + "/api/health")
        n_rev = max(1, users * 50 // 100)
        n_app = max(1, users * 30 // 100)
        n_staff = max(1, users - n_rev - n_app - 1)
        plan = (
            [("reviewer", reviewer_loop, i) for i in range(n_rev)]
            + [("applicant", applicant_loop, i) for i in range(n_app)]
            + [("staff", staff_loop, i) for i in range(n_staff)]
            + [(None, health_loop, 0)]
        )
        clients = []
        for role, loop, i in plan:
            client = Client(base)
            if role is not None:
                pool = accounts[role]
                account = pool[i % len(pool)]
                client.login(account["email"], account["password"], account.get("totp_secret"))
                i //= len(pool)  # the i-th user of this account takes its i-th open form
            clients.append((client, loop, i))
        stats = Stats()
        clock = Clock(len(clients), seconds)
        threads = [
            threading.Thread(target=loop, args=(client, stats, clock, i), daemon=True)
            for client, loop, i in clients
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 600)
        load_start = clock.started_load
        print(
            json.dumps(
                {
                    "users": len(clients),
                    "reviewers": n_rev,
                    "applicants": n_app,
                    "staff": n_staff,
                    "seconds": seconds,
                    "gunicorn_workers": args.workers,
                    "load_start": round(load_start, 2),
                    "load_end": round(os.getloadavg()[0], 2),
                }
            )
        )
        for kind, times in sorted(stats.times.items()):
            ms = sorted(t * 1000 for t in times)
            print(
                json.dumps(
                    {
                        "request": kind,
                        "n": len(ms),
                        "errors": stats.errors[kind],
                        "error_statuses": dict(stats.statuses[kind]),
                        "per_s": round(len(ms) / seconds, 1),
                        "median_ms": round(statistics.median(ms), 1),
                        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
                        "max_ms": round(ms[-1], 1),
                    }
                )
            )
    finally:
        server.terminate()
        server.wait(30)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

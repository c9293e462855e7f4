"""Load on loopback: simulated reviewers, applicants and staff against gunicorn + PostgreSQL.

    export DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    DATABASE_URL=$DB .venv/bin/flask --app scoring seed-demo --reset > bench/out/accounts.txt
    flock /work/plan/heavy.lock .venv/bin/python bench/load.py --db-url $DB \
        --accounts bench/out/accounts.txt --users 50 --seconds 60 --think 1 --bare

The script starts gunicorn on 127.0.0.1 (``bench/load_app.py``: the real app with the login rate
limit off, since 50 sessions sign in from one address, plus a bare route), signs every simulated
user in, then for ``--seconds`` each user loops over its own task, pausing ``--think`` seconds
on average (uniformly 0.5-1.5 times it; 0: no pause) after each request:

* a reviewer opens the scoring form of one of its assignments in the demo round that is in
  review (declaring no conflict first if asked) and saves it as a draft (GET, POST);
* an applicant opens its draft in the open demo round and saves it (GET, POST);
* staff open the ranking board (first page) of the demo competition (anything but a 200 counts
  as an error);
* one user fetches ``/bench/bare`` (a bare Flask route: no database, no template, no session):
  the baseline of the same server under the same load.

With ``--bare`` a second phase follows on the same server: as many users, each fetching the
bare route with the same driver and pauses (the server's and driver's own ceiling).

Users are split 50 % reviewers, 30 % applicants, 20 % staff (at least one each; a form is posted
back with the values the page shows; after the first page only its CSRF token and version are
read again). Each user keeps its connection alive (``webclient.Client``) where the server
allows it. It prints one JSON line per phase (users, CPU seconds of the driver, of gunicorn's
processes and of the PostgreSQL backends the app opened, the machine's busy CPU, the 1-minute
load at start and end) and one per kind of request (count, errors, median, p95, max in ms,
requests/s). Bounded: loopback only, at most 200 users and 600 seconds, gunicorn stopped at the
end. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from cpu_meter import Meter  # noqa: E402
from webclient import Client, FormReader, form_of, links, wait_until_up  # noqa: E402

#: ``application_name`` of the served app's PostgreSQL connections (``load_app.py``).
APP_NAME = "bench_load"


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
    ``seconds``; ``think`` is the mean pause after each request."""

    def __init__(self, parties: int, seconds: int, think: float, on_start) -> None:
        self.barrier = threading.Barrier(parties, action=self._start)
        self.seconds, self.think, self.stop = seconds, think, 0.0
        self.on_start = on_start

    def _start(self) -> None:
        self.on_start()
        self.stop = time.perf_counter() + self.seconds

    def ready(self, rng: random.Random) -> float:
        """Wait for everyone, then (with pauses) a pause of this user's own, so that the users
        do not all send their first request at the same instant; the time to stop at."""
        self.barrier.wait()
        self.pause(rng)
        return self.stop

    def pause(self, rng: random.Random) -> None:
        """A user's pause between two requests (none when ``think`` is 0)."""
        if self.think > 0:
            time.sleep(
                min(rng.uniform(0.5, 1.5) * self.think, max(0.0, self.stop - time.perf_counter()))
            )


_HIDDEN = re.compile(r'name="(csrf_token|version)"[^>]*value="([^"]*)"')


def save_loop(kind, client, stats, clock, url, form, wanted, button, rng) -> None:
    """GET the form, POST it back as first shown with ``button`` (save as draft), repeat; each
    page's CSRF token and version replace the first page's (what a browser would send)."""
    fields = [(n, v) for n, v in form.fields if n not in ("csrf_token", "version")]
    marker = f'name="{wanted}'
    while time.perf_counter() < clock.stop:
        _, page = stats.timed(f"{kind}: GET form", lambda: client.request(url))
        clock.pause(rng)
        if marker not in page:
            stats.errors[f"{kind}: form not editable"] += 1
            time.sleep(1)
            continue
        data = [*fields, *_HIDDEN.findall(page), button]
        stats.timed(f"{kind}: POST save", lambda data=data: client.request(url, data))
        clock.pause(rng)


def draft_loop(label: str, home: str, link: str, wanted: str, button: tuple[str, str]):
    """A user's loop: open the first editable form linked (``link``) from ``home`` and save it as
    a draft with ``button`` again and again; counted as an error when none is editable."""

    def loop(client: Client, stats: Stats, clock: Clock, index: int, rng) -> None:
        _, page = client.request(home)
        url, form = open_form(client, links(page, link), index, wanted)
        clock.ready(rng)
        if url:
            save_loop(label, client, stats, clock, url, form, wanted, button, rng)
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


def staff_loop(client: Client, stats: Stats, clock: Clock, index: int, rng) -> None:
    """Open the ranking board of a competition, again and again."""
    _, home = client.request("/staff/")
    boards = links(home, r'href="(/staff/competitions/\d+)/?"')
    board = (boards[index % len(boards)] if boards else "/staff/competitions/1") + "/board"
    clock.ready(rng)
    while time.perf_counter() < clock.stop:
        stats.timed("staff: board page", lambda: client.request(board), ok=(200,))
        clock.pause(rng)


def bare_loop(client: Client, stats: Stats, clock: Clock, index: int, rng) -> None:
    """The baseline: a bare route of the same server (no database, template or session)."""
    clock.ready(rng)
    while time.perf_counter() < clock.stop:
        stats.timed("baseline: bare route", lambda: client.request("/bench/bare"), ok=(200,))
        clock.pause(rng)


# --------------------------------------------------------------------------- one phase


def run_phase(name, plan, base, accounts, args, meter) -> None:
    """Sign every user of ``plan`` in, run them together for ``--seconds``, print the figures."""
    seconds = min(args.seconds, 600)
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
    clock = Clock(len(clients), seconds, args.think, meter.start)
    threads = [
        threading.Thread(target=loop, args=(client, stats, clock, i, random.Random(n)), daemon=True)
        for n, (client, loop, i) in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 600)
    cpu = meter.stop()
    for client, _, _ in clients:
        client.close()
    total = sum(len(t) for t in stats.times.values())
    print(
        json.dumps(
            {
                "phase": name,
                "users": len(clients),
                "seconds": seconds,
                "think_s": args.think,
                "gunicorn": f"-w {args.workers} --threads {args.threads}",
                "code": str(args.code),
                "requests_per_s": round(total / seconds, 1),
                **cpu,
                "cpu_ms_per_request": {
                    k.removeprefix("cpu_s_"): round(1000 * v / max(total, 1), 2)
                    for k, v in cpu.items()
                    if k.startswith("cpu_s_")
                },
            }
        )
    )
    for kind, times in sorted(stats.times.items()):
        ms = sorted(t * 1000 for t in times)
        print(
            json.dumps(
                {
                    "phase": name,
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
    for kind, count in sorted(stats.errors.items()):
        if kind not in stats.times:
            print(json.dumps({"phase": name, "request": kind, "errors": count}))
    sys.stdout.flush()


def main() -> None:
    """Start gunicorn, sign the users in, run the load, print the figures, stop gunicorn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--accounts", type=Path, required=True, help="seed-demo's output")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--think", type=float, default=0.0, help="mean pause (s) per request")
    parser.add_argument("--port", type=int, default=8714)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="> 1: gthread (keep-alive)")
    parser.add_argument("--bare", action="store_true", help="then the bare route alone")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="serve this checkout of the project (a baseline; its bench/load_app.py is this one's)",
    )
    args = parser.parse_args()
    users = min(args.users, 200)
    accounts = accounts_of(args.accounts)
    env = {**os.environ, "DATABASE_URL": args.db_url, "SCORING_INSTANCE_DIR": "/tmp/bench-load"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            *("-w", str(args.workers), "--threads", str(args.threads)),
            *("-b", f"127.0.0.1:{args.port}", "--chdir", str(args.code)),
            "bench.load_app:app",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_until_up(base + "/bench/bare")
        meter = Meter(server.pid, args.db_url, APP_NAME)
        n_rev = max(1, users * 50 // 100)
        n_app = max(1, users * 30 // 100)
        n_staff = max(1, users - n_rev - n_app - 1)
        plan = (
            [("reviewer", reviewer_loop, i) for i in range(n_rev)]
            + [("applicant", applicant_loop, i) for i in range(n_app)]
            + [("staff", staff_loop, i) for i in range(n_staff)]
            + [(None, bare_loop, 0)]
        )
        run_phase("app", plan, base, accounts, args, meter)
        if args.bare:
            run_phase("bare", [(None, bare_loop, 0)] * len(plan), base, accounts, args, meter)
    finally:
        server.terminate()
        server.wait(30)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Where a reviewer's save goes: GET the scoring form and POST it back, in process, profiled.

    export DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    DATABASE_URL=$DB .venv/bin/flask --app scoring seed-demo --reset > bench/out/accounts.txt
    .venv/bin/python bench/profile_save.py --db-url $DB --accounts bench/out/accounts.txt

The real app (``bench/load_app.py``: the login rate limit off) on the given database, through
Flask's test client (no network, no gunicorn: what is left is the app's own work). A reviewer
signs in, opens one of its open reviews and saves it as a draft ``--rounds`` times; the script
prints, per request kind, the SQL statements and the process CPU per request, then the
functions with the most cumulative time under cProfile (``--top``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from load import accounts_of, form_of, links  # noqa: E402


def main() -> None:
    """Sign a reviewer in, find an open review, time and profile GET + POST of its form."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--accounts", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.db_url
    from load_app import app
    from sqlalchemy import event

    from scoring.extensions import db

    statements: Counter = Counter()
    kind = ["setup"]
    with app.app_context():
        event.listen(
            db.engine, "before_cursor_execute", lambda *a, **k: statements.update([kind[0]])
        )
    client = app.test_client()
    reviewer = accounts_of(args.accounts)["reviewer"][0]
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"email": reviewer["email"], "password": reviewer["password"], "csrf_token": token},
    )
    home = client.get("/review/").get_data(as_text=True)
    url = _open_review(client, links(home, r'href="(/review/a/\d+)"'))
    cpu = Counter()
    profile = cProfile.Profile()
    for _ in range(args.rounds):
        for name, call in (("GET form", lambda: client.get(url)), ("POST save", None)):
            kind[0] = name
            t = time.process_time()
            profile.enable()
            if call is not None:
                response = call()
                form = form_of(response.get_data(as_text=True))
            else:
                response = client.post(url, data=[*form.fields, ("save", "Save draft")])
            profile.disable()
            cpu[name] += time.process_time() - t
            assert response.status_code in (200, 302), response.status_code
    for name in ("GET form", "POST save"):
        print(
            json.dumps(
                {
                    "request": name,
                    "rounds": args.rounds,
                    "sql_statements_per_request": statements[name] / args.rounds,
                    "cpu_ms_per_request": round(1000 * cpu[name] / args.rounds, 1),
                    "load_avg_1m": os.getloadavg()[0],
                }
            )
        )
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


def _open_review(client, urls: list[str]) -> str:
    """The first review whose form is editable (declaring no conflict where asked)."""
    for url in urls:
        response = client.get(url)
        if response.status_code == 302:
            declare = form_of(client.get(url + "/declare").get_data(as_text=True))
            client.post(url + "/declare", data=[*declare.fields, ("confirm", "Confirm")])
            response = client.get(url)
        form = form_of(response.get_data(as_text=True))
        if any(name.startswith("points_") for name, _ in form.fields):
            return url
    raise SystemExit("no open review for this reviewer")


if __name__ == "__main__":
    main()

"""Benchmark: bundle import and ranking end to end from the database, at scale.

    .venv/bin/python bench/bench_rank.py --apps 100000 --reviews 3 --criteria 25 --db postgresql

Steps (each runs in its own process so that its peak RSS is its own; one JSON line each):

* ``generate``: write a deterministic bundle JSON file (bench/out/, not timed as a goal);
* ``import``: an empty schema, then read + parse the file exactly as ``flask bundle import``
  does, ``import_bundle`` and commit (goal: < 60 s on PostgreSQL at 100k × 3 × 25);
* ``rank``: ``create_run`` + commit + ``execute_run`` + commit, in process (goal: <= 10 s on
  PostgreSQL), with the run's own read/compute/write split;
* ``cli``: the real command line, ``flask --app scoring rank SLUG --json`` in the embedded
  mode (tasks in-process), output to a file: process start-up included;
* ``pure``: an independent pure-Python implementation of docs/ranking.md (``rank_pure.py``)
  ranking the bundle in memory (parsing not timed), compared with the last ``cli`` output.

CPU: ``cpu_s`` is the step process's user + system time; ``server_cpu_s`` (rank on
PostgreSQL) is the user + system time of the PostgreSQL backends that served the step
(``/proc``, same machine), so ``cpu_s + server_cpu_s`` is the work whatever the load.

Modules: ``rank_common`` (paths, URL, machine), ``rank_data`` (the bundle), ``rank_steps``
(import, rank, cli), ``rank_pure`` (the pure-Python baseline). ``--code DIR`` runs the steps
against another checkout's ``scoring`` (e.g. ``git archive main``), for a same-session baseline.

Memory: ``peak_rss_mb`` is the process's ``ru_maxrss``; with ``--tracemalloc`` the import and
rank steps run a second time under tracemalloc to report the peak of Python allocations
(``tracemalloc_peak_mb``; wall time under tracemalloc is slower and is reported separately).

Databases: ``--db postgresql`` uses ``BENCH_PG_URL`` (default the ``bench_ranking`` database on
127.0.0.1, whose public schema the benchmark drops and recreates); ``--db sqlite`` uses
bench/out/bench.sqlite3.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from rank_common import ROOT, emit, machine, use_code
from rank_data import generate
from rank_pure import step_pure
from rank_steps import step_cli, step_import, step_rank


def run_all(args) -> None:
    """Report the machine, generate the bundle, then run each step in its own process."""
    emit(
        step="machine",
        **machine(),
        apps=args.apps,
        reviews=args.reviews,
        criteria=args.criteria,
        db=args.db,
    )
    generate(args)
    base = [
        sys.executable,
        __file__,
        "--apps",
        str(args.apps),
        "--reviews",
        str(args.reviews),
        "--criteria",
        str(args.criteria),
        "--db",
        args.db,
    ]
    if args.code:
        base += ["--code", args.code]
    steps = [
        ["--step", "import"],
        ["--step", "rank"],
        ["--step", "rank"],
        ["--step", "cli"],
        ["--step", "pure"],
    ]
    if args.tracemalloc:
        steps += [["--step", "rank", "--trace"], ["--step", "import", "--trace"]]
    for extra in steps:
        subprocess.run(base + extra, cwd=ROOT, check=False)


def main() -> None:
    """Parse the options and run the chosen step (or all of them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=3)
    parser.add_argument("--criteria", type=int, default=25)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--step", choices=("all", "generate", "import", "rank", "cli", "pure"), default="all"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also rerun import and rank under tracemalloc (all only)",
    )
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help="regenerate the bundle file")
    parser.add_argument(
        "--skip-validate-only",
        action="store_true",
        help="import step: skip the separate validation pass (validate_only_s)",
    )
    parser.add_argument("--code", help="import scoring from this checkout (a baseline)")
    args = parser.parse_args()
    use_code(args.code)  # before any step imports scoring
    {
        "all": run_all,
        "generate": generate,
        "import": step_import,
        "rank": step_rank,
        "cli": step_cli,
        "pure": step_pure,
    }[args.step](args)


if __name__ == "__main__":
    main()

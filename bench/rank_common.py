"""What the ranking benchmark's modules share: paths, the database URL, the machine, output.

``BENCH_PG_URL`` names the PostgreSQL database (default ``bench_ranking`` on 127.0.0.1; the
import step drops and recreates its public schema); SQLite uses bench/out/bench.sqlite3.
``--code DIR`` (``use_code``) points at another checkout of the project whose ``scoring``
package the steps import instead of this one: the baseline measured in the same session.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PG_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_ranking"
)
SLUG = "bench"
CODE = ROOT


def use_code(path: str | None) -> None:
    """Import ``scoring`` from the checkout at ``path`` (default: this one) from now on."""
    global CODE
    CODE = Path(path).resolve() if path else ROOT
    sys.path.insert(0, str(CODE))


def database_url(db: str) -> str:
    """The benchmark database's URL (``BENCH_PG_URL``, or the SQLite file in bench/out/)."""
    return PG_URL if db == "postgresql" else f"sqlite:///{OUT / 'bench.sqlite3'}"


def bundle_path(args) -> Path:
    """The generated bundle's path in bench/out/, named by its size."""
    return OUT / f"bundle-{args.apps}x{args.reviews}x{args.criteria}.json"


def peak_rss_mb() -> float:
    """This process's peak resident memory (``ru_maxrss``) in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(**fields) -> None:
    """Print one JSON line of results and flush it."""
    print(json.dumps(fields), flush=True)


def machine() -> dict:
    """CPU model and count, memory, Python version and load, reported with the results."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem / 2**20, 1),
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0],
    }

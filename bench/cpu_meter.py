"""CPU accounting of a load run (``load.py``): the driver, a server process and its children,
the PostgreSQL backends of one ``application_name``, and the machine's busy share, read from
``/proc`` between a start and a stop."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _ticks(pid: int) -> int:
    """User + system clock ticks of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _busy_and_total() -> tuple[int, int]:
    """The machine's busy and total clock ticks, all cores (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Meter:
    """CPU seconds of this driver, gunicorn (master and workers) and the app's PostgreSQL
    backends (their ``application_name``), and the machine's busy share, between
    :meth:`start` and :meth:`stop`."""

    def __init__(self, server_pid: int, db_url: str, app_name: str) -> None:
        from sqlalchemy import create_engine

        self.server_pid, self.app_name = server_pid, app_name
        self.engine = create_engine(db_url, pool_size=1)

    def _backends(self) -> list[int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": self.app_name},
                )
            )

    def _snapshot(self) -> dict:
        usage = os.times()
        return {
            "driver": usage.user + usage.system,
            "server": {p: _ticks(p) for p in [self.server_pid, *_children(self.server_pid)]},
            "db": {p: _ticks(p) for p in self._backends()},
            "machine": _busy_and_total(),
            "load": os.getloadavg()[0],
        }

    def start(self) -> None:
        """Remember the counters at the start of the phase."""
        self.first, self.started = self._snapshot(), time.perf_counter()

    def stop(self) -> dict:
        """CPU seconds spent since :meth:`start`, and the machine's busy share of that time."""
        seconds = time.perf_counter() - self.started
        last, first, tick = self._snapshot(), self.first, os.sysconf("SC_CLK_TCK")

        def spent(kind):
            return sum(t - first[kind].get(p, 0) for p, t in last[kind].items()) / tick

        busy = (last["machine"][0] - first["machine"][0]) / tick
        cpus = os.cpu_count() or 1
        out = {
            "measured_s": round(seconds, 1),
            "cpu_s_driver": round(last["driver"] - first["driver"], 1),
            "cpu_s_gunicorn": round(spent("server"), 1),
            "cpu_s_postgres_backends": round(spent("db"), 1),
            "cpu_s_machine_busy": round(busy, 1),
            "machine_busy_pct": round(100 * busy / (seconds * cpus), 1),
            "load_start": round(first["load"], 2),
            "load_end": round(last["load"], 2),
        }
        return out

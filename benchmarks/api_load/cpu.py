"""Who used the CPU during a run: the box is shared, so every run says when it was busy."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.api_load.options import BUSY_OTHER_CORES, log

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    busy: int  # all CPUs, jiffies
    server: int  # the measured server process, jiffies
    postgres: int  # every postgres process, jiffies
    children: float  # finished child processes (the load generators), seconds


def _process_jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _postgres_jiffies() -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += _process_jiffies(int(entry.name))
    return total


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    except (OSError, IndexError, ValueError):
        busy = 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(
        at=time.perf_counter(),
        busy=busy,
        server=_process_jiffies(server_pid),
        postgres=_postgres_jiffies(),
        children=children.ru_utime + children.ru_stime,
    )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores used on average between two snapshots: server, PostgreSQL, client, the rest."""
    seconds = after.at - before.at
    if seconds <= 0:
        return {}
    server = (after.server - before.server) / CLK_TCK / seconds
    postgres = (after.postgres - before.postgres) / CLK_TCK / seconds
    client = (after.children - before.children) / seconds
    busy = (after.busy - before.busy) / CLK_TCK / seconds
    other = max(0.0, busy - server - postgres - client)
    return {
        "seconds": seconds,
        "server": server,
        "postgres": postgres,
        "client": client,
        "other": other,
        "busy": busy,
    }


def _busy_jiffies() -> int:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0
    return sum(values) - values[3] - values[4]


def wait_for_quiet(max_wait: float, threshold: float = BUSY_OTHER_CORES) -> float:
    """Wait (at most max_wait s) until the box is nearly idle; the cores busy at the end."""
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        before, started = _busy_jiffies(), time.perf_counter()
        time.sleep(1.0)
        busy = (_busy_jiffies() - before) / CLK_TCK / (time.perf_counter() - started)
        if busy <= threshold or time.monotonic() >= deadline:
            if announced:
                log(f"box busy at {busy:.2f} cores; going on" if busy > threshold else "box quiet")
            return busy
        if not announced:
            log(f"other work is using {busy:.2f} cores; waiting up to {max_wait:.0f} s")
            announced = True

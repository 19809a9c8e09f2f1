"""What processes spend over a phase, from ``/proc``: CPU time (``utime + stime``) per service
(its instances together), its peak resident set (``VmHWM``, the largest instance), and how
busy the whole machine, RabbitMQ (``beam.smp``) and the bench itself were."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15


def total_cpu(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with suppress(OSError):  # a process gone counts nothing
            total += cpu_seconds(pid)
    return total


def peak_rss_mb(pid: int) -> float | None:
    with suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def broker_pids() -> list[int]:
    """Every RabbitMQ node on this machine (none when the broker runs elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        with suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "beam.smp":
                found.append(int(entry.name))
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of every core so far."""
    numbers = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = numbers[3] + numbers[4]  # idle, iowait
    return sum(numbers) - idle, sum(numbers)


class Meter:
    """Started before a phase, read after it: each group's share of the phase."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self.groups = {name: list(pids) for name, pids in groups.items()}
        self.brokers = broker_pids()
        self.before = {name: total_cpu(pids) for name, pids in self.groups.items()}
        self.broker_before = total_cpu(self.brokers)
        self.self_before = sum(os.times()[:2])
        self.machine_before = machine_ticks()

    def read(self, seconds: float, cases: int) -> dict[str, Any]:
        services = {}
        for name, pids in self.groups.items():
            spent = total_cpu(pids) - self.before[name]
            peaks = [rss for pid in pids if (rss := peak_rss_mb(pid)) is not None]
            services[name] = {
                "instances": len(pids),
                "cpu_percent": round(spent / seconds * 100, 1),
                "cpu_ms_per_case": round(spent * 1000 / cases, 2),
                "rss_mb": round(max(peaks), 1) if peaks else None,
            }
        busy, every = (a - b for a, b in zip(machine_ticks(), self.machine_before, strict=True))
        broker = total_cpu(self.brokers) - self.broker_before
        return {
            "per_service": services,
            "machine_cpu_percent": round(busy / max(every, 1) * 100, 1),
            "broker_cpu_percent": round(broker / seconds * 100, 1) if self.brokers else None,
            "bench_cpu_percent": round((sum(os.times()[:2]) - self.self_before) / seconds * 100, 1),
        }


def wait_quiet(pids: Sequence[int], timeout: float = 30, busy_percent: float = 15) -> None:
    """Until the processes together use less than ``busy_percent`` of a core over half a
    second: the next phase does not pay for the backlog of the one before."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = total_cpu(pids)
        time.sleep(0.5)
        if (total_cpu(pids) - before) * 200 < busy_percent:
            return

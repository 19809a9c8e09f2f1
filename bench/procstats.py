"""What the platform's processes spend during a phase: CPU time and peak memory per service
from ``/proc``, and (optionally) where the time goes, sampled with py-spy.

CPU: ``utime + stime`` of each ``civicflow run SERVICE`` process (``cpu_seconds``), read
before and after the phase; a service with several instances counts them all. Memory: the
peak resident set (``VmHWM``) of each process when the phase ends; a service's figure is its
largest instance.

Profiles: ``py-spy record --nonblocking --gil -f raw -r 100 -d SECONDS -p PID -o
DIR/SERVICE.txt`` on the first instance of each service, stopped with SIGINT when the phase
ends (py-spy then writes what it sampled). ``--gil`` keeps only the samples of the thread that
holds the GIL, so a service waiting on a socket, a lock or the disk adds nothing: the shares
are of the CPU spent in Python. The summary ranks the functions of our own code (frames in
``kit/``, ``services/`` and ``contracts/``) by inclusive share: the part of the samples in
which that function was on the stack.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import cpu_seconds, log, peak_rss_mb

PY_SPY_RATE = 100  # samples per second
PY_SPY_STOP_S = 15.0
PROFILE_TOP = 8
OUR_CODE = re.compile(r"(?:^|/)(?:kit|services|contracts)/[^ ]*\.py$")
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")


def cpu_by_pid(pids: Mapping[str, Sequence[int]]) -> dict[int, float]:
    """CPU seconds so far of every process in ``pids`` (a process gone counts nothing)."""
    spent: dict[int, float] = {}
    for service_pids in pids.values():
        for pid in service_pids:
            try:
                spent[pid] = cpu_seconds(pid)
            except OSError:
                spent[pid] = 0.0
    return spent


@dataclass(frozen=True)
class ServiceLoad:
    """One service's share of a phase."""

    instances: int
    cpu_s: float
    cpu_percent: float  # of one core, over the phase's wall time
    cpu_ms_per_case: float
    rss_mb: float | None  # peak resident set of its largest instance

    def as_dict(self) -> dict[str, Any]:
        return {
            "instances": self.instances,
            "cpu_s": round(self.cpu_s, 2),
            "cpu_percent": round(self.cpu_percent, 1),
            "cpu_ms_per_case": round(self.cpu_ms_per_case, 2),
            "rss_mb": round(self.rss_mb, 1) if self.rss_mb is not None else None,
        }


def service_loads(
    pids: Mapping[str, Sequence[int]],
    before: Mapping[int, float],
    after: Mapping[int, float],
    seconds: float,
    cases: int,
) -> dict[str, ServiceLoad]:
    """Per service: CPU between ``before`` and ``after`` over ``seconds`` and ``cases``, and
    the peak RSS now."""
    loads: dict[str, ServiceLoad] = {}
    for service, service_pids in pids.items():
        if not service_pids:
            continue
        spent = sum(after.get(pid, 0.0) - before.get(pid, 0.0) for pid in service_pids)
        peaks = [mb for pid in service_pids if (mb := peak_rss_mb(pid)) is not None]
        loads[service] = ServiceLoad(
            instances=len(service_pids),
            cpu_s=spent,
            cpu_percent=spent / seconds * 100.0,
            cpu_ms_per_case=spent * 1000.0 / cases,
            rss_mb=max(peaks) if peaks else None,
        )
    return loads


@dataclass(frozen=True)
class MachineSample:
    """CPU time of the whole machine (``/proc/stat``, every core) and of this process."""

    busy: float  # seconds, all cores: everything but idle and iowait
    total: float  # seconds, all cores
    own: float  # seconds of this process (the bench: the load generator, the listener)
    broker: float | None  # seconds of a RabbitMQ on this machine (beam.smp), None if none is

    @classmethod
    def now(cls) -> MachineSample | None:
        try:
            fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            own = cpu_seconds(os.getpid())
        except (OSError, ValueError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return cls((sum(fields) - idle) / ticks, sum(fields) / ticks, own, broker_cpu_seconds())


def broker_cpu_seconds() -> float | None:
    """CPU time so far of every RabbitMQ node on this machine (its ``beam.smp``); None when
    none runs here (a remote broker) or one cannot be read."""
    seconds = None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            if "(beam.smp)" in text:
                seconds = (seconds or 0.0) + cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return seconds


def machine_figures(
    before: MachineSample | None, after: MachineSample | None, seconds: float
) -> dict[str, float | None]:
    """Over a phase: how busy the whole machine was (percent of all its cores: other jobs on
    it count too), the bench process itself and the broker, if it runs here (percent of one
    core each)."""
    if before is None or after is None or after.total <= before.total:
        return {"machine_cpu_percent": None, "bench_cpu_percent": None, "broker_cpu_percent": None}
    busy = (after.busy - before.busy) / (after.total - before.total) * 100.0
    own = (after.own - before.own) / seconds * 100.0
    broker = (
        None
        if before.broker is None or after.broker is None
        else round((after.broker - before.broker) / seconds * 100.0, 1)
    )
    return {
        "machine_cpu_percent": round(busy, 1),
        "bench_cpu_percent": round(own, 1),
        "broker_cpu_percent": broker,
    }


def heaviest(loads: Mapping[str, ServiceLoad]) -> str | None:
    """The service with the most CPU per case, None when nothing was measured."""
    if not loads:
        return None
    return max(loads, key=lambda name: loads[name].cpu_ms_per_case)


# --------------------------------------------------------------------------- py-spy


def py_spy_executable() -> str | None:
    """py-spy next to the interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


class Profiler:
    """py-spy on the first instance of each service, for at most ``seconds``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.recorders: dict[str, subprocess.Popen[bytes]] = {}
        self.outputs: dict[str, Path] = {}

    def start(self, pids: Mapping[str, Sequence[int]], seconds: float) -> None:
        py_spy = py_spy_executable()
        if py_spy is None:
            log("profile: no py-spy (pip install py-spy): not profiling")
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for service, service_pids in pids.items():
            if not service_pids:
                continue
            output = self.directory / f"{service}.txt"
            command = [
                py_spy, "record", "--nonblocking", "--gil", "-f", "raw", "-r", str(PY_SPY_RATE),
                "-d", str(max(1, round(seconds))), "-p", str(service_pids[0]), "-o", str(output),
            ]  # fmt: skip
            log_file = (self.directory / f"{service}.py-spy.log").open("wb")
            with log_file:
                self.recorders[service] = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
                )
            self.outputs[service] = output
        log(f"profile: py-spy on {', '.join(self.recorders)} -> {self.directory}")

    def stop(self) -> None:
        """SIGINT to every recorder still sampling (it writes what it has), then wait."""
        for recorder in self.recorders.values():
            if recorder.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    recorder.send_signal(signal.SIGINT)
        for service, recorder in self.recorders.items():
            try:
                recorder.wait(timeout=PY_SPY_STOP_S)
            except subprocess.TimeoutExpired:
                log(f"profile: py-spy on {service} did not stop: killed, no profile")
                recorder.kill()
                recorder.wait()

    def summary(self, top: int = PROFILE_TOP) -> str:
        """The top functions of our code per service, by inclusive share; also written to
        ``summary.txt`` in the directory."""
        blocks = []
        for service, output in self.outputs.items():
            blocks.append(summarize(service, output, top))
        text = "\n\n".join(blocks) + "\n"
        if self.outputs:
            (self.directory / "summary.txt").write_text(text, encoding="utf-8")
        return text


def frame_key(frame: str) -> str | None:
    """``function (path)`` of a raw py-spy frame in our code, None for anyone else's."""
    match = FRAME.match(frame)
    if match is None:
        return None
    path = match["path"]
    ours = OUR_CODE.search(path)
    if ours is None or "site-packages" in path:
        return None
    return f"{match['function']} ({path[ours.start() :].lstrip('/')})"


def inclusive_shares(raw: str) -> tuple[int, Counter[str]]:
    """The samples in a py-spy raw (collapsed) profile, and per function of our code the
    samples whose stack holds it (once per stack, however deep it recurses)."""
    total = 0
    holding: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for key in {key for frame in stack.split(";") if (key := frame_key(frame))}:
            holding[key] += count
    return total, holding


def summarize(service: str, output: Path, top: int) -> str:
    try:
        raw = output.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"{service}: no profile ({output} was not written)"
    total, holding = inclusive_shares(raw)
    if not total:
        return f"{service}: no busy samples"
    lines = [f"{service}: {total} busy samples ({total / PY_SPY_RATE:.1f} s busy)"]
    for key, count in holding.most_common(top):
        lines.append(f"  {count / total * 100:5.1f}%  {key}")
    return "\n".join(lines)

"""The machine a benchmark runs on: CPU (the whole machine's, from /proc/stat, and our
processes'), memory of one process, and waiting for other work to quiet down.

Benchmarks here often share a small machine with other tenants, so every report says how
busy the machine was beside what our own processes used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import psutil


def _cpu_jiffies() -> tuple[int, int] | None:
    """(all jiffies, idle + iowait jiffies) summed over CPUs; None without /proc/stat.
    Only the first eight fields: guest time is already counted in user time."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]


class CpuSample:
    """Machine-wide CPU use between two moments, from /proc/stat (Linux); None elsewhere."""

    def __init__(self) -> None:
        self.start = _cpu_jiffies()

    def busy(self) -> float | None:
        """Fraction of all CPUs busy since this sample was taken."""
        end = _cpu_jiffies()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        total, idle = end[0] - self.start[0], end[1] - self.start[1]
        return 1 - idle / total

    def busy_seconds(self) -> float:
        """CPU seconds the whole machine spent busy since this sample was taken (0 where
        /proc/stat is missing)."""
        end = _cpu_jiffies()
        if self.start is None or end is None:
            return 0.0
        busy = (end[0] - end[1]) - (self.start[0] - self.start[1])
        return busy / os.sysconf("SC_CLK_TCK")


async def quiet_machine(max_wait_s: float, busy_below: float = 0.3,
                        sample_s: float = 2.0) -> float | None:
    """Wait (at most `max_wait_s`) until the machine's CPUs are less than `busy_below` busy
    over `sample_s`: other people's work on a shared box skews every percentile. The last
    reading (fraction busy), or None where /proc/stat is missing."""
    deadline = time.monotonic() + max_wait_s
    while True:
        cpu = CpuSample()
        await asyncio.sleep(sample_s)
        busy = cpu.busy()
        if busy is None or busy < busy_below or time.monotonic() >= deadline:
            return busy


class CpuMeter:
    """CPU seconds each named group of processes used between start() and stop(), and what
    the whole machine used (other tenants included)."""

    def __init__(self) -> None:
        self._before: dict[int, float] = {}
        self._machine = CpuSample()
        self.began = 0.0

    @staticmethod
    def cpu(pid: int) -> float:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def start(self, pids: Sequence[int]) -> None:
        self._before = {pid: self.cpu(pid) for pid in pids}
        self._machine = CpuSample()
        self.began = time.monotonic()

    def stop(self, groups: Mapping[str, Sequence[int]]) -> tuple[dict[str, float], float, float]:
        """(CPU s per group, machine CPU s, wall s). A pid not seen at start counts from 0."""
        used = {name: sum(max(0.0, self.cpu(p) - self._before.get(p, 0.0)) for p in pids)
                for name, pids in groups.items()}
        return used, self._machine.busy_seconds(), time.monotonic() - self.began


class MachineShare:
    """Over one part of the run: CPU seconds the machine spent, and how much of it was ours:
    this process and every child it reaped (rusage), and our database's backends (sampled
    while they live); the rest is Redis, the OS and other tenants of the machine."""

    def __init__(self, backends: Callable[[], Awaitable[set[int]]]) -> None:
        self.backends = backends
        self.machine = CpuMeter()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.rusage = 0.0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _rusage() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    async def _sample_backends(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                for pid in await self.backends():
                    cpu = CpuMeter.cpu(pid)
                    self.first.setdefault(pid, 0.0)  # born after start(): all its CPU
                    self.last[pid] = cpu
            await asyncio.sleep(0.5)

    async def start(self) -> None:
        self.rusage = self._rusage()
        self.machine.start([])
        for pid in await self.backends():
            self.first[pid] = self.last[pid] = CpuMeter.cpu(pid)
        self._task = asyncio.create_task(self._sample_backends())

    async def stop(self) -> tuple[float, float, float]:
        """(machine CPU s, ours, wall s)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        _, machine, wall = self.machine.stop({})
        backends = sum(max(0.0, self.last[p] - self.first.get(p, 0.0)) for p in self.last)
        return machine, self._rusage() - self.rusage + backends, wall


class PeakRss:
    """Samples a process's resident memory while running; `peak_mb` is the highest seen,
    `hwm_mb` the kernel's high-water mark (VmHWM) since the process started."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.every_s = every_s
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def hwm_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self.peak_mb
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return self.peak_mb


def listening_pid(port: int) -> int | None:
    """The process listening on a loopback TCP port (the Redis server), if visible."""
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid else None
    return None


def raise_open_files_limit(most: int = 65536) -> None:
    """Thousands of concurrent streams need as many sockets: lift the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, most)), hard))

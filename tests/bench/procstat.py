"""What the operating system says about processes and the machine (/proc)."""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process (all its threads), or 0.0
    when it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return parse_stat_cpu(raw)


def system_cpu_seconds(pid: int) -> float:
    """The kernel-mode part of `cpu_seconds` (system calls: sockets, files)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return int(raw[raw.rindex(")") + 2 :].split()[12]) / CLOCK_TICKS


def parse_stat_cpu(raw: str) -> float:
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after the name.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def parse_stat_children_cpu(raw: str) -> float:
    """cutime + cstime (fields 16 and 17): CPU of the children already reaped."""
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    """Live processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2 :].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def total_cpu_seconds(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def rss_bytes(pid: int) -> int:
    """Resident memory (VmRSS) of a live process, 0 when it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return parse_status_rss(text)


def parse_status_rss(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def own_cpu_seconds() -> float:
    """This process's CPU time (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def die_with_parent() -> None:
    """Asks Linux to send SIGTERM to this process when its parent dies, so a
    killed bench leaves no servers or clients behind (used as preexec_fn)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def raise_fd_limit() -> int:
    """Raises the soft open-files limit to the hard one (inherited by the servers
    and client processes started afterwards); returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    memory_gib: float
    kernel: str
    python: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "memory_gib": self.memory_gib,
            "kernel": self.kernel,
            "python": self.python,
        }

    def describe(self) -> str:
        return f"{self.cores} cores ({self.cpu_model}), {self.memory_gib:.0f} GiB RAM"


def machine() -> Machine:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return Machine(
        cpu_model=model,
        cores=os.cpu_count() or 1,
        memory_gib=round(memory_kib / 1024 / 1024, 1),
        kernel=platform.release(),
        python=platform.python_version(),
    )

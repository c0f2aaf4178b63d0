"""Optional sampling profiles of the servers while a workload runs (py-spy,
from the bench's own virtual environment), and a plain-text summary of them:
the functions where the server process spends its busy samples."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from tests.bench.servers import BENCH_VENV, ServerUnderTest

PY_SPY = BENCH_VENV / "bin" / "py-spy"
# A frame at the top of the stack that means "waiting", not working.
_IDLE_FRAMES = ("select (selectors.py", "epoll", "_worker (concurrent/futures/thread.py")


def available() -> bool:
    return PY_SPY.exists()


@contextlib.asynccontextmanager
async def recording(
    servers: Sequence[ServerUnderTest], out_dir: Path, label: str, rate: int = 100
) -> AsyncIterator[list[Path]]:
    """py-spy records every server in `servers` for the duration of the block
    (raw collapsed stacks: `<path>.txt`)."""
    paths: list[Path] = []
    processes: list[subprocess.Popen[bytes]] = []
    for server in servers:
        path = out_dir / f"profile-{label}-{server.name}.txt"
        paths.append(path)
        processes.append(_start(server.pid, path, rate))
    try:
        yield paths
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()


def _start(pid: int, path: Path, rate: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize(path: Path, top: int = 25, prefixes: tuple[str, ...] = ("homeserver/",)) -> str:
    """Busy samples by function: self time, and inclusive time of the frames
    whose file starts with one of `prefixes`."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in _IDLE_FRAMES):
            idle += count
            continue
        busy += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not busy:
        return f"{path.name}: no busy samples"
    lines = [f"{path.name}: {busy} busy samples ({idle} idle)", "  self:"]
    lines += [f"    {100 * n / busy:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive (" + ", ".join(prefixes) + "):")
    chosen = [(f, n) for f, n in inclusive.most_common() if any(p in f for p in prefixes)]
    lines += [f"    {100 * n / busy:5.1f}%  {f}" for f, n in chosen[:top]]
    return "\n".join(lines)

"""Client processes: the load comes from several Python processes (spawned, not
forked), so that one client's event loop is not what gets measured.

The bench process sends each worker `start` commands naming a task in
`tasks.TASKS`; the task may `emit` progress events while it runs (the bench
waits on them), listens for `signal`s from the bench, and ends with a result.
Commands, events and results are small pickled messages over a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from tests.bench.procstat import cpu_seconds, die_with_parent, own_cpu_seconds

WORKER_START_TIMEOUT = 30.0


class WorkerError(Exception):
    pass


# -- inside a worker ------------------------------------------------------------------


@dataclass
class TaskContext:
    """What a running task can do: report progress and read signals."""

    task_id: int
    _conn: Connection
    signals: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    def emit(self, data: Any) -> None:
        self._conn.send(("event", self.task_id, data))


def worker_main(conn: Connection) -> None:
    die_with_parent()
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    from tests.bench.tasks import TASKS

    loop = asyncio.get_running_loop()
    running: dict[int, TaskContext] = {}
    tasks: set[asyncio.Task[None]] = set()
    closed = asyncio.Event()

    async def run(ctx: TaskContext, name: str, args: dict[str, Any]) -> None:
        try:
            result = await TASKS[name](ctx, **args)
            conn.send(("result", ctx.task_id, result))
        except Exception:
            conn.send(("error", ctx.task_id, traceback.format_exc()))
        finally:
            running.pop(ctx.task_id, None)

    def on_readable() -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            closed.set()
            return
        kind = message[0]
        if kind == "start":
            _, task_id, name, args = message
            ctx = TaskContext(task_id, conn)
            running[task_id] = ctx
            task = asyncio.create_task(run(ctx, name, args))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif kind == "signal":
            _, task_id, data = message
            if task_id in running:
                running[task_id].signals.put_nowait(data)
        elif kind == "stop":
            closed.set()

    loop.add_reader(conn.fileno(), on_readable)
    conn.send(("ready", 0, None))
    await closed.wait()
    loop.remove_reader(conn.fileno())
    for task in list(tasks):
        task.cancel()
    for task in list(tasks):
        with contextlib.suppress(BaseException):
            await task


# -- in the bench process -------------------------------------------------------------


@dataclass
class _Pending:
    result: asyncio.Future[Any]
    on_event: Callable[[Any], None] | None


class RunningTask:
    def __init__(self, pool: WorkerPool, worker: int, task_id: int, future: asyncio.Future[Any]):
        self._pool = pool
        self.worker = worker
        self.task_id = task_id
        self.result = future

    def signal(self, data: Any) -> None:
        self._pool._conns[self.worker].send(("signal", self.task_id, data))


class WorkerPool:
    """`size` spawned client processes; tasks are placed round-robin unless a
    worker is named."""

    def __init__(self, size: int) -> None:
        self.size = size
        context = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for index in range(size):
            parent, child = context.Pipe(duplex=True)
            process = context.Process(
                target=worker_main, args=(child,), name=f"bench-client-{index}", daemon=True
            )
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._next_worker = itertools.cycle(range(size))
        self._ready = 0
        self._all_ready: asyncio.Future[None] | None = None

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def cpu_seconds(self) -> float:
        """CPU used so far by the client side: the workers and this process."""
        return sum(cpu_seconds(pid) for pid in self.pids) + own_cpu_seconds()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._all_ready = loop.create_future()
        for index, conn in enumerate(self._conns):
            loop.add_reader(conn.fileno(), self._on_readable, index)
        async with asyncio.timeout(WORKER_START_TIMEOUT):
            await self._all_ready

    def _on_readable(self, index: int) -> None:
        conn = self._conns[index]
        try:
            kind, task_id, data = conn.recv()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(conn.fileno())
            error = WorkerError(f"client process {index} exited")
            for waiting in self._pending.values():
                if not waiting.result.done():
                    waiting.result.set_exception(error)
            return
        if kind == "ready":
            self._ready += 1
            if self._ready == self.size and self._all_ready and not self._all_ready.done():
                self._all_ready.set_result(None)
            return
        pending = self._pending.get(task_id)
        if pending is None:
            return
        if kind == "event":
            if pending.on_event is not None:
                pending.on_event(data)
        elif kind == "result":
            del self._pending[task_id]
            pending.result.set_result(data)
        elif kind == "error":
            del self._pending[task_id]
            pending.result.set_exception(WorkerError(f"task failed in client {index}:\n{data}"))

    def start_task(
        self,
        name: str,
        args: dict[str, Any],
        *,
        worker: int | None = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> RunningTask:
        index = next(self._next_worker) if worker is None else worker % self.size
        task_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[task_id] = _Pending(future, on_event)
        self._conns[index].send(("start", task_id, name, args))
        return RunningTask(self, index, task_id, future)

    async def run(self, name: str, args: dict[str, Any], *, worker: int | None = None) -> Any:
        return await self.start_task(name, args, worker=worker).result

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                loop.remove_reader(conn.fileno())
                conn.send(("stop", 0, None))
        for process in self._processes:
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()
        for conn in self._conns:
            conn.close()

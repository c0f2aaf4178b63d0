"""Running Authlib's synchronous server code without blocking the event loop.

Authlib's AuthorizationServer calls hooks (query_client, save_token, ...)
synchronously, while our storage is async. `AsyncBridge.run` executes the
Authlib call in a worker thread of its own pool; inside it, `AsyncBridge.wait`
hands a coroutine to the event loop and blocks that worker thread (never the
loop) until the result is there."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop] = contextvars.ContextVar("oauth_loop")
WAIT_TIMEOUT_SECONDS = 60.0


class AsyncBridge:
    def __init__(self, max_workers: int = 8) -> None:
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="oauth")
        self._loop_thread: int | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Calls `function(*args)` in a worker thread (context variables kept)."""
        loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        _LOOP.set(loop)
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            self._executor, functools.partial(context.run, function, *args)
        )

    def wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """From a worker thread started by `run`: the coroutine's result."""
        if threading.get_ident() == self._loop_thread:
            coroutine.close()
            raise RuntimeError("AsyncBridge.wait called on the event loop thread")
        loop = _LOOP.get()
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(WAIT_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

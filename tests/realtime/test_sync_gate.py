"""A change that wakes thousands of waiting clients queues their deltas in
memory: only a few are computed at a time, so the database's connection pool
is never exhausted (which answered 500 to the rest)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from homeserver.handlers import sync as sync_module
from homeserver.handlers.filters import SyncFilter
from homeserver.handlers.tokens import Requester
from tests.matrix_client import TestClient


async def test_at_most_a_few_deltas_are_computed_at_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await client.register("alice")
    handler = client.app.extensions["homeserver"].sync
    running = 0
    most = 0
    real = handler._compute

    async def slow_compute(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.01)
            return await real(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(handler, "_compute", slow_compute)
    requester = Requester(alice.user_id, alice.device_id, "session")
    now = handler.current_token()
    results = await asyncio.gather(
        *(handler.compute(requester, None, now, SyncFilter()) for _ in range(100))
    )

    assert len(results) == 100
    assert most == sync_module.CONCURRENT_COMPUTES

"""Long-poll /sync on the real server: woken by news, or times out quietly."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import V3, create_room, ok, q, register, send_text, sync, timeline_bodies

pytestmark = pytest.mark.e2e


async def test_long_poll_wakes_on_message_and_times_out_when_quiet(
    server: ServerProcess,
) -> None:
    async with asyncio.timeout(30), httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        alice = await register(http, "alice")
        bob = await register(http, "bob")
        room_id = await create_room(http, alice, name="Poll", preset="public_chat")
        ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=bob.headers))
        since = (await sync(http, bob))["next_batch"]

        async def poll() -> tuple[dict[str, Any], float]:
            return await sync(http, bob, since=since, timeout_ms=30_000), time.monotonic()

        async def send_later() -> str:
            await asyncio.sleep(0.3)
            return await send_text(http, alice, room_id, "wake up")

        started = time.monotonic()
        (polled, finished), event_id = await asyncio.gather(poll(), send_later())
        returned = finished - started
        assert timeline_bodies(polled, room_id) == ["wake up"]
        timeline = polled["rooms"]["join"][room_id]["timeline"]["events"]
        assert [e["event_id"] for e in timeline] == [event_id]
        # It waited for the message (not an early empty answer) and returned soon after.
        assert returned >= 0.3
        assert returned < 5, f"long poll took {returned:.1f} s after a message at 0.3 s"

        # Nothing new: waits about the timeout, then answers with the same token.
        token = polled["next_batch"]
        started = time.monotonic()
        quiet = await sync(http, bob, since=token, timeout_ms=500)
        waited = time.monotonic() - started
        assert 0.45 <= waited < 3, f"timeout=500 answered after {waited:.2f} s"
        assert quiet["next_batch"] == token
        assert quiet["rooms"]["join"] == {}
        assert quiet["rooms"]["invite"] == {}
        assert quiet["rooms"]["leave"] == {}
        assert quiet["account_data"]["events"] == []

"""Everything written before a restart of the server process is there after it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import (
    V3,
    create_room,
    login,
    ok,
    page_back_all,
    q,
    register,
    send_text,
    sync,
    timeline_bodies,
)

pytestmark = pytest.mark.e2e

COUNT = 50


def _latest_state(room: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The newest event of a type among a synced room's state and timeline."""
    found = [
        e
        for e in room["state"]["events"] + room["timeline"]["events"]
        if e["type"] == event_type and e.get("state_key") == ""
    ]
    assert found, f"no {event_type} in the sync"
    return dict(found[-1]["content"])


async def test_data_survives_a_restart(server: ServerProcess) -> None:
    async with asyncio.timeout(40), httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        alice = await register(http, "alice")
        bob = await register(http, "bob")
        room_id = await create_room(http, alice, name="Before", preset="private_chat")
        ok(
            await http.post(
                f"{V3}/rooms/{q(room_id)}/invite",
                json={"user_id": bob.user_id},
                headers=alice.headers,
            )
        )
        ok(await http.post(f"{V3}/rooms/{q(room_id)}/join", json={}, headers=bob.headers))
        ok(
            await http.put(
                f"{V3}/rooms/{q(room_id)}/state/m.room.name",
                json={"name": "Renamed"},
                headers=alice.headers,
            )
        )
        sent = [await send_text(http, alice, room_id, f"m {i}") for i in range(COUNT)]
        ok(
            await http.put(
                f"{V3}/user/{q(alice.user_id)}/account_data/org.example.settings",
                json={"theme": "dark"},
                headers=alice.headers,
            )
        )
        ok(
            await http.put(
                f"{V3}/user/{q(alice.user_id)}/rooms/{q(room_id)}/account_data/org.example.room",
                json={"pinned": True},
                headers=alice.headers,
            )
        )
        before = await sync(http, bob)
        assert timeline_bodies(before, room_id)[-1] == f"m {COUNT - 1}"
        token_before = before["next_batch"]

    exit_code = await asyncio.to_thread(server.restart)
    assert exit_code == 0, f"SIGTERM should stop the server cleanly:\n{server.logs()}"

    async with asyncio.timeout(40), httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        # The same access tokens still work.
        for user in (alice, bob):
            me = ok(await http.get(f"{V3}/account/whoami", headers=user.headers))
            assert (me["user_id"], me["device_id"]) == (user.user_id, user.device_id)

        # An initial sync has the room, its current name, the latest messages and
        # the account data.
        initial = await sync(http, alice)
        room = initial["rooms"]["join"][room_id]
        assert _latest_state(room, "m.room.name") == {"name": "Renamed"}
        bodies = timeline_bodies(initial, room_id)
        assert bodies, "no messages in the initial sync"
        assert bodies == [f"m {i}" for i in range(COUNT - len(bodies), COUNT)]
        assert room["timeline"]["events"][-1]["event_id"] == sent[-1]
        account_data = {e["type"]: e["content"] for e in initial["account_data"]["events"]}
        assert account_data.get("org.example.settings") == {"theme": "dark"}
        room_data = {e["type"]: e["content"] for e in room["account_data"]["events"]}
        assert room_data.get("org.example.room") == {"pinned": True}
        stored = ok(
            await http.get(
                f"{V3}/user/{q(alice.user_id)}/account_data/org.example.settings",
                headers=alice.headers,
            )
        )
        assert stored == {"theme": "dark"}

        # /messages pages back through all 50 messages, each once and in order.
        older = await page_back_all(http, alice, room_id, room["timeline"]["prev_batch"])
        timeline_ids = [e["event_id"] for e in room["timeline"]["events"]]
        all_ids = [e["event_id"] for e in reversed(older)] + timeline_ids
        assert [i for i in all_ids if i in set(sent)] == sent
        assert len(all_ids) == len(set(all_ids))
        assert older[-1]["type"] == "m.room.create"

        # Password login still works.
        again = await login(http, "alice")
        assert again.user_id == alice.user_id
        ok(await http.get(f"{V3}/account/whoami", headers=again.headers))

        # A token from before the restart: nothing old again, then only what is new.
        quiet = await sync(http, bob, since=token_before)
        assert timeline_bodies(quiet, room_id) == []
        assert quiet["account_data"]["events"] == []
        after_id = await send_text(http, alice, room_id, "after restart")
        newer = await sync(http, bob, since=token_before, timeout_ms=5000)
        events = newer["rooms"]["join"][room_id]["timeline"]["events"]
        assert [e["event_id"] for e in events] == [after_id]
        assert newer["rooms"]["join"][room_id]["timeline"]["limited"] is False
        assert newer["next_batch"] != token_before
        # And the next sync from there is empty again.
        settled = await sync(http, bob, since=newer["next_batch"])
        assert room_id not in settled["rooms"]["join"]


async def test_sigterm_answers_a_pending_long_poll(server: ServerProcess) -> None:
    async with asyncio.timeout(20), httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        bob = await register(http, "bob")
        token = (await sync(http, bob))["next_batch"]
        poll = asyncio.create_task(
            http.get(
                f"{V3}/sync",
                params={"since": token, "timeout": "30000"},
                headers=bob.headers,
                timeout=40,
            )
        )
        await asyncio.sleep(0.5)
        started = time.monotonic()
        exit_code = await asyncio.to_thread(server.stop)
        stopping = time.monotonic() - started
        response = await poll
    assert exit_code == 0
    assert response.status_code == 200, f"pending poll got {response.status_code}"
    assert response.json()["next_batch"] == token
    assert stopping < 2, f"shutdown took {stopping:.1f} s"
    assert "Traceback" not in server.logs()

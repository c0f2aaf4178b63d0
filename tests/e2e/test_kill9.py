"""SIGKILL mid-way through concurrent sends loses nothing acknowledged: a real
server process (SQLite, or PostgreSQL with TEST_DATABASE_URL), senders in
parallel, `kill -9` while they send, a restart on the same data. Every
acknowledged send is there exactly once, and re-sending its transaction id
answers the same event id (the send was durable before it was acknowledged)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import V3, User, create_room, page_back_all, q, register

pytestmark = pytest.mark.e2e

SENDERS = 4
ACKED_BEFORE_KILL = 40


async def _sender(
    http: httpx.AsyncClient,
    user: User,
    room_id: str,
    name: str,
    acked: dict[str, str],
    in_flight: set[str],
    enough: asyncio.Event,
) -> None:
    for n in range(10_000):
        txn_id = f"{name}-{n}"
        in_flight.add(txn_id)
        try:
            response = await http.put(
                f"{V3}/rooms/{q(room_id)}/send/m.room.message/{txn_id}",
                json={"msgtype": "m.text", "body": txn_id},
                headers=user.headers,
            )
        except httpx.TransportError:
            return  # the server is gone: this send may or may not have landed
        assert response.status_code == 200, response.text
        in_flight.discard(txn_id)
        acked[txn_id] = response.json()["event_id"]
        if len(acked) >= ACKED_BEFORE_KILL:
            enough.set()


async def test_sigkill_loses_no_acknowledged_send(server: ServerProcess) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        alice = await register(http, "alice")
        room_id = await create_room(http, alice, name="Kill -9")
        acked: dict[str, str] = {}
        in_flight: set[str] = set()
        enough = asyncio.Event()
        senders = [
            asyncio.create_task(_sender(http, alice, room_id, f"s{i}", acked, in_flight, enough))
            for i in range(SENDERS)
        ]
        await enough.wait()
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)  # mid-way: the senders are still sending
        await asyncio.to_thread(server.process.wait)
        await asyncio.gather(*senders)
        assert len(acked) >= ACKED_BEFORE_KILL

        await asyncio.to_thread(server.start)
        events = await page_back_all(http, alice, room_id, None, limit=100)
        bodies = Counter(e["content"].get("body") for e in events if e["type"] == "m.room.message")
        ids = Counter(e["event_id"] for e in events)
        for txn_id, event_id in acked.items():
            assert ids[event_id] == 1, f"acknowledged {txn_id} ({event_id}) is not there once"
            assert bodies[txn_id] == 1, txn_id
        # The sends cut off by the kill landed at most once.
        assert all(bodies[txn_id] <= 1 for txn_id in in_flight)

        for txn_id, event_id in acked.items():
            again = await http.put(
                f"{V3}/rooms/{q(room_id)}/send/m.room.message/{txn_id}",
                json={"msgtype": "m.text", "body": txn_id},
                headers=alice.headers,
            )
            assert again.status_code == 200, again.text
            assert again.json()["event_id"] == event_id, txn_id
        events_after = await page_back_all(http, alice, room_id, None, limit=100)
        assert len(events_after) == len(events), "a re-sent transaction id made a new event"
        print(f"\n{len(acked)} acknowledged before SIGKILL, {len(in_flight)} cut off in flight")

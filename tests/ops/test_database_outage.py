"""PostgreSQL goes away and comes back under a real server process.

The shared PostgreSQL cannot be stopped here, so the server reaches it through
a TCP proxy in the test: closing the proxy cuts every connection and refuses
new ones, as a stopped database does. While it is closed requests answer
`503 M_UNKNOWN`, never 500; when it opens again the server recovers by itself,
and every send it acknowledged is there, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE_URL, create_scratch_postgres, drop_scratch_postgres
from tests.e2e.conftest import ServerProcess, free_port
from tests.e2e.helpers import V3, User, create_room, ok, page_back_all, q, register, send_text
from tests.ops.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]

OUTAGE_ERRORS = 5  # sends refused while the database is away
RECOVERED_SENDS = 5  # acknowledged after it is back
SEND_PAUSE_SECONDS = 0.02


@dataclass
class Sender:
    """Keeps sending to a room; notes what was acknowledged and every status."""

    http: httpx.AsyncClient
    user: User
    room_id: str
    acknowledged: dict[str, str] = field(default_factory=dict)  # body -> event id
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        for n in range(100_000):
            body = f"m{n}"
            url = f"{V3}/rooms/{q(self.room_id)}/send/m.room.message/outage{n}"
            response = await self.http.put(
                url, json={"msgtype": "m.text", "body": body}, headers=self.user.headers
            )
            self.statuses.append(response.status_code)
            if response.status_code == 200:
                self.acknowledged[body] = response.json()["event_id"]
            else:
                self.errors.append(response.text)
            self.changed.set()
            await asyncio.sleep(SEND_PAUSE_SECONDS)

    async def until(self, status: int, count: int) -> None:
        """Waits for `count` more answers with `status` (in a row)."""
        start = len(self.statuses)
        while True:
            recent = self.statuses[start:]
            unexpected = set(recent) - {200, 503}
            assert not unexpected, f"answered {unexpected}: {self.errors[-1:]}"
            if len(recent) >= count and all(s == status for s in recent[-count:]):
                return
            self.changed.clear()
            await self.changed.wait()


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    url = await create_scratch_postgres(TEST_DATABASE_URL)
    yield url
    await drop_scratch_postgres(TEST_DATABASE_URL, url)


async def test_postgres_outage_answers_503_and_recovers(
    scratch_database: str, tmp_path: Path
) -> None:
    target = make_url(scratch_database)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        through_proxy = target.set(host="127.0.0.1", port=proxy.port)
        (tmp_path / "logs").mkdir()
        server = ServerProcess(
            data_dir=tmp_path / "data",
            port=free_port(),
            database_url=through_proxy.render_as_string(hide_password=False),
            log_dir=tmp_path / "logs",
            extra_env={"LOG_FORMAT": "json"},
        )
        try:
            await asyncio.to_thread(server.start)
            await _outage_and_recovery(server, proxy)
            stderr = await asyncio.to_thread(server.log_paths(1)[1].read_text)
        except BaseException:
            print(server.logs())
            raise
        finally:
            server.kill()
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any(r["message"] == "database unavailable" for r in records), records[-5:]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], records


async def _outage_and_recovery(server: ServerProcess, proxy: TcpProxy) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        alice = await register(http, "alice")
        room_id = await create_room(http, alice, name="Outage", preset="private_chat")
        first = await send_text(http, alice, room_id, "before")
        assert (await http.get("/ready")).status_code == 200

        sender = Sender(http, alice, room_id)
        sending = asyncio.create_task(sender.run())
        try:
            await sender.until(200, 3)
            await asyncio.to_thread(proxy.close)
            await sender.until(503, OUTAGE_ERRORS)

            ready = await http.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["errcode"] == "M_UNKNOWN"
            assert (await http.get("/health")).status_code == 200
            messages = await http.get(
                f"{V3}/rooms/{q(room_id)}/messages", params={"dir": "b"}, headers=alice.headers
            )
            assert messages.status_code == 503, messages.text
            assert messages.headers["Retry-After"] == "1"
            metrics = (await http.get("/metrics")).text
            assert "homeserver_database_up 0.0" in metrics

            await asyncio.to_thread(proxy.open)
            await sender.until(200, RECOVERED_SENDS)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)

        assert set(sender.statuses) <= {200, 503}, sorted(set(sender.statuses))
        assert all(json.loads(e)["errcode"] == "M_UNKNOWN" for e in sender.errors)
        assert (await http.get("/ready")).status_code == 200
        assert "homeserver_database_up 1.0" in (await http.get("/metrics")).text

        # Every acknowledged send is in the room's history, once, in order.
        events = await page_back_all(http, alice, room_id, None, limit=100)
        messages_in_room = [e for e in reversed(events) if e["type"] == "m.room.message"]
        ids = [e["event_id"] for e in messages_in_room]
        assert len(ids) == len(set(ids))
        assert ids[0] == first
        served = {e["content"]["body"]: e["event_id"] for e in messages_in_room[1:]}
        missing = {b: i for b, i in sender.acknowledged.items() if served.get(b) != i}
        assert not missing, f"acknowledged but not in the room: {missing}"
        order = [int(e["content"]["body"][1:]) for e in messages_in_room[1:]]
        assert order == sorted(order)

        # And a new message after the outage reaches a fresh sync.
        last = await send_text(http, alice, room_id, "after")
        synced = ok(await http.get(f"{V3}/sync", headers=alice.headers))
        timeline = synced["rooms"]["join"][room_id]["timeline"]["events"]
        assert timeline[-1]["event_id"] == last

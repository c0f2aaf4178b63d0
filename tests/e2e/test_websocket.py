"""The WebSocket sync stream against the real server process, driven by the
`websockets` package as a client would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.e2e.conftest import ServerProcess, StartServer
from tests.e2e.helpers import PASSWORD, V3, User, create_room, login, ok, q, register
from tests.e2e.stream_client import StreamClient, timeline_bodies

pytestmark = pytest.mark.e2e

FAST = {
    "STREAM_HEARTBEAT_SECONDS": "1",
    "PRESENCE_OFFLINE_GRACE_SECONDS": "1",
}


async def send_text(http: httpx.AsyncClient, user: User, room_id: str, body: str, txn: str) -> str:
    response = await http.put(
        f"{V3}/rooms/{q(room_id)}/send/m.room.message/{q(txn)}",
        json={"msgtype": "m.text", "body": body},
        headers=user.headers,
    )
    return str(ok(response)["event_id"])


async def setup_pair(http: httpx.AsyncClient) -> tuple[User, User, str]:
    alice = await register(http, "alice")
    bob = await register(http, "bob")
    room_id = await create_room(http, alice, preset="public_chat", name="Chat")
    ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=bob.headers))
    return alice, bob, room_id


@pytest.fixture
def fast_server(start_server: StartServer) -> ServerProcess:
    return start_server(env=FAST)


async def test_two_users_chat_and_an_outsider_sees_nothing(fast_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice, bob, room_id = await setup_pair(http)
        carol = await register(http, "carol")
        other_room = await create_room(http, carol, name="Elsewhere")

        a = await StreamClient.connect(fast_server.base_url, alice.access_token)
        b = await StreamClient.connect(
            fast_server.base_url, bob.access_token, subprotocol_token=True
        )
        c = await StreamClient.connect(fast_server.base_url, carol.access_token)
        for client, user in ((a, alice), (b, bob), (c, carol)):
            ready = await client.expect("ready")
            assert ready["user_id"] == user.user_id
            initial = await client.sync()
            assert initial["next_batch"] == client.next_batch
        assert b.connection.subprotocol == "homeserver.sync.v1"

        # Alice sends over the socket; bob receives it; the ack names the event.
        answer = await a.request(
            {
                "type": "send",
                "room_id": room_id,
                "txn_id": "w1",
                "content": {"msgtype": "m.text", "body": "hi bob"},
            }
        )
        assert answer["type"] == "send_result" and answer["event_id"].startswith("$")
        data = await b.sync_until(lambda d: "hi bob" in timeline_bodies(d, room_id))
        event = next(
            e
            for e in data["rooms"]["join"][room_id]["timeline"]["events"]
            if e["type"] == "m.room.message"
        )
        assert event["event_id"] == answer["event_id"]

        # Bob answers over HTTP; alice receives it on her socket.
        await send_text(http, bob, room_id, "hi alice", "h1")
        await a.sync_until(lambda d: "hi alice" in timeline_bodies(d, room_id))

        # The same transaction id again is the same event, not a second one.
        again = await a.request(
            {
                "type": "send",
                "room_id": room_id,
                "txn_id": "w1",
                "content": {"msgtype": "m.text", "body": "hi bob"},
            }
        )
        assert again["event_id"] == answer["event_id"]

        # Carol, in another room, gets nothing of theirs.
        await send_text(http, carol, other_room, "carol's own", "c1")
        carol_data = await c.sync_until(lambda d: other_room in d["rooms"]["join"])
        seen = str([f for f in c.frames if f["type"] == "sync"])
        assert "hi bob" not in seen and "hi alice" not in seen
        assert room_id not in carol_data["rooms"]["join"]

        # A send to a room one is not in is answered with a Matrix error.
        refused = await c.request(
            {"type": "send", "room_id": room_id, "txn_id": "x", "content": {"body": "x"}}
        )
        assert refused["type"] == "error" and refused["errcode"] == "M_FORBIDDEN"
        for client in (a, b, c):
            await client.close()


async def test_typing_receipts_and_unread_counts(fast_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice, bob, room_id = await setup_pair(http)
        a = await StreamClient.connect(fast_server.base_url, alice.access_token)
        b = await StreamClient.connect(fast_server.base_url, bob.access_token)
        await a.sync()
        await b.sync()

        await a.send({"type": "typing", "room_id": room_id, "typing": True, "timeout": 1500})

        def typing_users(data: dict[str, Any]) -> list[str] | None:
            room = data["rooms"]["join"].get(room_id)
            for event in room["ephemeral"]["events"] if room else []:
                if event["type"] == "m.typing":
                    return list(event["content"]["user_ids"])
            return None

        await b.sync_until(lambda d: typing_users(d) == [alice.user_id])
        started = time.monotonic()
        await b.sync_until(lambda d: typing_users(d) == [])  # expires by itself
        assert time.monotonic() - started < 5

        last = ""
        for i in range(3):
            last = await send_text(http, alice, room_id, f"note {i}", f"n{i}")

        def counts(data: dict[str, Any]) -> dict[str, int] | None:
            room = data["rooms"]["join"].get(room_id)
            return room["unread_notifications"] if room else None

        await b.sync_until(lambda d: (counts(d) or {}).get("notification_count") == 3)
        await b.send({"type": "receipt", "room_id": room_id, "event_id": last})

        def own_receipt(data: dict[str, Any]) -> bool:
            room = data["rooms"]["join"].get(room_id)
            events = room["ephemeral"]["events"] if room else []
            return any(e["type"] == "m.receipt" and bob.user_id in str(e) for e in events)

        data = await b.sync_until(own_receipt)
        assert counts(data) == {"notification_count": 0, "highlight_count": 0}
        # Alice sees bob's receipt on her stream.
        await a.sync_until(
            lambda d: bob.user_id in str(d["rooms"]["join"].get(room_id, {}).get("ephemeral", {}))
        )
        await a.close()
        await b.close()


async def test_presence_online_then_offline_after_disconnect(fast_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice, bob, _room_id = await setup_pair(http)
        b = await StreamClient.connect(fast_server.base_url, bob.access_token)
        await b.sync()
        a = await StreamClient.connect(fast_server.base_url, alice.access_token)
        await a.sync()

        def alice_presence(data: dict[str, Any]) -> str | None:
            for event in data["presence"]["events"]:
                if event["sender"] == alice.user_id:
                    return str(event["content"]["presence"])
            return None

        await b.sync_until(lambda d: alice_presence(d) == "online")
        status = ok(await http.get(f"{V3}/presence/{q(alice.user_id)}/status", headers=bob.headers))
        assert status["presence"] == "online"
        await a.close()
        started = time.monotonic()
        await b.sync_until(lambda d: alice_presence(d) == "offline", timeout=15)
        assert time.monotonic() - started < 10
        await b.close()


async def test_resume_under_a_burst_loses_and_duplicates_nothing(
    fast_server: ServerProcess,
) -> None:
    total = 1000
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice, bob, room_id = await setup_pair(http)
        b = await StreamClient.connect(fast_server.base_url, bob.access_token)
        await b.sync()
        token = b.next_batch
        received: list[str] = []

        async def burst() -> None:
            for start in range(0, total, 25):
                await asyncio.gather(
                    *(
                        send_text(http, alice, room_id, f"m{i:04d}", f"b{i}")
                        for i in range(start, min(total, start + 25))
                    )
                )

        sender = asyncio.create_task(burst())
        cuts = 0
        while len(received) < total:
            try:
                data = await b.sync(timeout=20)
            except (websockets.ConnectionClosed, TimeoutError):
                data = None
            if data is not None:
                received += [m for m in timeline_bodies(data, room_id) if m.startswith("m")]
                token = b.next_batch
                room = data["rooms"]["join"].get(room_id)
                assert room is None or room["timeline"]["limited"] is False
            if data is None or (len(received) // 150 > cuts):
                # Cut the connection mid-burst (abruptly, unacknowledged frames in
                # flight) and resume from the last token processed.
                cuts += 1
                b.connection.transport.abort()
                b = await StreamClient.connect(fast_server.base_url, bob.access_token, since=token)
        await sender
        await b.close()
    assert cuts >= 3
    assert len(received) == len(set(received)) == total
    # In the order they were stored: the order /messages gives going forward.
    assert received == sorted(received, key=received.index)
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        stored: list[str] = []
        start = None
        while True:
            params: dict[str, Any] = {"dir": "f", "limit": 500}
            if start:
                params["from"] = start
            page = ok(
                await http.get(
                    f"{V3}/rooms/{q(room_id)}/messages", params=params, headers=bob.headers
                )
            )
            stored += [e["content"]["body"] for e in page["chunk"] if e["type"] == "m.room.message"]
            if "end" not in page:
                break
            start = page["end"]
    assert received == stored


async def test_bad_frames_get_errors_without_hurting_others(fast_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice, bob, room_id = await setup_pair(http)
        healthy = await StreamClient.connect(fast_server.base_url, bob.access_token)
        await healthy.sync()

        client = await StreamClient.connect(fast_server.base_url, alice.access_token)
        await client.sync()
        await client.connection.send("this is not json")
        assert (await client.expect("error"))["errcode"] == "M_NOT_JSON"
        await client.connection.send("[1, 2]")
        assert (await client.expect("error"))["errcode"] == "M_BAD_JSON"
        await client.send({"type": "dance"})
        assert (await client.expect("error"))["errcode"] == "M_UNRECOGNIZED"
        await client.send({"type": "ack", "seq": 999})
        assert (await client.expect("error"))["errcode"] == "M_INVALID_PARAM"
        # Still usable after all that.
        answer = await client.request(
            {"type": "send", "room_id": room_id, "txn_id": "ok", "content": {"body": "still here"}}
        )
        assert answer["type"] == "send_result"
        # An event over 64 KiB in a frame under it: refused, naming the request.
        big = {"type": "send", "room_id": room_id, "txn_id": "big", "req_id": "r-big"}
        big["content"] = {"msgtype": "m.text", "body": "x" * 65_300}
        await client.send(big)
        error = await client.expect("error")
        assert (error["errcode"], error.get("req_id")) == ("M_TOO_LARGE", "r-big")
        # An oversized frame: an error naming the request, then the server closes with 1009.
        huge = {**big, "req_id": "r-huge", "content": {"body": "x" * 70_000}}
        await client.connection.send(orjson.dumps(huge).decode())
        error = await client.expect("error")
        assert (error["errcode"], error.get("req_id")) == ("M_TOO_LARGE", "r-huge")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        # A bad token: an error frame and close 4001.
        bad = await StreamClient.connect(fast_server.base_url, "not-a-token")
        error = await bad.expect("error")
        assert error["errcode"] == "M_UNKNOWN_TOKEN"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await bad.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
        # No token at all.
        missing = await StreamClient.connect(fast_server.base_url, None)
        assert (await missing.expect("error"))["errcode"] == "M_MISSING_TOKEN"

        # The healthy connection noticed nothing and still gets messages.
        await healthy.sync_until(lambda d: "still here" in timeline_bodies(d, room_id))
        await healthy.close()


async def test_logout_ends_the_stream(fast_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=fast_server.base_url) as http:
        alice = await register(http, "alice")
        client = await StreamClient.connect(fast_server.base_url, alice.access_token)
        await client.sync()
        ok(await http.post(f"{V3}/logout", json={}, headers=alice.headers))
        error = await client.expect("error", timeout=10)
        assert error["errcode"] == "M_UNKNOWN_TOKEN"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_signing_a_device_out_ends_its_stream_at_once(start_server: StartServer) -> None:
    # Heartbeats every 25 s (the default): the periodic token check would come
    # after 50 s, so a close within seconds is the sign-out reaching the stream.
    server = start_server(env={"STREAM_HEARTBEAT_SECONDS": "25"})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        phone = await register(http, "alice")
        laptop = await login(http, "alice")
        on_phone = await StreamClient.connect(server.base_url, phone.access_token)
        on_laptop = await StreamClient.connect(server.base_url, laptop.access_token)
        await on_phone.sync()
        await on_laptop.sync()

        # The laptop signs the phone out.
        body = {
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": phone.user_id},
                "password": PASSWORD,
            }
        }
        ok(
            await http.request(
                "DELETE", f"{V3}/devices/{q(phone.device_id)}", json=body, headers=laptop.headers
            )
        )
        assert (await on_phone.expect("error", timeout=10))["errcode"] == "M_UNKNOWN_TOKEN"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await on_phone.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

        # The laptop's own stream goes on; closing the account ends it too.
        room_id = await create_room(http, laptop, name="Notes")
        await on_laptop.sync_until(lambda d: room_id in d.get("rooms", {}).get("join", {}))
        ok(await http.post(f"{V3}/account/deactivate", json=body, headers=laptop.headers))
        error = await on_laptop.expect("error", timeout=10)
        assert error["errcode"] == "M_UNKNOWN_TOKEN"


async def test_silent_peer_is_dropped_and_slow_reader_told_to_resync(
    start_server: StartServer,
) -> None:
    server = start_server(env={**FAST, "STREAM_WINDOW": "2", "STREAM_STALL_SECONDS": "2"})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        alice, bob, room_id = await setup_pair(http)
        slow = await StreamClient.connect(server.base_url, bob.access_token)
        await slow.sync(ack=False)
        for i in range(6):
            await send_text(http, alice, room_id, f"s{i}", f"s{i}")
            await asyncio.sleep(0.05)
        # Never acknowledging: after `window` frames the server waits, then gives up.
        frame = await slow.expect("resync", timeout=10)
        assert "behind" in frame["reason"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await slow.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008

        # A peer that never answers pings is closed as dead (4002).
        silent = await StreamClient.connect(server.base_url, bob.access_token)
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:  # reads pings, never answers
                await silent.frame(timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
        assert time.monotonic() - started < 10

"""matrix-nio (an unmodified client library from PyPI) against the real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteInfo,
    JoinedMembersResponse,
    JoinResponse,
    LoginResponse,
    LogoutResponse,
    MessageDirection,
    ProfileGetDisplayNameResponse,
    ProfileSetDisplayNameResponse,
    RegisterResponse,
    RoomCreateResponse,
    RoomGetStateResponse,
    RoomInviteResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)

from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import PASSWORD, V3

pytestmark = pytest.mark.e2e

MESSAGES = 300
PAGE = 50


def _config() -> AsyncClientConfig:
    # Fail fast instead of nio's default of retrying forever.
    return AsyncClientConfig(
        encryption_enabled=False,
        store_sync_tokens=False,
        max_timeouts=1,
        max_limit_exceeded=0,
        request_timeout=30,
    )


@pytest.fixture
async def clients(server: ServerProcess) -> AsyncIterator[Callable[..., AsyncClient]]:
    made: list[AsyncClient] = []

    def make(user: str = "") -> AsyncClient:
        client = AsyncClient(server.base_url, user, config=_config())
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def _expect(response: Any, kind: type) -> Any:
    assert isinstance(response, kind), f"expected {kind.__name__}, got {response!r}"
    return response


async def _sync_until(
    client: AsyncClient, predicate: Callable[[SyncResponse], bool], seconds: float = 10
) -> SyncResponse:
    """nio syncs (with `since` = the client's last next_batch and a server-side
    timeout) until a response satisfies `predicate`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        since = client.next_batch
        assert since, "sync_until needs an earlier sync"
        response = _expect(await client.sync(timeout=2000, since=since), SyncResponse)
        assert response.next_batch
        if predicate(response):
            return response
    raise AssertionError("the expected sync never arrived")


def _texts(response: SyncResponse, room_id: str) -> list[RoomMessageText]:
    room = response.rooms.join.get(room_id)
    if room is None:
        return []
    return [e for e in room.timeline.events if isinstance(e, RoomMessageText)]


async def test_nio_conversation_history_and_profile(
    server: ServerProcess, clients: Callable[..., AsyncClient]
) -> None:
    async with asyncio.timeout(45):
        # -- registration (m.login.dummy UIA done by nio) and login -----------------
        alice_reg = clients()
        bob_reg = clients()
        registered = _expect(
            await alice_reg.register("alice", PASSWORD, "alice-reg"), RegisterResponse
        )
        assert registered.user_id == "@alice:localhost"
        _expect(await bob_reg.register("bob", PASSWORD, "bob-reg"), RegisterResponse)

        alice = clients("@alice:localhost")
        bob = clients("bob")
        login = _expect(await alice.login(PASSWORD, device_name="alice nio"), LoginResponse)
        assert login.user_id == "@alice:localhost"
        assert login.device_id != registered.device_id
        _expect(await bob.login(PASSWORD, device_name="bob nio"), LoginResponse)
        assert bob.user_id == "@bob:localhost"
        whoami = _expect(await alice.whoami(), WhoamiResponse)
        assert (whoami.user_id, whoami.device_id) == (alice.user_id, alice.device_id)

        # -- a room, an invite, a join -------------------------------------------
        created = _expect(
            await alice.room_create(name="E2E room", topic="Testing with nio"),
            RoomCreateResponse,
        )
        room_id = created.room_id
        _expect(await alice.sync(timeout=0), SyncResponse)
        _expect(await bob.sync(timeout=0), SyncResponse)
        assert room_id not in bob.rooms

        _expect(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse)
        invited = await _sync_until(bob, lambda r: room_id in r.rooms.invite)
        invite_state = invited.rooms.invite[room_id]
        assert isinstance(invite_state, InviteInfo)
        assert room_id in bob.invited_rooms

        _expect(await bob.join(room_id), JoinResponse)
        await _sync_until(bob, lambda r: room_id in r.rooms.join)
        room = bob.rooms[room_id]
        assert room.name == "E2E room"
        assert room.topic == "Testing with nio"
        assert set(room.users) == {alice.user_id, bob.user_id}

        # -- messages both ways, each seen through the other's sync -------------
        sent = _expect(
            await alice.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "hello bob"}
            ),
            RoomSendResponse,
        )
        got = await _sync_until(bob, lambda r: bool(_texts(r, room_id)))
        [message] = _texts(got, room_id)
        assert (message.body, message.sender, message.event_id) == (
            "hello bob",
            alice.user_id,
            sent.event_id,
        )

        _expect(
            await bob.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "hello alice"}
            ),
            RoomSendResponse,
        )
        got = await _sync_until(
            alice, lambda r: any(m.body == "hello alice" for m in _texts(r, room_id))
        )
        # Alice last synced before the invite, so her own message comes first.
        assert [(m.body, m.sender) for m in _texts(got, room_id)] == [
            ("hello bob", alice.user_id),
            ("hello alice", bob.user_id),
        ]
        assert alice.rooms[room_id].member_count == 2

        # -- 300 messages, then paging back through all of them ------------------
        for i in range(MESSAGES):
            _expect(
                await alice.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": f"msg {i}"}
                ),
                RoomSendResponse,
            )
        latest = await _sync_until(
            bob, lambda r: any(m.body == f"msg {MESSAGES - 1}" for m in _texts(r, room_id))
        )
        timeline = latest.rooms.join[room_id].timeline
        assert timeline.limited, "300 new messages should not fit in one sync timeline"
        newest_first = [e for e in reversed(timeline.events) if isinstance(e, RoomMessageText)]

        token: str | None = timeline.prev_batch
        assert token
        pages = 0
        while token is not None:
            page = _expect(
                await bob.room_messages(
                    room_id, start=token, direction=MessageDirection.back, limit=PAGE
                ),
                RoomMessagesResponse,
            )
            pages += 1
            assert pages < 50, "pagination does not end"
            assert len(page.chunk) <= PAGE
            newest_first += [e for e in page.chunk if isinstance(e, RoomMessageText)]
            assert page.end != token, "pagination did not advance"
            token = page.end

        bodies = [m.body for m in reversed(newest_first)]
        numbered = [b for b in bodies if b.startswith("msg ")]
        assert numbered == [f"msg {i}" for i in range(MESSAGES)]
        assert bodies[:2] == ["hello bob", "hello alice"]
        assert len({m.event_id for m in newest_first}) == len(newest_first)

        # -- members, state, profile ---------------------------------------------
        members = _expect(await bob.joined_members(room_id), JoinedMembersResponse)
        assert {m.user_id for m in members.members} == {alice.user_id, bob.user_id}

        state = _expect(await bob.room_get_state(room_id), RoomGetStateResponse)
        by_key = {(e["type"], e["state_key"]): e for e in state.events}
        assert by_key[("m.room.name", "")]["content"]["name"] == "E2E room"
        assert by_key[("m.room.topic", "")]["content"]["topic"] == "Testing with nio"
        assert by_key[("m.room.create", "")]["sender"] == alice.user_id
        assert by_key[("m.room.member", bob.user_id)]["content"]["membership"] == "join"

        own = _expect(await alice.get_displayname(), ProfileGetDisplayNameResponse)
        assert own.displayname == "alice"
        _expect(await alice.set_displayname("Alice Liddell"), ProfileSetDisplayNameResponse)
        seen = _expect(await bob.get_displayname(alice.user_id), ProfileGetDisplayNameResponse)
        assert seen.displayname == "Alice Liddell"
        members = _expect(await bob.joined_members(room_id), JoinedMembersResponse)
        names = {m.user_id: m.display_name for m in members.members}
        assert names[alice.user_id] == "Alice Liddell"
        await _sync_until(
            bob, lambda r: bob.rooms[room_id].user_name(alice.user_id) == "Alice Liddell"
        )

        # -- logout ends only that session ---------------------------------------
        old_token = alice.access_token
        _expect(await alice.logout(), LogoutResponse)
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.get(
                f"{V3}/account/whoami", headers={"Authorization": f"Bearer {old_token}"}
            )
        assert response.status_code == 401
        assert response.json()["errcode"] == "M_UNKNOWN_TOKEN"
        still = _expect(await alice_reg.whoami(), WhoamiResponse)
        assert still.user_id == alice.user_id

"""The room endpoints of the federation listener given bad or unwelcome
input, in process: each answers with the spec's error, never a 500; and
make_join negotiates the room version."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from homeserver.config import Config
from tests.conftest import make_config
from tests.federation.remote_peer import RemotePeer, local_server, q

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"


@pytest.fixture
async def peer(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> AsyncIterator[tuple[RemotePeer, str]]:
    data_dir = tmp_path_factory.mktemp("federated") / "data"
    config: Config = make_config(
        data_dir, database_url, enable_federation=True, server_name="localhost"
    )
    async with local_server(config) as local:
        remote = RemotePeer(REMOTE, local)
        await remote.publish_key()
        alice = await local.client.register("alice")
        room_id = await local.client.create_room(alice, preset="public_chat")
        yield remote, room_id


async def test_make_join_negotiates_the_room_version(peer: tuple[RemotePeer, str]) -> None:
    remote, room_id = peer
    base = f"/_matrix/federation/v1/make_join/{q(room_id)}/{q(BOB)}"
    status, body = await remote.request("GET", f"{base}?ver=11&ver=12")
    assert status == 200 and body["room_version"] in ("11", "12")
    assert body["event"]["content"] == {"membership": "join"}
    assert body["event"]["state_key"] == BOB
    status, body = await remote.request("GET", f"{base}?ver=1")
    assert (status, body["errcode"]) == (400, "M_INCOMPATIBLE_ROOM_VERSION")
    assert body["room_version"] in ("11", "12")
    # Only for the asking server's own users; unknown rooms are not found.
    other = f"/_matrix/federation/v1/make_join/{q(room_id)}/{q('@eve:other.org')}?ver=12"
    status, body = await remote.request("GET", other)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    unknown = f"/_matrix/federation/v1/make_join/{q('!nope:localhost')}/{q(BOB)}?ver=12"
    status, body = await remote.request("GET", unknown)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "errcode"),
    [
        ("PUT", "/_matrix/federation/v2/send_join/{room}/$x", {"type": "m.room.message"}, 400,
         "M_BAD_JSON"),
        ("PUT", "/_matrix/federation/v2/send_join/{room}/$x", [1, 2], 400, "M_BAD_JSON"),
        ("PUT", "/_matrix/federation/v2/send_leave/{room}/$x", {}, 400, "M_BAD_JSON"),
        ("PUT", "/_matrix/federation/v2/invite/{room}/$x", {"event": 1}, 400, "M_BAD_JSON"),
        ("PUT", "/_matrix/federation/v2/invite/{room}/$x",
         {"event": {}, "room_version": "99"}, 400, "M_INCOMPATIBLE_ROOM_VERSION"),
        ("POST", "/_matrix/federation/v1/get_missing_events/{room}", {}, 403, "M_FORBIDDEN"),
        ("GET", "/_matrix/federation/v1/backfill/{room}?v=$x", None, 403, "M_FORBIDDEN"),
        ("GET", "/_matrix/federation/v1/backfill/{room}", None, 400, "M_MISSING_PARAM"),
        ("GET", "/_matrix/federation/v1/state/{room}", None, 400, "M_MISSING_PARAM"),
        ("GET", "/_matrix/federation/v1/event_auth/{room}/$x", None, 403, "M_FORBIDDEN"),
        ("GET", "/_matrix/federation/v1/event/$unknown", None, 404, "M_NOT_FOUND"),
        ("PUT", "/_matrix/federation/v1/send/t", {"pdus": [1, "x", None], "edus": [1]}, 200,
         None),
    ],
)  # fmt: skip
async def test_bad_input_gets_matrix_errors(
    peer: tuple[RemotePeer, str],
    method: str,
    path: str,
    body: object,
    status: int,
    errcode: str | None,
) -> None:
    remote, room_id = peer
    got_status, got = await remote.request(method, path.replace("{room}", q(room_id)), body)
    assert got_status == status, got
    if errcode is not None:
        assert got["errcode"] == errcode

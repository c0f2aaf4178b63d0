"""`/event/{eventId}` and `/state_ids/{roomId}` over federation: an asking
server sees only what the room's history visibility lets one of its users
see (world-readable to anyone), and room state only while it is in the room."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homeserver.events import check_content_hash, compute_reference_hash_event_id
from tests.federation.conftest import FederatedServer
from tests.federation.test_endpoints import remote_key, signed_get
from tests.matrix_client import V3, TestClient, User, q


async def set_visibility(client: TestClient, user: User, room_id: str, value: str) -> None:
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.history_visibility/"
    (await client.put(path, json={"history_visibility": value}, token=user.access_token)).ok()


async def fetch(
    server: FederatedServer, event_id: str, key_id: str, key: Ed25519PrivateKey, **kw: Any
) -> tuple[int, Any]:
    # Unencoded: the test client re-encodes paths its own way ("$" stays as is).
    path = f"/_matrix/federation/v1/event/{event_id}"
    return await signed_get(server, path, {}, key_id, key, **kw)


async def test_world_readable_events_are_served_as_pdus(federated: FederatedServer) -> None:
    client = federated.client
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    before = await client.send_text(alice, room_id, "before")
    await set_visibility(client, alice, room_id, "world_readable")
    after = await client.send_text(alice, room_id, "after")
    key_id, key = await remote_key(federated)

    status, body = await fetch(federated, after, key_id, key)
    assert status == 200 and body["origin"] == "localhost"
    (pdu,) = body["pdus"]
    assert "event_id" not in pdu and "unsigned" not in pdu
    assert pdu["content"]["body"] == "after"
    # What we serve is the signed, hashed event: its id is its reference hash.
    assert compute_reference_hash_event_id(pdu) == after
    assert check_content_hash(pdu)

    status, body = await fetch(federated, before, key_id, key)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await fetch(federated, "$unknown", key_id, key)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


async def test_other_servers_see_only_what_their_users_may(federated: FederatedServer) -> None:
    client = federated.client
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await set_visibility(client, alice, room_id, "joined")
    message = await client.send_text(alice, room_id, "members only")
    key_id, key = await remote_key(federated)

    # A server with no user in the room: as if the event did not exist.
    status, body = await fetch(federated, message, key_id, key)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # A server whose user (alice) was joined at the event sees it; remote
    # users cannot join yet, so it is this server, signing with its own key.
    keys = federated.federation_app.extensions["homeserver"].keys
    status, _ = await fetch(
        federated, message, keys.event_key_id, keys.event_key, origin="localhost"
    )
    assert status == 200


async def test_state_ids_only_for_servers_in_the_room(federated: FederatedServer) -> None:
    client = federated.client
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    message = await client.send_text(alice, room_id, "hello")
    other_room = await client.create_room(alice)
    path = f"/_matrix/federation/v1/state_ids/{room_id}"
    key_id, key = await remote_key(federated)

    status, body = await signed_get(federated, path, {"event_id": message}, key_id, key)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")

    # This server is in the room: a request signed with its own key passes.
    keys = federated.federation_app.extensions["homeserver"].keys
    own = {"key_id": keys.event_key_id, "key": keys.event_key, "origin": "localhost"}
    status, body = await signed_get(federated, path, {"event_id": message}, **own)
    assert status == 200
    state = (await client.get(f"{V3}/rooms/{q(room_id)}/state", token=alice.access_token)).ok()
    assert sorted(body["pdu_ids"]) == sorted(e["event_id"] for e in state)
    # Room version 12: the create event is implied by the room id, so the chain
    # starts at the power levels and memberships.
    levels_id = next(e["event_id"] for e in state if e["type"] == "m.room.power_levels")
    assert levels_id in body["auth_chain_ids"]
    assert message not in body["pdu_ids"]

    status, body = await signed_get(federated, path, {}, **own)
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    other = await client.send_text(alice, other_room, "elsewhere")
    status, body = await signed_get(federated, path, {"event_id": other}, **own)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")

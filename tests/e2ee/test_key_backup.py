"""Server-side key backup: versions, keys, etag and count, which key of a
session is kept, and writes only to the current version."""

from __future__ import annotations

import asyncio
from typing import Any

from homeserver.storage.key_backup import BackedUpKey
from tests.matrix_client import V3, TestClient, User, q

ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!room:localhost"


def session_key(
    index: int = 0, forwarded: int = 0, verified: bool = False, tag: str = "a"
) -> dict[str, Any]:
    return {
        "first_message_index": index,
        "forwarded_count": forwarded,
        "is_verified": verified,
        "session_data": {"ephemeral": "eph", "ciphertext": f"ct-{tag}", "mac": "mac"},
    }


async def create(client: TestClient, user: User, public_key: str = "pk1") -> str:
    body = {"algorithm": ALGORITHM, "auth_data": {"public_key": public_key, "signatures": {}}}
    result = await client.post(f"{V3}/room_keys/version", json=body, token=user.access_token)
    return str(result.ok()["version"])


async def test_versions(client: TestClient) -> None:
    alice = await client.register("alice")
    (await client.get(f"{V3}/room_keys/version", token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    first = await create(client, alice)
    second = await create(client, alice, "pk2")
    assert int(second) > int(first)
    current = (await client.get(f"{V3}/room_keys/version", token=alice.access_token)).ok()
    assert current == {
        "algorithm": ALGORITHM,
        "auth_data": {"public_key": "pk2", "signatures": {}},
        "count": 0,
        "etag": current["etag"],
        "version": second,
    }
    older = (await client.get(f"{V3}/room_keys/version/{first}", token=alice.access_token)).ok()
    assert older["auth_data"]["public_key"] == "pk1"
    path = f"{V3}/room_keys/version/{second}"
    update = {"algorithm": ALGORITHM, "auth_data": {"public_key": "pk2", "signatures": {"x": {}}}}
    (await client.put(path, json=update, token=alice.access_token)).ok()
    assert (await client.get(path, token=alice.access_token)).ok()["auth_data"]["signatures"] == {
        "x": {}
    }
    unknown = {**update, "algorithm": "m.megolm_backup.v2.unknown"}
    (await client.post(f"{V3}/room_keys/version", json=unknown, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.put(path, json={**update, "algorithm": "other"}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.put(path, json={**update, "version": first}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.delete(path, token=alice.access_token)).ok()
    (await client.get(path, token=alice.access_token)).error(404, "M_NOT_FOUND")
    # An unknown version is 404 whatever the body says.
    (await client.put(path, json={**update, "version": first}, token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (await client.delete(path, token=alice.access_token)).error(404, "M_NOT_FOUND")
    # The older version is current again; deleted numbers are not reused.
    assert (await client.get(f"{V3}/room_keys/version", token=alice.access_token)).ok()[
        "version"
    ] == first
    assert int(await create(client, alice)) > int(second)
    (await client.get(f"{V3}/room_keys/version/nope", token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (
        await client.post(
            f"{V3}/room_keys/version", json={"auth_data": {}}, token=alice.access_token
        )
    ).error(400, "M_MISSING_PARAM")


async def test_backups_are_private(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    version = await create(client, alice)
    (await client.get(f"{V3}/room_keys/version/{version}", token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (await client.get(f"{V3}/room_keys/version", token=bob.access_token)).error(404, "M_NOT_FOUND")


async def test_keys_round_trip_with_etag_and_count(client: TestClient) -> None:
    alice = await client.register("alice")
    version = await create(client, alice)
    token = alice.access_token
    keys_path = f"{V3}/room_keys/keys"
    room_path = f"{keys_path}/{q(ROOM)}"
    session_path = f"{room_path}/s1"
    put = await client.put(
        session_path, json=session_key(), query={"version": version}, token=token
    )
    first = put.ok()
    assert first["count"] == 1
    body = {
        "rooms": {
            ROOM: {"sessions": {"s2": session_key(tag="b")}},
            "!other:localhost": {"sessions": {"s3": session_key()}},
        }
    }
    second = (await client.put(keys_path, json=body, query={"version": version}, token=token)).ok()
    assert second["count"] == 3 and second["etag"] != first["etag"]
    info = (await client.get(f"{V3}/room_keys/version", token=token)).ok()
    assert (info["count"], info["etag"]) == (3, second["etag"])
    everything = (await client.get(keys_path, query={"version": version}, token=token)).ok()
    assert everything == {
        "rooms": {
            ROOM: {"sessions": {"s1": session_key(), "s2": session_key(tag="b")}},
            "!other:localhost": {"sessions": {"s3": session_key()}},
        }
    }
    room = (await client.get(room_path, query={"version": version}, token=token)).ok()
    assert set(room["sessions"]) == {"s1", "s2"}
    assert (
        await client.get(session_path, query={"version": version}, token=token)
    ).ok() == session_key()
    empty = await client.get(
        f"{keys_path}/{q('!none:localhost')}", query={"version": version}, token=token
    )
    assert empty.ok() == {"sessions": {}}
    (await client.get(f"{room_path}/nope", query={"version": version}, token=token)).error(
        404, "M_NOT_FOUND"
    )
    deleted = (await client.delete(session_path, query={"version": version}, token=token)).ok()
    assert deleted["count"] == 2 and deleted["etag"] != second["etag"]
    deleted = (await client.delete(keys_path, query={"version": version}, token=token)).ok()
    assert deleted["count"] == 0
    (await client.get(keys_path, token=token)).error(400, "M_MISSING_PARAM")
    (await client.get(keys_path, query={"version": "999"}, token=token)).error(404, "M_NOT_FOUND")


async def test_the_better_key_of_a_session_is_kept(client: TestClient) -> None:
    alice = await client.register("alice")
    version = await create(client, alice)
    path = f"{V3}/room_keys/keys/{q(ROOM)}/s1"
    query = {"version": version}
    token = alice.access_token

    async def put(key: dict[str, Any]) -> dict[str, Any]:
        return dict((await client.put(path, json=key, query=query, token=token)).ok())

    async def stored() -> dict[str, Any]:
        return dict((await client.get(path, query=query, token=token)).ok())

    start = await put(session_key(index=5, forwarded=2, tag="first"))
    unchanged = await put(session_key(index=6, forwarded=0, tag="worse-index"))
    assert unchanged["etag"] == start["etag"]
    assert (await stored())["session_data"]["ciphertext"] == "ct-first"
    await put(session_key(index=5, forwarded=1, tag="fewer-forwards"))
    assert (await stored())["session_data"]["ciphertext"] == "ct-fewer-forwards"
    await put(session_key(index=2, forwarded=3, tag="lower-index"))
    assert (await stored())["session_data"]["ciphertext"] == "ct-lower-index"
    await put(session_key(index=9, forwarded=9, verified=True, tag="verified"))
    assert (await stored())["session_data"]["ciphertext"] == "ct-verified"
    await put(session_key(index=0, forwarded=0, verified=False, tag="unverified"))
    assert (await stored())["session_data"]["ciphertext"] == "ct-verified"


async def test_only_the_current_version_takes_keys(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    path = f"{V3}/room_keys/keys/{q(ROOM)}/s1"
    (await client.put(path, json=session_key(), query={"version": "1"}, token=token)).error(
        404, "M_NOT_FOUND"
    )
    old = await create(client, alice)
    current = await create(client, alice)
    wrong = await client.put(path, json=session_key(), query={"version": old}, token=token)
    assert wrong.error(403, "M_WRONG_ROOM_KEYS_VERSION")["current_version"] == current
    for bad in ({"first_message_index": -1}, {"is_verified": "yes"}, {"session_data": "x"}):
        (
            await client.put(
                path, json={**session_key(), **bad}, query={"version": current}, token=token
            )
        ).error(400, "M_BAD_JSON")
    (
        await client.put(
            f"{V3}/room_keys/keys", json={"rooms": []}, query={"version": current}, token=token
        )
    ).error(400, "M_BAD_JSON")


async def test_concurrent_uploads_of_the_same_sessions(client: TestClient) -> None:
    """Many uploads of the same new sessions at once (on PostgreSQL each on its
    own connection): every one succeeds, each session is stored once, and the
    backup keeps the best key of each, as if they had come one by one."""
    alice = await client.register("alice")
    version = await create(client, alice)
    sessions = [f"session{i}" for i in range(10)]

    def upload(index: int) -> dict[str, Any]:
        return {
            "rooms": {
                ROOM: {
                    "sessions": {
                        sid: session_key(index=index + 1, tag=str(index)) for sid in sessions
                    }
                }
            }
        }

    path = f"{V3}/room_keys/keys?version={version}"
    results = await asyncio.gather(
        *(client.put(path, json=upload(i), token=alice.access_token) for i in range(12))
    )
    assert [r.status for r in results] == [200] * 12, [r.body for r in results]
    stored = (await client.get(path, token=alice.access_token)).ok()["rooms"][ROOM]["sessions"]
    assert sorted(stored) == sessions
    # The lowest first_message_index (upload 0's) won for every session.
    assert {k["first_message_index"] for k in stored.values()} == {1}
    assert {k["session_data"]["ciphertext"] for k in stored.values()} == {"ct-0"}
    info = (await client.get(f"{V3}/room_keys/version", token=alice.access_token)).ok()
    assert info["count"] == len(sessions)


async def test_concurrent_put_keys_in_storage(client: TestClient) -> None:
    """The store itself, without the handler's checks in between: concurrent
    put_keys of one session never fail with a unique violation."""
    alice = await client.register("bob")
    version = int(await create(client, alice))
    store = client.app.extensions["homeserver"].storage.key_backup
    keys = [
        BackedUpKey(ROOM, "shared", index, 0, False, f'{{"ct": "{index}"}}') for index in range(20)
    ]
    stored = await asyncio.gather(*(store.put_keys(alice.user_id, version, [k]) for k in keys))
    assert stored == [True] * 20
    (kept,) = await store.get_keys(alice.user_id, version, ROOM, "shared")
    assert kept.first_message_index == 0
    await store.delete_version(alice.user_id, version)
    assert await store.put_keys(alice.user_id, version, keys[:1]) is False

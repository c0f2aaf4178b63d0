"""Listing, renaming and deleting devices."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, Response, TestClient, User, password_auth, q

PASSWORD = "correct horse battery"


async def login(client: TestClient, user: str, **extra: Any) -> dict[str, Any]:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": PASSWORD,
        **extra,
    }
    return dict((await client.post(f"{V3}/login", json=body)).ok())


async def delete_device(
    client: TestClient, user: User, device_id: str, body: dict[str, Any] | None = None
) -> Response:
    return await client.delete(f"{V3}/devices/{q(device_id)}", json=body, token=user.access_token)


async def test_list_devices(client: TestClient) -> None:
    alice = await client.register("alice")
    phone = await login(client, "alice", initial_device_display_name="Phone")
    devices = (await client.get(f"{V3}/devices", token=alice.access_token)).ok()["devices"]
    by_id = {d["device_id"]: d for d in devices}
    assert set(by_id) == {alice.device_id, phone["device_id"]}
    assert by_id[phone["device_id"]]["display_name"] == "Phone"
    assert all(isinstance(d.get("last_seen_ts"), int) for d in devices)
    (await client.get(f"{V3}/devices")).error(401, "M_MISSING_TOKEN")


async def test_devices_are_per_user(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    devices = (await client.get(f"{V3}/devices", token=bob.access_token)).ok()["devices"]
    assert [d["device_id"] for d in devices] == [bob.device_id]
    # Alice's device is not visible (nor renameable) through Bob.
    path = f"{V3}/devices/{q(alice.device_id)}"
    (await client.get(path, token=bob.access_token)).error(404, "M_NOT_FOUND")
    (await client.put(path, json={"display_name": "x"}, token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )


async def test_get_and_rename_device(client: TestClient) -> None:
    alice = await client.register("alice")
    path = f"{V3}/devices/{q(alice.device_id)}"
    device = (await client.get(path, token=alice.access_token)).ok()
    assert device["device_id"] == alice.device_id
    assert (
        await client.put(path, json={"display_name": "Work laptop"}, token=alice.access_token)
    ).ok() == {}
    renamed = (await client.get(path, token=alice.access_token)).ok()
    assert renamed["display_name"] == "Work laptop"
    # An empty body changes nothing.
    assert (await client.put(path, json={}, token=alice.access_token)).ok() == {}
    assert (await client.get(path, token=alice.access_token)).ok()["display_name"] == "Work laptop"


async def test_rename_invalid_name(client: TestClient) -> None:
    alice = await client.register("alice")
    path = f"{V3}/devices/{q(alice.device_id)}"
    (await client.put(path, json={"display_name": 5}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.put(path, json={"display_name": "x" * 101}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )


async def test_unknown_device(client: TestClient) -> None:
    alice = await client.register("alice")
    path = f"{V3}/devices/NOSUCHDEVICE"
    (await client.get(path, token=alice.access_token)).error(404, "M_NOT_FOUND")
    (await client.put(path, json={"display_name": "x"}, token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )


async def test_delete_device_needs_password_then_kills_its_token(client: TestClient) -> None:
    alice = await client.register("alice")
    phone = await login(client, "alice")

    first = await delete_device(client, alice, phone["device_id"])
    assert first.status == 401, first.body
    assert ["m.login.password"] in [flow["stages"] for flow in first.body["flows"]]
    session = first.body["session"]
    # Not deleted yet.
    (await client.get(f"{V3}/account/whoami", token=phone["access_token"])).ok()

    wrong = await delete_device(
        client, alice, phone["device_id"], {"auth": password_auth(alice, "wrong!!!", session)}
    )
    assert wrong.status == 401 and wrong.body["errcode"] == "M_FORBIDDEN", wrong.body
    (await client.get(f"{V3}/account/whoami", token=phone["access_token"])).ok()

    done = await delete_device(
        client, alice, phone["device_id"], {"auth": password_auth(alice, PASSWORD, session)}
    )
    assert done.ok() == {}
    (await client.get(f"{V3}/account/whoami", token=phone["access_token"])).error(
        401, "M_UNKNOWN_TOKEN"
    )
    (await client.get(f"{V3}/devices/{q(phone['device_id'])}", token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    devices = (await client.get(f"{V3}/devices", token=alice.access_token)).ok()["devices"]
    assert [d["device_id"] for d in devices] == [alice.device_id]


async def test_delete_own_current_device(client: TestClient) -> None:
    alice = await client.register("alice")
    done = await delete_device(
        client, alice, alice.device_id, {"auth": password_auth(alice, PASSWORD)}
    )
    assert done.ok() == {}
    (await client.get(f"{V3}/account/whoami", token=alice.access_token)).error(
        401, "M_UNKNOWN_TOKEN"
    )


async def test_delete_device_already_gone_is_ok(client: TestClient) -> None:
    # Matrix spec: 200 when the device "was successfully removed, or had been
    # removed previously" (after user-interactive auth).
    alice = await client.register("alice")
    first = await delete_device(client, alice, "NOSUCHDEVICE")
    assert first.status == 401 and first.body["session"], first.body
    done = await delete_device(
        client,
        alice,
        "NOSUCHDEVICE",
        {"auth": password_auth(alice, PASSWORD, first.body["session"])},
    )
    assert done.ok() == {}
    (await client.get(f"{V3}/account/whoami", token=alice.access_token)).ok()


async def test_cannot_delete_another_users_device(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    # Bob "deletes" Alice's device id: it only ever concerns Bob's own devices.
    done = await delete_device(client, bob, alice.device_id, {"auth": password_auth(bob, PASSWORD)})
    assert done.ok() == {}
    (await client.get(f"{V3}/account/whoami", token=alice.access_token)).ok()
    devices = (await client.get(f"{V3}/devices", token=alice.access_token)).ok()["devices"]
    assert [d["device_id"] for d in devices] == [alice.device_id]


async def test_delete_device_requires_token(client: TestClient) -> None:
    (await client.delete(f"{V3}/devices/ABC")).error(401, "M_MISSING_TOKEN")

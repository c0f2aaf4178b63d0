"""Registration, login, logout and password change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from homeserver.app import create_app
from homeserver.config import Config
from tests.matrix_client import V3, Response, TestClient, password_auth

PASSWORD = "correct horse battery"


@asynccontextmanager
async def client_for(config: Config) -> AsyncIterator[TestClient]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


async def login(client: TestClient, user: str, password: str = PASSWORD, **extra: Any) -> Response:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
        **extra,
    }
    return await client.post(f"{V3}/login", json=body)


async def whoami(client: TestClient, token: str) -> Response:
    return await client.get(f"{V3}/account/whoami", token=token)


# -- registration ------------------------------------------------------------------


async def test_register_user_interactive_flow(client: TestClient) -> None:
    body: dict[str, Any] = {"username": "alice", "password": PASSWORD}
    first = await client.post(f"{V3}/register", json=body)
    assert first.status == 401, first.body
    stages = [flow["stages"] for flow in first.body["flows"]]
    assert ["m.login.dummy"] in stages
    session = first.body["session"]
    assert isinstance(session, str) and session
    assert isinstance(first.body["params"], dict)

    body["auth"] = {"type": "m.login.dummy", "session": session}
    body["initial_device_display_name"] = "Laptop"
    done = (await client.post(f"{V3}/register", json=body)).ok()
    assert done["user_id"] == "@alice:localhost"
    assert done["device_id"] and done["access_token"]
    me = (await whoami(client, done["access_token"])).ok()
    assert me == {"user_id": "@alice:localhost", "device_id": done["device_id"], "is_guest": False}
    device = (
        await client.get(f"{V3}/devices/{done['device_id']}", token=done["access_token"])
    ).ok()
    assert device["display_name"] == "Laptop"


async def test_register_wrong_stage_type_repeats_the_flow(client: TestClient) -> None:
    body: dict[str, Any] = {"username": "alice", "password": PASSWORD}
    first = await client.post(f"{V3}/register", json=body)
    body["auth"] = {"type": "m.login.password", "session": first.body["session"]}
    again = await client.post(f"{V3}/register", json=body)
    assert again.status == 401 and ["m.login.dummy"] in [f["stages"] for f in again.body["flows"]]
    # No account was created.
    (await client.get(f"{V3}/register/available", query={"username": "alice"})).ok()


async def test_register_without_username_generates_one(client: TestClient) -> None:
    body: dict[str, Any] = {"password": PASSWORD}
    first = await client.post(f"{V3}/register", json=body)
    body["auth"] = {"type": "m.login.dummy", "session": first.body["session"]}
    done = (await client.post(f"{V3}/register", json=body)).ok()
    assert done["user_id"].startswith("@") and done["user_id"].endswith(":localhost")


async def test_register_user_in_use(client: TestClient) -> None:
    await client.register("alice")
    body = {"username": "alice", "password": PASSWORD}
    (await client.post(f"{V3}/register", json=body)).error(400, "M_USER_IN_USE")
    body_with_auth = {**body, "auth": {"type": "m.login.dummy"}}
    (await client.post(f"{V3}/register", json=body_with_auth)).error(400, "M_USER_IN_USE")


async def test_register_lower_cases_the_user_name(client: TestClient) -> None:
    # As Synapse and Conduit do: bots written against them register mixed case.
    alice = await client.register("Alice")
    assert alice.user_id == "@alice:localhost"
    (await client.get(f"{V3}/register/available", query={"username": "ALICE"})).error(
        400, "M_USER_IN_USE"
    )
    body = {"username": "aLiCe", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    (await client.post(f"{V3}/register", json=body)).error(400, "M_USER_IN_USE")
    assert (await login(client, "Alice")).ok()["user_id"] == "@alice:localhost"


@pytest.mark.parametrize("username", ["al ice", "", "al:ice", "@alice", "ålice", "ÅLICE"])
async def test_register_invalid_username(client: TestClient, username: str) -> None:
    body = {"username": username, "password": PASSWORD}
    (await client.post(f"{V3}/register", json=body)).error(400, "M_INVALID_USERNAME")


async def test_register_weak_password(client: TestClient) -> None:
    body = {"username": "alice", "password": "short"}
    (await client.post(f"{V3}/register", json=body)).error(400, "M_WEAK_PASSWORD")
    # Nothing was registered.
    (await client.get(f"{V3}/register/available", query={"username": "alice"})).ok()


async def test_register_missing_password(client: TestClient) -> None:
    (await client.post(f"{V3}/register", json={"username": "alice"})).error(400, "M_MISSING_PARAM")


async def test_register_guest_forbidden(client: TestClient) -> None:
    response = await client.post(
        f"{V3}/register", json={"password": PASSWORD}, query={"kind": "guest"}
    )
    response.error(403, "M_GUEST_ACCESS_FORBIDDEN")


async def test_register_kind_user_explicit(client: TestClient) -> None:
    first = await client.post(
        f"{V3}/register", json={"username": "alice", "password": PASSWORD}, query={"kind": "user"}
    )
    assert first.status == 401 and first.body["session"]


async def test_registration_disabled(config: Config) -> None:
    config.enable_registration = False
    async with client_for(config) as closed:
        body = {"username": "alice", "password": PASSWORD}
        (await closed.post(f"{V3}/register", json=body)).error(403, "M_FORBIDDEN")
        body_with_auth = {**body, "auth": {"type": "m.login.dummy"}}
        (await closed.post(f"{V3}/register", json=body_with_auth)).error(403, "M_FORBIDDEN")
        (await login(closed, "alice")).error(403, "M_FORBIDDEN")


async def test_register_inhibit_login(client: TestClient) -> None:
    body: dict[str, Any] = {"username": "alice", "password": PASSWORD, "inhibit_login": True}
    first = await client.post(f"{V3}/register", json=body)
    body["auth"] = {"type": "m.login.dummy", "session": first.body["session"]}
    done = (await client.post(f"{V3}/register", json=body)).ok()
    assert done == {"user_id": "@alice:localhost"}
    logged_in = (await login(client, "alice")).ok()
    assert logged_in["user_id"] == "@alice:localhost"
    devices = (await client.get(f"{V3}/devices", token=logged_in["access_token"])).ok()
    assert [d["device_id"] for d in devices["devices"]] == [logged_in["device_id"]]


async def test_register_available(client: TestClient) -> None:
    path = f"{V3}/register/available"
    assert (await client.get(path, query={"username": "alice"})).ok() == {"available": True}
    await client.register("alice")
    (await client.get(path, query={"username": "alice"})).error(400, "M_USER_IN_USE")
    (await client.get(path, query={"username": "Not Valid"})).error(400, "M_INVALID_USERNAME")
    (await client.get(path)).error(400, "M_MISSING_PARAM")


# -- login --------------------------------------------------------------------------


async def test_login_flows(client: TestClient) -> None:
    flows = (await client.get(f"{V3}/login")).ok()["flows"]
    assert {"type": "m.login.password"} in flows


async def test_login_by_localpart_and_by_mxid_issues_new_devices(client: TestClient) -> None:
    alice = await client.register("alice")
    by_localpart = (await login(client, "alice")).ok()
    by_mxid = (await login(client, "@alice:localhost")).ok()
    for result in (by_localpart, by_mxid):
        assert result["user_id"] == alice.user_id
        assert (await whoami(client, result["access_token"])).ok()["device_id"] == (
            result["device_id"]
        )
    device_ids = {alice.device_id, by_localpart["device_id"], by_mxid["device_id"]}
    assert len(device_ids) == 3
    listed = (await client.get(f"{V3}/devices", token=alice.access_token)).ok()["devices"]
    assert {d["device_id"] for d in listed} == device_ids


async def test_login_legacy_user_field(client: TestClient) -> None:
    await client.register("alice")
    body = {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    assert (await client.post(f"{V3}/login", json=body)).ok()["user_id"] == "@alice:localhost"


async def test_login_with_chosen_device_id_reuses_the_device(client: TestClient) -> None:
    alice = await client.register("alice")
    first = (await login(client, "alice", device_id="MYDEVICE")).ok()
    second = (await login(client, "alice", device_id="MYDEVICE")).ok()
    assert first["device_id"] == second["device_id"] == "MYDEVICE"
    listed = (await client.get(f"{V3}/devices", token=alice.access_token)).ok()["devices"]
    assert sorted(d["device_id"] for d in listed) == sorted([alice.device_id, "MYDEVICE"])


async def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    await client.register("alice")
    wrong = (await login(client, "alice", "not the password")).error(403, "M_FORBIDDEN")
    unknown = (await login(client, "nobody", PASSWORD)).error(403, "M_FORBIDDEN")
    foreign = (await login(client, "@alice:elsewhere.org", PASSWORD)).error(403, "M_FORBIDDEN")
    assert wrong["error"] == unknown["error"] == foreign["error"]


async def test_login_unsupported_type(client: TestClient) -> None:
    await client.register("alice")
    body = {"type": "m.login.token", "token": "abc"}
    (await client.post(f"{V3}/login", json=body)).error(400, "M_UNKNOWN")


async def test_login_unsupported_identifier(client: TestClient) -> None:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"},
        "password": PASSWORD,
    }
    (await client.post(f"{V3}/login", json=body)).error(400, "M_UNKNOWN")


async def test_login_missing_fields(client: TestClient) -> None:
    (await client.post(f"{V3}/login", json={"type": "m.login.password", "password": "x"})).error(
        400, "M_MISSING_PARAM"
    )
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"}}
    (await client.post(f"{V3}/login", json=body)).error(400, "M_MISSING_PARAM")


async def test_whoami(client: TestClient) -> None:
    alice = await client.register("alice")
    me = (await whoami(client, alice.access_token)).ok()
    assert me["user_id"] == alice.user_id and me["device_id"] == alice.device_id
    (await client.get(f"{V3}/account/whoami")).error(401, "M_MISSING_TOKEN")


# -- logout ---------------------------------------------------------------------------


async def test_logout_kills_only_that_token(client: TestClient) -> None:
    alice = await client.register("alice")
    other = (await login(client, "alice")).ok()
    assert (await client.post(f"{V3}/logout", token=alice.access_token)).ok() == {}
    (await whoami(client, alice.access_token)).error(401, "M_UNKNOWN_TOKEN")
    (await client.post(f"{V3}/logout", token=alice.access_token)).error(401, "M_UNKNOWN_TOKEN")
    assert (await whoami(client, other["access_token"])).ok()["device_id"] == other["device_id"]
    # The logged-out device is gone.
    listed = (await client.get(f"{V3}/devices", token=other["access_token"])).ok()["devices"]
    assert [d["device_id"] for d in listed] == [other["device_id"]]


async def test_logout_requires_a_token(client: TestClient) -> None:
    (await client.post(f"{V3}/logout")).error(401, "M_MISSING_TOKEN")


async def test_logout_all(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    second = (await login(client, "alice")).ok()
    assert (await client.post(f"{V3}/logout/all", token=second["access_token"])).ok() == {}
    for token in (alice.access_token, second["access_token"]):
        (await whoami(client, token)).error(401, "M_UNKNOWN_TOKEN")
    # Other users are untouched, and the password still logs in.
    (await whoami(client, bob.access_token)).ok()
    fresh = (await login(client, "alice")).ok()
    listed = (await client.get(f"{V3}/devices", token=fresh["access_token"])).ok()["devices"]
    assert [d["device_id"] for d in listed] == [fresh["device_id"]]


# -- password change --------------------------------------------------------------------


async def test_change_password(client: TestClient) -> None:
    alice = await client.register("alice")
    other = (await login(client, "alice")).ok()
    path = f"{V3}/account/password"
    new = "a brand new password"

    first = await client.post(path, json={"new_password": new}, token=alice.access_token)
    assert first.status == 401, first.body
    assert ["m.login.password"] in [flow["stages"] for flow in first.body["flows"]]
    session = first.body["session"]

    wrong = await client.post(
        path,
        json={"new_password": new, "auth": password_auth(alice, "wrong password", session)},
        token=alice.access_token,
    )
    assert wrong.status == 401, wrong.body
    assert wrong.body["errcode"] == "M_FORBIDDEN"
    assert wrong.body["flows"] and wrong.body["session"]
    # The wrong attempt changed nothing.
    (await whoami(client, other["access_token"])).ok()
    (await login(client, "alice", PASSWORD)).ok()

    done = await client.post(
        path,
        json={"new_password": new, "auth": password_auth(alice, PASSWORD, wrong.body["session"])},
        token=alice.access_token,
    )
    assert done.ok() == {}
    (await login(client, "alice", PASSWORD)).error(403, "M_FORBIDDEN")
    (await login(client, "alice", new)).ok()
    (await whoami(client, other["access_token"])).error(401, "M_UNKNOWN_TOKEN")
    assert (await whoami(client, alice.access_token)).ok()["user_id"] == alice.user_id


async def test_change_password_keeps_other_devices_when_asked(client: TestClient) -> None:
    alice = await client.register("alice")
    other = (await login(client, "alice")).ok()
    new = "a brand new password"
    done = await client.post(
        f"{V3}/account/password",
        json={
            "new_password": new,
            "logout_devices": False,
            "auth": password_auth(alice, PASSWORD),
        },
        token=alice.access_token,
    )
    assert done.ok() == {}
    (await whoami(client, other["access_token"])).ok()
    (await whoami(client, alice.access_token)).ok()
    (await login(client, "alice", new)).ok()
    (await login(client, "alice", PASSWORD)).error(403, "M_FORBIDDEN")


async def test_change_password_other_users_password_does_not_count(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob", "bobs own password")
    # Bob's correct credentials do not authenticate Alice's request.
    response = await client.post(
        f"{V3}/account/password",
        json={"new_password": "a brand new password", "auth": password_auth(bob, bob.password)},
        token=alice.access_token,
    )
    assert response.status == 401 and response.body["errcode"] == "M_FORBIDDEN"
    (await login(client, "alice", PASSWORD)).ok()


async def test_change_password_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    path = f"{V3}/account/password"
    (await client.post(path, json={"new_password": "a brand new password"})).error(
        401, "M_MISSING_TOKEN"
    )
    weak = {"new_password": "short", "auth": password_auth(alice, PASSWORD)}
    (await client.post(path, json=weak, token=alice.access_token)).error(400, "M_WEAK_PASSWORD")
    (await client.post(path, json={}, token=alice.access_token)).error(400, "M_MISSING_PARAM")
    (await login(client, "alice", PASSWORD)).ok()


async def test_login_by_full_user_id_ignores_case(client: TestClient) -> None:
    await client.register("casey")
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "@CASEY:localhost"},
        "password": "correct horse battery",
    }
    result = (await client.post(f"{V3}/login", json=body)).ok()
    assert result["user_id"] == "@casey:localhost"

"""Closing an account: POST /account/deactivate (password clients) and the
account page's form (OAuth 2.0 clients, action=org.matrix.account_deactivate)."""

from __future__ import annotations

from typing import Any

from homeserver.server import HomeServer
from tests.api.test_accounts import PASSWORD, login, whoami
from tests.matrix_client import V3, TestClient, User, password_auth, q
from tests.notifications.conftest import config, push_service  # noqa: F401 (fixtures)
from tests.notifications.push_service import PushService

PATH = f"{V3}/account/deactivate"


def members(state: list[dict[str, Any]]) -> dict[str, str]:
    return {
        e["state_key"]: e["content"]["membership"] for e in state if e["type"] == "m.room.member"
    }


async def room_members(client: TestClient, user: User, room_id: str) -> dict[str, str]:
    state = (await client.get(f"{V3}/rooms/{q(room_id)}/state", token=user.access_token)).ok()
    return members(state)


async def test_deactivation_asks_for_the_password_first(client: TestClient) -> None:
    alice = await client.register("alice")
    first = await client.post(PATH, json={}, token=alice.access_token)
    assert first.status == 401, first.body
    assert ["m.login.password"] in [flow["stages"] for flow in first.body["flows"]]
    wrong = await client.post(
        PATH,
        json={"auth": password_auth(alice, "not my password", first.body["session"])},
        token=alice.access_token,
    )
    assert wrong.status == 401 and wrong.body["errcode"] == "M_FORBIDDEN", wrong.body
    # Nothing happened.
    (await whoami(client, alice.access_token)).ok()
    (await login(client, "alice")).ok()
    # Someone else's password does not close Alice's account either.
    bob = await client.register("bob", "bobs own password")
    other = await client.post(
        PATH, json={"auth": password_auth(bob, bob.password)}, token=alice.access_token
    )
    assert other.status == 401 and other.body["errcode"] == "M_FORBIDDEN"
    (await client.post(PATH, json={})).error(401, "M_MISSING_TOKEN")
    bad = {"erase": "yes", "auth": password_auth(alice, PASSWORD)}
    (await client.post(PATH, json=bad, token=alice.access_token)).error(400, "M_BAD_JSON")
    (await whoami(client, alice.access_token)).ok()


async def test_a_deactivated_account_is_signed_out_gone_from_rooms_and_cannot_return(
    client: TestClient,
    push_service: PushService,  # noqa: F811 (the fixture imported above)
) -> None:
    server: HomeServer = client.app.extensions["homeserver"]
    alice = await client.register("alice")
    bob = await client.register("bob")
    laptop = (await login(client, "alice")).ok()
    shared = await client.create_room(bob, name="Team")
    (await client.invite(bob, shared, alice.user_id)).ok()
    (await client.join(alice, shared)).ok()
    invited_to = await client.create_room(bob, name="Later")
    (await client.invite(bob, invited_to, alice.user_id)).ok()
    said = await client.send_text(alice, shared, "bye all")
    browser = push_service.subscription("alice")
    (await client.post(f"{V3}/pushers/set", json=browser.pusher(), token=alice.access_token)).ok()

    done = await client.post(
        PATH, json={"auth": password_auth(alice, PASSWORD)}, token=alice.access_token
    )
    assert done.ok() == {"id_server_unbind_result": "success"}

    # Every token is dead at once, the one used and the other device's.
    (await whoami(client, alice.access_token)).error(401, "M_UNKNOWN_TOKEN")
    (await whoami(client, laptop["access_token"])).error(401, "M_UNKNOWN_TOKEN")
    # The right password says the account is closed; a wrong one says no more than usual.
    (await login(client, "alice")).error(403, "M_USER_DEACTIVATED")
    (await login(client, "alice", "wrong password")).error(403, "M_FORBIDDEN")
    # The name stays taken.
    taken = await client.post(f"{V3}/register", json={"username": "alice", "password": PASSWORD})
    assert taken.status == 400 and taken.body["errcode"] == "M_USER_IN_USE", taken.body

    # Bob sees Alice leave the room and decline the invite; her message stays.
    assert (await room_members(client, bob, shared))[alice.user_id] == "leave"
    assert (await room_members(client, bob, invited_to))[alice.user_id] == "leave"
    event = await client.get(f"{V3}/rooms/{q(shared)}/event/{q(said)}", token=bob.access_token)
    assert event.ok()["content"]["body"] == "bye all"
    # No devices, no pushers, not in the directory, no profile.
    assert await server.storage.users.list_devices(alice.user_id) == []
    assert await server.push.pushers.list(alice.user_id) == []
    found = await client.post(
        f"{V3}/user_directory/search", json={"search_term": "alice"}, token=bob.access_token
    )
    assert found.ok()["results"] == []
    (await client.get(f"{V3}/profile/{q(alice.user_id)}", token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )


async def test_erase_also_deletes_profile_and_account_data(client: TestClient) -> None:
    server: HomeServer = client.app.extensions["homeserver"]
    alice = await client.register("alice")
    (
        await client.put(
            f"{V3}/profile/{q(alice.user_id)}/displayname",
            json={"displayname": "Alice Liddell"},
            token=alice.access_token,
        )
    ).ok()
    (
        await client.put(
            f"{V3}/user/{q(alice.user_id)}/account_data/org.example.notes",
            json={"secret": "my notes"},
            token=alice.access_token,
        )
    ).ok()
    body = {"erase": True, "auth": password_auth(alice, PASSWORD)}
    assert (await client.post(PATH, json=body, token=alice.access_token)).ok()
    record = await server.storage.users.get_user(alice.user_id)
    assert record is not None and record.deactivated
    assert (record.displayname, record.avatar_url) == (None, None)
    assert await server.storage.account_data.get(alice.user_id, "", "org.example.notes") is None


async def test_without_erase_account_data_is_kept(client: TestClient) -> None:
    server: HomeServer = client.app.extensions["homeserver"]
    alice = await client.register("alice")
    (
        await client.put(
            f"{V3}/user/{q(alice.user_id)}/account_data/org.example.notes",
            json={"kept": True},
            token=alice.access_token,
        )
    ).ok()
    body = {"auth": password_auth(alice, PASSWORD)}
    assert (await client.post(PATH, json=body, token=alice.access_token)).ok()
    kept = await server.storage.account_data.get(alice.user_id, "", "org.example.notes")
    assert kept == {"kept": True}
    record = await server.storage.users.get_user(alice.user_id)
    assert record is not None and record.displayname == "alice"

"""event_context (with historic profiles), groupings and include_state."""

from __future__ import annotations

from tests.matrix_client import V3, TestClient, q
from tests.search.helpers import leave, search, set_state


async def test_event_context_with_historic_profiles(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    member = f"{V3}/rooms/{q(room_id)}/state/m.room.member/{q(bob.user_id)}"
    (
        await client.put(
            member, json={"membership": "join", "displayname": "Bobby"}, token=bob.access_token
        )
    ).ok()
    await client.send_text(alice, room_id, "one")
    await client.send_text(bob, room_id, "two")
    target = await client.send_text(bob, room_id, "the walrus speaks")
    await client.send_text(alice, room_id, "three")
    # Renamed after the result: the context still shows the name at the time.
    (
        await client.put(
            member, json={"membership": "join", "displayname": "Robert"}, token=bob.access_token
        )
    ).ok()

    found = await search(
        client,
        alice,
        "walrus",
        event_context={"before_limit": 2, "after_limit": 1, "include_profile": True},
    )
    [result] = found["results"]
    assert result["result"]["event_id"] == target
    context = result["context"]
    assert [e["content"]["body"] for e in context["events_before"]] == ["two", "one"]
    assert [e["content"]["body"] for e in context["events_after"]] == ["three"]
    assert context["profile_info"][bob.user_id] == {"displayname": "Bobby"}
    assert alice.user_id in context["profile_info"]
    # The tokens page on from the context with /messages.
    older = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=alice.access_token,
            query={"dir": "b", "from": context["start"], "limit": 1},
        )
    ).ok()
    assert older["chunk"][0]["event_id"] != context["events_before"][-1]["event_id"]

    bare = await search(client, alice, "walrus", event_context={"before_limit": 0})
    assert bare["results"][0]["context"]["events_before"] == []
    assert "profile_info" not in bare["results"][0]["context"]
    assert "context" not in (await search(client, alice, "walrus"))["results"][0]


async def test_groups_by_room_and_sender_with_their_own_next_batch(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await client.create_room(alice, preset="public_chat")
    second = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, first)).ok()
    for i in range(4):
        await client.send_text(alice, first, f"otter {i} in first")
    await client.send_text(bob, first, "otter from bob")
    for i in range(3):
        await client.send_text(alice, second, f"otter {i} in second")

    page = await search(
        client,
        alice,
        "otter",
        order_by="recent",
        filter={"limit": 4},
        groupings={"group_by": [{"key": "room_id"}, {"key": "sender"}]},
    )
    ids = [r["result"]["event_id"] for r in page["results"]]
    by_room = page["groups"]["room_id"]
    assert set(by_room) == {first, second}
    assert by_room[second]["order"] == 1 and by_room[first]["order"] == 2
    assert by_room[second]["results"] == ids[:3]
    assert by_room[first]["results"] == ids[3:]
    assert set(page["groups"]["sender"]) == {alice.user_id, bob.user_id}

    # A group's next_batch continues within that group only.
    rest = await search(
        client,
        alice,
        "otter",
        next_batch=by_room[first]["next_batch"],
        order_by="recent",
        filter={"limit": 10},
        groupings={"group_by": [{"key": "room_id"}]},
    )
    assert {r["result"]["room_id"] for r in rest["results"]} == {first}
    assert len(rest["results"]) == 4 and rest["count"] == 5
    assert "next_batch" not in rest
    assert "next_batch" not in rest["groups"]["room_id"][first]
    by_sender = await search(
        client,
        alice,
        "otter",
        next_batch=page["groups"]["sender"][bob.user_id]["next_batch"],
        order_by="recent",
    )
    assert by_sender["results"] == []  # bob's one message was on the first page


async def test_include_state_is_as_of_leaving_for_a_past_member(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat", name="Before")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "narwhal sighting")
    await leave(client, bob, room_id)
    await set_state(client, alice, room_id, "m.room.name", {"name": "After"})

    def name(state: list[dict[str, object]]) -> object:
        return next(e["content"] for e in state if e["type"] == "m.room.name")

    mine = await search(client, alice, "narwhal", include_state=True)
    assert name(mine["state"][room_id]) == {"name": "After"}
    bobs = await search(client, bob, "narwhal", include_state=True)
    assert name(bobs["state"][room_id]) == {"name": "Before"}
    assert "state" not in await search(client, bob, "narwhal")

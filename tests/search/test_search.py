"""POST /search: what is found, by whom, in which order."""

from __future__ import annotations

from tests.matrix_client import V3, TestClient, q
from tests.search.helpers import bodies, leave, redact, search, set_state


async def test_finds_messages_in_joined_rooms_only(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    shared = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, shared)).ok()
    alices_own = await client.create_room(alice)
    await client.send_text(alice, shared, "The martians have landed")
    await client.send_text(alice, shared, "nothing to see here")
    await client.send_text(alice, alices_own, "martians in private")

    mine = await search(client, alice, "martians")
    assert sorted(bodies(mine)) == ["The martians have landed", "martians in private"]
    assert mine["count"] == 2

    found = await search(client, bob, "Martians")
    assert bodies(found) == ["The martians have landed"]
    assert found["count"] == 1
    assert found["results"][0]["result"]["room_id"] == shared
    assert found["results"][0]["result"]["sender"] == alice.user_id
    assert isinstance(found["results"][0]["rank"], float)
    assert "next_batch" not in found

    eve = await client.register("eve")
    nothing = await search(client, eve, "martians")
    assert nothing["results"] == [] and nothing["count"] == 0


async def test_every_word_must_match_as_a_word_start(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await client.send_text(alice, room_id, "Meeting moved to Thursday")
    await client.send_text(alice, room_id, "the meeting is cancelled")
    await client.send_text(alice, room_id, "unmeet is not a word")

    assert sorted(bodies(await search(client, alice, "meet"))) == [
        "Meeting moved to Thursday",
        "the meeting is cancelled",
    ]
    assert bodies(await search(client, alice, "meeting thursday")) == ["Meeting moved to Thursday"]
    assert bodies(await search(client, alice, "meeting friday")) == []
    highlighted = (await search(client, alice, "meet THU"))["highlights"]
    assert {"Meeting", "Thursday", "meet", "thu"} <= set(highlighted)
    assert "cancelled" not in highlighted


async def test_history_visibility_joined_hides_what_came_before(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice,
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    await client.send_text(alice, room_id, "secret plan before bob")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "public plan after bob")

    found = await search(client, bob, "plan", event_context={"before_limit": 10})
    assert bodies(found) == ["public plan after bob"]
    assert found["count"] == 1
    # Nor does the context reach back into the hidden history.
    before = found["results"][0]["context"]["events_before"]
    assert "secret plan before bob" not in [e["content"].get("body") for e in before]
    assert before[0]["type"] == "m.room.member" and before[0]["state_key"] == bob.user_id
    assert len((await search(client, alice, "plan"))["results"]) == 2


async def test_shared_history_is_found_after_joining(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    await client.send_text(alice, room_id, "early history")
    (await client.join(bob, room_id)).ok()
    assert bodies(await search(client, bob, "history")) == ["early history"]


async def test_past_member_finds_messages_up_to_leaving(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "zebra while bob was here")
    await leave(client, bob, room_id)
    await client.send_text(alice, room_id, "zebra after bob left")
    await set_state(client, alice, room_id, "m.room.topic", {"topic": "zebra topic"})

    found = await search(client, bob, "zebra", event_context={"after_limit": 5})
    assert bodies(found) == ["zebra while bob was here"]
    # Nor does the context reach past the leave.
    after = found["results"][0]["context"]["events_after"]
    assert [e["type"] for e in after] == ["m.room.member"]
    assert after[0]["state_key"] == bob.user_id


async def test_redacted_messages_are_not_found(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    gone = await client.send_text(alice, room_id, "regrettable words")
    await client.send_text(alice, room_id, "kind words")
    assert len((await search(client, alice, "words"))["results"]) == 2

    await redact(client, alice, room_id, gone, "r1")
    found = await search(client, alice, "words")
    assert bodies(found) == ["kind words"]
    assert found["count"] == 1
    assert (await search(client, alice, "regrettable"))["results"] == []


async def test_names_and_topics_are_searched_by_key(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Gardening club", topic="Roses and tulips")
    await client.send_text(alice, room_id, "my tulips are up")
    await set_state(
        client,
        alice,
        room_id,
        "m.room.topic",
        {"m.topic": {"m.text": [{"mimetype": "text/plain", "body": "Only tulips now"}]}},
    )

    def kinds(result: dict[str, object]) -> list[str]:
        return sorted(r["result"]["type"] for r in result["results"])  # type: ignore[index, attr-defined]

    assert kinds(await search(client, alice, "tulips")) == [
        "m.room.message",
        "m.room.topic",
        "m.room.topic",
    ]
    assert kinds(await search(client, alice, "gardening")) == ["m.room.name"]
    assert kinds(await search(client, alice, "tulips", keys=["content.topic"])) == [
        "m.room.topic",
        "m.room.topic",
    ]
    assert kinds(await search(client, alice, "tulips", keys=["content.body"])) == ["m.room.message"]


async def test_encrypted_events_are_not_searchable(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await set_state(
        client, alice, room_id, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}
    )
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.encrypted/e1",
            json={
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
                "sender_key": "body",
                "session_id": "body",
                "device_id": "DEV",
            },
            token=alice.access_token,
        )
    ).ok()
    assert (await search(client, alice, "body"))["results"] == []


async def test_order_by_recent_and_rank(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await client.send_text(alice, room_id, "apple apple apple")
    await client.send_text(alice, room_id, "one apple among many other words in a long message")
    await client.send_text(alice, room_id, "apple pie")

    recent = await search(client, alice, "apple", order_by="recent")
    assert bodies(recent) == [
        "apple pie",
        "one apple among many other words in a long message",
        "apple apple apple",
    ]
    ranked = await search(client, alice, "apple", order_by="rank")
    assert bodies(ranked)[0] == "apple apple apple"
    ranks = [r["rank"] for r in ranked["results"]]
    assert ranks == sorted(ranks, reverse=True)
    assert ranks[0] > ranks[-1]
    # rank is the default order.
    assert bodies(await search(client, alice, "apple")) == bodies(ranked)


async def test_forgotten_rooms_are_not_searched(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "quokka photos")
    await leave(client, bob, room_id)
    assert bodies(await search(client, bob, "quokka")) == ["quokka photos"]
    forget = f"{V3}/rooms/{q(room_id)}/forget"
    (await client.post(forget, json={}, token=bob.access_token)).ok()
    assert (await search(client, bob, "quokka"))["results"] == []

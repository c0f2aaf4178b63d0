"""The search filter (RoomEventFilter), and bad requests answered 400."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, TestClient
from tests.search.helpers import bodies, search, search_raw


async def test_filter_rooms_senders_types_and_limit(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await client.create_room(alice, preset="public_chat", name="Kiwi room")
    second = await client.create_room(alice, preset="public_chat")
    for room_id in (first, second):
        (await client.join(bob, room_id)).ok()
    await client.send_text(alice, first, "kiwi from alice in first")
    await client.send_text(bob, first, "kiwi from bob in first")
    await client.send_text(alice, second, "kiwi from alice in second")

    async def found(**event_filter: Any) -> list[str]:
        result = await search(client, bob, "kiwi", filter=event_filter)
        return sorted(b or "(name)" for b in bodies(result))

    everything = await found()
    assert len(everything) == 4  # three messages and the room name
    assert await found(rooms=[second]) == ["kiwi from alice in second"]
    assert await found(not_rooms=[first]) == ["kiwi from alice in second"]
    assert await found(senders=[bob.user_id]) == ["kiwi from bob in first"]
    assert await found(not_senders=[alice.user_id]) == ["kiwi from bob in first"]
    assert await found(types=["m.room.name"]) == ["(name)"]
    assert len(await found(types=["m.room.*"])) == 4
    assert len(await found(not_types=["m.room.name"])) == 3
    # A room the user is not in stays out, filter or not.
    eves = await client.create_room(await client.register("eve"))
    assert await found(rooms=[eves]) == []
    limited = await search(client, bob, "kiwi", filter={"limit": 2})
    assert len(limited["results"]) == 2 and limited["count"] == 4 and "next_batch" in limited


SYNTAX = ['"', "kiwi AND", "(kiwi", "kiwi:*", "!kiwi", "kiwi & | ! <-> '", "NEAR( kiwi)", "-", "*"]


async def test_query_syntax_in_the_term_is_plain_text(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await client.send_text(alice, room_id, "kiwi and mango are near")
    for term in SYNTAX:
        result = await search(client, alice, term)
        if "kiwi" in term:
            assert bodies(result) == ["kiwi and mango are near"], term
        else:
            assert result["results"] == [] and result["count"] == 0, term


# None: any 400 (NUL characters may be refused before the search sees them).
BAD_CRITERIA: list[tuple[dict[str, Any], str | None]] = [
    # Found by schemathesis (were 500s): objects where names belong.
    ({"search_term": "x", "keys": [{"not": "a key"}]}, "M_BAD_JSON"),
    ({"search_term": "x", "groupings": {"group_by": [{"key": {"not": "a key"}}]}}, "M_BAD_JSON"),
    ({}, "M_BAD_JSON"),
    ({"search_term": 5}, "M_BAD_JSON"),
    ({"search_term": None}, "M_BAD_JSON"),
    ({"search_term": "x", "keys": ["content.url"]}, "M_BAD_JSON"),
    ({"search_term": "x", "keys": "content.body"}, "M_BAD_JSON"),
    ({"search_term": "x", "order_by": "oldest"}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": []}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"rooms": "!a:b"}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"limit": -1}}, "M_BAD_JSON"),
    ({"search_term": "x", "event_context": {"before_limit": "5"}}, "M_BAD_JSON"),
    ({"search_term": "x", "event_context": {"include_profile": 1}}, "M_BAD_JSON"),
    ({"search_term": "x", "groupings": {"group_by": [{"key": "type"}]}}, "M_BAD_JSON"),
    ({"search_term": "x", "include_state": "yes"}, "M_BAD_JSON"),
    # Found by schemathesis (were accepted): null is a wrong type, not "absent";
    # filter flags are booleans; filter rooms and senders are ids.
    ({"search_term": "x", "filter": None}, "M_BAD_JSON"),
    ({"search_term": "x", "groupings": None}, "M_BAD_JSON"),
    ({"search_term": "x", "groupings": {"group_by": None}}, "M_BAD_JSON"),
    ({"search_term": "x", "event_context": {"after_limit": None}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"not_rooms": None}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"unread_thread_notifications": {}}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"lazy_load_members": "yes"}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"not_rooms": [""]}}, "M_BAD_JSON"),
    ({"search_term": "x", "filter": {"senders": ["alice"]}}, "M_BAD_JSON"),
    ({"search_term": "x\u0000y"}, None),
    ({"search_term": "x", "filter": {"senders": ["@a\u0000:b"]}}, None),
    ({"search_term": "x", "filter": {"rooms": ["!a\u0000:b"]}}, None),
]


async def test_bad_criteria_are_400(client: TestClient) -> None:
    alice = await client.register("alice")
    await client.create_room(alice)
    for criteria, errcode in BAD_CRITERIA:
        response = await search_raw(client, alice, criteria)
        if errcode is None:
            assert response.status == 400, (criteria, response.body)
        else:
            response.error(400, errcode)


async def test_bad_bodies_and_tokens_are_400(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    for body in ({}, {"search_categories": []}, {"search_categories": {"room_events": 1}}):
        (await client.post(f"{V3}/search", json=body, token=token)).error(400, "M_BAD_JSON")
    for bad in ("", "nope", "v1_", "v1_e30", "v1_eyJvIjoicmFuayJ9", "v2.1.2", "v2.1.2.0~x~y"):
        (await search_raw(client, alice, {"search_term": "x"}, next_batch=bad)).error(
            400, "M_INVALID_PARAM"
        )
    # No room_events category: nothing searched.
    empty = await client.post(f"{V3}/search", json={"search_categories": {}}, token=token)
    assert empty.ok() == {"search_categories": {}}
    (await client.post(f"{V3}/search", json={"search_categories": {}})).error(
        401, "M_MISSING_TOKEN"
    )


async def test_huge_search_terms_are_answered(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await client.send_text(alice, room_id, "kiwi")
    for term in ["a.b-c/" * 100_000, "kiwi " + "word " * 50_000, "k" * 300_000]:
        result = await search(client, alice, term)
        assert result["results"] == [], term[:20]
    assert bodies(await search(client, alice, "kiwi " * 1000)) == ["kiwi"]

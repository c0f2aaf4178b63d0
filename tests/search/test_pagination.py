"""next_batch pages through every result once, in order, even while new
messages arrive."""

from __future__ import annotations

import pytest

from tests.matrix_client import TestClient, User
from tests.search.helpers import search, search_all


async def _room_with_messages(client: TestClient, alice: User, count: int) -> tuple[str, list[str]]:
    room_id = await client.create_room(alice)
    ids = []
    for i in range(count):
        # Different lengths and repetitions, so that ranks differ, and some tie.
        words = " ".join(["lorem"] * (1 + i % 3) + ["ipsum"] * (i % 4))
        ids.append(await client.send_text(alice, room_id, f"{words} number{i}"))
    return room_id, ids


@pytest.mark.parametrize("order_by", ["recent", "rank"])
async def test_pages_cover_every_result_once(client: TestClient, order_by: str) -> None:
    alice = await client.register("alice")
    _, ids = await _room_with_messages(client, alice, 23)
    await client.send_text(alice, await client.create_room(alice), "unrelated ipsum")

    first = await search(client, alice, "lorem", order_by=order_by, filter={"limit": 5})
    assert len(first["results"]) == 5 and first["count"] == 23
    results, pages = await search_all(
        client, alice, "lorem", order_by=order_by, filter={"limit": 5}
    )
    found = [r["result"]["event_id"] for r in results]
    assert pages == 5
    assert len(found) == len(set(found)) == 23
    assert set(found) == set(ids)
    if order_by == "recent":
        assert found == ids[::-1]
    else:
        ranks = [r["rank"] for r in results]
        assert ranks == sorted(ranks, reverse=True)


@pytest.mark.parametrize("order_by", ["recent", "rank"])
async def test_new_messages_do_not_shift_later_pages(client: TestClient, order_by: str) -> None:
    alice = await client.register("alice")
    room_id, ids = await _room_with_messages(client, alice, 8)
    first = await search(client, alice, "lorem", order_by=order_by, filter={"limit": 3})
    for i in range(4):
        await client.send_text(alice, room_id, f"lorem arrived later {i}")
    seen = [r["result"]["event_id"] for r in first["results"]]
    token = first.get("next_batch")
    while token is not None:
        page = await search(
            client, alice, "lorem", next_batch=token, order_by=order_by, filter={"limit": 3}
        )
        assert page["count"] == 8
        seen.extend(r["result"]["event_id"] for r in page["results"])
        token = page.get("next_batch")
    assert len(seen) == len(set(seen)) == 8
    assert set(seen) == set(ids)
    # A new search sees the new messages.
    assert (await search(client, alice, "lorem", order_by=order_by))["count"] == 12


async def test_a_token_from_the_other_order_names_a_position_in_this_one(
    client: TestClient,
) -> None:
    """Any next_batch of the grammar is a position (the spec's pattern): one
    from a rank-ordered page continues a time-ordered search from its stream
    ordering, and the other way round from its rank."""
    alice = await client.register("alice")
    _, ids = await _room_with_messages(client, alice, 8)
    by_time = await search(client, alice, "lorem", order_by="recent", filter={"limit": 3})
    token = by_time["next_batch"]
    # Time order from a time-ordered token: the next three, older ones.
    again = await search(
        client, alice, "lorem", next_batch=token, order_by="recent", filter={"limit": 3}
    )
    assert [r["result"]["event_id"] for r in again["results"]] == ids[::-1][3:6]
    # The same token in rank order: results ranked at or below the last one's.
    last_rank = by_time["results"][-1]["rank"]
    ranked = await search(
        client, alice, "lorem", next_batch=token, order_by="rank", filter={"limit": 10}
    )
    assert all(r["rank"] <= last_rank for r in ranked["results"])

"""Calling POST /search from the tests."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, Response, TestClient, User, q


async def search_raw(
    client: TestClient,
    user: User,
    criteria: dict[str, Any],
    next_batch: str | None = None,
) -> Response:
    return await client.post(
        f"{V3}/search",
        json={"search_categories": {"room_events": criteria}},
        token=user.access_token,
        query=None if next_batch is None else {"next_batch": next_batch},
    )


async def search(
    client: TestClient,
    user: User,
    term: str,
    next_batch: str | None = None,
    **criteria: Any,
) -> dict[str, Any]:
    """The room_events category of a successful search."""
    body = (await search_raw(client, user, {"search_term": term, **criteria}, next_batch)).ok()
    return dict(body["search_categories"]["room_events"])


def bodies(result: dict[str, Any]) -> list[str]:
    return [r["result"]["content"].get("body") for r in result["results"]]


async def search_all(
    client: TestClient, user: User, term: str, **criteria: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every result, following next_batch to the end; and how many pages."""
    results: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    while True:
        page = await search(client, user, term, next_batch=token, **criteria)
        pages += 1
        results.extend(page["results"])
        token = page.get("next_batch")
        if token is None:
            return results, pages
        assert pages < 100, "pagination does not end"


async def leave(client: TestClient, user: User, room_id: str) -> None:
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=user.access_token)).ok()


async def set_state(
    client: TestClient, user: User, room_id: str, event_type: str, content: dict[str, Any]
) -> str:
    response = await client.put(
        f"{V3}/rooms/{q(room_id)}/state/{q(event_type)}", json=content, token=user.access_token
    )
    return str(response.ok()["event_id"])


async def redact(client: TestClient, user: User, room_id: str, event_id: str, txn: str) -> None:
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/redact/{q(event_id)}/{q(txn)}",
            json={},
            token=user.access_token,
        )
    ).ok()

"""A /messages page is an index range scan, whatever the size of the room: the
query plan of every statement a page runs, checked on the database under test
(on PostgreSQL with sequential scans disabled, since a tiny test table would
otherwise be scanned whole: the check is that the index *serves* the query)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.matrix_client import V3, TestClient, q


def _check_sqlite_plan(statement: str, plan: str) -> bool:
    assert "SCAN events" not in plan, f"full scan of events:\n{statement}\n{plan}"
    assert "SEARCH events USING" in plan, f"no index search:\n{statement}\n{plan}"
    assert "USE TEMP B-TREE" not in plan, f"sort instead of index order:\n{plan}"
    return "ix_events_room_stream" in plan


def _check_postgres_plan(statement: str, plan: str) -> bool:
    assert "Seq Scan on events" not in plan, f"full scan of events:\n{statement}\n{plan}"
    assert "Sort" not in plan, f"sort instead of index order:\n{statement}\n{plan}"
    return "ix_events_room_stream" in plan


async def test_messages_pages_use_the_room_stream_index(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    for i in range(30):
        await client.send_text(alice, room_id, f"m{i}")
    server = client.app.extensions["homeserver"]
    engine = server.storage.engine
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM events" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        page = (
            await client.get(
                f"{V3}/rooms/{q(room_id)}/messages",
                token=alice.access_token,
                query={"dir": "b", "limit": 10},
            )
        ).ok()
        (
            await client.get(
                f"{V3}/rooms/{q(room_id)}/messages",
                token=alice.access_token,
                query={"dir": "f", "limit": 10, "from": page["end"]},
            )
        ).ok()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)

    assert captured, "no query on events was made"
    postgres = engine.dialect.name == "postgresql"
    pages = 0
    async with engine.connect() as conn:
        if postgres:
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in captured:
            rows = await conn.exec_driver_sql(
                f"EXPLAIN {statement}" if postgres else f"EXPLAIN QUERY PLAN {statement}",
                parameters,
            )
            plan = " | ".join(str(r[-1]) for r in rows)
            check = _check_postgres_plan if postgres else _check_sqlite_plan
            uses_room_index = check(statement, plan)
            is_page = "events.type =" not in statement and "LIMIT" in statement
            if is_page:
                pages += 1
                assert uses_room_index, f"room index unused:\n{statement}\n{plan}"
    assert pages >= 2, "the page queries were not seen"

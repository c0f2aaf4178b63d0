"""The full-text index itself: made by the migration, used by the queries
(no scan of the rooms), and filled from events stored before it existed."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, delete, func, select, text

from homeserver.storage.engine import MIGRATIONS_DIR, create_engine
from homeserver.storage.search import SearchQuery, VisibleRange, search_statements
from homeserver.storage.search_schema import FTS_TABLE, PG_INDEX
from homeserver.storage.tables import event_search
from tests.matrix_client import TestClient
from tests.search.helpers import bodies, redact, search


def _migration() -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / "0008_search.py"
    spec = importlib.util.spec_from_file_location("migration_0008_search", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_dialects_full_text_index_exists(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                names = await conn.scalars(
                    text("SELECT name FROM sqlite_master WHERE name LIKE 'event_search_fts%'")
                )
                found = set(names)
                assert FTS_TABLE in found
                assert {"event_search_fts_delete", "event_search_fts_update"} <= found
            else:
                definition = await conn.scalar(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": PG_INDEX},
                )
                assert definition is not None and "gin" in definition
                assert "to_tsvector('simple'::regconfig, value)" in definition
    finally:
        await engine.dispose()


def _plan(connection: Connection, postgres: bool) -> str:
    query = SearchQuery(
        term="walrus",
        keys=["content.body"],
        ranges=[VisibleRange("!a:x"), VisibleRange("!b:x", 5, 90)],
        upto=10**9,
        limit=10,
        by_rank=True,
    )
    tsquery = "'walrus':*" if postgres else '"walrus"*'
    _, page = search_statements(postgres, query, tsquery)
    compiled = page.compile(connection, compile_kwargs={"literal_binds": True})
    if postgres:
        # Enough rows, and statistics, for the planner to choose as it would
        # in a real database: 20,000 messages, a handful with the word.
        connection.execute(
            text(
                "INSERT INTO event_search (stream_ordering, event_id, room_id, sender, key, value)"
                " SELECT i, '$e' || i, CASE WHEN i % 2 = 0 THEN '!a:x' ELSE '!b:x' END, '@u:x',"
                " 'content.body', CASE WHEN i % 4000 = 0 THEN 'a walrus' ELSE 'word' || (i % 997)"
                " || ' other words' END FROM generate_series(1, 20000) AS i"
            )
        )
        connection.execute(text("ANALYZE event_search"))
        rows = connection.execute(text(f"EXPLAIN {compiled}"))
        return "\n".join(str(r[0]) for r in rows)
    rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    return "\n".join(str(r[-1]) for r in rows)


async def test_a_search_is_an_index_lookup(database_url: str) -> None:
    engine = create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    try:
        async with engine.begin() as conn:
            plan = await conn.run_sync(_plan, postgres)
    finally:
        await engine.dispose()
    if postgres:
        assert PG_INDEX in plan, plan
        assert "Seq Scan" not in plan, plan
    else:
        # FTS5 answers the MATCH; the rows are then fetched by primary key.
        assert "VIRTUAL TABLE INDEX" in plan and FTS_TABLE in plan, plan
        assert "SCAN event_search\n" not in plan + "\n", plan


def _empty_and_backfill(connection: Connection) -> Any:
    connection.execute(delete(event_search))
    module = _migration()
    with Operations.context(MigrationContext.configure(connection)):
        module._backfill(event_search)
    if connection.dialect.name == "sqlite":
        connection.execute(
            text("INSERT INTO event_search_fts(event_search_fts) VALUES ('rebuild')")
        )
    return connection.scalar(select(func.count()).select_from(event_search))


async def test_the_migration_indexes_events_stored_before_it(
    client: TestClient, database_url: str
) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Aquarium", topic="fish talk")
    await client.send_text(alice, room_id, "the octopus escaped")
    gone = await client.send_text(alice, room_id, "octopus ink everywhere")
    await redact(client, alice, room_id, gone, "r1")

    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            indexed = await conn.run_sync(_empty_and_backfill)
    finally:
        await engine.dispose()
    assert indexed == 3  # name, topic, the message not redacted
    assert bodies(await search(client, alice, "octopus")) == ["the octopus escaped"]
    assert len((await search(client, alice, "aquarium fish"))["results"]) == 0
    assert len((await search(client, alice, "aquarium"))["results"]) == 1

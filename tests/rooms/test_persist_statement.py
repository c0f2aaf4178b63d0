"""Writing a batch of events: on PostgreSQL all of its rows go in one statement
(`MultiTableWrite`), on SQLite table by table in a transaction. Both must
leave the same rows, and a batch that fails leaves none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from homeserver.storage import Storage
from homeserver.storage.events import PendingEvent, TxnRecord
from homeserver.storage.multi_table_write import MultiTableWrite, TableWrite
from homeserver.storage.receipts import PushAction
from homeserver.storage.tables import (
    current_state,
    event_edges,
    event_push_actions,
    events,
    forward_extremities,
    memberships,
    transaction_ids,
)

ROOM = "!room:localhost"


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url, migrate=False)
    yield opened
    await opened.close()


def _event(index: int, prev: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"$e{index}",
        "room_id": ROOM,
        "type": "m.room.message",
        "sender": "@alice:localhost",
        "content": {"body": f"message {index}"},
        "depth": index,
        "origin_server_ts": 1000 + index,
        "prev_events": prev,
        "auth_events": ["$create", "$power"],
        **extra,
    }


def _member(index: int, prev: list[str], user: str, membership: str) -> dict[str, Any]:
    return _event(
        index,
        prev,
        type="m.room.member",
        state_key=user,
        content={"membership": membership},
    )


async def _rows(storage: Storage, table: Any) -> list[tuple[Any, ...]]:
    async with storage.engine.connect() as conn:
        return sorted(tuple(r) for r in await conn.execute(select(table)))


async def test_a_batch_writes_every_table(storage: Storage) -> None:
    await storage.events.persist_events(
        [PendingEvent(_member(1, [], "@bob:localhost", "invite"), 1)]
    )
    batch = [
        PendingEvent(
            _event(2, ["$e1"]),
            2,
            txn=TxnRecord("DEVICE", "t1"),
            push_actions=(PushAction("@bob:localhost", True, False, ["notify"]),),
        ),
        # Builds on the event before it in the same batch.
        PendingEvent(_member(3, ["$e2"], "@bob:localhost", "join"), 3, replaces_state="$e1"),
        PendingEvent(_member(4, ["$e3"], "@bob:localhost", "leave"), 4, replaces_state="$e3"),
    ]
    await storage.events.persist_events(batch)

    assert [r[0] for r in await _rows(storage, events)] == [1, 2, 3, 4]
    assert await _rows(storage, forward_extremities) == [(ROOM, "$e4")]
    assert ("$e3", "$e2", ROOM) in await _rows(storage, event_edges)
    # The last of two changes to one state key in a batch wins.
    assert await _rows(storage, current_state) == [
        (ROOM, "m.room.member", "@bob:localhost", "$e4", 4)
    ]
    assert await _rows(storage, memberships) == [(ROOM, "@bob:localhost", "leave", "$e4", 4, False)]
    assert [r[:4] for r in await _rows(storage, transaction_ids)] == [
        ("@alice:localhost", "DEVICE", "t1", "$e2")
    ]
    assert [r[:4] for r in await _rows(storage, event_push_actions)] == [
        ("@bob:localhost", ROOM, 2, "$e2")
    ]


async def test_a_failing_batch_leaves_nothing(storage: Storage) -> None:
    await storage.events.persist_events(
        [PendingEvent(_event(1, []), 1, txn=TxnRecord("DEVICE", "t1"))]
    )
    # The transaction id is taken: the whole batch fails, its event included.
    with pytest.raises(IntegrityError):
        await storage.events.persist_events(
            [
                PendingEvent(_event(2, ["$e1"]), 2),
                PendingEvent(_event(3, ["$e2"]), 3, txn=TxnRecord("DEVICE", "t1")),
            ]
        )
    assert [r[0] for r in await _rows(storage, events)] == [1]
    assert await _rows(storage, forward_extremities) == [(ROOM, "$e1")]


def test_the_statement_binds_each_column_of_each_write_as_a_list() -> None:
    write = MultiTableWrite(
        [
            TableWrite(forward_extremities, "delete", ("room_id", "event_id"), label="old"),
            TableWrite(forward_extremities, label="new"),
            TableWrite(current_state, "upsert", ("room_id", "type", "state_key")),
        ]
    )
    parameters = write.parameters({"new": [{"room_id": ROOM, "event_id": "$b"}]})
    assert parameters["new__event_id"] == ["$b"]
    assert parameters["old__room_id"] == []
    assert parameters["current_state__stream_ordering"] == []
    sql = write.statement.text
    assert 'DELETE FROM "forward_extremities"' in sql
    assert 'ON CONFLICT ("room_id", "type", "state_key") DO UPDATE SET "event_id"' in sql
    # Values never appear in the text: only bound parameters do.
    assert "$b" not in sql


def test_two_writes_need_two_names() -> None:
    with pytest.raises(ValueError):
        MultiTableWrite([TableWrite(forward_extremities), TableWrite(forward_extremities)])

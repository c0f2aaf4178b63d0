"""event_search and its full-text index (POST /search)

Revision ID: 0008_search
Revises: 0005

The table is declared in tables.py; the full-text index over it is
dialect-specific (homeserver/storage/search_schema.py): an FTS5 table with
triggers on SQLite, a GIN expression index on PostgreSQL. Events already
stored are indexed here, in batches.
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_search"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_DDL = (
    # External content: the index only, the text is read from event_search.
    # New rows are indexed by the code that writes them (an insert trigger
    # costs twice as much); deletes and updates by triggers.
    "CREATE VIRTUAL TABLE event_search_fts USING fts5("
    "value, content='event_search', content_rowid='stream_ordering', tokenize='unicode61')",
    "CREATE TRIGGER event_search_fts_delete AFTER DELETE ON event_search BEGIN "
    "INSERT INTO event_search_fts(event_search_fts, rowid, value) "
    "VALUES ('delete', old.stream_ordering, old.value); END",
    "CREATE TRIGGER event_search_fts_update AFTER UPDATE ON event_search BEGIN "
    "INSERT INTO event_search_fts(event_search_fts, rowid, value) "
    "VALUES ('delete', old.stream_ordering, old.value); "
    "INSERT INTO event_search_fts(rowid, value) VALUES (new.stream_ordering, new.value); END",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS event_search_fts_update",
    "DROP TRIGGER IF EXISTS event_search_fts_delete",
    "DROP TABLE IF EXISTS event_search_fts",
)
_POSTGRES_DDL = (
    "CREATE INDEX ix_event_search_fts ON event_search USING gin (to_tsvector('simple', value))",
)

_BACKFILL_BATCH = 1000
_TYPES = ("m.room.message", "m.room.name", "m.room.topic")


def _searchable_text(event: dict[str, Any]) -> tuple[str, str] | None:
    """What homeserver.events.search_text indexes, as of this revision."""
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    kind = event.get("type")
    value: Any = None
    if kind == "m.room.message":
        key, value = "content.body", content.get("body")
    elif kind in ("m.room.name", "m.room.topic") and event.get("state_key") == "":
        key = "content.name" if kind == "m.room.name" else "content.topic"
        value = content.get("name" if kind == "m.room.name" else "topic")
        rich = content.get("m.topic")
        if kind == "m.room.topic" and not (isinstance(value, str) and value):
            value = None
            texts = rich.get("m.text") if isinstance(rich, dict) else None
            for text in texts if isinstance(texts, list) else []:
                if isinstance(text, dict) and text.get("mimetype", "text/plain") == "text/plain":
                    value = text.get("body")
                    break
    else:
        return None
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return (key, value) if value else None


def _backfill(event_search: sa.Table) -> None:
    bind = op.get_bind()
    events = sa.table(
        "events",
        sa.column("stream_ordering", sa.BigInteger),
        sa.column("type", sa.String),
        sa.column("redacted_by", sa.String),
        sa.column("json", sa.Text),
    )
    after: int | None = None
    while True:
        query = (
            sa.select(events.c.stream_ordering, events.c.json)
            .where(events.c.type.in_(_TYPES), events.c.redacted_by.is_(None))
            .order_by(events.c.stream_ordering)
            .limit(_BACKFILL_BATCH)
        )
        if after is not None:
            query = query.where(events.c.stream_ordering > after)
        batch = bind.execute(query).all()
        if not batch:
            break
        rows = []
        for stream_ordering, raw in batch:
            event = json.loads(raw)
            found = _searchable_text(event)
            if found is not None:
                rows.append(
                    {
                        "stream_ordering": stream_ordering,
                        "event_id": event["event_id"],
                        "room_id": event["room_id"],
                        "sender": event["sender"],
                        "key": found[0],
                        "value": found[1],
                    }
                )
        if rows:
            bind.execute(sa.insert(event_search), rows)
        after = batch[-1][0]
    if bind.dialect.name == "sqlite":
        # FTS5 reads the text of every row of event_search afresh.
        op.execute("INSERT INTO event_search_fts(event_search_fts) VALUES ('rebuild')")


def _require_fts5() -> None:
    bind = op.get_bind()
    built_in = bind.scalar(sa.text("SELECT sqlite_compileoption_used('ENABLE_FTS5')"))
    if not built_in:
        raise RuntimeError(
            "this SQLite library was built without FTS5, which search needs: "
            "use a Python whose sqlite3 has it (the python.org and Debian builds do)"
        )


def upgrade() -> None:
    event_search = op.create_table(
        "event_search",
        sa.Column("stream_ordering", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("stream_ordering", name=op.f("pk_event_search")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_search_event_id")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _require_fts5()
    for statement in _SQLITE_DDL if dialect == "sqlite" else _POSTGRES_DDL:
        op.execute(statement)
    assert event_search is not None
    _backfill(event_search)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DROP:
            op.execute(statement)
    op.drop_table("event_search")

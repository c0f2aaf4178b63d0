"""The full-text index behind search, which SQLAlchemy cannot declare.

`event_search` (tables.py) holds the text; the index over it is
dialect-specific DDL made by the migration:
- SQLite: the FTS5 table `event_search_fts` (external content: it stores only
  the index, reading text from `event_search` by rowid = stream_ordering) and
  FTS5's own shadow tables `event_search_fts_*`. Persisting events writes its
  rows explicitly, in the same transaction (`FTS_INSERT`: half the cost of an
  insert trigger); triggers take deleted and updated rows out of it;
- PostgreSQL: the GIN expression index `ix_event_search_fts` on
  `to_tsvector('simple', value)`.

Schema comparison (Alembic autogenerate, tests/test_migrations.py) knows
nothing of these, so `include_object` leaves them out of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, column, insert, table

FTS_TABLE = "event_search_fts"
PG_INDEX = "ix_event_search_fts"
# The text search configuration: lower-casing only, no stemming and no stop
# words, so that every language is matched alike (see README "Search").
PG_TEXT_CONFIG = "simple"


fts_table = table(FTS_TABLE, column("rowid"), column("value"))
FTS_INSERT: Insert = insert(fts_table)


def fts_rows(event_search_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The FTS5 rows indexing these `event_search` rows."""
    return [{"rowid": r["stream_ordering"], "value": r["value"]} for r in event_search_rows]


def is_search_index_object(name: str | None, type_: str) -> bool:
    if name is None:
        return False
    if type_ == "table":
        return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")
    if type_ == "index":
        return name == PG_INDEX
    return False


def include_object(
    _object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic's include_object hook: everything but the full-text index."""
    return not is_search_index_object(name, type_)

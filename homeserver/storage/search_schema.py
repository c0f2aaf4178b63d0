"""The full-text index behind search, which SQLAlchemy cannot declare.

`event_search` (tables.py) holds the text; the index over it is
dialect-specific DDL made by the migration:
- SQLite: the FTS5 table `event_search_fts` (external content: it stores only
  the index, reading text from `event_search` by rowid = stream_ordering),
  kept in step by triggers on `event_search` within the same transaction, and
  FTS5's own shadow tables `event_search_fts_*`;
- PostgreSQL: the GIN expression index `ix_event_search_fts` on
  `to_tsvector('simple', value)`.

Schema comparison (Alembic autogenerate, tests/test_migrations.py) knows
nothing of these, so `include_object` leaves them out of it."""

from __future__ import annotations

from typing import Any

FTS_TABLE = "event_search_fts"
PG_INDEX = "ix_event_search_fts"
# The text search configuration: lower-casing only, no stemming and no stop
# words, so that every language is matched alike (see README "Search").
PG_TEXT_CONFIG = "simple"


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

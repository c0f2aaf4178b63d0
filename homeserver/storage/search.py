"""Full-text search over `event_search` (POST /search).

Every query is driven by the full-text index: SQLite's FTS5 table (MATCH)
or PostgreSQL's GIN index on to_tsvector('simple', value) (@@). Ranks
depend on the matched row alone (ts_rank on PostgreSQL, a BM25-like score of
the row on SQLite), so rank-ordered pages stay stable as the index grows.
A query costs in proportion to the rows matching its words, never to the size
of the rooms searched.

The user's words never become query syntax: each whitespace-separated word is
quoted as an FTS5 string, and on PostgreSQL the words are first split into
lexemes by to_tsvector (the same parser that indexed the text), each then
quoted as a tsquery literal. Every word must match, as a prefix of a word of
the text ("meet" finds "meeting")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import UnaryExpression

from homeserver.storage.base import Store
from homeserver.storage.search_schema import FTS_TABLE, PG_TEXT_CONFIG, fts_table
from homeserver.storage.tables import event_search

# Words beyond this many are ignored (a query of a thousand words would only
# be slow, and match nothing anyway).
MAX_TERMS = 32
# Longer words are cut: nothing that long is a word worth finding, and a huge
# one could exceed what PostgreSQL's to_tsvector accepts.
MAX_WORD_LENGTH = 200

# BM25's usual constants, and a typical message's length in characters.
_K1 = 1.2
_B = 0.75
_TYPICAL_LENGTH = 80.0

_WORD = re.compile(r"\w", re.UNICODE)
_FTS = fts_table
_FTS_NAME: ColumnElement[Any] = literal_column(FTS_TABLE)
_PG_CONFIG: ColumnElement[Any] = literal_column(f"'{PG_TEXT_CONFIG}'")


@dataclass(frozen=True)
class VisibleRange:
    """Positions of a room the searching user may see: lo <= p < hi (None:
    unbounded)."""

    room_id: str
    lo: int | None = None
    hi: int | None = None


@dataclass(frozen=True)
class SearchCursor:
    """Where the previous page ended: results after it (in the page order)."""

    stream_ordering: int
    rank: float | None = None


@dataclass(frozen=True)
class SearchQuery:
    term: str
    keys: Sequence[str]
    ranges: Sequence[VisibleRange]
    # Positions above `upto` are left out, so that pages stay stable while
    # new messages arrive.
    upto: int
    limit: int
    by_rank: bool
    after: SearchCursor | None = None
    senders: Sequence[str] | None = None
    not_senders: Sequence[str] = ()


@dataclass(frozen=True)
class SearchHit:
    stream_ordering: int
    event_id: str
    room_id: str
    rank: float


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    more: bool
    count: int


def _fts5_query(term: str) -> str | None:
    """The FTS5 MATCH expression: every word a quoted string (quotes doubled),
    its last token a prefix; words without a letter or digit are dropped."""
    words = [w for w in dict.fromkeys(term.split()) if _WORD.search(w)][:MAX_TERMS]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def _tsquery_text(lexemes: Sequence[str]) -> str | None:
    """A to_tsquery input matching every lexeme as a prefix, each quoted."""
    quoted = [
        "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "':*"
        for lexeme in list(dict.fromkeys(lexemes))[:MAX_TERMS]
    ]
    return " & ".join(quoted) if quoted else None


def _range_condition(ranges: Sequence[VisibleRange]) -> ColumnElement[bool]:
    whole = [r.room_id for r in ranges if r.lo is None and r.hi is None]
    parts: list[ColumnElement[bool]] = []
    if whole:
        parts.append(event_search.c.room_id.in_(whole))
    for r in ranges:
        if r.lo is None and r.hi is None:
            continue
        bounds = [event_search.c.room_id == r.room_id]
        if r.lo is not None:
            bounds.append(event_search.c.stream_ordering >= r.lo)
        if r.hi is not None:
            bounds.append(event_search.c.stream_ordering < r.hi)
        parts.append(and_(*bounds))
    return or_(*parts)


def _sqlite_rank() -> ColumnElement[float]:
    """A rank from the row alone, so that it never changes while the row
    exists (FTS5's bm25 weighs words by how rare they are in the whole index,
    so its ranks move as messages arrive and rank-ordered pages would repeat
    or skip results): the number of word matches FTS5 finds in the text
    (highlight() marks each with a control character), saturating as in BM25
    and normalized by the text's length against a typical message's."""
    marked = func.highlight(_FTS_NAME, 0, func.char(1), "")
    matches = func.length(marked) - func.length(func.replace(marked, func.char(1), ""))
    length = func.length(event_search.c.value) / _TYPICAL_LENGTH
    score = matches * 1.0 / (matches + _K1 * (1 - _B + _B * length))
    return type_coerce(score, Float)


def _match(postgres: bool, text: str) -> tuple[ColumnElement[bool], ColumnElement[float], Any]:
    """The full-text condition, the rank (higher is better) and the FROM."""
    if postgres:
        vector = func.to_tsvector(_PG_CONFIG, event_search.c.value)
        tsquery = func.to_tsquery(_PG_CONFIG, bindparam("tsquery", text))
        return (
            vector.op("@@")(tsquery),
            # Normalization 1: divided by 1 + log(the text's length in words).
            func.ts_rank(vector, tsquery, 1, type_=Float),
            event_search,
        )
    return (
        _FTS_NAME.op("MATCH")(bindparam("fts_query", text)),
        _sqlite_rank(),
        event_search.join(_FTS, _FTS.c.rowid == event_search.c.stream_ordering),
    )


def search_statements(
    postgres: bool, query: SearchQuery, text: str
) -> tuple[Select[Any], Select[Any]]:
    """The count of all results and the page of them (one more row than the
    page, to tell whether more follow), for the full-text query `text`. The
    page has a `rank` column when ordered by rank."""
    match, rank, source = _match(postgres, text)
    position = event_search.c.stream_ordering
    conditions = [
        match,
        position <= query.upto,
        event_search.c.key.in_(list(query.keys)),
        _range_condition(query.ranges),
    ]
    if query.senders is not None:
        conditions.append(event_search.c.sender.in_(list(query.senders)))
    if query.not_senders:
        conditions.append(event_search.c.sender.not_in(list(query.not_senders)))
    count = select(func.count()).select_from(source).where(*conditions)
    after = query.after
    if after is not None:
        if query.by_rank and after.rank is not None:
            conditions.append(
                or_(rank < after.rank, and_(rank == after.rank, position < after.stream_ordering))
            )
        else:
            conditions.append(position < after.stream_ordering)
    columns: list[ColumnElement[Any]] = [position, event_search.c.event_id, event_search.c.room_id]
    order: tuple[UnaryExpression[Any], ...]
    if query.by_rank:
        order = (rank.desc(), position.desc())
        columns.append(rank.label("rank"))
    else:
        # The rank of the page's rows only is asked for afterwards
        # (`rank_statement`): here it would be worked out for every match.
        order = (position.desc(),)
    page = (
        select(*columns)
        .select_from(source)
        .where(*conditions)
        .order_by(*order)
        .limit(query.limit + 1)
    )
    return count, page


def rank_statement(postgres: bool, text: str, positions: Sequence[int]) -> Select[Any]:
    """The rank of each of the rows at `positions` (which match `text`)."""
    match, rank, source = _match(postgres, text)
    position = event_search.c.stream_ordering
    return (
        select(position, rank.label("rank"))
        .select_from(source)
        .where(match, position.in_(list(positions)))
    )


class SearchStore(Store):
    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def search(self, query: SearchQuery) -> SearchPage:
        if not query.ranges or not query.keys or query.limit <= 0:
            return SearchPage([], False, 0)
        async with self.read() as conn:
            text = await self.full_text_query(conn, query.term)
            if text is None:
                return SearchPage([], False, 0)
            count, page = search_statements(self._postgres, query, text)
            total = await conn.scalar(count)
            rows = list((await conn.execute(page)).all())
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            if query.by_rank:
                ranks = {int(r.stream_ordering): r.rank for r in rows}
            elif rows:
                positions = [int(r.stream_ordering) for r in rows]
                ranked = await conn.execute(rank_statement(self._postgres, text, positions))
                ranks = {int(r.stream_ordering): r.rank for r in ranked}
            else:
                ranks = {}
        hits = [
            SearchHit(
                int(r.stream_ordering),
                r.event_id,
                r.room_id,
                float(ranks.get(int(r.stream_ordering)) or 0.0),
            )
            for r in rows
        ]
        return SearchPage(hits, more, int(total or 0))

    async def full_text_query(self, conn: AsyncConnection, term: str) -> str | None:
        """The search term as the database's full-text query (None: no words).
        On PostgreSQL the words are split by the parser that indexed the text."""
        words = term.replace("\x00", " ").split()[:MAX_TERMS]
        term = " ".join(w[:MAX_WORD_LENGTH] for w in words)
        if not self._postgres:
            return _fts5_query(term)
        lexemes = await conn.scalar(
            select(func.tsvector_to_array(func.to_tsvector(_PG_CONFIG, term)))
        )
        return _tsquery_text(list(lexemes or []))

"""Writing rows to several tables in one PostgreSQL statement.

A batch of events touches up to ten tables. Written table by table inside a
transaction that is a dozen round trips (BEGIN and COMMIT included), each one
paying the driver's and SQLAlchemy's overhead. PostgreSQL can do it in one:
each table's rows travel as one array per column, a data-modifying CTE per
table unnests them, and a single statement run outside a transaction commits
(or fails) as a whole on its own.

The statement text is fixed, built once from the table definitions; the rows
only ever travel as bound parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Executable,
    Integer,
    String,
    Table,
    Text,
    TextClause,
    and_,
    bindparam,
    delete,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.base import upsert_many

_ARRAY_TYPES: tuple[tuple[type, str], ...] = (
    (BigInteger, "bigint[]"),
    (Integer, "integer[]"),
    (Boolean, "boolean[]"),
    (String, "text[]"),
    (Text, "text[]"),
)


@dataclass(frozen=True)
class TableWrite:
    """Rows going to one table: inserted, upserted (on conflict of `keys`,
    the other columns are replaced) or deleted (rows matching on `keys`).
    `label` names the write (and its rows) when one table has two writes."""

    table: Table
    kind: Literal["insert", "upsert", "delete"] = "insert"
    keys: tuple[str, ...] = ()
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.table.name

    @property
    def columns(self) -> tuple[str, ...]:
        if self.kind == "delete":
            return self.keys
        return tuple(column.name for column in self.table.columns)

    def statement(self, connection: AsyncConnection) -> Executable:
        """This write alone, to run with its list of rows (any database);
        built once per dialect, as building costs more than running it."""
        key = (self, connection.dialect.name)
        statement = _SINGLE_STATEMENTS.get(key)
        if statement is None:
            statement = _SINGLE_STATEMENTS[key] = self._build_statement(connection)
        return statement

    def _build_statement(self, connection: AsyncConnection) -> Executable:
        if self.kind == "delete":
            return delete(self.table).where(
                and_(*(self.table.c[key] == bindparam(key) for key in self.keys))
            )
        if self.kind == "upsert":
            return upsert_many(connection, self.table, self.keys)
        return insert(self.table)


_SINGLE_STATEMENTS: dict[tuple[TableWrite, str], Executable] = {}


def _array_type(table: Table, column: str) -> str:
    column_type = table.c[column].type
    for kind, array in _ARRAY_TYPES:
        if isinstance(column_type, kind):
            return array
    raise TypeError(f"no array type for {table.name}.{column} ({column_type!r})")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class MultiTableWrite:
    """One statement making all of `writes`. They all see the same snapshot,
    so none may depend on another's rows (a delete cannot remove rows that an
    insert of the same statement adds)."""

    def __init__(self, writes: Sequence[TableWrite]) -> None:
        self._writes = tuple(writes)
        names = [w.name for w in self._writes]
        if len(set(names)) != len(names):
            raise ValueError("two writes with the same name")
        parts = [f"w{index} AS ({self._sql(write)})" for index, write in enumerate(self._writes)]
        self.statement: TextClause = text("WITH " + ",\n".join(parts) + "\nSELECT 1")
        # (write name, [(column, parameter name)]), worked out once: this runs per batch.
        self._parameter_names = [
            (write.name, [(c, self._parameter(write, c)) for c in write.columns])
            for write in self._writes
        ]

    @staticmethod
    def _parameter(write: TableWrite, column: str) -> str:
        return f"{write.name}__{column}"

    def _unnest(self, write: TableWrite) -> str:
        arrays = ", ".join(
            f"CAST(:{self._parameter(write, c)} AS {_array_type(write.table, c)})"
            for c in write.columns
        )
        return f"unnest({arrays})"

    def _sql(self, write: TableWrite) -> str:
        table = _quoted(write.table.name)
        columns = ", ".join(_quoted(c) for c in write.columns)
        if write.kind == "delete":
            match = " AND ".join(f"t.{_quoted(c)} = d.{_quoted(c)}" for c in write.keys)
            rows = f"{self._unnest(write)} AS d({columns})"
            return f"DELETE FROM {table} AS t USING {rows} WHERE {match}"
        sql = f"INSERT INTO {table} ({columns}) SELECT * FROM {self._unnest(write)}"
        if write.kind == "upsert":
            updates = ", ".join(
                f"{_quoted(c)} = EXCLUDED.{_quoted(c)}"
                for c in write.columns
                if c not in write.keys
            )
            keys = ", ".join(_quoted(k) for k in write.keys)
            sql += f" ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        return sql

    def parameters(self, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, list[Any]]:
        """The bound parameters for `rows` (by write name; a write left out
        has no rows): each column of each write as one list."""
        parameters: dict[str, list[Any]] = {}
        for name, columns in self._parameter_names:
            table_rows = rows.get(name, ())
            for column, parameter in columns:
                parameters[parameter] = [row[column] for row in table_rows]
        return parameters

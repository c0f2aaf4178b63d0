"""Telling a database outage from a bug.

While PostgreSQL (or the SQLite file) cannot be reached, requests answer
`503 M_UNKNOWN` ("try again shortly") instead of `500`: the spec defines no
errcode for this and tells clients that see M_UNKNOWN to go by the status.
Nothing needs restarting afterwards: a dead pooled connection fails its
statement, SQLAlchemy invalidates the pool, and the next checkout connects
anew."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from homeserver.errors import MatrixError

RETRY_AFTER_SECONDS = 1
_MAX_CHAIN = 8


def database_unavailable() -> MatrixError:
    return MatrixError(
        503, "M_UNKNOWN", "The database is unavailable at the moment; try again shortly"
    )


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, means that the database
    could not be reached (as opposed to a statement that is wrong)."""
    seen: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return False
        if _is_outage(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError):
        # OperationalError: the server went away, refuses connections, is
        # shutting down; SQLite cannot open, read or lock its file.
        # InterfaceError: the driver's connection is closed.
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    if isinstance(error, sa_exc.TimeoutError):
        return True  # no pooled connection came free in time
    if isinstance(error, OSError | TimeoutError):
        # asyncpg's connect errors (refused, unreachable, timed out) reach us
        # unwrapped; only count those raised while the pool was connecting.
        return _raised_inside_sqlalchemy(error)
    return False


def _raised_inside_sqlalchemy(error: BaseException) -> bool:
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith("sqlalchemy."):
            return True
        frame = frame.tb_next
    return False

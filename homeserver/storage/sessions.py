"""Sessions as the token service sees them: the `sessions` row, what it was
granted (`session_grants`) and its refresh tokens, rotated atomically.

Whatever ends sessions is announced on `AuthChanges` after it commits
(`storage/auth_changes.py`), so that cached access tokens die with them."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from homeserver.storage.auth_changes import AuthChanges
from homeserver.storage.base import Store
from homeserver.storage.tables import devices, refresh_tokens, session_grants, sessions

ACTIVE = "active"
ROTATED = "rotated"
CONSUMED = "consumed"
DISCARDED = "discarded"
REVOKED = "revoked"


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    user_id: str
    device_id: str
    expires_ts: int
    revoked: bool
    created_ts: int
    # None: a session from before OAuth (no session_grants row).
    scope: str | None
    client_id: str | None
    pending_access_jti: str | None

    @property
    def legacy(self) -> bool:
        return self.scope is None


@dataclass(frozen=True)
class NewSession:
    session_id: str
    user_id: str
    device_id: str
    client_id: str | None
    scope: str
    expires_ts: int
    device_display_name: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class NewRefreshToken:
    token_hash: str
    access_jti: str
    expires_ts: int


@dataclass(frozen=True)
class RefreshTokenInfo:
    token_hash: str
    state: str
    expires_ts: int
    session: SessionInfo


class Rotation(enum.Enum):
    ROTATED = "rotated"
    # An already-consumed token came back: the session has been revoked.
    REUSED = "reused"
    INVALID = "invalid"


_SESSION_COLUMNS = (
    sessions.c.session_id,
    sessions.c.user_id,
    sessions.c.device_id,
    sessions.c.expires_ts,
    sessions.c.revoked_ts,
    sessions.c.created_ts,
    session_grants.c.scope,
    session_grants.c.client_id,
    session_grants.c.pending_access_jti,
)
_SESSION_JOIN = sessions.outerjoin(
    session_grants, session_grants.c.session_id == sessions.c.session_id
)


def _session(r: Any) -> SessionInfo:
    return SessionInfo(
        session_id=r.session_id,
        user_id=r.user_id,
        device_id=r.device_id,
        expires_ts=r.expires_ts,
        revoked=r.revoked_ts is not None,
        created_ts=r.created_ts,
        scope=r.scope,
        client_id=r.client_id,
        pending_access_jti=r.pending_access_jti,
    )


class SessionStore(Store):
    def __init__(
        self, engine: AsyncEngine, write_lock: asyncio.Lock | None, changes: AuthChanges
    ) -> None:
        super().__init__(engine, write_lock)
        self._changes = changes

    async def create(
        self,
        session: NewSession,
        refresh: NewRefreshToken | None,
        now: int,
        *,
        replace_device_sessions: bool = False,
    ) -> None:
        """Creates the session (and its device, and its first refresh token) in
        one transaction. With `replace_device_sessions`, the device's earlier
        sessions are revoked first, as the OAuth API requires."""
        async with self.write() as conn:
            if replace_device_sessions:
                await conn.execute(
                    update(sessions)
                    .where(
                        sessions.c.user_id == session.user_id,
                        sessions.c.device_id == session.device_id,
                        sessions.c.revoked_ts.is_(None),
                    )
                    .values(revoked_ts=now)
                )
            await self._upsert_device(conn, session, now)
            await conn.execute(
                insert(sessions).values(
                    session_id=session.session_id,
                    user_id=session.user_id,
                    device_id=session.device_id,
                    created_ts=now,
                    expires_ts=session.expires_ts,
                    revoked_ts=None,
                )
            )
            await conn.execute(
                insert(session_grants).values(
                    session_id=session.session_id,
                    client_id=session.client_id,
                    scope=session.scope,
                    pending_access_jti=None,
                )
            )
            if refresh is not None:
                await self._insert_refresh(conn, session.session_id, refresh, now)
        if replace_device_sessions:
            self._changes.changed(session.user_id, [session.device_id])

    @staticmethod
    async def _upsert_device(conn: AsyncConnection, session: NewSession, now: int) -> None:
        where = and_(devices.c.user_id == session.user_id, devices.c.device_id == session.device_id)
        exists = await conn.scalar(select(devices.c.device_id).where(where))
        if exists is None:
            await conn.execute(
                insert(devices).values(
                    user_id=session.user_id,
                    device_id=session.device_id,
                    display_name=session.device_display_name,
                    created_ts=now,
                    last_seen_ts=now,
                    last_seen_ip=session.ip,
                )
            )
        else:
            await conn.execute(
                update(devices).where(where).values(last_seen_ts=now, last_seen_ip=session.ip)
            )

    @staticmethod
    async def _insert_refresh(
        conn: AsyncConnection, session_id: str, refresh: NewRefreshToken, now: int
    ) -> None:
        await conn.execute(
            insert(refresh_tokens).values(
                token_hash=refresh.token_hash,
                session_id=session_id,
                state=ACTIVE,
                access_jti=refresh.access_jti,
                created_ts=now,
                expires_ts=refresh.expires_ts,
            )
        )

    async def get(self, session_id: str) -> SessionInfo | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(*_SESSION_COLUMNS)
                    .select_from(_SESSION_JOIN)
                    .where(sessions.c.session_id == session_id)
                )
            ).first()
        return None if row is None else _session(row)

    async def list_live(self, user_id: str, now: int) -> list[SessionInfo]:
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(*_SESSION_COLUMNS)
                    .select_from(_SESSION_JOIN)
                    .where(
                        sessions.c.user_id == user_id,
                        sessions.c.revoked_ts.is_(None),
                        sessions.c.expires_ts > now,
                    )
                    .order_by(sessions.c.created_ts)
                )
            ).all()
        return [_session(r) for r in rows]

    async def confirm_access(self, session_id: str, access_jti: str) -> None:
        """The access token from the latest refresh was used: the refresh token
        it replaced can no longer be retried (using it again is reuse)."""
        async with self.write() as conn:
            result = await conn.execute(
                update(session_grants)
                .where(
                    session_grants.c.session_id == session_id,
                    session_grants.c.pending_access_jti == access_jti,
                )
                .values(pending_access_jti=None)
            )
            if result.rowcount:
                await conn.execute(
                    update(refresh_tokens)
                    .where(
                        refresh_tokens.c.session_id == session_id,
                        refresh_tokens.c.state == ROTATED,
                    )
                    .values(state=CONSUMED)
                )

    async def get_refresh_token(self, token_hash: str) -> RefreshTokenInfo | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(
                        refresh_tokens.c.token_hash,
                        refresh_tokens.c.state,
                        refresh_tokens.c.expires_ts.label("refresh_expires_ts"),
                        *_SESSION_COLUMNS,
                    )
                    .select_from(
                        _SESSION_JOIN.join(
                            refresh_tokens, refresh_tokens.c.session_id == sessions.c.session_id
                        )
                    )
                    .where(refresh_tokens.c.token_hash == token_hash)
                )
            ).first()
        if row is None:
            return None
        return RefreshTokenInfo(row.token_hash, row.state, row.refresh_expires_ts, _session(row))

    async def rotate_refresh_token(
        self,
        old_hash: str,
        new: NewRefreshToken,
        session_expires_ts: int,
        now: int,
    ) -> Rotation:
        """Exchanges a refresh token for `new`, in one transaction:

        - the newest token (active) becomes rotated; older rotated ones are
          consumed (using this one proves its predecessors' responses arrived);
        - a rotated token (its successor never used: the response was lost) may
          be retried; the unused successor is discarded;
        - a consumed token is reuse: the session and its device are ended.
        """
        async with self.write() as conn:
            outcome, ended = await self._rotate(conn, old_hash, new, session_expires_ts, now)
        if ended is not None:
            self._changes.changed(ended.user_id, [ended.device_id])
        return outcome

    async def _rotate(
        self,
        conn: AsyncConnection,
        old_hash: str,
        new: NewRefreshToken,
        session_expires_ts: int,
        now: int,
    ) -> tuple[Rotation, SessionInfo | None]:
        """`rotate_refresh_token` in its transaction; the session it ended on reuse."""
        row = (
            await conn.execute(
                select(refresh_tokens.c.session_id, refresh_tokens.c.state)
                .where(
                    refresh_tokens.c.token_hash == old_hash,
                    refresh_tokens.c.expires_ts > now,
                )
                .with_for_update()
            )
        ).first()
        if row is None:
            return Rotation.INVALID, None
        session_id: str = row.session_id
        live = await conn.scalar(
            select(sessions.c.session_id).where(
                sessions.c.session_id == session_id,
                sessions.c.revoked_ts.is_(None),
                sessions.c.expires_ts > now,
            )
        )
        if live is None:
            return Rotation.INVALID, None
        if row.state == CONSUMED:
            return Rotation.REUSED, await self._end_session(conn, session_id, now)
        if row.state == ACTIVE:
            await self._set_state(conn, session_id, ROTATED, CONSUMED)
        elif row.state == ROTATED:
            await self._set_state(conn, session_id, ACTIVE, DISCARDED)
        else:
            return Rotation.INVALID, None
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == old_hash)
            .values(state=ROTATED)
        )
        await self._insert_refresh(conn, session_id, new, now)
        await conn.execute(
            update(session_grants)
            .where(session_grants.c.session_id == session_id)
            .values(pending_access_jti=new.access_jti)
        )
        await conn.execute(
            update(sessions)
            .where(sessions.c.session_id == session_id)
            .values(expires_ts=session_expires_ts)
        )
        return Rotation.ROTATED, None

    @staticmethod
    async def _set_state(conn: AsyncConnection, session_id: str, old: str, new: str) -> None:
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.session_id == session_id, refresh_tokens.c.state == old)
            .values(state=new)
        )

    async def end_session(self, session_id: str, now: int) -> SessionInfo | None:
        """Signs the session's device out: revokes every session on the device
        (access and refresh tokens die with them) and removes the device."""
        async with self.write() as conn:
            ended = await self._end_session(conn, session_id, now)
        if ended is not None:
            self._changes.changed(ended.user_id, [ended.device_id])
        return ended

    async def _end_session(
        self, conn: AsyncConnection, session_id: str, now: int
    ) -> SessionInfo | None:
        row = (
            await conn.execute(
                select(*_SESSION_COLUMNS)
                .select_from(_SESSION_JOIN)
                .where(sessions.c.session_id == session_id)
            )
        ).first()
        if row is None:
            return None
        info = _session(row)
        device_sessions = select(sessions.c.session_id).where(
            sessions.c.user_id == info.user_id, sessions.c.device_id == info.device_id
        )
        await conn.execute(
            update(sessions)
            .where(sessions.c.session_id.in_(device_sessions), sessions.c.revoked_ts.is_(None))
            .values(revoked_ts=now)
        )
        await conn.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.session_id.in_(device_sessions),
                refresh_tokens.c.state.in_((ACTIVE, ROTATED)),
            )
            .values(state=REVOKED)
        )
        await conn.execute(
            delete(devices).where(
                devices.c.user_id == info.user_id, devices.c.device_id == info.device_id
            )
        )
        return info

    async def purge(self, now: int) -> int:
        """Deletes refresh tokens that can no longer be used."""
        async with self.write() as conn:
            result = await conn.execute(
                delete(refresh_tokens).where(refresh_tokens.c.expires_ts <= now)
            )
        self._changes.purged(now)
        return int(result.rowcount or 0)

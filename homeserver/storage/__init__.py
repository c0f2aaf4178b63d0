"""The storage layer: the only package that knows tables and SQL."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from homeserver.storage.account_data import AccountDataStore
from homeserver.storage.auth_changes import AuthChanges
from homeserver.storage.engine import create_engine, run_migrations
from homeserver.storage.events import EventStore
from homeserver.storage.federation_rooms import FederationRoomStore
from homeserver.storage.oauth import OAuthStore
from homeserver.storage.presence import PresenceStore
from homeserver.storage.receipts import ReceiptStore
from homeserver.storage.server_keys import ServerKeyStore
from homeserver.storage.sessions import SessionStore
from homeserver.storage.users import UserStore


class Storage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Sessions ended, users changed: for the access-token cache.
        self.auth_changes = AuthChanges()
        self.users = UserStore(engine, write_lock, self.auth_changes)
        self.sessions = SessionStore(engine, write_lock, self.auth_changes)
        self.oauth = OAuthStore(engine, write_lock)
        self.events = EventStore(engine, write_lock)
        self.account_data = AccountDataStore(engine, write_lock)
        self.receipts = ReceiptStore(engine, write_lock)
        self.presence = PresenceStore(engine, write_lock)
        self.server_keys = ServerKeyStore(engine, write_lock)
        self.federation_rooms = FederationRoomStore(engine, write_lock)

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Storage:
        engine = create_engine(url)
        if migrate:
            await run_migrations(engine)
        return cls(engine)

    async def max_stream_position(self) -> int:
        return max(
            await self.events.get_max_stream_ordering(),
            await self.account_data.get_max_stream_ordering(),
            await self.receipts.get_max_stream_ordering(),
        )

    async def close(self) -> None:
        await self.engine.dispose()


__all__ = ["Storage"]

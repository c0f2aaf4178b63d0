"""The storage layer: the only package that knows tables and SQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from homeserver.storage.account_data import AccountDataStore
from homeserver.storage.auth_changes import AuthChanges
from homeserver.storage.e2ee_keys import E2eeKeyStore
from homeserver.storage.engine import create_engine, run_migrations
from homeserver.storage.events import EventStore
from homeserver.storage.federation_rooms import FederationRoomStore
from homeserver.storage.key_backup import KeyBackupStore
from homeserver.storage.media import MediaStore
from homeserver.storage.oauth import OAuthStore
from homeserver.storage.presence import PresenceStore
from homeserver.storage.receipts import ReceiptStore
from homeserver.storage.search import SearchStore
from homeserver.storage.server_keys import ServerKeyStore
from homeserver.storage.sessions import SessionStore
from homeserver.storage.to_device import ToDeviceStore
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
        self.e2ee_keys = E2eeKeyStore(engine, write_lock)
        self.to_device = ToDeviceStore(engine, write_lock)
        self.key_backup = KeyBackupStore(engine, write_lock)
        self.search = SearchStore(engine, write_lock)
        self.media = MediaStore(engine, write_lock)
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
            await self.e2ee_keys.get_max_stream_ordering(),
            await self.to_device.get_max_stream_ordering(),
        )

    async def ping(self) -> None:
        """A trivial query: raises if the database cannot be reached."""
        async with self.events.read() as conn:
            await conn.execute(select(literal(1)))

    async def close(self) -> None:
        await self.engine.dispose()


__all__ = ["Storage"]

"""Other servers' signing keys (federation), and their last key answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import server_key_responses, server_keys


@dataclass(frozen=True)
class StoredServerKey:
    server_name: str
    key_id: str
    verify_key: str  # unpadded base64
    valid_until_ts: int
    expired_ts: int | None  # set for keys the server no longer uses
    fetched_ts: int


@dataclass(frozen=True)
class StoredKeyResponse:
    server_name: str
    response_json: str
    valid_until_ts: int
    fetched_ts: int


class ServerKeyStore(Store):
    async def save(
        self, keys: Sequence[StoredServerKey], response: StoredKeyResponse | None
    ) -> None:
        """Stores (replaces) the given keys and the answer they came in, in one
        transaction. Keys the answer no longer lists are kept."""
        async with self.write() as conn:
            for key in keys:
                await conn.execute(
                    upsert(
                        conn,
                        server_keys,
                        {
                            "server_name": key.server_name,
                            "key_id": key.key_id,
                            "verify_key": key.verify_key,
                            "valid_until_ts": key.valid_until_ts,
                            "expired_ts": key.expired_ts,
                            "fetched_ts": key.fetched_ts,
                        },
                        ("server_name", "key_id"),
                    )
                )
            if response is not None:
                await conn.execute(
                    upsert(
                        conn,
                        server_key_responses,
                        {
                            "server_name": response.server_name,
                            "response_json": response.response_json,
                            "valid_until_ts": response.valid_until_ts,
                            "fetched_ts": response.fetched_ts,
                        },
                        ("server_name",),
                    )
                )

    async def get_keys(self, server_name: str) -> list[StoredServerKey]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(server_keys).where(server_keys.c.server_name == server_name)
            )
            return [
                StoredServerKey(
                    r.server_name,
                    r.key_id,
                    r.verify_key,
                    int(r.valid_until_ts),
                    None if r.expired_ts is None else int(r.expired_ts),
                    int(r.fetched_ts),
                )
                for r in rows
            ]

    async def get_response(self, server_name: str) -> StoredKeyResponse | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(server_key_responses).where(
                        server_key_responses.c.server_name == server_name
                    )
                )
            ).first()
        if row is None:
            return None
        return StoredKeyResponse(
            row.server_name, row.response_json, int(row.valid_until_ts), int(row.fetched_ts)
        )

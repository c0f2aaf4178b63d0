"""A lean client of our WebSocket sync stream (spec/websocket.md): start frame,
`sync` frames acknowledged by `seq`, pings answered, `send` requests matched to
their `send_result` by `req_id`. No schema checks: the bench's client must cost
as little CPU as it can."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.bench.matrix import SYNC_FILTER, User

SOCKET_PATH = "/_matrix/client/unstable/homeserver.sync/ws"
PROTOCOL = "homeserver.sync.v1"


class StreamError(Exception):
    pass


class SyncStream:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.next_batch: str | None = None
        self._req_ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @classmethod
    async def connect(
        cls,
        base_url: str,
        user: User,
        since: str | None,
        *,
        sync_filter: dict[str, Any] | None = None,
        open_timeout: float = 60.0,
        set_presence: str = "online",
    ) -> SyncStream:
        url = base_url.replace("http://", "ws://") + SOCKET_PATH
        connection = await websockets.connect(
            url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            ping_interval=None,
            max_size=2**24,
            open_timeout=open_timeout,
            compression=None,
        )
        stream = cls(connection)
        start: dict[str, Any] = {
            "type": "start",
            "access_token": user.access_token,
            "filter": sync_filter if sync_filter is not None else SYNC_FILTER,
            "set_presence": set_presence,
        }
        if since is not None:
            start["since"] = since
        await stream._send(start)
        async with asyncio.timeout(open_timeout):
            frame = orjson.loads(await connection.recv())
        if frame.get("type") != "ready":
            await connection.close()
            raise StreamError(f"expected ready, got {frame}")
        return stream

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def run(self, on_sync: Callable[[dict[str, Any]], None]) -> None:
        """Reads frames until the connection closes: each `sync` frame's data
        goes to `on_sync` and is acknowledged; answers go to their requests."""
        async for raw in self.connection:
            frame = orjson.loads(raw)
            kind = frame.get("type")
            if kind == "sync":
                self.next_batch = frame["next_batch"]
                on_sync(frame["data"])
                await self._send({"type": "ack", "seq": frame["seq"]})
            elif kind == "ping":
                await self._send({"type": "pong"})
            elif "req_id" in frame:
                waiter = self._waiting.pop(str(frame["req_id"]), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
            elif kind == "resync":
                raise StreamError("server asked for a resync")

    async def send_message(self, room_id: str, txn_id: str, body: str) -> str:
        """Sends over the socket; needs `run` going to receive the answer."""
        req_id = f"r{next(self._req_ids)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[req_id] = waiter
        await self._send(
            {
                "type": "send",
                "req_id": req_id,
                "room_id": room_id,
                "txn_id": txn_id,
                "content": {"msgtype": "m.text", "body": body},
            }
        )
        answer = await waiter
        if answer.get("type") != "send_result":
            raise StreamError(f"send failed: {answer}")
        return str(answer["event_id"])

    async def close(self) -> None:
        await self.connection.close()

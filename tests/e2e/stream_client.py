"""A WebSocket sync stream client for the tests (the `websockets` package),
checking every frame the server sends against spec/openapi.yaml."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.contract import validator_for_pointer

SOCKET_PATH = "/_matrix/client/unstable/homeserver.sync/ws"
_FRAME_SCHEMA = "#/components/schemas/StreamServerFrame"
_req_ids = itertools.count(1)


def check_frame(frame: dict[str, Any]) -> None:
    errors = [e.message for e in validator_for_pointer(_FRAME_SCHEMA).iter_errors(frame)]
    assert not errors, f"frame does not match StreamServerFrame: {errors}\n{frame}"


class StreamClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.next_batch: str | None = None
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls,
        base_url: str,
        access_token: str | None,
        *,
        since: str | None = None,
        sync_filter: Any = None,
        subprotocol_token: bool = False,
        max_size: int | None = 2**22,
    ) -> StreamClient:
        url = base_url.replace("http://", "ws://") + SOCKET_PATH
        protocols: list[Any] = ["homeserver.sync.v1"]
        if subprotocol_token and access_token:
            protocols.append(f"bearer.{access_token}")
        connection = await websockets.connect(
            url, subprotocols=protocols, max_size=max_size, ping_interval=None
        )
        client = cls(connection)
        start: dict[str, Any] = {"type": "start"}
        if access_token and not subprotocol_token:
            start["access_token"] = access_token
        if since:
            start["since"] = since
        if sync_filter is not None:
            start["filter"] = sync_filter
        await client.send(start)
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def frame(self, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            raw = await self.connection.recv()
        frame = orjson.loads(raw)
        check_frame(frame)
        self.frames.append(frame)
        return dict(frame)

    async def expect(self, frame_type: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame of that type (answering pings on the way)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout)
                if frame["type"] == frame_type:
                    return frame
                if frame["type"] == "ping":
                    await self.send({"type": "pong"})

    async def sync(self, timeout: float = 10.0, *, ack: bool = True) -> dict[str, Any]:
        """The next sync frame's data; acknowledges it and remembers next_batch."""
        frame = await self.expect("sync", timeout)
        self.next_batch = frame["next_batch"]
        if ack:
            await self.send({"type": "ack", "seq": frame["seq"]})
        return dict(frame["data"])

    async def sync_until(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                data = await self.sync(timeout)
                if predicate(data):
                    return data

    async def request(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Sends a request frame and returns its answer (send_result or error),
        leaving other frames for later."""
        req_id = f"r{next(_req_ids)}"
        await self.send({**frame, "req_id": req_id})
        pending: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    answer = await self.frame(timeout)
                    if answer.get("req_id") == req_id:
                        return answer
                    pending.append(answer)
        finally:
            # Sync frames that arrived meanwhile are acknowledged so the window stays open.
            for other in pending:
                if other["type"] == "sync":
                    self.next_batch = other["next_batch"]
                    await self.send({"type": "ack", "seq": other["seq"]})

    async def close(self) -> None:
        await self.connection.close()


def timeline_bodies(data: dict[str, Any], room_id: str) -> list[str]:
    room = data["rooms"]["join"].get(room_id)
    if room is None:
        return []
    return [
        e["content"]["body"]
        for e in room["timeline"]["events"]
        if e["type"] == "m.room.message" and "body" in e["content"]
    ]

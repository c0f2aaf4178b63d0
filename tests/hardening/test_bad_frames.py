"""Malformed frames on the WebSocket sync stream: each gets an error frame
(naming its `req_id` when it has one) and the stream goes on — never a
torn-down connection. In-process, on the test database (SQLite, or
PostgreSQL with TEST_DATABASE_URL, where a NUL character used to close the
stream with 1011)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.e2e.stream_client import SOCKET_PATH, check_frame
from tests.matrix_client import TestClient, User

FRAME_TIMEOUT_SECONDS = 10.0

BAD_VALUES: list[Any] = [
    None,
    True,
    -1,
    2**70,
    1.5,
    "",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "!" + "a" * 300 + ":localhost",
    [],
    [None, {}],
    {},
    {"\x00": 1},
]
# Frames of each kind a client may send, valid but for the field replaced.
TEMPLATES: dict[str, dict[str, Any]] = {
    "send": {"room_id": "ROOM", "txn_id": "t", "content": {"msgtype": "m.text", "body": "hi"}},
    "typing": {"room_id": "ROOM", "typing": True, "timeout": 1000},
    "receipt": {"room_id": "ROOM", "event_id": "EVENT", "receipt_type": "m.read"},
    "focus": {"room_id": "ROOM", "focused": True},
    "ack": {"seq": 1},
}
REQUEST_KINDS = ("send", "typing", "receipt")


class Stream:
    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def send(self, frame: Any) -> None:
        await self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next_frame(self) -> dict[str, Any]:
        """The next frame that is not a sync (syncs are acknowledged) or ping."""
        while True:
            raw = await asyncio.wait_for(self.socket.receive(), FRAME_TIMEOUT_SECONDS)
            frame = json.loads(raw)
            check_frame(frame)
            if frame["type"] == "sync":
                await self.send({"type": "ack", "seq": frame["seq"]})
            elif frame["type"] != "ping":
                return dict(frame)


async def _open(client: TestClient, user: User) -> tuple[Any, Stream]:
    context = client._client.websocket(SOCKET_PATH, subprotocols=["homeserver.sync.v1"])
    socket = await context.__aenter__()
    stream = Stream(socket)
    await stream.send({"type": "start", "access_token": user.access_token})
    ready = await stream.next_frame()
    assert ready["type"] == "ready", ready
    return context, stream


def _bad_frames(kind: str, room_id: str, event_id: str) -> list[dict[str, Any]]:
    """Frames of `kind`, each with one field replaced by a bad value."""
    names = {"ROOM": room_id, "EVENT": event_id}
    template = {k: names.get(v, v) if isinstance(v, str) else v for k, v in TEMPLATES[kind].items()}
    frames = []
    for field in template:
        for index, value in enumerate(BAD_VALUES):
            frame = {"type": kind, **template, field: value, "req_id": f"{kind}-{field}-{index}"}
            if kind == "send" and field != "txn_id":
                frame["txn_id"] = f"{field}-{index}"
            frames.append(frame)
    return frames


def _carries_nul(frame: dict[str, Any]) -> bool:
    return "\x00" in json.dumps(frame, ensure_ascii=False)


async def _sentinel(stream: Stream, room_id: str, name: str) -> list[dict[str, Any]]:
    """Sends a good `send` and returns every frame until its result: requests
    run in order, so all earlier ones have been answered by then."""
    await stream.send(
        {
            "type": "send",
            "req_id": name,
            "room_id": room_id,
            "txn_id": name,
            "content": {"msgtype": "m.text", "body": name},
        }
    )
    frames = []
    while True:
        frame = await stream.next_frame()
        if frame.get("req_id") == name:
            assert frame["type"] == "send_result", frame
            return frames
        frames.append(frame)


async def test_bad_frames_get_error_frames_and_the_stream_goes_on(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Frames")
    event_id = await client.send_text(alice, room_id, "hello")
    context, stream = await _open(client, alice)
    try:
        # Not frames at all: each answered (no req_id to name), nothing closes.
        for raw in ("not json", "[]", '"x"', '{"type": 5}', '{"a": "\\ud800"}', "[" * 2000):
            await stream.send(raw)
            answer = await stream.next_frame()
            assert answer["type"] == "error", answer
            assert answer["errcode"] in ("M_NOT_JSON", "M_BAD_JSON"), answer
        for kind in TEMPLATES:
            frames = _bad_frames(kind, room_id, event_id)
            for frame in frames:
                await stream.send(frame)
            answers = await _sentinel(stream, room_id, f"sentinel-{kind}")
            by_req_id = {a.get("req_id"): a for a in answers}
            for frame in frames:
                answer = by_req_id.get(frame["req_id"])
                if answer is not None and answer["type"] == "error":
                    # A Matrix error about the input, never an internal one.
                    assert answer["errcode"] != "M_UNKNOWN", (frame, answer)
                    assert isinstance(answer["error"], str)
                if _carries_nul(frame) and kind != "ack":
                    assert answer is not None, f"no answer to {frame}"
                    assert answer["type"] == "error", (frame, answer)
                    assert answer["errcode"] == "M_BAD_JSON", (frame, answer)
            stray = [a for a in answers if a["type"] == "error" and a.get("errcode") == "M_UNKNOWN"]
            assert not stray, stray
    finally:
        await context.__aexit__(None, None, None)

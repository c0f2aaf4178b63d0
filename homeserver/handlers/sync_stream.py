"""The WebSocket sync stream: /sync deltas pushed as they happen, over one
long-lived connection, with explicit acknowledgements.

The stream is the /sync token stream: every `sync` frame carries the sync
response between the previous token and its `next_batch`, computed by the same
`SyncHandler` that answers long-poll /sync. A client that reconnects with the
last `next_batch` it processed gets exactly what it missed, in order.

Frames from the server carry a sequence number; the client acknowledges them.
At most `window` frames are unacknowledged at once: a slow reader does not make
the server queue deltas (it computes the next one, covering everything since
the last, only when the reader has caught up), and a reader that stops
acknowledging for `stall_seconds` is told to resync and disconnected, so it
never holds memory or stalls anyone else. Heartbeats (`ping`/`pong`) detect
dead peers; the access token is checked again every other heartbeat, so logging out
ends the stream too.

An idle connection costs one parked task (the sync wait) besides the one
running `run()` (which reads): heartbeats are event-loop timers that start a
short-lived task only to send, and client requests get a task only while some
are queued. Ten thousand idle sockets fit in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson

from homeserver.errors import MatrixError
from homeserver.handlers.client_send import check_txn_id, send_client_event
from homeserver.handlers.filters import SyncFilter
from homeserver.handlers.free_text import NUL_MESSAGE, has_nul
from homeserver.handlers.tokens import Requester
from homeserver.server import HomeServer
from homeserver.streams.tokens import StreamToken

logger = logging.getLogger(__name__)

PROTOCOL = "homeserver.sync.v1"
TOKEN_SUBPROTOCOL_PREFIX = "bearer."

CLOSE_UNAUTHORIZED = 4001
CLOSE_HEARTBEAT_TIMEOUT = 4002
CLOSE_PROTOCOL_ERROR = 4003
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_LARGE = 1009
CLOSE_GOING_AWAY = 1001
# An oversized frame up to this many times the limit is still read for its req_id.
OVERSIZED_FRAME_PARSE_FACTOR = 16

# Deltas computed at once by all the streams of a process. A change seen by
# thousands of idle sockets (a presence change) wakes them all together: they
# queue here, in memory, instead of for a database connection, where waits
# time out.
CONCURRENT_DELTAS = 16
_delta_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _delta_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _delta_gates.get(loop)
    if gate is None:
        gate = _delta_gates[loop] = asyncio.Semaphore(CONCURRENT_DELTAS)
    return gate


@dataclass(frozen=True)
class StreamSettings:
    window: int = 16
    stall_seconds: float = 60.0
    heartbeat_seconds: float = 25.0
    dead_after_seconds: float = 75.0
    start_timeout_seconds: float = 10.0
    max_frame_bytes: int = 65_536
    # An idle stream waits this long between (cheap, empty) wake-ups.
    wait_seconds: float = 300.0
    # Client requests (send, typing, receipt) queued at most.
    max_queued_requests: int = 64
    # The access token is checked again every this many heartbeats.
    token_check_heartbeats: int = 2


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


Send = Callable[[str], Awaitable[None]]
Receive = Callable[[], Awaitable[str | bytes]]


def _error_frame(error: MatrixError, req_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", **error.to_json()}
    if req_id is not None:
        frame["req_id"] = req_id
    return frame


def _req_id_of(raw: str | bytes, max_frame_bytes: int) -> Any:
    """The `req_id` of an oversized frame, so the client learns which request
    failed (frames far beyond the limit are not parsed at all)."""
    if len(raw) > OVERSIZED_FRAME_PARSE_FACTOR * max_frame_bytes:
        return None
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    req_id = frame.get("req_id") if isinstance(frame, dict) else None
    return req_id if isinstance(req_id, str | int) and not isinstance(req_id, bool) else None


class SyncStream:
    """One connection. `run()` returns when it ends; the caller closes the
    socket with `close_code`/`close_reason`."""

    def __init__(
        self,
        server: HomeServer,
        send: Send,
        receive: Receive,
        settings: StreamSettings,
        token_from_subprotocol: str | None = None,
    ) -> None:
        self._server = server
        self._send_text = send
        self._receive = receive
        self._settings = settings
        self._subprotocol_token = token_from_subprotocol
        self._access_token = ""
        self._requester: Requester | None = None
        self._seq = 0
        self._acked = 0
        # (seq, to-device position) of sent frames that carried to-device
        # messages: they are deleted once the client acks the frame.
        self._to_device_frames: deque[tuple[int, int]] = deque()
        # Created only while the window is full.
        self._ack_event: asyncio.Event | None = None
        self._last_heard = time.monotonic()
        self._send_lock = asyncio.Lock()
        self._outbox: deque[dict[str, Any]] | None = None  # while requests are queued
        # The task running `run()`, the connection's other tasks (the sync
        # loop, and while they work: a heartbeat, the queued requests), the
        # next heartbeat.
        self._task: asyncio.Task[None] | None = None
        self._helpers: dict[str, asyncio.Task[None]] = {}
        self._beat_timer: asyncio.TimerHandle | None = None
        self._beats = 0
        # Why the connection ends, when something other than the reader ends it.
        self._failure: BaseException | None = None
        self._ending = False
        self.close_code = 1000
        self.close_reason = ""

    # -- the connection ------------------------------------------------------------

    async def run(self) -> None:
        try:
            since, sync_filter, set_presence = await self._start()
        except CloseConnection as exc:
            self.close_code, self.close_reason = exc.code, exc.reason
            return
        requester = self._requester
        assert requester is not None
        presence = self._server.presence
        if set_presence != "offline":
            await presence.connected(requester.user_id)
        self._task = asyncio.current_task()
        self._server.open_streams.add(requester.user_id, requester.device_id, self)
        self._spawn("sync", self._sync_loop(since, sync_filter))
        self._schedule_beat()
        try:
            try:
                await self._read_loop()
            except asyncio.CancelledError:
                if self._failure is None:
                    raise  # cancelled from outside: the client went away
                # `_end` cancelled the read to end the connection.
                assert self._task is not None
                self._task.uncancel()
            except Exception as exc:
                self._failure = exc
            self._ending = True
            self._set_close_code(self._failure, requester)
        finally:
            self._ending = True
            if self._beat_timer is not None:
                self._beat_timer.cancel()
            helpers = list(self._helpers.values())
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(BaseException):
                    await task
            self._server.push.attention.forget(self)
            self._server.open_streams.remove(requester.user_id, self)
            if set_presence != "offline":
                await presence.disconnected(requester.user_id)

    def _set_close_code(self, failure: BaseException | None, requester: Requester) -> None:
        if isinstance(failure, CloseConnection):
            self.close_code, self.close_reason = failure.code, failure.reason
        elif failure is not None and not isinstance(failure, ConnectionError):
            logger.error(
                "sync stream failed",
                exc_info=failure,
                extra={"user_id": requester.user_id, "device_id": requester.device_id},
            )
            self.close_code, self.close_reason = 1011, "internal error"

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"ws-{name}")
        self._helpers[name] = task
        task.add_done_callback(lambda done: self._helper_done(name, done))

    def _helper_done(self, name: str, task: asyncio.Task[None]) -> None:
        if self._helpers.get(name) is task:
            del self._helpers[name]
        if not task.cancelled() and task.exception() is not None:
            self._end(task.exception())

    def _end(self, failure: BaseException | None) -> None:
        """Ends the connection from outside the reader: cancels its read."""
        if self._ending or self._failure is not None or self._task is None:
            return
        self._failure = failure
        self._task.cancel()

    async def _send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            try:
                async with asyncio.timeout(self._settings.stall_seconds):
                    await self._send_text(orjson.dumps(frame).decode())
            except TimeoutError as exc:
                raise CloseConnection(CLOSE_TOO_SLOW, "the connection is not reading") from exc

    async def _receive_frame(self) -> dict[str, Any] | None:
        """The next frame as a JSON object, or None (after telling the client)
        when it was malformed; raises CloseConnection for oversized frames."""
        raw = await self._receive()
        self._last_heard = time.monotonic()
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > self._settings.max_frame_bytes:
            await self._send(
                _error_frame(
                    MatrixError(
                        413,
                        "M_TOO_LARGE",
                        f"Frames are limited to {self._settings.max_frame_bytes} bytes",
                    ),
                    _req_id_of(raw, self._settings.max_frame_bytes),
                )
            )
            raise CloseConnection(CLOSE_TOO_LARGE, "frame too large")
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self._send(_error_frame(MatrixError(400, "M_NOT_JSON", "Frame is not JSON")))
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._send(
                _error_frame(MatrixError(400, "M_BAD_JSON", "A frame is an object with a type"))
            )
            return None
        if has_nul(frame):
            # The same rule as for HTTP bodies (api/input_checks.py).
            req_id = frame.get("req_id")
            await self._send(
                _error_frame(MatrixError(400, "M_BAD_JSON", NUL_MESSAGE), req_id=req_id)
            )
            return None
        return frame

    async def _start(self) -> tuple[StreamToken | None, SyncFilter, str]:
        try:
            async with asyncio.timeout(self._settings.start_timeout_seconds):
                frame = await self._receive_frame()
        except TimeoutError as exc:
            raise CloseConnection(CLOSE_PROTOCOL_ERROR, "no start frame") from exc
        if frame is None or frame["type"] != "start":
            if frame is not None:
                await self._send(
                    _error_frame(MatrixError(400, "M_BAD_JSON", "The first frame must be start"))
                )
            raise CloseConnection(CLOSE_PROTOCOL_ERROR, "expected a start frame")
        try:
            token = frame.get("access_token") or self._subprotocol_token
            if not isinstance(token, str) or not token:
                raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
            self._requester = await self._server.tokens.verify(token)
            self._access_token = token
            since_raw = frame.get("since")
            if since_raw is not None and not isinstance(since_raw, str):
                raise MatrixError(400, "M_INVALID_PARAM", "since must be a string")
            since = StreamToken.parse(since_raw) if since_raw else None
            sync_filter = await self._load_filter(frame.get("filter"))
            set_presence = frame.get("set_presence", "online")
            if set_presence not in ("online", "unavailable", "offline"):
                raise MatrixError(400, "M_INVALID_PARAM", "Unknown set_presence")
        except MatrixError as exc:
            await self._send(_error_frame(exc))
            code = CLOSE_UNAUTHORIZED if exc.status == 401 else CLOSE_PROTOCOL_ERROR
            raise CloseConnection(code, exc.error) from exc
        await self._send(
            {
                "type": "ready",
                "user_id": self._requester.user_id,
                "device_id": self._requester.device_id,
                "window": self._settings.window,
                "heartbeat_ms": int(self._settings.heartbeat_seconds * 1000),
            }
        )
        return since, sync_filter, str(set_presence)

    async def _load_filter(self, raw: Any) -> SyncFilter:
        if raw is None or isinstance(raw, dict):
            return SyncFilter.parse(raw)
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9:
            assert self._requester is not None
            stored = await self._server.storage.account_data.get_filter(
                self._requester.user_id, int(raw)
            )
            if stored is not None:
                return SyncFilter.parse(stored)
        raise MatrixError(400, "M_INVALID_PARAM", "filter must be an object or a filter id")

    # -- server to client ------------------------------------------------------------

    async def _sync_loop(self, since: StreamToken | None, sync_filter: SyncFilter) -> None:
        requester = self._requester
        assert requester is not None
        sync = self._server.sync
        token = since
        # The token the client last received; skipped empty ranges don't move it.
        last_sent = since
        while True:
            await self._wait_for_window()
            if self._server.notifier.closed:
                raise CloseConnection(CLOSE_GOING_AWAY, "the server is restarting")
            # Steps no longer than the timeline limit: the stream never skips events.
            async with _delta_gate():
                result = await sync.wait_for_sync(
                    requester,
                    token,
                    sync_filter,
                    max_step=sync_filter.timeline.timeline_limit(),
                    # The client's own `since` acknowledges; later ones only once acked.
                    acknowledge=token is since,
                )
            if token is not None and result.is_empty():
                token = result.next_batch
                await self._park(requester.user_id, token)
                continue
            self._seq += 1
            if result.e2ee.to_device:
                self._to_device_frames.append((self._seq, result.next_batch.to_device))
            await self._send(
                {
                    "type": "sync",
                    "seq": self._seq,
                    "since": last_sent.serialize() if last_sent else None,
                    "next_batch": result.next_batch.serialize(),
                    "data": result.to_json(),
                }
            )
            token = last_sent = result.next_batch

    async def _park(self, user_id: str, token: StreamToken) -> None:
        """Waits, computing nothing, until something happens for the user after
        `token`. (`wait_for_sync` caps its waits at a long poll's limit: every
        idle socket would compute an empty delta each minute.) Every
        `wait_seconds` the user's rooms are read again, as a long poll would."""
        notifier = self._server.notifier
        while not notifier.closed:
            rooms = await self._server.user_rooms.rooms_for_user(user_id)
            if await notifier.wait(
                user_id, [m.room_id for m in rooms], token, self._settings.wait_seconds
            ):
                return

    async def _wait_for_window(self) -> None:
        deadline = time.monotonic() + self._settings.stall_seconds
        while self._seq - self._acked >= self._settings.window:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._send(
                    {"type": "resync", "reason": "Too far behind: reconnect with your last token"}
                )
                raise CloseConnection(CLOSE_TOO_SLOW, "too far behind")
            self._ack_event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._ack_event.wait()
        self._ack_event = None

    # -- heartbeats ------------------------------------------------------------------

    def _schedule_beat(self) -> None:
        loop = asyncio.get_running_loop()
        self._beat_timer = loop.call_later(self._settings.heartbeat_seconds, self._beat)

    def _beat(self) -> None:
        """A timer, not a task: a task exists only while a ping is sent."""
        if self._ending:
            return
        if time.monotonic() - self._last_heard > self._settings.dead_after_seconds:
            self._end(CloseConnection(CLOSE_HEARTBEAT_TIMEOUT, "no heartbeat"))
            return
        self._schedule_beat()
        if "heartbeat" in self._helpers:
            return  # the last ping is still being sent: the peer is not reading
        self._beats += 1
        check_token = self._beats % self._settings.token_check_heartbeats == 0
        self._spawn("heartbeat", self._heartbeat(check_token))

    async def _heartbeat(self, check_token: bool) -> None:
        if check_token:
            await self._check_token()
        await self._send({"type": "ping", "ts": int(time.time() * 1000)})

    async def _check_token(self) -> None:
        try:
            await self._server.tokens.verify(self._access_token)
        except MatrixError as exc:
            await self._send(_error_frame(exc))
            raise CloseConnection(CLOSE_UNAUTHORIZED, exc.error) from exc

    def recheck_token(self) -> None:
        """The user's sessions changed (a device signed out, the account
        closed): a stream whose token no longer works ends now."""
        if not self._ending and "token-check" not in self._helpers:
            self._spawn("token-check", self._check_token())

    # -- client to server ------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            frame = await self._receive_frame()
            if frame is None:
                continue
            kind = frame["type"]
            if kind == "ack":
                await self._on_ack(frame)
            elif kind == "ping":
                await self._send({"type": "pong"})
            elif kind == "pong":
                pass
            elif kind == "focus":
                await self._on_focus(frame)
            elif kind in ("send", "typing", "receipt"):
                if self._outbox is None:
                    self._outbox = deque()
                if len(self._outbox) < self._settings.max_queued_requests:
                    self._outbox.append(frame)
                    if "requests" not in self._helpers:
                        self._spawn("requests", self._run_requests(self._outbox))
                else:
                    await self._send(
                        _error_frame(
                            MatrixError(
                                429,
                                "M_LIMIT_EXCEEDED",
                                "Too many requests in flight",
                                retry_after_ms=1000,
                            ),
                            frame.get("req_id"),
                        )
                    )
            else:
                await self._send(
                    _error_frame(
                        MatrixError(400, "M_UNRECOGNIZED", f"Unknown frame type {kind[:40]!r}"),
                        frame.get("req_id"),
                    )
                )

    async def _on_focus(self, frame: dict[str, Any]) -> None:
        """Which room the client shows, focused or not: no pushes for it then."""
        assert self._requester is not None
        try:
            self._server.push.attention.on_focus_frame(
                self, self._requester.user_id, self._requester.device_id, frame
            )
        except MatrixError as exc:
            await self._send(_error_frame(exc, frame.get("req_id")))

    async def _on_ack(self, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or seq > self._seq:
            await self._send(
                _error_frame(MatrixError(400, "M_INVALID_PARAM", "ack.seq must be a sent seq"))
            )
            return
        self._acked = max(self._acked, seq)
        if self._ack_event is not None:
            self._ack_event.set()
        received = 0
        while self._to_device_frames and self._to_device_frames[0][0] <= seq:
            received = self._to_device_frames.popleft()[1]
        if received and self._requester is not None:
            await self._server.e2ee.to_device.acknowledge(
                self._requester.user_id, self._requester.device_id, received
            )

    async def _run_requests(self, outbox: deque[dict[str, Any]]) -> None:
        """Client requests run one at a time, in the order they arrived; the
        task ends when none are left."""
        try:
            while outbox:
                await self._run_request(outbox.popleft())
        finally:
            # At once, not in a done callback: a request queued from now on
            # needs a new task.
            if self._helpers.get("requests") is asyncio.current_task():
                del self._helpers["requests"]
                self._outbox = None

    async def _run_request(self, frame: dict[str, Any]) -> None:
        req_id = frame.get("req_id")
        try:
            reply = await self._handle_request(frame)
        except MatrixError as exc:
            await self._send(_error_frame(exc, req_id))
            return
        except Exception:
            # A bug behind one request is that request's failure, as a 500
            # would be over HTTP: the stream itself goes on.
            logger.exception("unexpected error handling a stream request")
            failure = MatrixError(500, "M_UNKNOWN", "Internal server error")
            await self._send(_error_frame(failure, req_id))
            return
        if reply is not None:
            await self._send({"req_id": req_id, **reply})

    async def _handle_request(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        requester = self._requester
        assert requester is not None
        server = self._server
        room_id = frame.get("room_id")
        if not isinstance(room_id, str):
            raise MatrixError(400, "M_MISSING_PARAM", "room_id is required")
        kind = frame["type"]
        if kind == "send":
            return await self._send_event(requester, room_id, frame)
        if kind == "typing":
            typing = frame.get("typing")
            timeout = frame.get("timeout")
            if not isinstance(typing, bool):
                raise MatrixError(400, "M_BAD_JSON", "typing must be true or false")
            if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
                raise MatrixError(400, "M_BAD_JSON", "timeout must be an integer")
            await server.typing.set_typing(room_id, requester.user_id, typing, timeout)
            if typing:
                await server.presence.active(requester.user_id)
            return None
        event_id = frame.get("event_id")
        if not isinstance(event_id, str):
            raise MatrixError(400, "M_MISSING_PARAM", "event_id is required")
        receipt_type = frame.get("receipt_type", "m.read")
        if receipt_type == "m.fully_read":
            await server.receipts.set_fully_read(room_id, requester.user_id, event_id)
        else:
            await server.receipts.post_receipt(
                room_id, requester.user_id, str(receipt_type), event_id
            )
        await server.presence.active(requester.user_id)
        return None

    async def _send_event(
        self, requester: Requester, room_id: str, frame: dict[str, Any]
    ) -> dict[str, Any]:
        txn_id = check_txn_id(frame.get("txn_id"))
        event_type = frame.get("event_type", "m.room.message")
        content = frame.get("content")
        if not isinstance(event_type, str) or not event_type:
            raise MatrixError(400, "M_INVALID_PARAM", "event_type must be a string")
        if not isinstance(content, dict):
            raise MatrixError(400, "M_BAD_JSON", "content must be an object")
        event_id = await send_client_event(
            self._server, requester, room_id, event_type, txn_id, content
        )
        return {"type": "send_result", "event_id": event_id, "txn_id": txn_id}

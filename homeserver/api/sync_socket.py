"""The WebSocket sync stream endpoint (see handlers/sync_stream.py and
spec/websocket.md). The access token comes in the first frame, or as a
`bearer.<token>` subprotocol next to the stream's own, never in the URL."""

from __future__ import annotations

from quart import Blueprint, websocket

from homeserver.api.common import hs
from homeserver.handlers.sync_stream import (
    PROTOCOL,
    TOKEN_SUBPROTOCOL_PREFIX,
    StreamSettings,
    SyncStream,
)

bp = Blueprint("sync_socket", __name__)

SOCKET_PATH = "/_matrix/client/unstable/homeserver.sync/ws"


@bp.websocket(SOCKET_PATH)
async def sync_socket() -> None:
    offered = list(websocket.requested_subprotocols)
    token = next(
        (
            p[len(TOKEN_SUBPROTOCOL_PREFIX) :]
            for p in offered
            if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)
        ),
        None,
    )
    await websocket.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
    server = hs()
    config = server.config
    settings = StreamSettings(
        window=config.stream_window,
        stall_seconds=config.stream_stall_seconds,
        heartbeat_seconds=config.stream_heartbeat_seconds,
        dead_after_seconds=config.stream_heartbeat_seconds * 3,
    )
    stream = SyncStream(server, websocket.send, websocket.receive, settings, token)
    with server.metrics.websocket_streams.track_inprogress():
        await stream.run()
    await websocket.close(stream.close_code, stream.close_reason)

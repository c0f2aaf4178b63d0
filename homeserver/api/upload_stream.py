"""Request bodies of media uploads: streamed, with their own size limit.

Every other request body is limited to `max_request_body_bytes` (the app's
MAX_CONTENT_LENGTH). Uploads get `max_upload_size` instead, and are read from
the client only as fast as the handler writes them to disk: Quart's own
receiver would buffer a whole body in memory as fast as it arrives. An answer
given before the whole body was read (413, 403, 401) closes the connection."""

from __future__ import annotations

import asyncio
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent
from quart.asgi import ASGIHTTPConnection
from quart.wrappers import Body, Request, Response
from werkzeug.exceptions import RequestEntityTooLarge

UPLOAD_PATH = "/_matrix/media/v3/upload"
# How much received but unconsumed body may wait in memory.
BUFFER_BYTES = 1024 * 1024


def is_upload(method: str, path: str) -> bool:
    if method == "POST":
        return path.rstrip("/") == UPLOAD_PATH
    return method == "PUT" and path.startswith(UPLOAD_PATH + "/")


class UploadBody(Body):
    """A body limited in total (not per buffer), which asks for more data only
    while less than BUFFER_BYTES of it waits to be consumed."""

    def __init__(self, expected_content_length: int | None, max_content_length: int | None) -> None:
        super().__init__(expected_content_length, max_content_length)
        self.room = asyncio.Event()
        self._received = 0
        self._abandoned = False
        if self._must_raise is None:
            self.room.set()

    def abandon(self) -> None:
        """Nothing more will be consumed: whatever still comes is dropped."""
        self._abandoned = True
        self.room.set()

    def append(self, data: bytes) -> None:
        if self._abandoned or self._must_raise is not None:
            return
        self._received += len(data)
        limit = self._max_content_length
        if limit is not None and self._received > limit:
            self._must_raise = RequestEntityTooLarge()
            self.room.clear()  # nothing more is read from the client
            self.set_complete()
            return
        super().append(data)
        if len(self._data) >= BUFFER_BYTES:
            self.room.clear()

    @property
    def fully_received(self) -> bool:
        return self._must_raise is None and self._complete.is_set()

    async def __anext__(self) -> bytes:
        data = await super().__anext__()
        if self._must_raise is None:
            self.room.set()
        return data


def close_if_unread(request: Request, response: Response) -> None:
    """An answer before the whole upload was read (over the limit, over the
    quota, no token...) ends the connection: the client learns at once that
    the rest is not wanted, instead of writing into a connection nobody reads."""
    if isinstance(request.body, UploadBody) and not request.body.fully_received:
        response.headers["Connection"] = "close"


def upload_request_class(max_upload_size: int) -> type[Request]:
    class MediaAwareRequest(Request):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if is_upload(self.method, self.path):
                self.max_content_length = max_upload_size
                self.body = UploadBody(self.content_length, max_upload_size)

    return MediaAwareRequest


class BackpressureHTTPConnection(ASGIHTTPConnection):
    """Receives an upload's body only while its buffer has room, and drops
    the rest of it once the answer is on its way."""

    async def handle_request(self, request: Request, send: ASGISendCallable) -> None:
        body = request.body
        if not isinstance(body, UploadBody):
            await super().handle_request(request, send)
            return

        async def send_abandoning(message: ASGISendEvent) -> None:
            # Hypercorn hands the app its disconnect message while sending the
            # end of the response: its queue must not be full then, or the
            # connection and both tasks wait on each other forever.
            if message["type"] == "http.response.start":
                body.abandon()
            await send(message)

        await super().handle_request(request, send_abandoning)

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable) -> None:
        body = request.body
        if not isinstance(body, UploadBody):
            await super().handle_messages(request, receive)
            return
        while True:
            await body.room.wait()
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body.set_complete()
            elif message["type"] == "http.disconnect":
                return

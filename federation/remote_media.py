"""Fetching media of other servers (the repository's RemoteMediaSource):
`GET /_matrix/federation/v1/media/{download,thumbnail}/{mediaId}`, signed,
read as a stream (multipart: the JSON metadata part, then the bytes or a
`Location` to fetch them from). A server that does not know those endpoints
(`404 M_UNRECOGNIZED`) is asked at the deprecated `/_matrix/media/v3`
paths with `allow_remote=false`, as the spec says."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import orjson

from federation.client import (
    FederationClient,
    FederationRequestError,
    FederationTimeout,
    path_with_query,
    quote_segment,
    read_error,
)
from federation.multipart import MultipartError, MultipartReader, boundary_of
from federation.server_names import is_valid_server_name
from homeserver.errors import MatrixError, not_found
from homeserver.handlers.media.remote import RemoteContent

logger = logging.getLogger(__name__)

FEDERATION_MEDIA = "/_matrix/federation/v1/media"
LEGACY_MEDIA = "/_matrix/media/v3"
# How long past the asked-for timeout_ms we wait for the answer to begin.
HEADER_GRACE_SECONDS = 30.0
MAX_METADATA_BYTES = 64 * 1024


def _bad_gateway(origin: str, why: str) -> MatrixError:
    return MatrixError(502, "M_UNKNOWN", f"Could not fetch the media from {origin}: {why}")


def _length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _translate(origin: str, exc: FederationRequestError) -> MatrixError:
    """Another server's failure as the error our client gets."""
    if isinstance(exc, FederationTimeout):
        return MatrixError(504, "M_UNKNOWN", f"{origin} did not answer in time")
    if exc.status == 404:
        return not_found("No such media")
    if exc.status == 504 and exc.errcode == "M_NOT_YET_UPLOADED":
        return MatrixError(504, "M_NOT_YET_UPLOADED", "Content has not yet been uploaded")
    if exc.errcode == "M_TOO_LARGE":
        return MatrixError(502, "M_TOO_LARGE", "Remote content is too large")
    if exc.status == 400 and exc.errcode in ("M_UNKNOWN", "M_INVALID_PARAM"):
        return MatrixError(400, "M_UNKNOWN", "Cannot generate thumbnails for the requested content")
    logger.info("remote media fetch failed", extra={"server": origin, "error": str(exc)})
    return _bad_gateway(origin, str(exc))


async def _guarded(origin: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The bytes as they come; a broken or malformed stream is a 502."""
    try:
        async for chunk in chunks:
            yield chunk
    except (MultipartError, httpx.HTTPError) as exc:
        raise _bad_gateway(origin, f"the answer broke off ({type(exc).__name__})") from exc


class RemoteMedia:
    def __init__(self, client: FederationClient) -> None:
        self._client = client

    def download(
        self, origin: str, media_id: str, timeout_ms: int
    ) -> contextlib.AbstractAsyncContextManager[RemoteContent]:
        query = {"timeout_ms": str(timeout_ms)}
        target = path_with_query(f"{FEDERATION_MEDIA}/download/{quote_segment(media_id)}", query)
        legacy = path_with_query(
            f"{LEGACY_MEDIA}/download/{quote_segment(origin)}/{quote_segment(media_id)}",
            {**query, "allow_remote": "false"},
        )
        return self._fetch(origin, target, legacy, timeout_ms)

    def thumbnail(
        self, origin: str, media_id: str, width: int, height: int, method: str, timeout_ms: int
    ) -> contextlib.AbstractAsyncContextManager[RemoteContent]:
        query = {
            "width": str(width),
            "height": str(height),
            "method": method,
            "timeout_ms": str(timeout_ms),
        }
        target = path_with_query(f"{FEDERATION_MEDIA}/thumbnail/{quote_segment(media_id)}", query)
        legacy = path_with_query(
            f"{LEGACY_MEDIA}/thumbnail/{quote_segment(origin)}/{quote_segment(media_id)}",
            {**query, "allow_remote": "false"},
        )
        return self._fetch(origin, target, legacy, timeout_ms)

    @contextlib.asynccontextmanager
    async def _fetch(
        self, origin: str, target: str, legacy: str, timeout_ms: int
    ) -> AsyncIterator[RemoteContent]:
        if not is_valid_server_name(origin):
            raise not_found("No such media")
        time_limit = timeout_ms / 1000 + HEADER_GRACE_SECONDS
        async with contextlib.AsyncExitStack() as stack:
            try:
                response = await stack.enter_async_context(
                    self._client.stream_get(origin, target, time_limit)
                )
                if not response.is_success:
                    await read_error(response, f"GET {origin}{target.split('?', 1)[0]}")
            except FederationRequestError as exc:
                if not (exc.status in (400, 404, 405) and exc.errcode == "M_UNRECOGNIZED"):
                    raise _translate(origin, exc) from exc
                await stack.aclose()
                async with self._legacy(origin, legacy, time_limit) as content:
                    yield content
                return
            try:
                content = await self._parts(stack, origin, response, time_limit)
            except FederationRequestError as exc:
                raise _translate(origin, exc) from exc
            except (MultipartError, httpx.HTTPError) as exc:
                raise _bad_gateway(origin, f"malformed answer ({exc})") from exc
            yield content

    async def _parts(
        self,
        stack: contextlib.AsyncExitStack,
        origin: str,
        response: httpx.Response,
        time_limit: float,
    ) -> RemoteContent:
        boundary = boundary_of(response.headers.get("content-type"))
        if boundary is None:
            raise MultipartError("the answer is not multipart/mixed")
        reader = MultipartReader(response.aiter_bytes(), boundary)
        if await reader.next_part() is None:
            raise MultipartError("no metadata part")
        try:
            metadata = orjson.loads(await reader.read_body(MAX_METADATA_BYTES))
        except orjson.JSONDecodeError as exc:
            raise MultipartError("the metadata part is not JSON") from exc
        if not isinstance(metadata, dict):
            raise MultipartError("the metadata part is not a JSON object")
        headers = await reader.next_part()
        if headers is None:
            raise MultipartError("no media part")
        location = headers.get("location")
        if location is None:
            return RemoteContent(
                headers.get("content-type"),
                headers.get("content-disposition"),
                _length(headers.get("content-length")),
                _guarded(origin, reader.body()),
            )
        redirected = await stack.enter_async_context(self._client.stream_url(location, time_limit))
        if not redirected.is_success:
            await read_error(redirected, f"GET {location[:200]}")
        return _plain(origin, redirected)

    @contextlib.asynccontextmanager
    async def _legacy(
        self, origin: str, legacy: str, time_limit: float
    ) -> AsyncIterator[RemoteContent]:
        try:
            async with self._client.stream_get(origin, legacy, time_limit) as response:
                if not response.is_success:
                    await read_error(response, f"GET {origin}{legacy.split('?', 1)[0]}")
                yield _plain(origin, response)
        except FederationRequestError as exc:
            raise _translate(origin, exc) from exc


def _plain(origin: str, response: httpx.Response) -> RemoteContent:
    # A compressed answer's Content-Length is not the length of the bytes read.
    encoded = response.headers.get("content-encoding", "identity").strip().lower() != "identity"
    return RemoteContent(
        response.headers.get("content-type"),
        response.headers.get("content-disposition"),
        None if encoded else _length(response.headers.get("content-length")),
        _guarded(origin, response.aiter_bytes()),
    )

"""`GET /_matrix/federation/v1/media/{download,thumbnail}/{mediaId}`: this
server's media for other servers (signed requests), as `multipart/mixed`: an
empty JSON metadata part, then the file. Media this server holds for other
servers is not served on: they must ask its origin."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response

from federation.api.common import signed_request
from federation.multipart import closing, new_boundary, part_head
from homeserver.api.common import hs
from homeserver.api.media_download import thumbnail_args, timeout_ms
from homeserver.handlers.media.repository import MediaBody
from homeserver.handlers.media.serving import content_disposition

bp = Blueprint("federation_media", __name__)

MEDIA = "/_matrix/federation/v1/media"


def _multipart(body: MediaBody, disposition: str) -> Response:
    boundary = new_boundary()
    head = part_head(boundary, {"Content-Type": "application/json"}, first=True) + b"{}"
    head += part_head(
        boundary,
        {
            "Content-Type": body.content_type,
            "Content-Disposition": disposition,
            "Content-Length": str(body.size),
        },
    )
    tail = closing(boundary)
    homeserver = hs()

    async def stream() -> AsyncIterator[bytes]:
        yield head
        if body.data is not None:
            yield body.data
        else:
            async for chunk in homeserver.media.chunks(body):
                yield chunk
        yield tail

    response = Response(stream(), status=200, content_type=f"multipart/mixed; boundary={boundary}")
    response.headers["Content-Length"] = str(len(head) + body.size + len(tail))
    return response


@bp.get(f"{MEDIA}/download/<media_id>")
@signed_request
async def download(media_id: str) -> Response:
    homeserver = hs()
    body = await homeserver.media.download(homeserver.server_name, media_id, timeout_ms())
    return _multipart(body, content_disposition(body.content_type, body.filename))


@bp.get(f"{MEDIA}/thumbnail/<media_id>")
@signed_request
async def thumbnail(media_id: str) -> Response:
    width, height, method, wait_ms = thumbnail_args()
    homeserver = hs()
    body = await homeserver.media.thumbnail(
        homeserver.server_name, media_id, width, height, method, wait_ms
    )
    return _multipart(body, f'inline; filename="{body.filename}"')

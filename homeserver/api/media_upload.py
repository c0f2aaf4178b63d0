"""Uploading media: POST /_matrix/media/v3/upload, POST /_matrix/media/v1/create
and PUT /_matrix/media/v3/upload/{serverName}/{mediaId}. The body is the file
itself, streamed to disk (homeserver/api/upload_stream.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from homeserver.api.common import authenticated, hs, json_response, requester
from homeserver.handlers.media.files import too_large

bp = Blueprint("media_upload", __name__, url_prefix="/_matrix/media")


async def _body_chunks() -> AsyncIterator[bytes]:
    try:
        async for chunk in request.body:
            yield chunk
    except RequestEntityTooLarge as exc:
        raise too_large(hs().config.max_upload_size) from exc


@bp.post("/v3/upload")
@authenticated
async def upload() -> Response:
    hs().media_limiter.check(f"user:{requester().user_id}")
    content_uri = await hs().media.upload(
        requester().user_id,
        _body_chunks(),
        request.headers.get("Content-Type"),
        request.args.get("filename"),
        request.content_length,
    )
    return json_response({"content_uri": content_uri})


@bp.post("/v1/create")
@authenticated
async def create() -> Response:
    hs().media_limiter.check(f"user:{requester().user_id}")
    content_uri, expires_at = await hs().media.create(requester().user_id)
    return json_response({"content_uri": content_uri, "unused_expires_at": expires_at})


@bp.put("/v3/upload/<server_name>/<media_id>")
@authenticated
async def upload_to(server_name: str, media_id: str) -> Response:
    hs().media_limiter.check(f"user:{requester().user_id}")
    await hs().media.upload_to(
        requester().user_id,
        server_name,
        media_id,
        _body_chunks(),
        request.headers.get("Content-Type"),
        request.args.get("filename"),
        request.content_length,
    )
    return json_response({})

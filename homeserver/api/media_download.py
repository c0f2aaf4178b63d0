"""Downloading media: the authenticated /_matrix/client/v1/media/* endpoints
(download, thumbnail, config), and the deprecated /_matrix/media/v3 ones,
frozen as the spec (v1.11) asks: none of our media, all uploaded after
authenticated media existed, is served there."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.common import authenticated, hs, json_response, query_int
from homeserver.errors import invalid_param, missing_param, not_found
from homeserver.handlers.media.repository import (
    DEFAULT_WAIT_MS,
    MAX_WAIT_MS,
    THUMBNAIL_METHODS,
    MediaBody,
)
from homeserver.handlers.media.serving import SECURITY_HEADERS, content_disposition

bp = Blueprint("media_download", __name__, url_prefix="/_matrix/client/v1/media")
legacy_bp = Blueprint("media_legacy", __name__, url_prefix="/_matrix/media/v3")

MAX_THUMBNAIL_DIMENSION = 10_000


def timeout_ms() -> int:
    return query_int("timeout_ms", DEFAULT_WAIT_MS, maximum=MAX_WAIT_MS) or 0


def _media_response(body: MediaBody, disposition: str) -> Response:
    content = body.data if body.data is not None else hs().media.chunks(body)
    response = Response(content, status=200, content_type=body.content_type)
    response.headers["Content-Length"] = str(body.size)
    response.headers["Content-Disposition"] = disposition
    response.headers.update(SECURITY_HEADERS)
    return response


def _config() -> Response:
    return json_response({"m.upload.size": hs().config.max_upload_size})


@bp.get("/download/<server_name>/<media_id>")
@bp.get("/download/<server_name>/<media_id>/<file_name>")
@authenticated
async def download(server_name: str, media_id: str, file_name: str | None = None) -> Response:
    body = await hs().media.download(server_name, media_id, timeout_ms())
    filename = file_name if file_name is not None else body.filename
    return _media_response(body, content_disposition(body.content_type, filename))


def thumbnail_args() -> tuple[int, int, str, int]:
    """The width, height, method and timeout_ms of a thumbnail request
    (also read by the federation endpoint)."""
    width = query_int("width", None, minimum=1, maximum=MAX_THUMBNAIL_DIMENSION)
    height = query_int("height", None, minimum=1, maximum=MAX_THUMBNAIL_DIMENSION)
    if width is None or height is None:
        raise missing_param("width and height are required")
    method = request.args.get("method", "scale")
    if method not in THUMBNAIL_METHODS:
        raise invalid_param("method must be crop or scale")
    # No animated thumbnails are made: animated=true is served as false.
    if request.args.get("animated", "false") not in ("true", "false"):
        raise invalid_param("animated must be true or false")
    return width, height, method, timeout_ms()


@bp.get("/thumbnail/<server_name>/<media_id>")
@authenticated
async def thumbnail(server_name: str, media_id: str) -> Response:
    width, height, method, wait_ms = thumbnail_args()
    body = await hs().media.thumbnail(server_name, media_id, width, height, method, wait_ms)
    return _media_response(body, f'inline; filename="{body.filename}"')


@bp.get("/config")
@authenticated
async def config() -> Response:
    return _config()


@legacy_bp.get("/config")
@authenticated
async def legacy_config() -> Response:
    return _config()


@legacy_bp.get("/download/<server_name>/<media_id>")
@legacy_bp.get("/download/<server_name>/<media_id>/<file_name>")
@legacy_bp.get("/thumbnail/<server_name>/<media_id>")
async def legacy_download(
    server_name: str, media_id: str, file_name: str | None = None
) -> Response:
    raise not_found(
        "Unauthenticated media access is frozen: use /_matrix/client/v1/media/ with an access token"
    )

"""`GET /_matrix/federation/v1/version`: which implementation this is."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from quart import Blueprint, Response

from homeserver.api.common import json_response

bp = Blueprint("federation_version", __name__)

SERVER_SOFTWARE = "homeserver"


def _version() -> str:
    try:
        return version("homeserver")
    except PackageNotFoundError:
        return "unknown"


@bp.get("/_matrix/federation/v1/version")
async def server_version() -> Response:
    return json_response({"server": {"name": SERVER_SOFTWARE, "version": _version()}})

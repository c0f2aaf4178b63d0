"""Discovery and the start-up calls every client makes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import yaml
from quart import Blueprint, Response

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_response
from homeserver.errors import MatrixError, not_found
from homeserver.handlers.room_creation import ROOM_VERSION, SUPPORTED_ROOM_VERSIONS

bp = Blueprint("discovery", __name__)

SPEC_VERSIONS = [
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
    "v1.11",
]
OPENAPI_PATH = Path(__file__).resolve().parent.parent.parent / "spec" / "openapi.yaml"
_openapi_cache: dict[str, bytes] = {}


@bp.get("/_matrix/client/versions")
async def versions() -> Response:
    return json_response({"versions": SPEC_VERSIONS, "unstable_features": {}})


@bp.get("/.well-known/matrix/client")
async def well_known() -> Response:
    return json_response({"m.homeserver": {"base_url": hs().config.base_url}})


@bp.get("/.well-known/matrix/server")
async def well_known_server() -> Response:
    """Server discovery for federation. Federation is not built yet, so there is
    nothing to delegate to: 404 M_NOT_FOUND tells other servers so (and keeps
    the web client's page from answering here). When federation is switched
    on, it serves this document instead of this view."""
    raise not_found("Federation is not enabled on this server")


@bp.get("/_matrix/client/v1/auth_metadata")
async def auth_metadata() -> Response:
    """The OAuth 2.0 server metadata (RFC 8414), or 404 M_UNRECOGNIZED when OAuth
    is off (then clients use the legacy /login)."""
    oauth = hs().oauth
    if not oauth.available:
        raise MatrixError(404, "M_UNRECOGNIZED", "OAuth 2.0 sign-in is not enabled on this server")
    response = json_response(oauth.metadata())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/_matrix/client/openapi.json")
async def openapi() -> Response:
    if "json" not in _openapi_cache:
        text = await asyncio.to_thread(OPENAPI_PATH.read_text)
        _openapi_cache["json"] = orjson.dumps(yaml.safe_load(text))
    return Response(_openapi_cache["json"], mimetype="application/json")


@bp.get(f"{CLIENT_V3}/capabilities")
@authenticated
async def capabilities() -> Response:
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {"default": ROOM_VERSION, "available": SUPPORTED_ROOM_VERSIONS},
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
                # MSC4174: Web Push pushers, and the key browsers subscribe with.
                "m.webpush": {"enabled": True, "vapid": hs().push.vapid.public_key},
            }
        }
    )


@bp.get(f"{CLIENT_V3}/voip/turnServer")
@authenticated
async def turn_server() -> Response:
    # No TURN server is configured: the valid empty configuration.
    return json_response({"uris": [], "ttl": 86400, "username": "", "password": ""})


@bp.get(f"{CLIENT_V3}/thirdparty/protocols")
@authenticated
async def thirdparty_protocols() -> Response:
    return json_response({})

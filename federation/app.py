"""The federation listener's Quart app: `/_matrix/federation/*` and
`/_matrix/key/*` only, sharing the client app's HomeServer object.

It serves on its own (HTTPS) Hypercorn listener beside the client API; its
start-up waits until the client app has started the HomeServer."""

from __future__ import annotations

import asyncio
import logging
import secrets

from quart import Quart, Response, g, request
from werkzeug.exceptions import HTTPException

from federation.api import (
    e2ee,
    events,
    invites,
    joins,
    keys,
    media,
    query,
    room_reads,
    transactions,
    version,
)
from federation.service import Federation
from homeserver.api.common import json_response
from homeserver.config import Config
from homeserver.errors import MatrixError

logger = logging.getLogger(__name__)

HOMESERVER_STARTED = "homeserver_started"


def create_federation_app(config: Config, client_app: Quart) -> Quart:
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_body_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    for module in (
        keys,
        version,
        query,
        events,
        transactions,
        room_reads,
        joins,
        invites,
        e2ee,
        media,
    ):
        app.register_blueprint(module.bp)

    @app.before_serving
    async def start() -> None:
        started: asyncio.Event = client_app.extensions[HOMESERVER_STARTED]
        await started.wait()
        homeserver = client_app.extensions["homeserver"]
        app.extensions["homeserver"] = homeserver
        app.extensions["federation"] = await Federation.start(homeserver)

    @app.after_serving
    async def stop() -> None:
        services = app.extensions.pop("federation", None)
        if services is not None:
            await services.stop()

    @app.before_request
    async def before() -> None:
        g.request_id = secrets.token_hex(6)

    @app.errorhandler(MatrixError)
    async def matrix_error(error: MatrixError) -> Response:
        return json_response(error.to_json(), error.status)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status in (404, 405):
            body = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        elif status == 413:
            limit = config.max_request_body_bytes
            body = {"errcode": "M_TOO_LARGE", "error": f"Request body above {limit} bytes"}
        elif status == 400:
            body = {"errcode": "M_BAD_JSON", "error": error.description or "Bad request"}
        else:
            body = {"errcode": "M_UNKNOWN", "error": error.description or "Error"}
        return json_response(body, status)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        request_id = getattr(g, "request_id", "")
        logger.exception(
            "unexpected error handling a federation request",
            extra={"request_id": request_id, "method": request.method, "path": request.path},
        )
        return json_response(
            {"errcode": "M_UNKNOWN", "error": f"Internal server error (request {request_id})"},
            500,
        )

    return app

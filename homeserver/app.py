"""The Quart application: blueprints, errors in Matrix form, CORS, request ids
and the body size limit."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from urllib.parse import urlsplit

from quart import Quart, Response, g, request
from werkzeug.exceptions import HTTPException

from homeserver.api import (
    account,
    account_data,
    auth,
    directory,
    discovery,
    ephemeral,
    keys,
    media_download,
    media_upload,
    oauth,
    oauth_pages,
    operations,
    push,
    room_events,
    room_keys,
    room_state,
    rooms,
    search,
    security_headers,
    sync,
    sync_socket,
    to_device,
    web_client,
)
from homeserver.api.common import json_response
from homeserver.api.input_checks import check_request
from homeserver.api.upload_stream import (
    BackpressureHTTPConnection,
    close_if_unread,
    upload_request_class,
)
from homeserver.api.web_client import allow_header, allowed_methods
from homeserver.config import Config
from homeserver.errors import MatrixError
from homeserver.operations.outage import (
    RETRY_AFTER_SECONDS,
    database_unavailable,
    is_database_unavailable,
)
from homeserver.server import HomeServer

logger = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
    "Access-Control-Max-Age": "86400",
}


def create_app(config: Config) -> Quart:
    # No static folder of the app's own: the web client and the sign-in pages
    # serve their files themselves.
    app = Quart(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_body_bytes
    # Media uploads: their own limit, streamed at the pace they are stored.
    app.request_class = upload_request_class(config.max_upload_size)
    app.asgi_http_class = BackpressureHTTPConnection
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    for module in (
        discovery,
        auth,
        account,
        rooms,
        room_state,
        room_events,
        sync,
        account_data,
        directory,
        ephemeral,
        oauth,
        oauth_pages,
        sync_socket,
        push,
        keys,
        to_device,
        room_keys,
        search,
        operations,
        media_upload,
        media_download,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(media_download.legacy_bp)
    app.register_blueprint(web_client.bp)
    # Set once the HomeServer runs: the federation app (own listener) waits on it.
    app.extensions["homeserver_started"] = asyncio.Event()

    base = urlsplit(config.base_url)
    public_https = base.scheme == "https"
    public_origin = f"{base.scheme}://{base.netloc}" if base.netloc else ""

    @app.before_serving
    async def start() -> None:
        if "homeserver" not in app.extensions:  # `homeserver run` starts it before serving
            app.extensions["homeserver"] = await HomeServer.start(config)
        app.extensions["homeserver_started"].set()

    @app.after_serving
    async def stop() -> None:
        server = app.extensions.pop("homeserver", None)
        if server is not None:
            await server.stop()

    @app.before_request
    async def before() -> Response | None:
        g.request_id = secrets.token_hex(6)
        g.request_started = time.perf_counter()
        if request.method == "OPTIONS":
            return Response(b"", status=204)
        await check_request()
        return None

    @app.after_request
    async def after(response: Response) -> Response:
        cluster = getattr(app.extensions.get("homeserver"), "cluster", None)
        if cluster is not None:
            # A sign-out answered here has reached the other workers' feed.
            await cluster.sign_outs_published()
        if request.path.startswith(("/_matrix", "/.well-known", "/oauth2/")):
            response.headers.update(CORS_HEADERS)
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        server: HomeServer | None = app.extensions.get("homeserver")
        started = getattr(g, "request_started", None)
        if server is not None and started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else None
            elapsed = time.perf_counter() - started
            server.metrics.observe_request(request.method, rule, response.status_code, elapsed)
        if response.status_code == 405:
            # RFC 9110: a 405 names the methods the resource supports.
            response.headers["Allow"] = allow_header(request.path)
        security_headers.apply(
            response,
            request.blueprint,
            host=request.host,
            https=public_https,
            public_origin=public_origin,
        )
        close_if_unread(request, response)
        return response

    @app.errorhandler(MatrixError)
    async def matrix_error(error: MatrixError) -> Response:
        response = json_response(error.to_json(), error.status)
        retry_ms = error.extra.get("retry_after_ms")
        if isinstance(retry_ms, int):
            # As the contract says: also a Retry-After header, in whole seconds.
            response.headers["Retry-After"] = str(-(-retry_ms // 1000))
        return response

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            limit = config.max_request_body_bytes
            body = {"errcode": "M_TOO_LARGE", "error": f"Request body above {limit} bytes"}
        elif status in (404, 405):
            # The web client's GET catch-all makes any path "known": a non-GET
            # request to an unknown API path is a 404, not a 405.
            if status == 405 and not allowed_methods(request.path):
                status = 404
            body = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        elif status == 400:
            body = {"errcode": "M_BAD_JSON", "error": error.description or "Bad request"}
        else:
            body = {"errcode": "M_UNKNOWN", "error": error.description or "Error"}
        if request.path.startswith("/oauth2/"):
            # OAuth endpoints answer in RFC 6749 form.
            error_code = "invalid_request" if status in (400, 413) else "not_found"
            body = {"error": error_code, "error_description": body["error"]}
        return json_response(body, status)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        request_id = getattr(g, "request_id", "")
        if is_database_unavailable(error):
            logger.warning(
                "database unavailable",
                extra={"request_id": request_id, "path": request.path, "error": repr(error)[:300]},
            )
            outage = database_unavailable()
            response = json_response(outage.to_json(), outage.status)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        logger.exception(
            "unexpected error handling request",
            extra={"request_id": request_id, "method": request.method, "path": request.path},
        )
        return json_response(
            {"errcode": "M_UNKNOWN", "error": f"Internal server error (request {request_id})"},
            500,
        )

    return app

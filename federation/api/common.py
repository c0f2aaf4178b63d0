"""What every federation endpoint needs: the services and the origin server
of a signed request (`X-Matrix`, spec "Request Authentication")."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

import orjson
from quart import current_app, g, request

from federation.request_auth import parse_authorization, verify_request
from federation.server_names import is_valid_server_name
from federation.service import Federation
from homeserver.errors import MatrixError

P = ParamSpec("P")
R = TypeVar("R")


def federation() -> Federation:
    return cast(Federation, current_app.extensions["federation"])


def origin() -> str:
    """The server that signed the request (inside `@signed_request` views)."""
    return cast(str, g.origin)


def unauthorized(message: str) -> MatrixError:
    return MatrixError(401, "M_UNAUTHORIZED", message)


def request_target() -> str:
    """The request target as it came over the wire: the raw path and query."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) and raw_path else request.path
    query = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _request_content() -> Any | None:
    raw = await request.get_data(as_text=False)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON") from exc


async def authenticate_origin() -> str:
    """The origin of a correctly signed request to us; 401 M_UNAUTHORIZED
    for a missing, malformed, wrongly addressed or badly signed one."""
    header = request.headers.get("Authorization")
    if not header:
        raise unauthorized("Missing X-Matrix authorization")
    try:
        credentials = parse_authorization(header)
    except ValueError as exc:
        raise unauthorized(f"Malformed X-Matrix authorization: {exc}") from exc
    if not is_valid_server_name(credentials.origin):
        raise unauthorized("The origin is not a valid server name")
    services = federation()
    if credentials.destination is not None and credentials.destination != services.server_name:
        raise unauthorized("The request is addressed to another server")
    content = await _request_content()
    key = await services.keyring.key_for_request(credentials.origin, credentials.key_id)
    if key is None:
        raise unauthorized(f"No valid key {credentials.key_id} of {credentials.origin}")
    if not verify_request(credentials, request.method, request_target(), content, key):
        raise unauthorized("Invalid X-Matrix signature")
    return credentials.origin


def signed_request(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Authenticates the origin server, holds it to its rate limit
    (`rate_limit_federation`, per origin) and puts it in `origin()`."""

    @functools.wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.origin = await authenticate_origin()
        federation().origin_limiter.check(g.origin)  # 429 M_LIMIT_EXCEEDED
        return await view(*args, **kwargs)

    return wrapper

"""What every endpoint needs: the homeserver, the caller, the JSON body."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

import orjson
from quart import Response, current_app, g, request

from homeserver.api.input_checks import check_json_text
from homeserver.errors import MatrixError
from homeserver.handlers.tokens import Requester
from homeserver.server import HomeServer

CLIENT_V3 = "/_matrix/client/v3"
CLIENT_PREFIXES = ("/_matrix/client/v3", "/_matrix/client/r0")

# The largest integer JSON numbers carry exactly (canonical JSON's range).
MAX_SAFE_INTEGER = 2**53 - 1

P = ParamSpec("P")
R = TypeVar("R")


def hs() -> HomeServer:
    return cast(HomeServer, current_app.extensions["homeserver"])


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


async def json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (M_NOT_JSON / M_BAD_JSON otherwise)."""
    raw = await request.get_data(as_text=False)
    if not raw:
        if allow_empty:
            return {}
        raise MatrixError(400, "M_NOT_JSON", "Expected a JSON object in the request body")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise MatrixError(400, "M_BAD_JSON", "Request body must be a JSON object")
    check_json_text(parsed)
    return parsed


def query_int(name: str, default: int | None, *, minimum: int = 0, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise MatrixError(400, "M_INVALID_PARAM", f"{name} must be an integer") from exc
    if value < minimum:
        raise MatrixError(400, "M_INVALID_PARAM", f"{name} must be at least {minimum}")
    return min(value, maximum)


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise MatrixError(400, "M_BAD_JSON", f"{key} must be a string")
    return value


def required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise MatrixError(400, "M_MISSING_PARAM", f"Missing {key}")
    if not isinstance(value, str):
        raise MatrixError(400, "M_BAD_JSON", f"{key} must be a string")
    return value


def client_ip() -> str:
    if hs().config.trust_x_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last_hop = forwarded.rsplit(",", 1)[-1].strip()
        if last_hop:
            return last_hop
    return request.remote_addr or "unknown"


def _access_token() -> str:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MatrixError(
                401, "M_MISSING_TOKEN", "Authorization header must be 'Bearer <token>'"
            )
        return token.strip()
    query_token = request.args.get("access_token")
    if query_token:
        return query_token
    raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")


def requester() -> Requester:
    return cast(Requester, g.requester)


def authenticated(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Verifies the access token and puts the caller in `requester()`."""

    @functools.wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.requester = await hs().tokens.verify(_access_token())
        return await view(*args, **kwargs)

    return wrapper


def require_self(user_id: str, action: str = "do that") -> None:
    if requester().user_id != user_id:
        raise MatrixError(403, "M_FORBIDDEN", f"You may only {action} for yourself")

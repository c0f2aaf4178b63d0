"""Registration, login and logout."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from homeserver.api.common import (
    CLIENT_V3,
    authenticated,
    client_ip,
    hs,
    json_body,
    json_response,
    optional_str,
    requester,
    required_str,
)
from homeserver.errors import MatrixError
from homeserver.handlers.tokens import IssuedToken

bp = Blueprint("auth", __name__, url_prefix=CLIENT_V3)


@bp.get("/register/available")
async def register_available() -> Response:
    username = request.args.get("username")
    if not username:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing username")
    hs().register_limiter.check(f"ip:{client_ip()}")
    await hs().accounts.check_username_available(username)
    return json_response({"available": True})


@bp.post("/register")
async def register() -> Response:
    server = hs()
    body = await json_body(allow_empty=True)
    kind = request.args.get("kind", "user")
    if kind == "guest":
        raise MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is not enabled")
    if kind != "user":
        raise MatrixError(400, "M_INVALID_PARAM", "kind must be user or guest")
    if not server.config.enable_registration:
        raise MatrixError(403, "M_FORBIDDEN", "Registration is disabled on this server")

    username = optional_str(body, "username")
    if username is not None:
        await server.accounts.check_username_available(username)
    password = server.accounts.check_password_strength(body.get("password"))

    async def dummy_stage(_auth: dict[str, Any]) -> None:
        return None

    await server.uia.check(body.get("auth"), "m.login.dummy", dummy_stage)
    server.register_limiter.check(f"ip:{client_ip()}")

    localpart = username or await server.accounts.generate_localpart()
    user_id = await server.accounts.register(localpart, password)
    if body.get("inhibit_login"):
        return json_response({"user_id": user_id})
    session = await server.accounts.start_session(
        user_id,
        optional_str(body, "device_id"),
        optional_str(body, "initial_device_display_name"),
        client_ip(),
        refresh=_wants_refresh(body),
    )
    return json_response(
        {
            "user_id": user_id,
            "access_token": session.token.access_token,
            "device_id": session.device_id,
            **_refresh_fields(session.token),
        }
    )


def _wants_refresh(body: dict[str, Any]) -> bool:
    value = body.get("refresh_token", False)
    if not isinstance(value, bool):
        raise MatrixError(400, "M_BAD_JSON", "refresh_token must be a boolean")
    return value


def _refresh_fields(token: IssuedToken) -> dict[str, Any]:
    """`refresh_token` and `expires_in_ms` for clients that support refreshing;
    the others keep a long-lived token and are told nothing (it doesn't expire
    for them in practice)."""
    if token.refresh_token is None:
        return {}
    return {"refresh_token": token.refresh_token, "expires_in_ms": token.expires_in_ms}


@bp.get("/login")
async def login_flows() -> Response:
    return json_response({"flows": [{"type": "m.login.password"}]})


def _login_user(body: dict[str, Any]) -> str:
    identifier = body.get("identifier")
    if identifier is None:
        legacy = optional_str(body, "user")
        if legacy:
            return legacy
        raise MatrixError(400, "M_MISSING_PARAM", "Missing identifier")
    if not isinstance(identifier, dict):
        raise MatrixError(400, "M_BAD_JSON", "identifier must be an object")
    if identifier.get("type") != "m.id.user":
        raise MatrixError(400, "M_UNKNOWN", "Only m.id.user identifiers are supported")
    user = identifier.get("user")
    if not isinstance(user, str) or not user:
        raise MatrixError(400, "M_MISSING_PARAM", "identifier.user is required")
    return user


@bp.post("/login")
async def login() -> Response:
    server = hs()
    body = await json_body()
    if body.get("type") != "m.login.password":
        raise MatrixError(400, "M_UNKNOWN", "Unsupported login type")
    user = _login_user(body)
    password = body.get("password")
    if not isinstance(password, str):
        raise MatrixError(400, "M_MISSING_PARAM", "Missing password")
    server.login_limiter.check(f"ip:{client_ip()}")
    # Per account, however the identifier is spelled.
    server.login_limiter.check(f"user:{server.accounts.resolve_login_user(user) or user.lower()}")
    user_id = await server.accounts.check_password(user, password)
    session = await server.accounts.start_session(
        user_id,
        optional_str(body, "device_id"),
        optional_str(body, "initial_device_display_name"),
        client_ip(),
        refresh=_wants_refresh(body),
    )
    return json_response(
        {
            "user_id": user_id,
            "access_token": session.token.access_token,
            "device_id": session.device_id,
            "home_server": server.server_name,
            "well_known": {"m.homeserver": {"base_url": server.config.base_url}},
            **_refresh_fields(session.token),
        }
    )


@bp.post("/refresh")
async def refresh() -> Response:
    """Exchanges a refresh token from /login or /register for new tokens; the
    old one works until the new access token is used (see handlers/tokens.py)."""
    server = hs()
    body = await json_body()
    refresh_token = required_str(body, "refresh_token")
    server.login_limiter.check(f"refresh-ip:{client_ip()}")
    token = await server.tokens.refresh(refresh_token)
    return json_response(
        {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_in_ms": token.expires_in_ms,
        }
    )


@bp.post("/logout")
@authenticated
async def logout() -> Response:
    await hs().accounts.logout(requester())
    return json_response({})


@bp.post("/logout/all")
@authenticated
async def logout_all() -> Response:
    await hs().accounts.logout_all(requester().user_id)
    return json_response({})

"""The OAuth 2.0 protocol endpoints: metadata (RFC 8414), JWKS, dynamic client
registration (RFC 7591), token (RFC 6749: authorization code + PKCE, refresh
token; RFC 8628 device code), revocation (RFC 7009), introspection (RFC 7662)
and device authorization (RFC 8628). Errors are RFC 6749 JSON
(`error`, `error_description`). The HTML pages are in `oauth_pages.py`."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from quart import Blueprint, Response, request
from werkzeug.datastructures import Headers

from homeserver.api.common import client_ip, hs
from homeserver.errors import MatrixError
from homeserver.handlers.free_text import NUL_MESSAGE, has_nul
from homeserver.oauth.browser import COOKIE_PATH, SESSION_COOKIE
from homeserver.oauth.requests import RequestData
from homeserver.oauth.server import OAuthResponse

bp = Blueprint("oauth", __name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"


class OAuthHTTPError(Exception):
    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def oauth_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers or NO_STORE)
    return response


@bp.errorhandler(OAuthHTTPError)
async def oauth_error(error: OAuthHTTPError) -> Response:
    body = {"error": error.error, "error_description": error.description}
    return oauth_json(body, error.status, {**NO_STORE, **error.headers})


@bp.errorhandler(MatrixError)
async def matrix_error(error: MatrixError) -> Response:
    """Errors raised by shared helpers (rate limits), in RFC 6749 form."""
    if error.status == 429:
        retry_ms = int(error.extra.get("retry_after_ms", 1000))
        retry = str(-(-retry_ms // 1000))
        body = {"error": "temporarily_unavailable", "error_description": "Too many requests"}
        return oauth_json(body, 429, {**NO_STORE, "Retry-After": retry})
    return oauth_json({"error": "invalid_request", "error_description": error.error}, 400)


def require_oauth() -> None:
    if not hs().oauth.available:
        raise OAuthHTTPError(
            404,
            "not_found",
            "OAuth 2.0 is not enabled on this server (it needs an https public_baseurl)",
        )


def _check_basic_authorization(header: str | None) -> None:
    """An Authorization header is `<scheme> <value>`, and Basic client
    credentials (RFC 6749 2.3.1) base64 of UTF-8 `id:secret`. Anything else is
    the client failing to authenticate, not a server error."""
    if header is None:
        return
    scheme, _, value = header.strip().partition(" ")
    decoded = ":" if scheme.lower() != "basic" else ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
    if not value.strip() or ":" not in decoded:
        raise OAuthHTTPError(
            401,
            "invalid_client",
            "The Authorization header is not valid Basic client authentication",
            {"WWW-Authenticate": 'Basic realm="homeserver"'},
        )


async def capture(*, body: str = "form") -> RequestData:
    """A snapshot of the request for Authlib, read here on the event loop."""
    if request.blueprint == "oauth":  # (the pages authenticate no client)
        _check_basic_authorization(request.headers.get("Authorization"))
    full_path = request.full_path.rstrip("?")
    form = await request.form if body == "form" else None
    json_body: Any = None
    if body == "json":
        raw = await request.get_data(as_text=False)
        try:
            json_body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError as exc:
            raise OAuthHTTPError(
                400, "invalid_client_metadata", "The body must be a JSON object"
            ) from exc
        if has_nul(json_body):
            raise OAuthHTTPError(400, "invalid_client_metadata", NUL_MESSAGE)
    data = RequestData(
        method=request.method,
        url=hs().oauth.base_url + full_path,
        headers=Headers(request.headers),
        args=request.args.copy(),
        json=json_body,
        ip=client_ip(),
    )
    if form is not None:
        data = RequestData(
            data.method, data.url, data.headers, data.args, form.copy(), json_body, data.ip
        )
    return data


def respond(result: OAuthResponse) -> Response:
    body = result.body
    if isinstance(body, dict):
        response = Response(orjson.dumps(body), status=result.status, mimetype="application/json")
    else:
        response = Response(str(body or ""), status=result.status)
    for key, value in result.headers:
        response.headers[key] = value
    for key, value in NO_STORE.items():  # RFC 6749 section 5.1
        response.headers.setdefault(key, value)
    return response


def require_form() -> None:
    if request.mimetype != FORM:
        raise OAuthHTTPError(400, "invalid_request", f"The body must be {FORM}")


# -- discovery -------------------------------------------------------------------


@bp.get("/.well-known/oauth-authorization-server")
async def authorization_server_metadata() -> Response:
    require_oauth()
    return oauth_json(hs().oauth.metadata(), headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/oauth2/jwks.json")
async def jwks() -> Response:
    require_oauth()
    return oauth_json(hs().oauth.jwks(), headers={"Cache-Control": "public, max-age=600"})


# -- clients ---------------------------------------------------------------------


@bp.post("/oauth2/registration")
async def register_client() -> Response:
    require_oauth()
    hs().register_limiter.check(f"oauth-client-ip:{client_ip()}")
    data = await capture(body="json")
    if not isinstance(data.json, dict) or not data.json:
        raise OAuthHTTPError(400, "invalid_client_metadata", "The body must be a JSON object")
    return respond(await hs().oauth.endpoint("client_registration", data))


# -- tokens ----------------------------------------------------------------------


@bp.post("/oauth2/token")
async def token() -> Response:
    require_oauth()
    require_form()
    return respond(await hs().oauth.token(await capture()))


@bp.post("/oauth2/revoke")
async def revoke() -> Response:
    require_oauth()
    require_form()
    response = respond(await hs().oauth.endpoint("revocation", await capture()))
    browser_session = request.cookies.get(SESSION_COOKIE)
    if response.status_code == 200 and browser_session:
        # Signing out from a page of this origin (the bundled client) also ends
        # the browser's sign-in here: otherwise the next "Sign in" on a shared
        # computer would go straight back into the previous user's account.
        await hs().oauth.browser.sign_out(browser_session)
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@bp.post("/oauth2/introspect")
async def introspect() -> Response:
    require_oauth()
    require_form()
    return respond(await hs().oauth.endpoint("introspection", await capture()))


@bp.post("/oauth2/device")
async def device_authorization() -> Response:
    require_oauth()
    require_form()
    return respond(await hs().oauth.endpoint("device_authorization", await capture()))

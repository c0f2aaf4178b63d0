"""The authorization server's pages: sign-in, account creation, consent (the
authorization endpoint), device approval (RFC 8628 verification URI) and the
signed-in sessions. Server-rendered, no scripts; every form carries a CSRF
token, and failed sign-ins and code entries are rate-limited."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from quart import Blueprint, Response, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

import homeserver.oauth
from homeserver.api.common import client_ip, hs
from homeserver.api.oauth import capture
from homeserver.api.static_files import file_response, find_file
from homeserver.errors import MatrixError
from homeserver.oauth.browser import (
    BROWSER_SESSION_LIFETIME_SECONDS,
    COOKIE_PATH,
    CSRF_COOKIE,
    SESSION_COOKIE,
)
from homeserver.oauth.server import OAuthResponse
from homeserver.oauth.service import OAuthService
from homeserver.util import now_ms

PACKAGE = Path(homeserver.oauth.__file__).resolve().parent
bp = Blueprint(
    "oauth_pages",
    __name__,
    template_folder=str(PACKAGE / "templates"),
)
STATIC = PACKAGE / "static"

DEFAULT_NEXT = "/oauth2/account"


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def oauth() -> OAuthService:
    return hs().oauth


def _safe_next(value: str | None) -> str:
    """Only our own pages: no open redirect through `next`."""
    if not value or not value.startswith("/oauth2/") or "//" in value or "\\" in value:
        return DEFAULT_NEXT
    return value


async def page(template: str, status: int = 200, **context: Any) -> Response:
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = None
    if not csrf_cookie:
        csrf_cookie = new_cookie = oauth().browser.new_csrf_cookie()
    context.setdefault("user_id", None)
    body = await render_template(
        template, csrf_token=oauth().browser.csrf_token(csrf_cookie), **context
    )
    response = Response(body, status=status, mimetype="text/html")
    # The security headers are added for every response of this blueprint (app.py).
    response.headers["Cache-Control"] = "no-store"
    if new_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            new_cookie,
            httponly=True,
            secure=oauth().browser.secure,
            samesite="Lax",
            path=COOKIE_PATH,
        )
    return response


async def message(status: int, title: str, text: str, **context: Any) -> Response:
    return await page("oauth-message.html", status, title=title, message=text, **context)


@bp.errorhandler(PageError)
async def page_error(error: PageError) -> Response:
    return await message(error.status, error.title, error.message)


@bp.errorhandler(MatrixError)
async def matrix_error(error: MatrixError) -> Response:
    if error.status == 429:
        seconds = -(-int(error.extra.get("retry_after_ms", 1000)) // 1000)
        response = await message(
            429, "Too many attempts", f"Please wait {seconds} seconds and try again."
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    return await message(error.status, "Something went wrong", error.error)


def require_available() -> None:
    if not oauth().available:
        raise PageError(404, "Not available", "OAuth 2.0 sign-in is not enabled on this server.")


async def signed_in_user() -> str | None:
    user_id = await oauth().browser.user(request.cookies.get(SESSION_COOKIE))
    if user_id is None:
        return None
    user = await hs().storage.users.get_user(user_id)
    return None if user is None or user.deactivated else user_id


async def checked_form() -> MultiDict[str, str]:
    """The POSTed form, if it carries a valid CSRF token and comes from our origin."""
    form = await request.form
    browser = oauth().browser
    if not browser.same_origin(
        request.headers.get("Origin"), request.headers.get("Referer")
    ) or not browser.check_csrf(request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        raise PageError(
            403,
            "This form has expired",
            "For your security the form could not be accepted. Go back, reload the page "
            "and try again.",
        )
    return form


def redirect_to(location: str, status: int = 303) -> Response:
    response = Response("", status=status, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def from_oauth(result: OAuthResponse) -> Response:
    location = result.location
    if result.status in (301, 302, 303) and location:
        return redirect_to(location, 302)
    raise PageError(400, "This sign-in link is not valid", "The app sent an invalid request.")


async def login_page(next_url: str, status: int = 200, **context: Any) -> Response:
    return await page(
        "oauth-login.html",
        status,
        title="Sign in",
        next=next_url,
        username=context.pop("username", ""),
        registration_enabled=hs().config.enable_registration,
        **context,
    )


async def signup_page(next_url: str, status: int = 200, **context: Any) -> Response:
    return await page(
        "oauth-signup.html",
        status,
        title="Create account",
        next=next_url,
        username=context.pop("username", ""),
        **context,
    )


async def signed_in_response(user_id: str, next_url: str) -> Response:
    browser = oauth().browser
    cookie = await browser.sign_in(user_id)
    response = redirect_to(_safe_next(next_url))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=BROWSER_SESSION_LIFETIME_SECONDS,
        httponly=True,
        secure=browser.secure,
        samesite="Lax",
        path=COOKIE_PATH,
    )
    return response


# -- sign in, create account, sign out --------------------------------------------


@bp.get("/oauth2/static/<path:filename>")
async def static(filename: str) -> Response:
    found = await find_file(STATIC, filename)
    if found is None:
        raise NotFound()
    return await file_response(found, "public, max-age=3600")


@bp.get("/oauth2/login")
async def login_form() -> Response:
    require_available()
    next_url = _safe_next(request.args.get("next"))
    if await signed_in_user() is not None:
        return redirect_to(next_url)
    return await login_page(next_url)


@bp.post("/oauth2/login")
async def login() -> Response:
    require_available()
    form = await checked_form()
    next_url = _safe_next(form.get("next"))
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    if not username or not password:
        return await login_page(
            next_url, 400, username=username, error="Enter your username and password."
        )
    failures = oauth().failures
    keys = (f"ip:{client_ip()}", f"user:{username.lower()}")
    wait = failures.retry_after(*keys)
    if wait:
        response = await login_page(
            next_url,
            429,
            username=username,
            error=f"Too many failed attempts. Please wait {wait} seconds and try again.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        user_id = await hs().accounts.check_password(username, password)
    except MatrixError as exc:
        if exc.errcode == "M_USER_DEACTIVATED":
            return await login_page(
                next_url, 403, username=username, error="This account has been deactivated."
            )
        failures.failed(*keys)
        return await login_page(
            next_url, 401, username=username, error="Wrong username or password."
        )
    return await signed_in_response(user_id, next_url)


@bp.get("/oauth2/signup")
async def signup_form() -> Response:
    require_available()
    next_url = _safe_next(request.args.get("next"))
    if not hs().config.enable_registration:
        return await message(403, "Create account", "Registration is disabled on this server.")
    return await signup_page(next_url)


@bp.post("/oauth2/signup")
async def signup() -> Response:
    require_available()
    form = await checked_form()
    next_url = _safe_next(form.get("next"))
    server = hs()
    if not server.config.enable_registration:
        return await message(403, "Create account", "Registration is disabled on this server.")
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    if password != (form.get("confirm") or ""):
        return await signup_page(
            next_url, 400, username=username, error="The passwords do not match."
        )
    server.register_limiter.check(f"ip:{client_ip()}")
    try:
        server.accounts.check_password_strength(password)
        user_id = await server.accounts.register(username, password)
    except MatrixError as exc:
        if exc.status == 429:
            raise
        return await signup_page(next_url, 400, username=username, error=exc.error)
    return await signed_in_response(user_id, next_url)


@bp.post("/oauth2/logout")
async def logout() -> Response:
    await checked_form()
    await oauth().browser.sign_out(request.cookies.get(SESSION_COOKIE))
    response = redirect_to("/oauth2/login")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# -- the authorization endpoint -------------------------------------------------------


async def _consent_page(consent: Any, user_id: str, action: str, params: Any) -> Response:
    client = consent.client
    extra = client.record.extra_metadata
    return await page(
        "oauth-consent.html",
        title="Allow access?",
        user_id=user_id,
        client_name=client.client_name,
        client_host=urlsplit(client.record.client_uri or "").hostname,
        device_id=consent.scope.device_id,
        device_known=await oauth().device_known(user_id, consent.scope.device_id),
        tos_uri=extra.get("tos_uri"),
        policy_uri=extra.get("policy_uri"),
        params=params,
        action=action,
    )


@bp.get("/oauth2/authorize")
async def authorize_page() -> Response:
    require_available()
    params = request.args.copy()
    check = await oauth().check_authorization(await capture(body="none"), params)
    if check.error is not None:
        raise PageError(400, "This sign-in link is not valid", check.error)
    if check.response is not None:
        return from_oauth(check.response)
    consent = check.consent
    assert consent is not None
    user_id = await signed_in_user()
    if params.get("prompt") == "login":
        # The client asks for the password again, whoever is signed in here;
        # the login form posts back without the prompt.
        user_id = None
        params = MultiDict([(k, v) for k, v in params.items(multi=True) if k != "prompt"])
    next_url = "/oauth2/authorize?" + urlencode(list(params.items(multi=True)))
    if user_id is None:
        name = consent.client.client_name
        if params.get("prompt") == "create" and hs().config.enable_registration:
            return await signup_page(next_url, client_name=name)
        return await login_page(next_url, client_name=name)
    if consent.client.first_party:
        decided = await oauth().authorize(await capture(body="none"), params, user_id, True)
        return _decided(decided)
    return await _consent_page(consent, user_id, "/oauth2/authorize", consent.params)


def _decided(check: Any) -> Response:
    if check.error is not None:
        raise PageError(400, "This sign-in link is not valid", check.error)
    return from_oauth(check.response)


@bp.post("/oauth2/authorize")
async def authorize_decision() -> Response:
    require_available()
    form = await checked_form()
    params: MultiDict[str, str] = MultiDict(
        [(k, v) for k, v in form.items(multi=True) if k not in ("csrf_token", "decision")]
    )
    user_id = await signed_in_user()
    if user_id is None:
        return await login_page("/oauth2/authorize?" + urlencode(list(params.items(multi=True))))
    approved = form.get("decision") == "allow"
    return _decided(await oauth().authorize(await capture(body="none"), params, user_id, approved))


# -- device authorization: the verification URI ---------------------------------------


@bp.get("/oauth2/link")
async def device_page() -> Response:
    require_available()
    user_code = (request.args.get("user_code") or "").strip()
    user_id = await signed_in_user()
    if user_id is None:
        return await login_page("/oauth2/link?" + urlencode({"user_code": user_code}))
    if not user_code:
        return await page("oauth-device.html", title="Connect a device", user_id=user_id)
    failures = oauth().failures
    key = f"code-ip:{client_ip()}"
    wait = failures.retry_after(key)
    if wait:
        return await page(
            "oauth-device.html",
            429,
            title="Connect a device",
            user_id=user_id,
            user_code=user_code,
            error=f"Too many wrong codes. Please wait {wait} seconds and try again.",
        )
    found = await oauth().device_request(user_code)
    if found is None:
        failures.failed(key)
        return await page(
            "oauth-device.html",
            400,
            title="Connect a device",
            user_id=user_id,
            user_code=user_code,
            error="That code is not valid, or has expired. Check it and try again.",
        )
    return await _consent_page(
        found, user_id, "/oauth2/link", [("user_code", found.grant.user_code)]
    )


@bp.post("/oauth2/link")
async def device_decision() -> Response:
    require_available()
    form = await checked_form()
    user_code = form.get("user_code") or ""
    user_id = await signed_in_user()
    if user_id is None:
        return await login_page("/oauth2/link?" + urlencode({"user_code": user_code}))
    found = await oauth().device_request(user_code)
    if found is None:
        return await message(
            400, "Connect a device", "That code is not valid, or has expired.", user_id=user_id
        )
    approved = form.get("decision") == "allow"
    await oauth().decide_device(found, user_id, approved)
    if approved:
        return await message(
            200,
            "Device connected",
            f"{found.client.client_name} is now signed in. You can return to your device.",
            user_id=user_id,
        )
    return await message(200, "Access denied", "The device was not signed in.", user_id=user_id)


# -- signed-in sessions ----------------------------------------------------------------


def _ago(ts: int | None) -> str | None:
    if not ts:
        return None
    minutes = max(0, (now_ms() - ts) // 60_000)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"


@bp.get("/oauth2/account")
async def account_page() -> Response:
    require_available()
    user_id = await signed_in_user()
    if user_id is None:
        query = urlencode(list(request.args.items(multi=True)))
        return await login_page("/oauth2/account" + (f"?{query}" if query else ""))
    notice = None
    action = request.args.get("action")
    if request.args.get("signed_out"):
        notice = "The device was signed out."
    elif action == "org.matrix.device_delete" and request.args.get("device_id"):
        notice = "Use the Sign out button of the highlighted device to sign it out."
    return await _account_page(
        user_id,
        notice=notice,
        highlight=request.args.get("device_id"),
        closing=action == "org.matrix.account_deactivate",
    )


async def _account_page(
    user_id: str,
    status: int = 200,
    *,
    notice: str | None = None,
    highlight: str | None = None,
    closing: bool = False,
    closing_error: str | None = None,
) -> Response:
    sessions = [
        {**view.__dict__, "last_seen": _ago(view.last_seen_ts)}
        for view in await oauth().list_sessions(user_id)
    ]
    return await page(
        "oauth-account.html",
        status,
        title="Your sessions",
        wide=True,
        user_id=user_id,
        sessions=sessions,
        highlight=highlight,
        notice=notice,
        closing=closing,
        closing_error=closing_error,
    )


@bp.post("/oauth2/account/revoke")
async def revoke_device() -> Response:
    require_available()
    form = await checked_form()
    user_id = await signed_in_user()
    if user_id is None:
        return await login_page("/oauth2/account")
    device_id = form.get("device_id") or ""
    if not device_id:
        raise PageError(400, "Your sessions", "No device was named.")
    await oauth().sign_out_device(user_id, device_id)
    return redirect_to("/oauth2/account?signed_out=1")


@bp.post("/oauth2/account/deactivate")
async def deactivate_account() -> Response:
    require_available()
    form = await checked_form()
    user_id = await signed_in_user()
    if user_id is None:
        return await login_page("/oauth2/account?action=org.matrix.account_deactivate")
    failures = oauth().failures
    keys = (f"ip:{client_ip()}", f"user:{user_id}")
    wait = failures.retry_after(*keys)
    if wait:
        return await _account_page(
            user_id,
            429,
            closing=True,
            closing_error=f"Too many wrong passwords. Please wait {wait} seconds and try again.",
        )
    try:
        await hs().accounts.check_password(user_id, form.get("password") or "")
    except MatrixError:
        failures.failed(*keys)
        return await _account_page(
            user_id, 401, closing=True, closing_error="That is not your password."
        )
    await hs().deactivation.deactivate(user_id, erase=form.get("erase") == "1")
    await oauth().browser.sign_out(request.cookies.get(SESSION_COOKIE))
    response = await message(
        200,
        "Account deactivated",
        f"{user_id} is closed: its devices are signed out and it has left its rooms.",
    )
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response

"""The login, consent, device and sessions pages: CSRF, rate limits, clear
errors, registration from the login page, the first-party web client, and
signing a device out."""

from __future__ import annotations

from typing import Any

from homeserver.config import Config
from homeserver.oauth.service import WEB_CLIENT_ID
from tests.oauth.helpers import (
    PASSWORD,
    REDIRECT_URI,
    Browser,
    approve,
    authorize_query,
    new_device_id,
    oauth_tokens,
    pkce,
    query_of,
    register_client,
    register_user,
    token_request,
)

V3 = "/_matrix/client/v3"


async def test_login_page_is_safe_and_phone_friendly(browser: Browser) -> None:
    page = await browser.get("/oauth2/login")
    assert page.status == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Lax" in page.headers["Set-Cookie"]
    assert "/oauth2/signup" in page.text  # registration is reachable from it
    css = await browser.get("/oauth2/static/oauth.css")
    assert css.status == 200 and "prefers-color-scheme: dark" in css.text


async def test_forms_without_a_valid_csrf_token_are_refused(browser: Browser) -> None:
    await register_user(browser, "alice")
    page = await browser.get("/oauth2/login")
    for token in ("", "forged"):
        refused = await browser.post_form(
            "/oauth2/login",
            {"csrf_token": token, "username": "alice", "password": PASSWORD},
        )
        assert refused.status == 403 and "form has expired" in refused.text
    other_site = await browser.request(
        "POST",
        "/oauth2/login",
        form={"csrf_token": page.csrf, "username": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status == 403
    accepted = await browser.sign_in(page, "alice")
    assert accepted.status == 303 and accepted.location == "/oauth2/account"


async def test_failed_sign_ins_are_rate_limited(config: Config) -> None:
    from homeserver.app import create_app

    config.rate_limits_enabled = True
    app = create_app(config)
    async with app.test_app() as test_app:
        browser = Browser(test_app.test_client())
        await register_user(browser, "alice")
        page = await browser.get("/oauth2/login")
        for _ in range(5):
            wrong = await browser.sign_in(page, "alice", "not the password")
            assert wrong.status == 401 and "Wrong username or password" in wrong.text
        blocked = await browser.sign_in(page, "alice", PASSWORD)
        assert blocked.status == 429 and "Too many failed attempts" in blocked.text
        assert int(blocked.headers["Retry-After"]) > 0


async def test_sign_up_from_the_login_page(browser: Browser) -> None:
    page = await browser.get("/oauth2/signup")
    fields = {"csrf_token": page.csrf, "next": "/oauth2/account", "username": "carol"}
    mismatch = await browser.post_form(
        "/oauth2/signup", {**fields, "password": PASSWORD, "confirm": "other"}
    )
    assert mismatch.status == 400 and "do not match" in mismatch.text
    weak = await browser.post_form("/oauth2/signup", {**fields, "password": "x", "confirm": "x"})
    assert weak.status == 400 and "at least" in weak.text
    made = await browser.post_form(
        "/oauth2/signup", {**fields, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert made.status == 303
    account = await browser.follow(made)
    assert "@carol:localhost" in account.text
    taken = await browser.post_form(
        "/oauth2/signup", {**fields, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert taken.status == 400 and "taken" in taken.text


async def test_prompt_create_shows_registration(browser: Browser) -> None:
    client = await register_client(browser)
    query = authorize_query(client["client_id"], pkce()[1], new_device_id(), prompt="create")
    page = await browser.get("/oauth2/authorize", **query)
    assert page.status == 200 and 'action="/oauth2/signup"' in page.text


async def test_authorization_errors(browser: Browser) -> None:
    client = await register_client(browser)
    challenge = pkce()[1]
    device = new_device_id()
    # Unknown client, or a redirect URI it did not register: an error page, no redirect.
    for query in (
        authorize_query("nobody", challenge, device),
        authorize_query(
            client["client_id"], challenge, device, redirect_uri="https://evil.example/"
        ),
    ):
        page = await browser.get("/oauth2/authorize", **query)
        assert page.status == 400 and "not valid" in page.text
    # Otherwise the error goes back to the client, with the state.
    cases = {
        "invalid_request": {"code_challenge_method": "plain"},
        "invalid_scope": {"scope": "openid"},
        "unsupported_response_type": {"response_type": "token"},
    }
    for error, change in cases.items():
        query = {**authorize_query(client["client_id"], challenge, device), **change}
        page = await browser.get("/oauth2/authorize", **query)
        assert page.status == 302, (error, page.text[:300])
        assert page.location.startswith(REDIRECT_URI)
        assert query_of(page.location)["error"] == error
        assert query_of(page.location)["state"] == "xyz"
    no_pkce = authorize_query(client["client_id"], challenge, device)
    del no_pkce["code_challenge"]
    page = await browser.get("/oauth2/authorize", **no_pkce)
    assert query_of(page.location)["error"] == "invalid_request"


async def test_deny_sends_access_denied(browser: Browser) -> None:
    await register_user(browser, "alice")
    client = await register_client(browser)
    query = authorize_query(client["client_id"], pkce()[1], new_device_id())
    login = await browser.get("/oauth2/authorize", **query)
    consent = await browser.follow(await browser.sign_in(login, "alice"))
    assert "Test app" in consent.text and "@alice:localhost" in consent.text
    denied = await browser.post_form("/oauth2/authorize", [*consent.hidden(), ("decision", "deny")])
    assert denied.status == 302
    assert query_of(denied.location) == {
        "error": "access_denied",
        "error_description": query_of(denied.location)["error_description"],
        "state": "xyz",
    }


async def test_the_web_client_is_first_party(browser: Browser) -> None:
    await register_user(browser, "alice")
    verifier, challenge = pkce()
    device = new_device_id()
    redirect = "http://localhost:8008/"
    query = authorize_query(WEB_CLIENT_ID, challenge, device, redirect_uri=redirect)
    location = await approve(browser, query, "alice")  # no consent screen
    assert location.startswith(redirect)
    tokens = await token_request(
        browser,
        {
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": redirect,
            "client_id": WEB_CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert tokens.status == 200, tokens.text


async def test_signing_a_device_out_kills_its_tokens(browser: Browser) -> None:
    await register_user(browser, "alice")
    tokens, client_id, device = await oauth_tokens(browser, "alice")
    account = await browser.get(
        "/oauth2/account", action="org.matrix.device_view", device_id=device
    )
    assert account.status == 200 and "Test app" in account.text and device in account.text
    revoke = await browser.post_form(
        "/oauth2/account/revoke", {"csrf_token": account.csrf, "device_id": device}
    )
    assert revoke.status == 303
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await browser.request("GET", f"{V3}/account/whoami", headers=auth)
    assert (me.status, me.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    refreshed = await token_request(
        browser,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert (refreshed.status, refreshed.json["error"]) == (400, "invalid_grant")
    after = await browser.get("/oauth2/account", signed_out="1")
    assert device not in after.text


async def test_introspection_for_resource_servers(
    app_and_browser: tuple[Any, Browser],
) -> None:
    app, browser = app_and_browser
    await register_user(browser, "alice")
    tokens, _client_id, device = await oauth_tokens(browser, "alice")
    resource = await register_client(
        browser, token_endpoint_auth_method="client_secret_post", client_name="Resource"
    )
    form = {
        "token": tokens["access_token"],
        "client_id": resource["client_id"],
        "client_secret": resource["client_secret"],
    }
    # Not listed as a resource server: only its own tokens.
    own = await browser.request("POST", "/oauth2/introspect", form=form)
    assert own.json == {"active": False}
    app.extensions["homeserver"].config.oauth_introspection_clients = [resource["client_id"]]
    active = await browser.request("POST", "/oauth2/introspect", form=form)
    assert active.json["active"] is True and active.json["sub"] == "@alice:localhost"
    assert active.json["device_id"] == device and active.json["token_type"] == "Bearer"
    refresh = await browser.request(
        "POST", "/oauth2/introspect", form={**form, "token": tokens["refresh_token"]}
    )
    assert refresh.json["active"] is True and refresh.json["token_type"] == "refresh_token"
    wrong_secret = await browser.request(
        "POST", "/oauth2/introspect", form={**form, "client_secret": "nope"}
    )
    assert wrong_secret.status in (400, 401) and wrong_secret.json["error"] == "invalid_client"
    public = await browser.request(
        "POST",
        "/oauth2/introspect",
        form={"token": tokens["access_token"], "client_id": _client_id},
    )
    assert public.json["error"] == "invalid_client"
    # Revoked: inactive.
    revoked = await browser.request(
        "POST", "/oauth2/revoke", form={"token": tokens["access_token"]}
    )
    assert revoked.status == 200
    assert (await browser.request("POST", "/oauth2/introspect", form=form)).json == {
        "active": False
    }
    unknown = await browser.request("POST", "/oauth2/revoke", form={"token": "garbage"})
    assert unknown.status == 200


async def test_device_approval_page_refuses_wrong_codes(browser: Browser) -> None:
    await register_user(browser, "alice")
    client = await register_client(
        browser,
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        application_type="native",
        redirect_uris=[],
    )
    device = new_device_id()
    started = await browser.request(
        "POST",
        "/oauth2/device",
        form={
            "client_id": client["client_id"],
            "scope": f"urn:matrix:client:api:* urn:matrix:client:device:{device}",
        },
    )
    assert started.status == 200, started.text
    login = await browser.get("/oauth2/link")
    await browser.sign_in(login, "alice")
    wrong = await browser.get("/oauth2/link", user_code="BCDF-GHJK")
    assert wrong.status == 400 and "not valid" in wrong.text
    # Codes are forgiving about case and the dash.
    code = started.json["user_code"].replace("-", "").lower()
    consent = await browser.get("/oauth2/link", user_code=code)
    assert consent.status == 200 and "Allow access?" in consent.text
    denied = await browser.post_form("/oauth2/link", [*consent.hidden(), ("decision", "deny")])
    assert "Access denied" in denied.text
    poll = await token_request(
        browser,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": started.json["device_code"],
            "client_id": client["client_id"],
        },
    )
    assert poll.json["error"] == "access_denied"


async def test_input_authlib_cannot_quote_is_a_clean_error(browser: Browser) -> None:
    client = await register_client(browser)
    query = authorize_query(
        client["client_id"], pkce()[1], new_device_id(), redirect_uri='https://x.example/"'
    )
    page = await browser.get("/oauth2/authorize", **query)
    assert page.status == 400 and "not valid" in page.text
    odd = {**query, "redirect_uri": REDIRECT_URI, "response_type": 'co"de'}
    page = await browser.get("/oauth2/authorize", **odd)
    assert page.status in (302, 400)
    token = await token_request(browser, {"grant_type": 'x"y'})
    assert token.status == 400 and token.json["error"] in (
        "invalid_request",
        "unsupported_grant_type",
    )


async def _web_client_tokens(browser: Browser, username: str) -> dict[str, Any]:
    verifier, challenge = pkce()
    redirect = "http://localhost:8008/"
    query = authorize_query(WEB_CLIENT_ID, challenge, new_device_id(), redirect_uri=redirect)
    location = await approve(browser, query, username)
    tokens = await token_request(
        browser,
        {
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": redirect,
            "client_id": WEB_CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert tokens.status == 200, tokens.text
    return dict(tokens.json)


async def test_signing_out_of_the_web_client_ends_the_browser_sign_in(browser: Browser) -> None:
    await register_user(browser, "alice")
    tokens = await _web_client_tokens(browser, "alice")
    revoked = await browser.post_form(
        "/oauth2/revoke",
        {"token": tokens["refresh_token"], "client_id": WEB_CLIENT_ID},
    )
    assert revoked.status == 200
    # The next sign-in asks for a password again instead of reusing alice's.
    _, challenge = pkce()
    page = await browser.get(
        "/oauth2/authorize",
        **authorize_query(
            WEB_CLIENT_ID, challenge, new_device_id(), redirect_uri="http://localhost:8008/"
        ),
    )
    assert page.status == 200 and 'action="/oauth2/login"' in page.text


async def test_prompt_login_asks_for_the_password_again(browser: Browser) -> None:
    await register_user(browser, "alice")
    await _web_client_tokens(browser, "alice")  # alice is signed in in this browser
    _, challenge = pkce()
    query = authorize_query(
        WEB_CLIENT_ID,
        challenge,
        new_device_id(),
        redirect_uri="http://localhost:8008/",
        prompt="login",
    )
    page = await browser.get("/oauth2/authorize", **query)
    assert page.status == 200 and 'action="/oauth2/login"' in page.text
    assert "prompt=login" not in page.text  # after the password, no second prompt


async def test_closing_the_account_from_the_account_page(browser: Browser) -> None:
    await register_user(browser, "alice")
    tokens, _client_id, _device = await oauth_tokens(browser, "alice")
    account = await browser.get("/oauth2/account", action="org.matrix.account_deactivate")
    assert account.status == 200
    assert 'action="/oauth2/account/deactivate"' in account.text
    assert 'class="closing highlight"' in account.text  # the action points at the form

    # A wrong password: the page again, with the error; nothing is closed.
    wrong = await browser.post_form(
        "/oauth2/account/deactivate", {"csrf_token": account.csrf, "password": "not it"}
    )
    assert wrong.status == 401 and "That is not your password." in wrong.text
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await browser.request("GET", f"{V3}/account/whoami", headers=auth)
    assert me.status == 200
    # Without the CSRF token, nothing happens either.
    forged = await browser.post_form("/oauth2/account/deactivate", {"password": PASSWORD})
    assert forged.status == 403
    assert (await browser.request("GET", f"{V3}/account/whoami", headers=auth)).status == 200

    closed = await browser.post_form(
        "/oauth2/account/deactivate",
        {"csrf_token": account.csrf, "password": PASSWORD, "erase": "1"},
    )
    assert closed.status == 200 and "Account deactivated" in closed.text, closed.text
    me = await browser.request("GET", f"{V3}/account/whoami", headers=auth)
    assert (me.status, me.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The browser is signed out, and signing in again says why it fails.
    again = await browser.get("/oauth2/account")
    assert "Sign in" in again.text and "@alice:localhost" not in again.text
    login = await browser.sign_in(again, "alice")
    assert login.status == 403 and "This account has been deactivated." in login.text
    metadata = await browser.request("GET", "/_matrix/client/v1/auth_metadata")
    assert "org.matrix.account_deactivate" in metadata.json["account_management_actions_supported"]

"""The authorization code grant with PKCE, in-process: the happy path and the
errors RFC 6749 and RFC 7636 prescribe."""

from __future__ import annotations

from tests.oauth.helpers import (
    REDIRECT_URI,
    Browser,
    approve,
    authorize_query,
    new_device_id,
    pkce,
    query_of,
    register_client,
    register_user,
    token_request,
)

WHOAMI = "/_matrix/client/v3/account/whoami"


async def _code(browser: Browser, **extra: str) -> tuple[str, str, str, str]:
    await register_user(browser, "alice")
    client = await register_client(browser)
    verifier, challenge = pkce()
    device = new_device_id()
    location = await approve(
        browser, authorize_query(client["client_id"], challenge, device, **extra), "alice"
    )
    params = query_of(location, fragment=extra.get("response_mode") == "fragment")
    assert params["state"] == "xyz"
    return client["client_id"], params["code"], verifier, device


async def test_code_flow_gives_working_tokens(browser: Browser) -> None:
    client_id, code, verifier, device = await _code(browser)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    tokens = await token_request(browser, form)
    assert tokens.status == 200, tokens.text
    assert tokens.json["token_type"] == "Bearer"
    assert device in tokens.json["scope"]
    assert tokens.headers["Cache-Control"] == "no-store"
    me = await browser.request(
        "GET", WHOAMI, headers={"Authorization": f"Bearer {tokens.json['access_token']}"}
    )
    assert me.status == 200, me.text
    assert me.json == {"user_id": "@alice:localhost", "device_id": device, "is_guest": False}


async def test_wrong_verifier_reused_code_and_wrong_redirect(browser: Browser) -> None:
    client_id, code, verifier, _device = await _code(browser)
    base = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
    wrong = await token_request(
        browser, {**base, "redirect_uri": REDIRECT_URI, "code_verifier": pkce()[0]}
    )
    assert (wrong.status, wrong.json["error"]) == (400, "invalid_grant")
    bad_redirect = await token_request(
        browser,
        {**base, "redirect_uri": "https://app.example.com/other", "code_verifier": verifier},
    )
    assert (bad_redirect.status, bad_redirect.json["error"]) == (400, "invalid_grant")
    good = await token_request(
        browser, {**base, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    )
    assert good.status == 200, good.text
    again = await token_request(
        browser, {**base, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    )
    assert (again.status, again.json["error"]) == (400, "invalid_grant")
    # RFC 6749 4.1.2: the tokens the code gave are revoked too.
    me = await browser.request(
        "GET", WHOAMI, headers={"Authorization": f"Bearer {good.json['access_token']}"}
    )
    assert (me.status, me.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")


async def test_fragment_response_mode(browser: Browser) -> None:
    _client, code, _verifier, _device = await _code(browser, response_mode="fragment")
    assert code

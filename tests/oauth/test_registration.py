"""Dynamic client registration (RFC 7591) with the Matrix redirect URI rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.oauth.helpers import Browser

WEB = {"client_uri": "https://example.com/", "token_endpoint_auth_method": "none"}


async def _register(browser: Browser, **body: Any) -> Any:
    return await browser.request("POST", "/oauth2/registration", json={**WEB, **body})


@pytest.mark.parametrize(
    ("application_type", "uri"),
    [
        ("web", "https://example.com/callback"),
        ("web", "https://app.example.com/callback"),
        ("web", "https://example.com:5173/?query=value"),
        ("native", "com.example.app:/callback"),
        ("native", "com.example:callback"),
        ("native", "http://localhost/callback"),
        ("native", "http://127.0.0.1/callback"),
        ("native", "http://[::1]/callback"),
        ("native", "https://example.com/callback"),
    ],
)
async def test_accepted_redirect_uris(browser: Browser, application_type: str, uri: str) -> None:
    page = await _register(browser, application_type=application_type, redirect_uris=[uri])
    assert page.status == 201, page.text
    assert page.json["redirect_uris"] == [uri]
    assert "client_secret" not in page.json
    assert page.json["grant_types"] == ["authorization_code", "refresh_token"]


@pytest.mark.parametrize(
    ("application_type", "uri"),
    [
        ("web", "https://example.com/callback#fragment"),
        ("web", "http://example.com/callback"),
        ("web", "http://localhost/"),
        ("web", "https://app.com/callback"),
        ("web", "https://user:pw@example.com/callback"),
        ("native", "example:/callback"),
        ("native", "com.example.app://callback"),
        ("native", "https://localhost/callback"),
        ("native", "http://localhost:1234/callback"),
        ("native", "http://192.168.1.2/callback"),
    ],
)
async def test_refused_redirect_uris(browser: Browser, application_type: str, uri: str) -> None:
    page = await _register(browser, application_type=application_type, redirect_uris=[uri])
    assert (page.status, page.json["error"]) == (400, "invalid_redirect_uri"), page.text


@pytest.mark.parametrize(
    "body",
    [
        {"client_uri": "http://example.com/"},
        {"client_uri": None},
        {"logo_uri": "https://elsewhere.example/logo.png"},
        {"application_type": "desktop"},
        {"token_endpoint_auth_method": "private_key_jwt"},
        {"grant_types": ["client_credentials"]},
        {"grant_types": "authorization_code"},
    ],
)
async def test_refused_metadata(browser: Browser, body: dict[str, Any]) -> None:
    payload = {**WEB, "redirect_uris": ["https://example.com/cb"], **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    page = await browser.request("POST", "/oauth2/registration", json=payload)
    assert (page.status, page.json["error"]) == (400, "invalid_client_metadata"), page.text


async def test_unknown_grant_types_are_ignored_and_confidential_clients_get_a_secret(
    browser: Browser,
) -> None:
    page = await _register(
        browser,
        redirect_uris=["https://example.com/cb"],
        grant_types=["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
        token_endpoint_auth_method="client_secret_basic",
        client_name="Backend",
        tos_uri="https://example.com/tos",
    )
    assert page.status == 201, page.text
    assert page.json["grant_types"] == ["authorization_code", "refresh_token"]
    assert page.json["client_secret"] and page.json["client_secret_expires_at"] == 0
    assert page.json["tos_uri"] == "https://example.com/tos"


async def test_not_json_is_refused(browser: Browser) -> None:
    page = await browser.request(
        "POST", "/oauth2/registration", form={"client_uri": "https://example.com/"}
    )
    assert (page.status, page.json["error"]) == (400, "invalid_client_metadata")

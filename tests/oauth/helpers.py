"""Helpers for the OAuth tests: a browser over Quart's test client (cookies,
CSRF tokens from the pages, every response checked against the OpenAPI
contract), PKCE values, client registration and the user's side of a flow."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from quart.testing import QuartClient
from werkzeug.datastructures import Headers

from tests.contract import check_response

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
REDIRECT_URI = "https://app.example.com/callback"
CLIENT_URI = "https://app.example.com/"
PASSWORD = "correct horse battery"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def new_device_id() -> str:
    return "DEV" + secrets.token_hex(6).upper()


def matrix_scope(device_id: str) -> str:
    return f"urn:matrix:client:api:* urn:matrix:client:device:{device_id}"


@dataclass
class Page:
    status: int
    text: str
    headers: Headers
    json: Any = None

    @property
    def location(self) -> str:
        return str(self.headers.get("Location", ""))

    @property
    def csrf(self) -> str:
        match = CSRF.search(self.text)
        assert match, f"no CSRF token in page ({self.status}): {self.text[:400]}"
        return html.unescape(match.group(1))

    def hidden(self) -> list[tuple[str, str]]:
        return [(html.unescape(k), html.unescape(v)) for k, v in HIDDEN.findall(self.text)]


def query_of(url: str, *, fragment: bool = False) -> dict[str, str]:
    parts = urlsplit(url)
    return {k: v[0] for k, v in parse_qs(parts.fragment if fragment else parts.query).items()}


class Browser:
    """A user agent: keeps cookies, reads forms, never follows redirects."""

    def __init__(self, client: QuartClient) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: list[tuple[str, str]] | dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        kwargs: dict[str, Any] = {"headers": dict(headers or {})}
        if query:
            kwargs["query_string"] = query
        if form is not None:
            items = list(form.items()) if isinstance(form, dict) else form
            kwargs["data"] = urlencode(items).encode()
            kwargs["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        if json is not None:
            kwargs["json"] = json
        response = await self.client.open(path, method=method, **kwargs)
        raw = (await response.get_data()).decode()
        body = await response.get_json() if response.mimetype == "application/json" else None
        check_response(
            method,
            path,
            response.status_code,
            body if body is not None else (raw or None),
            response.mimetype,
        )
        return Page(response.status_code, raw, Headers(response.headers), body)

    async def get(self, path: str, **query: str) -> Page:
        return await self.request("GET", path, query=query or None)

    async def post_form(self, path: str, form: list[tuple[str, str]] | dict[str, str]) -> Page:
        return await self.request("POST", path, form=form)

    async def sign_in(self, page: Page, username: str, password: str = PASSWORD) -> Page:
        """Fills in the login form of `page`; returns the response (a redirect)."""
        fields = dict(page.hidden())
        fields.update(username=username, password=password)
        return await self.post_form("/oauth2/login", fields)

    async def follow(self, response: Page) -> Page:
        assert response.status in (302, 303), (response.status, response.text[:300])
        location = response.location
        parts = urlsplit(location)
        assert parts.path.startswith("/oauth2/"), location
        return await self.get(parts.path, **query_of(location))


async def register_user(browser: Browser, username: str) -> str:
    body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    page = await browser.request("POST", "/_matrix/client/v3/register", json=body)
    assert page.status == 200, page.text
    return str(page.json["user_id"])


async def password_login(browser: Browser, username: str = "alice", **extra: Any) -> dict[str, Any]:
    """`POST /login` with the password (a standard Matrix client's sign-in)."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": PASSWORD,
        **extra,
    }
    page = await browser.request("POST", "/_matrix/client/v3/login", json=body)
    assert page.status == 200, page.text
    return dict(page.json)


async def register_client(browser: Browser, **metadata: Any) -> dict[str, Any]:
    body = {
        "client_name": "Test app",
        "client_uri": CLIENT_URI,
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "application_type": "web",
    }
    body.update(metadata)
    page = await browser.request("POST", "/oauth2/registration", json=body)
    assert page.status == 201, page.text
    return dict(page.json)


def authorize_query(
    client_id: str,
    challenge: str,
    device_id: str,
    *,
    redirect_uri: str = REDIRECT_URI,
    state: str = "xyz",
    **extra: str,
) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": matrix_scope(device_id),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    query.update(extra)
    return query


async def approve(browser: Browser, query: dict[str, str], username: str) -> str:
    """The user's side of the code flow: sign in if asked, allow; returns the
    redirect back to the client."""
    page = await browser.get("/oauth2/authorize", **query)
    if 'action="/oauth2/login"' in page.text:
        signed_in = await browser.sign_in(page, username)
        assert signed_in.status == 303, signed_in.text[:500]
        page = await browser.follow(signed_in)
    if page.status == 302:
        return page.location
    assert page.status == 200 and "Allow access?" in page.text, page.text[:500]
    fields = [*page.hidden(), ("decision", "allow")]
    decided = await browser.post_form("/oauth2/authorize", fields)
    assert decided.status == 302, decided.text[:500]
    return decided.location


async def token_request(browser: Browser, form: dict[str, str], **headers: str) -> Page:
    return await browser.request("POST", "/oauth2/token", form=form, headers=headers)


async def oauth_tokens(browser: Browser, username: str) -> tuple[dict[str, Any], str, str]:
    """Signs `username` in to a new app with the code flow: (tokens, client id, device)."""
    client = await register_client(browser)
    verifier, challenge = pkce()
    device = new_device_id()
    location = await approve(
        browser, authorize_query(client["client_id"], challenge, device), username
    )
    tokens = await token_request(
        browser,
        {
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"],
            "code_verifier": verifier,
        },
    )
    assert tokens.status == 200
    return dict(tokens.json), client["client_id"], device

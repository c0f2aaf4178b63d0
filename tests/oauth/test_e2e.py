"""The flows against the real server process, driven by Authlib's OAuth 2.0
client (httpx by hand for the device grant, which it lacks). Every response is
checked against the OpenAPI contract."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt as pyjwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.contract import check_response
from tests.e2e.conftest import ServerProcess, StartServer, free_port
from tests.e2e.helpers import V3
from tests.oauth.helpers import CLIENT_URI, PASSWORD, REDIRECT_URI, matrix_scope, new_device_id

pytestmark = pytest.mark.e2e

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _check(response: httpx.Response) -> None:
    response.read()
    mimetype = response.headers.get("content-type", "").split(";")[0] or None
    body: Any = response.json() if mimetype == "application/json" else (response.text or None)
    check_response(
        response.request.method, response.request.url.path, response.status_code, body, mimetype
    )


HOOKS = {"response": [_check]}


def _http() -> httpx.Client:
    return httpx.Client(event_hooks=HOOKS, timeout=10)


def _server(start_server: StartServer, tmp_path: Path, **settings: Any) -> ServerProcess:
    port = free_port()
    data_dir = tmp_path / "data"
    if settings:
        data_dir.mkdir()
        lines = [f"{key}: {value}" for key, value in settings.items()]
        (data_dir / "homeserver.yaml").write_text("\n".join(lines) + "\n")
    return start_server(
        data_dir=data_dir, port=port, env={"PUBLIC_BASEURL": f"http://127.0.0.1:{port}"}
    )


def _fields(page: httpx.Response) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(page.text)}


class User:
    """The person at the browser: signs in and answers the consent page."""

    def __init__(self, base_url: str, username: str) -> None:
        self.http = httpx.Client(base_url=base_url, event_hooks=HOOKS, timeout=10)
        self.username = username
        body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
        assert self.http.post(f"{V3}/register", json=body).status_code == 200

    def open(self, url: str) -> httpx.Response:
        """Opens a page, signing in on the way if asked to."""
        page = self.http.get(url)
        if 'action="/oauth2/login"' in page.text:
            form = {**_fields(page), "username": self.username, "password": PASSWORD}
            signed_in = self.http.post("/oauth2/login", data=form)
            assert signed_in.status_code == 303, signed_in.text
            page = self.http.get(signed_in.headers["location"])
        return page

    def allow(self, page: httpx.Response, action: str) -> httpx.Response:
        assert page.status_code == 200 and "Allow access?" in page.text, page.text[:300]
        return self.http.post(action, data={**_fields(page), "decision": "allow"})


def _metadata(base_url: str) -> dict[str, Any]:
    response = _http().get(f"{base_url}/_matrix/client/v1/auth_metadata")
    assert response.status_code == 200
    metadata: dict[str, Any] = response.json()
    AuthorizationServerMetadata(metadata).validate()
    return metadata


def _register(base_url: str, metadata: dict[str, Any], **body: Any) -> str:
    payload = {
        "client_name": "E2E app",
        "client_uri": CLIENT_URI,
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        **body,
    }
    response = _http().post(metadata["registration_endpoint"], json=payload)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def _whoami(base_url: str, access_token: str) -> httpx.Response:
    return _http().get(
        f"{base_url}{V3}/account/whoami", headers={"Authorization": f"Bearer {access_token}"}
    )


def test_code_flow_refresh_rotation_and_revocation(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = _server(start_server, tmp_path)
    base = server.base_url
    metadata = _metadata(base)
    client_id = _register(
        base,
        metadata,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
    )
    device = new_device_id()
    oauth = OAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT_URI,
        scope=matrix_scope(device),
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        event_hooks=HOOKS,
    )
    verifier = generate_token(64)
    url, _state = oauth.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    alice = User(base, "alice")
    decided = alice.allow(alice.open(url), "/oauth2/authorize")
    assert decided.status_code == 302
    callback = decided.headers["location"]
    assert callback.startswith(REDIRECT_URI)

    # The code, with the wrong verifier: invalid_grant (RFC 7636 4.6).
    with pytest.raises(OAuthError, match="invalid_grant"):
        oauth.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback,
            code_verifier=generate_token(64),
        )
    token = oauth.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert set(token["scope"].split()) == set(matrix_scope(device).split())
    me = _whoami(base, token["access_token"])
    assert me.json() == {"user_id": "@alice:localhost", "device_id": device, "is_guest": False}

    # The access token is a JWT that a generic JOSE library verifies with the JWKS.
    jwks = _http().get(metadata["jwks_uri"]).json()
    header = pyjwt.get_unverified_header(token["access_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = pyjwt.decode(
        token["access_token"],
        pyjwt.PyJWK(key).key,
        algorithms=[key["alg"]],
        audience=base,
        issuer=metadata["issuer"],
    )
    assert claims["sub"] == "@alice:localhost"
    assert claims["client_id"] == client_id
    assert claims["device"] == device
    assert header["typ"] == "at+jwt"
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "scope", "client_id"} <= set(claims)

    # Refresh: rotation. The old refresh token still works until the new access
    # token is used (a lost response can be retried)...
    first_refresh = token["refresh_token"]
    second = oauth.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert second["refresh_token"] != first_refresh
    retried = oauth.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert _whoami(base, retried["access_token"]).status_code == 200
    # ...after which presenting it again is reuse: refused, and the session revoked.
    with pytest.raises(OAuthError, match="invalid_grant"):
        oauth.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    gone = _whoami(base, retried["access_token"])
    assert (gone.status_code, gone.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    with pytest.raises(OAuthError, match="invalid_grant"):
        oauth.refresh_token(metadata["token_endpoint"], refresh_token=retried["refresh_token"])

    # A new sign-in, then revocation (RFC 7009) takes effect on the next API call.
    verifier = generate_token(64)
    url, _state = oauth.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    decided = alice.allow(alice.open(url), "/oauth2/authorize")
    token = oauth.fetch_token(
        metadata["token_endpoint"],
        authorization_response=decided.headers["location"],
        code_verifier=verifier,
    )
    assert _whoami(base, token["access_token"]).status_code == 200
    revoked = oauth.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200
    after = _whoami(base, token["access_token"])
    assert (after.status_code, after.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    with pytest.raises(OAuthError, match="invalid_grant"):
        oauth.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])


def test_device_flow(start_server: StartServer, tmp_path: Path) -> None:
    server = _server(start_server, tmp_path, oauth_device_poll_interval_seconds=1)
    base = server.base_url
    metadata = _metadata(base)
    client_id = _register(base, metadata, grant_types=[DEVICE_GRANT], application_type="native")
    device = new_device_id()
    http = httpx.Client(event_hooks=HOOKS, timeout=10)
    started = http.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": client_id, "scope": matrix_scope(device)},
    )
    assert started.status_code == 200, started.text
    grant = started.json()
    assert grant["interval"] == 1
    assert urlsplit(grant["verification_uri"]).path == "/oauth2/link"
    poll = {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"], "client_id": client_id}

    pending = http.post(metadata["token_endpoint"], data=poll)
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    too_fast = http.post(metadata["token_endpoint"], data=poll)
    assert too_fast.json()["error"] == "slow_down"

    # On another device: the user opens the link, signs in and approves.
    bob = User(base, "bob")
    page = bob.open(grant["verification_uri_complete"])
    done = bob.allow(page, "/oauth2/link")
    assert done.status_code == 200 and "Device connected" in done.text

    time.sleep(6.1)  # the interval, grown by 5 s after slow_down
    tokens = http.post(metadata["token_endpoint"], data=poll)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    me = _whoami(base, body["access_token"])
    assert me.json()["user_id"] == "@bob:localhost" and me.json()["device_id"] == device
    # The device code is single-use.
    again = http.post(metadata["token_endpoint"], data=poll)
    assert again.status_code == 400

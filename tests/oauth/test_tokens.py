"""Access tokens on every request: signature, expiry, audience, issuer, scope
and the session row; the legacy API's refresh tokens; key rotation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt

from homeserver.config import Config
from homeserver.handlers.keys import TokenKeyRing, generate_token_key, load_token_keys
from homeserver.oauth.housekeeping import Housekeeping
from homeserver.server import HomeServer
from homeserver.util import now_ms
from tests.oauth.helpers import Browser, password_login, register_user

V3 = "/_matrix/client/v3"


def _server(app: Any) -> HomeServer:
    server: HomeServer = app.extensions["homeserver"]
    return server


async def _whoami(browser: Browser, token: str) -> Any:
    return await browser.request(
        "GET", f"{V3}/account/whoami", headers={"Authorization": f"Bearer {token}"}
    )


def _resign(app: Any, token: str, **changes: Any) -> str:
    """The token's claims, changed and signed again with the server's key."""
    ring = _server(app).keys.tokens
    decoded = jwt.decode(token, ring.verification_keys())
    key = ring.signing_key(now_ms())
    header = {**decoded.header, **changes.pop("header", {})}
    claims = {k: v for k, v in {**decoded.claims, **changes}.items() if v is not None}
    return jwt.encode(header, claims, key.key, algorithms=[key.alg])


async def test_password_login_keeps_long_lived_tokens(
    app_and_browser: tuple[Any, Browser],
) -> None:
    app, browser = app_and_browser
    await register_user(browser, "alice")
    login = await password_login(browser, "alice")
    assert "refresh_token" not in login and "expires_in_ms" not in login
    claims = jwt.decode(login["access_token"], _server(app).keys.tokens.verification_keys()).claims
    assert claims["exp"] - claims["iat"] == 365 * 86400
    assert claims["client_id"] == "m.login.password"
    assert claims["aud"] == "http://localhost:8008" and claims["sid"]
    assert (await _whoami(browser, login["access_token"])).status == 200


async def test_expired_tampered_and_foreign_tokens_are_rejected(
    app_and_browser: tuple[Any, Browser],
) -> None:
    app, browser = app_and_browser
    await register_user(browser, "alice")
    token = (await password_login(browser, "alice"))["access_token"]
    assert (await _whoami(browser, _resign(app, token))).status == 200
    now = int(time.time())
    cases = {
        "expired": _resign(app, token, iat=now - 7200, exp=now - 3600),
        "audience": _resign(app, token, aud="https://elsewhere.example"),
        "issuer": _resign(app, token, iss="https://elsewhere.example"),
        "scope": _resign(app, token, scope="openid"),
        "typ": _resign(app, token, header={"typ": "JWT"}),
        "no aud, new session": _resign(app, token, aud=None),
        "tampered": token[: token.index(".") + 1]
        + _resign(app, token, sub="@mallory:localhost").split(".")[1]
        + token[token.rindex(".") :],
        "alg none": token.split(".")[0][:-1] + "A." + token.split(".")[1] + ".",
    }
    for name, bad in cases.items():
        response = await _whoami(browser, bad)
        assert (response.status, response.json["errcode"]) == (401, "M_UNKNOWN_TOKEN"), name
        # An expired token is a soft logout: refresh, or sign in again keeping state.
        assert response.json["soft_logout"] is (name == "expired"), name


async def test_tokens_from_before_oauth_still_work(
    app_and_browser: tuple[Any, Browser],
) -> None:
    """Sessions created before the upgrade have no session_grants row and JWTs
    with the older claims; those keep working, and only those."""
    app, browser = app_and_browser
    await register_user(browser, "alice")
    server = _server(app)
    await server.storage.users.create_session(
        "oldsession", "@alice:localhost", "OLDDEVICE", now_ms(), now_ms() + 3_600_000
    )
    key = server.keys.tokens.signing_key(now_ms())
    now = int(time.time())
    claims = {
        "iss": server.config.base_url,
        "sub": "@alice:localhost",
        "device_id": "OLDDEVICE",
        "jti": "oldsession",
        "iat": now,
        "exp": now + 3600,
    }
    header = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
    old = jwt.encode(header, claims, key.key)
    assert (await _whoami(browser, old)).json["device_id"] == "OLDDEVICE"
    # The same claim set naming a new session is refused.
    login = await password_login(browser, "alice")
    sid = jwt.decode(login["access_token"], server.keys.tokens.verification_keys()).claims["sid"]
    forged = jwt.encode(header, {**claims, "jti": sid}, key.key)
    assert (await _whoami(browser, forged)).status == 401


async def test_legacy_refresh_rotates_with_grace_and_detects_reuse(
    app_and_browser: tuple[Any, Browser],
) -> None:
    _app, browser = app_and_browser
    await register_user(browser, "alice")
    login = await password_login(browser, "alice", refresh_token=True)
    assert login["expires_in_ms"] == 300_000 and login["refresh_token"].startswith("hsr_")
    first = login["refresh_token"]

    async def refresh(token: str) -> Any:
        return await browser.request("POST", f"{V3}/refresh", json={"refresh_token": token})

    second = await refresh(first)
    assert second.status == 200 and second.json["refresh_token"] != first
    # The response was "lost": the old token still works, once more...
    third = await refresh(first)
    assert third.status == 200
    # ...until the new access token is used.
    assert (await _whoami(browser, third.json["access_token"])).status == 200
    reused = await refresh(first)
    assert (reused.status, reused.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # Reuse ends the session: every token of it is dead.
    assert (await _whoami(browser, third.json["access_token"])).status == 401
    assert (await refresh(third.json["refresh_token"])).status == 401
    unknown = await refresh("hsr_nothing")
    assert unknown.status == 401


async def test_logout_kills_the_refresh_token(app_and_browser: tuple[Any, Browser]) -> None:
    _app, browser = app_and_browser
    await register_user(browser, "alice")
    login = await password_login(browser, "alice", refresh_token=True)
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    assert (await browser.request("POST", f"{V3}/logout", json={}, headers=headers)).status == 200
    refreshed = await browser.request(
        "POST", f"{V3}/refresh", json={"refresh_token": login["refresh_token"]}
    )
    assert refreshed.status == 401


def test_key_ring_rotation_publishes_first_and_retires_after_lifetime() -> None:
    start = 1_000_000_000_000
    ring = TokenKeyRing([generate_token_key("ES256", start, start)], max_token_lifetime_seconds=300)
    first = ring.signing_key(start)
    assert not ring.rotation_due(start, 86400, "ES256")
    later = start + 86400 * 1000
    assert ring.rotation_due(later, 86400, "ES256")
    second = ring.add("EdDSA", later, activate_after_seconds=3600)
    # Published at once, signing only after an hour.
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {first.kid, second.kid}
    assert ring.signing_key(later).kid == first.kid
    assert ring.signing_key(later + 3600 * 1000).kid == second.kid
    # The old key stays until every token it signed has expired.
    assert ring.prune(later + 3600 * 1000 + 299_000) == []
    assert ring.prune(later + 3600 * 1000 + 301_000) == [first.kid]
    assert [k.kid for k in ring.keys] == [second.kid]
    assert all("d" not in k for k in ring.public_jwks()["keys"])


async def test_housekeeping_switches_algorithm_and_persists(config: Config) -> None:
    config.jwt_signing_alg = "EdDSA"
    server = await HomeServer.start(config)
    try:
        key = server.keys.tokens.signing_key(now_ms())
        assert key.alg == "EdDSA"
        assert len(server.keys.tokens.keys) == 2  # the original ES256 key stays published
        reloaded = load_token_keys(
            config.data_dir / "token_keys.json", config.data_dir / "token_signing.pem", 3600
        )
        assert [k.kid for k in reloaded.keys] == [k.kid for k in server.keys.tokens.keys]
        issued = await server.tokens.issue("@alice:localhost", "DEVICE")
        decoded = jwt.decode(
            issued.access_token, reloaded.verification_keys(), algorithms=["EdDSA"]
        )
        assert decoded.header["alg"] == "EdDSA"
        housekeeping: Housekeeping = server.oauth_housekeeping
        await housekeeping.run_once()  # nothing due
        assert len(server.keys.tokens.keys) == 2
    finally:
        await server.stop()


@pytest.mark.parametrize("alg", ["RS256", ""])
async def test_unsupported_algorithm_is_a_config_error(config: Config, alg: str) -> None:
    config.jwt_signing_alg = alg
    with pytest.raises(Exception, match="jwt_signing_alg"):
        await HomeServer.start(config)

"""The smaller findings of issue 13, each kept fixed: RFC 8628 polling errors,
the first access-token key, static files for any path, the security headers,
`/.well-known/matrix/server`, `Allow` on 405, and full_state's type."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeserver.app import create_app
from homeserver.config import Config
from homeserver.handlers.keys import load_token_keys
from homeserver.oauth.housekeeping import PREPUBLISH_SECONDS
from homeserver.util import now_ms
from tests.matrix_client import V3, TestClient
from tests.oauth.helpers import (
    Browser,
    Page,
    authorize_query,
    matrix_scope,
    new_device_id,
    pkce,
    register_client,
    register_user,
    token_request,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def _device_client(browser: Browser) -> str:
    client = await register_client(
        browser, grant_types=[DEVICE_GRANT], application_type="native", redirect_uris=[]
    )
    return str(client["client_id"])


async def test_device_code_polling_errors_are_invalid_grant(browser: Browser) -> None:
    first = await _device_client(browser)
    other = await _device_client(browser)
    started = await browser.request(
        "POST",
        "/oauth2/device",
        form={
            "client_id": first,
            "scope": f"urn:matrix:client:api:* urn:matrix:client:device:{new_device_id()}",
        },
    )
    assert started.status == 200, started.text
    device_code = started.json["device_code"]
    poll = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": first}
    pending = await token_request(browser, poll)
    assert pending.json["error"] == "authorization_pending"
    unknown = await token_request(browser, {**poll, "device_code": "no-such-code"})
    assert unknown.status == 400 and unknown.json["error"] == "invalid_grant", unknown.json
    stolen = await token_request(browser, {**poll, "client_id": other})
    assert stolen.status == 400 and stolen.json["error"] == "invalid_grant", stolen.json


def test_the_first_token_key_is_not_rotated_at_once(tmp_path: Path) -> None:
    ring = load_token_keys(tmp_path / "token_keys.json", tmp_path / "token_signing.pem", 3600)
    (first,) = ring.keys
    assert first.activates_ms == 0  # it signs from the start
    rotation = 90 * 86400
    now = now_ms()
    assert not ring.rotation_due(now, rotation, "ES256")
    assert not ring.rotation_due(now + (rotation - 60) * 1000, rotation, "ES256")
    assert ring.rotation_due(first.created_ms + rotation * 1000, rotation, "ES256")


async def test_server_start_keeps_a_single_first_key(client: TestClient) -> None:
    keys = client.app.extensions["homeserver"].keys.tokens.keys
    assert len(keys) == 1, [k.kid for k in keys]
    assert PREPUBLISH_SECONDS > 0


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><script type=module src=/assets/a.js>")
    (dist / "assets" / "a.js").write_text("console.log(1)")
    (dist / "sw.js").write_text("self.addEventListener('push', () => {})")
    (tmp_path / "secret.txt").write_text("not for the web")
    return dist


@pytest.fixture
async def web(config: Config, web_dir: Path) -> TestClient:
    config.web_client_dir = str(web_dir)
    config.public_baseurl = "https://chat.example.org"
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/static/" + "a" * 5000,
        "/oauth2/static/" + "a/" * 3000 + "x.css",
        "/oauth2/static/oauth.css\x00.txt",
        "/oauth2/static/../templates/oauth-base.html",
        "/sw.js\x00.txt",
        "/" + "a" * 5000 + ".js",
        "/assets/" + "b" * 5000 + ".js",
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/oauth2/static/../../../../secret.txt",
    ],
)
async def test_static_files_answer_404_or_400_for_any_path(web: TestClient, path: str) -> None:
    response = await web.get(path.replace("%", "%25"), check_contract=False)
    assert response.status in (400, 404), (path[:60], response.status, response.body)


async def test_static_files_are_served(web: TestClient) -> None:
    assert (await web.get("/oauth2/static/oauth.css", check_contract=False)).status == 200
    assert (await web.get("/assets/a.js", check_contract=False)).status == 200
    assert (await web.get("/sw.js", check_contract=False)).status == 200


async def test_security_headers_on_the_web_client(web: TestClient) -> None:
    for path in ("/", "/rooms/somewhere", "/assets/a.js", "/sw.js", "/missing.png"):
        response = await web.get(path, check_contract=False)
        headers = {k.lower(): v for k, v in response.headers.items()}
        csp = headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp, csp
        assert "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "connect-src 'self' wss://chat.example.org" in csp, csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["strict-transport-security"].startswith("max-age=")


async def test_security_headers_on_the_sign_in_pages(client: TestClient) -> None:
    for path in ("/oauth2/login", "/oauth2/signup", "/oauth2/static/oauth.css"):
        response = await client.get(path, check_contract=False)
        assert response.status == 200, (path, response.status)
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        # The default public base URL is plain http: no HSTS.
        assert "strict-transport-security" not in headers


async def test_well_known_server_is_a_json_404_without_federation(client: TestClient) -> None:
    (await client.get("/.well-known/matrix/server")).error(404, "M_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", f"{V3}/sync", "GET, HEAD, OPTIONS"),
        ("PATCH", "/.well-known/matrix/client", "GET, HEAD, OPTIONS"),
        ("TRACE", f"{V3}/createRoom", "POST, OPTIONS"),
        ("GET", f"{V3}/createRoom", "POST, OPTIONS"),
        ("GET", "/oauth2/token", "POST, OPTIONS"),
        ("TRACE", "/_matrix/client/unstable/homeserver.sync/ws", "GET, HEAD, OPTIONS"),
        (
            "PATCH",
            f"{V3}/devices/DEVICE",
            "GET, HEAD, PUT, DELETE, OPTIONS",
        ),
    ],
)
async def test_405_names_the_allowed_methods(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, check_contract=False)
    assert response.status == 405, (response.status, response.body)
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["allow"] == allow


async def test_plain_get_of_the_websocket_route_is_404(client: TestClient) -> None:
    response = await client.get("/_matrix/client/unstable/homeserver.sync/ws")
    response.error(404, "M_UNRECOGNIZED")


async def test_full_state_must_be_a_boolean(client: TestClient) -> None:
    alice = await client.register("alice")
    for value in ("null", "yes", "1", "TRUE"):
        (
            await client.get(f"{V3}/sync", token=alice.access_token, query={"full_state": value})
        ).error(400, "M_INVALID_PARAM")
    assert (
        await client.get(f"{V3}/sync", token=alice.access_token, query={"full_state": "true"})
    ).ok()


async def test_a_nul_in_a_static_path_is_a_400_page(client: TestClient) -> None:
    response = await client.get("/oauth2/static/oauth.css\x00.txt")
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")


def _frame_and_referrer_headers(page: Page) -> None:
    headers = {k.lower(): v for k, v in page.headers.items()}
    assert "frame-ancestors 'none'" in headers["content-security-policy"], headers
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


async def test_security_headers_on_the_consent_device_and_account_pages(browser: Browser) -> None:
    """The pages where a framed, clickjacked click would grant access: the
    consent page, the device approval page, the account page."""
    await register_user(browser, "alice")
    client_id = str((await register_client(browser))["client_id"])
    _, challenge = pkce()
    query = authorize_query(client_id, challenge, new_device_id())
    login = await browser.get("/oauth2/authorize", **query)
    _frame_and_referrer_headers(login)
    signed_in = await browser.sign_in(login, "alice")
    consent = await browser.follow(signed_in)
    assert consent.status == 200 and "Allow access?" in consent.text, consent.text[:300]
    _frame_and_referrer_headers(consent)
    device_client = await _device_client(browser)
    started = await browser.request(
        "POST",
        "/oauth2/device",
        form={"client_id": device_client, "scope": matrix_scope(new_device_id())},
    )
    approval = await browser.get("/oauth2/link", user_code=started.json["user_code"])
    assert approval.status == 200, approval.text[:300]
    _frame_and_referrer_headers(approval)
    account = await browser.get("/oauth2/account")
    assert account.status == 200, account.text[:300]
    _frame_and_referrer_headers(account)


async def test_hsts_on_the_sign_in_pages_over_https(web: TestClient) -> None:
    response = await web.get("/oauth2/login", check_contract=False)
    assert response.status == 200
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-frame-options"] == "DENY"

"""The verified-token cache: a token's repeat use costs no signature check and
no database read, and every way a session ends or a user changes makes the
next request with the old token fail at once."""

from __future__ import annotations

import ast
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from homeserver.handlers.token_cache import TokenCache, cache_key
from homeserver.handlers.tokens import Requester
from homeserver.server import HomeServer
from homeserver.storage.sessions import NewSession
from homeserver.util import now_ms
from tests.oauth.helpers import (
    PASSWORD,
    Browser,
    matrix_scope,
    oauth_tokens,
    password_login,
    register_user,
)

V3 = "/_matrix/client/v3"
App = tuple[Any, Browser]


def _server(app: Any) -> HomeServer:
    server: HomeServer = app.extensions["homeserver"]
    return server


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _whoami(browser: Browser, token: str) -> Any:
    return await browser.request("GET", f"{V3}/account/whoami", headers=_auth(token))


def _is_cached(server: HomeServer, token: str) -> bool:
    return server.tokens.cache.get(cache_key(token), now_ms()) is not None


async def _cached(browser: Browser, server: HomeServer, token: str) -> None:
    assert (await _whoami(browser, token)).status == 200
    assert _is_cached(server, token)


async def _refused(browser: Browser, token: str, *, soft_logout: bool = False) -> None:
    response = await _whoami(browser, token)
    assert (response.status, response.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    assert response.json["soft_logout"] is soft_logout


def _count_calls(monkeypatch: pytest.MonkeyPatch, server: HomeServer) -> Counter[str]:
    """Counts the signature checks and the reads and writes verify() makes."""
    counts: Counter[str] = Counter()

    def counted_async(name: str, method: Callable[..., Awaitable[Any]]) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return await method(*args, **kwargs)

        return wrapper

    def counted(name: str, method: Callable[..., Any]) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return method(*args, **kwargs)

        return wrapper

    sessions, users = server.storage.sessions, server.storage.users
    monkeypatch.setattr(sessions, "get", counted_async("sessions.get", sessions.get))
    monkeypatch.setattr(
        sessions, "confirm_access", counted_async("confirm_access", sessions.confirm_access)
    )
    monkeypatch.setattr(users, "get_user", counted_async("users.get_user", users.get_user))
    monkeypatch.setattr(server.tokens, "decode", counted("decode", server.tokens.decode))
    return counts


# -- served from memory ---------------------------------------------------------------


async def test_repeat_use_reads_nothing_and_checks_no_signature(
    app_and_browser: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    token = (await password_login(browser))["access_token"]
    counts = _count_calls(monkeypatch, server)
    assert (await _whoami(browser, token)).json["user_id"] == "@alice:localhost"
    assert counts == {"decode": 1, "sessions.get": 1, "users.get_user": 1}
    for _ in range(3):
        assert (await _whoami(browser, token)).json["user_id"] == "@alice:localhost"
    assert counts == {"decode": 1, "sessions.get": 1, "users.get_user": 1}


async def test_expired_token_is_refused_even_if_cached(
    app_and_browser: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    token = (await password_login(browser, refresh_token=True))["access_token"]
    await _cached(browser, server, token)
    later_s, later_ms = time.time() + 301, now_ms() + 301_000
    monkeypatch.setattr(time, "time", lambda: later_s)
    monkeypatch.setattr("homeserver.handlers.tokens.now_ms", lambda: later_ms)
    # Expired, as an uncached token would be: a soft logout.
    await _refused(browser, token, soft_logout=True)
    assert len(server.tokens.cache) == 0


async def test_refreshed_token_is_cached_only_once_confirmed(
    app_and_browser: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    login = await password_login(browser, refresh_token=True)
    await _cached(browser, server, login["access_token"])

    async def refresh(token: str) -> Any:
        return await browser.request("POST", f"{V3}/refresh", json={"refresh_token": token})

    second = await refresh(login["refresh_token"])
    assert second.status == 200
    counts = _count_calls(monkeypatch, server)
    # The cached older token still works and does not confirm the new one...
    assert (await _whoami(browser, login["access_token"])).status == 200
    assert counts["confirm_access"] == 0
    assert (await refresh(login["refresh_token"])).status == 200  # the lost-response retry
    third = await refresh(login["refresh_token"])
    assert third.status == 200
    # ...the new token's first use does, and only then is it cached.
    new_access = third.json["access_token"]
    await _cached(browser, server, new_access)
    assert counts["confirm_access"] == 1
    assert (await _whoami(browser, new_access)).status == 200
    assert counts["confirm_access"] == 1
    reused = await refresh(login["refresh_token"])
    assert (reused.status, reused.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # Reuse ended the session: the cached tokens are gone with it.
    await _refused(browser, new_access)
    await _refused(browser, login["access_token"])


# -- every way out evicts at once ---------------------------------------------------------


async def test_logout_evicts_only_that_device(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    phone, laptop = (
        (await password_login(browser))["access_token"],
        (await password_login(browser))["access_token"],
    )
    await _cached(browser, server, phone)
    await _cached(browser, server, laptop)
    assert (await browser.request("POST", f"{V3}/logout", json={}, headers=_auth(phone))).status
    await _refused(browser, phone)
    assert _is_cached(server, laptop)
    assert (await _whoami(browser, laptop)).status == 200


async def test_logout_all_evicts_every_device(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    phone, laptop = (
        (await password_login(browser))["access_token"],
        (await password_login(browser))["access_token"],
    )
    await _cached(browser, server, phone)
    await _cached(browser, server, laptop)
    done = await browser.request("POST", f"{V3}/logout/all", json={}, headers=_auth(phone))
    assert done.status == 200
    await _refused(browser, phone)
    await _refused(browser, laptop)


def _password_auth() -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "@alice:localhost"},
        "password": PASSWORD,
    }


async def test_deleting_a_device_evicts_it(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    phone, laptop = await password_login(browser), await password_login(browser)
    await _cached(browser, server, phone["access_token"])
    await _cached(browser, server, laptop["access_token"])
    deleted = await browser.request(
        "DELETE",
        f"{V3}/devices/{phone['device_id']}",
        json={"auth": _password_auth()},
        headers=_auth(laptop["access_token"]),
    )
    assert deleted.status == 200, deleted.text
    await _refused(browser, phone["access_token"])
    assert _is_cached(server, laptop["access_token"])


async def test_password_change_evicts_the_other_devices(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    phone, laptop = (
        (await password_login(browser))["access_token"],
        (await password_login(browser))["access_token"],
    )
    await _cached(browser, server, phone)
    await _cached(browser, server, laptop)
    changed = await browser.request(
        "POST",
        f"{V3}/account/password",
        json={"new_password": "a brand new password", "auth": _password_auth()},
        headers=_auth(phone),
    )
    assert changed.status == 200, changed.text
    await _refused(browser, laptop)
    assert (await _whoami(browser, phone)).status == 200


async def test_oauth_revocation_evicts(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    tokens, client_id, _device = await oauth_tokens(browser, "alice")
    await _cached(browser, server, tokens["access_token"])
    revoked = await browser.post_form(
        "/oauth2/revoke", {"token": tokens["refresh_token"], "client_id": client_id}
    )
    assert revoked.status == 200, revoked.text
    await _refused(browser, tokens["access_token"])


async def test_signing_out_on_the_sessions_page_evicts(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    tokens, _client_id, device = await oauth_tokens(browser, "alice")
    await _cached(browser, server, tokens["access_token"])
    account = await browser.get("/oauth2/account")
    revoke = await browser.post_form(
        "/oauth2/account/revoke", {"csrf_token": account.csrf, "device_id": device}
    )
    assert revoke.status == 303
    await _refused(browser, tokens["access_token"])


async def test_a_new_sign_in_on_the_device_evicts_the_old_session(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    tokens, client_id, device = await oauth_tokens(browser, "alice")
    await _cached(browser, server, tokens["access_token"])
    session = NewSession(
        "newsession", "@alice:localhost", device, client_id, matrix_scope(device), 0
    )
    await server.tokens.open_session(session, access_jti="jti", refresh_token="hsr_new")
    await _refused(browser, tokens["access_token"])


async def test_deactivation_evicts(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    token = (await password_login(browser))["access_token"]
    await _cached(browser, server, token)
    await server.storage.users.deactivate("@alice:localhost")
    await _refused(browser, token)


async def test_admin_flag_change_is_seen_at_once(app_and_browser: App) -> None:
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    token = (await password_login(browser))["access_token"]
    assert not (await server.tokens.verify(token)).is_admin
    await server.storage.users.set_admin("@alice:localhost", True)
    assert (await server.tokens.verify(token)).is_admin
    await server.storage.users.set_admin("@alice:localhost", False)
    assert not (await server.tokens.verify(token)).is_admin


# -- the cache itself ------------------------------------------------------------------


def _requester(user: str = "@a:x", device: str = "D1") -> Requester:
    return Requester(user, device, f"{user}/{device}")


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache = TokenCache(max_entries=2)
    now = 1_000
    for name in (b"a", b"b"):
        cache.put(name, _requester(), now + 10, now, cache.generation)
    assert cache.get(b"a", now) is not None  # b is now the least recently used
    cache.put(b"c", _requester(), now + 10, now, cache.generation)
    assert [cache.get(k, now) is not None for k in (b"a", b"b", b"c")] == [True, False, True]


def test_cache_never_serves_expired_entries_and_purge_drops_them() -> None:
    cache = TokenCache()
    cache.put(b"a", _requester(), 2_000, 1_000, cache.generation)
    cache.put(b"b", _requester(), 5_000, 1_000, cache.generation)
    cache.put(b"c", _requester(), 1_000, 1_000, cache.generation)  # already expired
    assert len(cache) == 2
    assert cache.get(b"a", 1_999) is not None
    assert cache.get(b"a", 2_000) is None
    cache.expired_purged(5_000)
    assert len(cache) == 0


def test_cache_evicts_by_user_and_device() -> None:
    cache = TokenCache()
    entries = {b"1": _requester("@a:x", "D1"), b"2": _requester("@a:x", "D2")}
    entries[b"3"] = _requester("@b:x", "D1")
    for key, requester in entries.items():
        cache.put(key, requester, 10, 0, cache.generation)
    cache.evict("@a:x", frozenset({"D1"}))
    assert [cache.get(k, 0) is not None for k in entries] == [False, True, True]
    cache.evict("@a:x")
    assert [cache.get(k, 0) is not None for k in entries] == [False, False, True]


def test_a_verification_racing_an_eviction_is_not_kept() -> None:
    cache = TokenCache()
    started = cache.generation
    cache.evict("@a:x")  # the session ended while its row was being read
    cache.put(b"a", _requester(), 10, 0, started)
    assert cache.get(b"a", 0) is None


# -- the figure ------------------------------------------------------------------------


async def test_verify_cost_cached_and_uncached(
    app_and_browser: App, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a timing assertion: prints what verify() costs with and without the cache."""
    app, browser = app_and_browser
    server = _server(app)
    await register_user(browser, "alice")
    token = (await password_login(browser))["access_token"]
    uncached_runs, cached_runs = 200, 20_000
    start = time.perf_counter()
    for _ in range(uncached_runs):
        server.tokens.cache.clear()
        await server.tokens.verify(token)
    uncached = (time.perf_counter() - start) / uncached_runs
    start = time.perf_counter()
    for _ in range(cached_runs):
        await server.tokens.verify(token)
    cached = (time.perf_counter() - start) / cached_runs
    start = time.perf_counter()
    for _ in range(uncached_runs):
        server.tokens.decode(token)
    decode = (time.perf_counter() - start) / uncached_runs
    with capsys.disabled():
        print(
            f"\nverify() on {server.storage.engine.dialect.name}: uncached {uncached * 1e6:.0f} µs"
            f" (of which signature and claims {decode * 1e6:.0f} µs),"
            f" cached {cached * 1e6:.2f} µs ({uncached / cached:.0f}x)"
        )


# -- no future path forgets ------------------------------------------------------------

# Store methods that write these tables without announcing, and why they need not.
_SILENT_WRITES = {
    "UserStore.set_password_hash": "the password is not in a verified token",
    "UserStore.set_profile_field": "profile only",
    "UserStore.upsert_device": "last seen",
    "UserStore.rename_device": "display name",
    "UserStore.delete_devices_except": "devices rows only; sessions end in revoke_sessions",
    "SessionStore._upsert_device": "last seen",
    "SessionStore._end_session": "inside a transaction: its callers announce after commit",
    "SessionStore._rotate": "extends the expiry (cached entries keep the earlier one)",
}


def test_every_store_write_to_sessions_or_users_announces() -> None:
    """A store method that updates or deletes `sessions`, `users` or `devices`
    rows must announce on AuthChanges, or be listed above with its reason."""
    storage = Path(__file__).resolve().parents[2] / "homeserver" / "storage"
    unannounced = {
        f"{cls.name}.{method.name}"
        for module in sorted(storage.glob("*.py"))
        for cls in ast.walk(ast.parse(module.read_text()))
        if isinstance(cls, ast.ClassDef)
        for method in cls.body
        if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
        and _writes(method)
        and not _announces(method)
    }
    assert unannounced == set(_SILENT_WRITES)


def _writes(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("update", "delete")
        and any(
            isinstance(a, ast.Name) and a.id in ("sessions", "users", "devices") for a in node.args
        )
        for node in ast.walk(function)
    )


def _announces(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_changes"
        for node in ast.walk(function)
    )

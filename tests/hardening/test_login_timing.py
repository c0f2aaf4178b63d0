"""Login must not reveal which user names exist: an unknown user is checked
against a dummy argon2id hash, so it costs what a wrong password costs, and
the answer is the same. The durations are printed (a benchmark-style figure,
never asserted: the machine is shared); what is asserted is that argon2 runs
in both paths, for /login and for the OAuth login page."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from homeserver.config import Config
from tests.conftest import make_config
from tests.matrix_client import V3, TestClient
from tests.oauth.helpers import Browser, register_user

TRIES = 5


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """The production argon2id cost (the other tests use a cheap one), so that
    the printed figures mean something."""
    defaults = Config(data_dir=tmp_path)
    return make_config(
        tmp_path / "data",
        database_url,
        argon2_time_cost=defaults.argon2_time_cost,
        argon2_memory_kib=defaults.argon2_memory_kib,
    )


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        calls.append("verify")
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


async def _median_ms(attempt: Callable[[], Awaitable[Any]]) -> float:
    durations = []
    for _ in range(TRIES):
        started = time.perf_counter()
        await attempt()
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations)


def _login_body(user: str, password: str) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }


async def test_password_login_checks_a_hash_for_unknown_users(
    client: TestClient, verify_calls: list[str]
) -> None:
    await client.register("alice")
    answers: dict[str, Any] = {}

    async def attempt(user: str) -> None:
        response = await client.post(f"{V3}/login", json=_login_body(user, "wrong password!"))
        answers[user] = response.error(403, "M_FORBIDDEN")

    verify_calls.clear()
    wrong = await _median_ms(lambda: attempt("alice"))
    assert len(verify_calls) == TRIES
    verify_calls.clear()
    unknown = await _median_ms(lambda: attempt("nobody"))
    assert len(verify_calls) == TRIES, "an unknown user must cost an argon2 check too"
    assert answers["alice"] == answers["nobody"]
    print(
        f"\n/login median of {TRIES}: wrong password {wrong:.1f} ms, unknown user {unknown:.1f} ms"
    )


async def test_oauth_login_page_checks_a_hash_for_unknown_users(
    browser: Browser, verify_calls: list[str]
) -> None:
    await register_user(browser, "alice")
    pages: dict[str, str] = {}

    async def attempt(user: str) -> None:
        form = await browser.get("/oauth2/login")
        page = await browser.sign_in(form, user, "wrong password!")
        assert page.status == 401, page.status
        pages[user] = page.text.replace(user, "USER")

    verify_calls.clear()
    wrong = await _median_ms(lambda: attempt("alice"))
    assert len(verify_calls) == TRIES
    verify_calls.clear()
    unknown = await _median_ms(lambda: attempt("nobody"))
    assert len(verify_calls) == TRIES, "an unknown user must cost an argon2 check too"
    # The same answer (the pages differ only in their one-time form tokens).
    assert "Wrong username or password." in pages["nobody"]
    assert "Wrong username or password." in pages["alice"]
    print(f"\nOAuth login page median of {TRIES}: wrong {wrong:.1f} ms, unknown {unknown:.1f} ms")

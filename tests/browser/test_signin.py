"""Signing in through the server's OAuth 2.0 pages: creating an account (a
taken name is explained, the user fixes it and comes back signed in), a wrong
password, access tokens that expire every few seconds and are refreshed
without the user noticing (before expiry, and after it when the server ends
the stream), sign-out revoking the session, the server being down, and the
password form on a server without OAuth. Screenshots of the server's pages at
desktop and phone size."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from homeserver.handlers.accounts import USERNAME_TAKEN
from tests.browser.conftest import web_env
from tests.browser.ui import PASSWORD, Person
from tests.e2e.conftest import ServerProcess, StartServer, free_port

# Short enough to see several refreshes in a test, long enough not to race the UI.
TOKEN_LIFETIME_SECONDS = 6


def start(start_server: StartServer, web_dist: Path, **extra: str) -> ServerProcess:
    port = free_port()
    return start_server(port=port, env=web_env(port, web_dist, **extra))


def wait_for_new_tokens(
    person: Person, old: dict[str, Any], timeout: float = 15.0
) -> dict[str, Any]:
    """The stored session once its refresh token has changed (a refresh happened)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = person.session()
        if current.get("refreshToken") not in (None, old.get("refreshToken")):
            return current
        person.page.wait_for_timeout(200)
    raise AssertionError(f"no refresh within {timeout} s: {person.session()}")


def chat_works(ana: Person, ben: Person, tag: str) -> None:
    ana.send(f"ana {tag}")
    expect(ben.message(f"ana {tag}")).to_be_visible()
    ben.send(f"ben {tag}")
    expect(ana.message(f"ben {tag}")).to_be_visible()


def test_sign_in_refresh_and_sign_out(
    browser: Any, start_server: StartServer, web_dist: Path, screenshots: Path
) -> None:
    server = start(
        start_server, web_dist, REFRESHABLE_ACCESS_LIFETIME_SECONDS=str(TOKEN_LIFETIME_SECONDS)
    )
    ana = Person(browser, server.base_url, "ana")
    ben = Person(browser, server.base_url, "ben", phone=True)
    cat = Person(browser, server.base_url, "cat")
    try:
        # The client's sign-in screen sends people to the server's pages.
        ana.page.goto("/")
        expect(ana.page.get_by_role("button", name="Sign in")).to_be_enabled()
        ana.screenshot(screenshots, "desktop-oauth-client-sign-in")
        ana.open_signup_page()
        ana.screenshot(screenshots, "desktop-oauth-signup")
        ana.fill_signup("ana")
        ana.expect_signed_in()
        session = ana.session()
        assert session["refreshToken"] and session["oauth"]["clientId"] == "web-client"
        assert "code=" not in ana.page.url

        # A taken name: the server's page says so and keeps what was typed; Ben picks another.
        ben.page.goto("/")
        ben.screenshot(screenshots, "phone-oauth-client-sign-in")
        ben.open_signup_page()
        ben.screenshot(screenshots, "phone-oauth-signup")
        ben.fill_signup("ana")
        expect(ben.page.get_by_role("alert")).to_have_text(USERNAME_TAKEN)
        expect(ben.page.get_by_label("Username")).to_have_value("ana")
        ben.screenshot(screenshots, "phone-oauth-signup-taken")
        ben.fill_signup("ben")
        ben.expect_signed_in()

        # A wrong password: a clear error on the server's page, and the way back to the app.
        cat.open_login_page()
        cat.screenshot(screenshots, "desktop-oauth-login")
        cat.fill_login("ana", "not the password")
        expect(cat.page.get_by_role("alert")).to_have_text("Wrong username or password.")
        cat.screenshot(screenshots, "desktop-oauth-login-wrong-password")
        for _ in range(3):
            if cat.page.url.rstrip("/") == cat.base_url:
                break
            cat.page.go_back()
        expect(cat.page.get_by_role("button", name="Sign in")).to_be_enabled()
        cat.open_login_page()
        cat.page.set_viewport_size({"width": 390, "height": 844})
        cat.fill_login("ana", "not the password")
        expect(cat.page.get_by_role("alert")).to_have_text("Wrong username or password.")
        cat.screenshot(screenshots, "phone-oauth-login-wrong-password")
        cat.close()

        # Ana and Ben chat in a DM.
        ana.page.get_by_role("button", name="New message").click()
        ana.page.get_by_label("Search people").fill(ben.user_id)
        ana.page.get_by_role("button", name=f"Message ben ({ben.user_id})").click()
        expect(ana.room_title).to_have_text("ben")
        ben.page.get_by_role("button", name="Accept invitation to ana").click()
        expect(ben.room_title).to_have_text("ana")
        chat_works(ana, ben, "before any refresh")

        # The access token lives a few seconds: it is refreshed before it expires,
        # the stream reconnects with the new one, and nothing is lost.
        first = ana.session()
        refreshed = wait_for_new_tokens(ana, first)
        assert refreshed["accessToken"] != first["accessToken"]
        chat_works(ana, ben, "after a refresh")
        expect(ana.page.locator("[data-sync-transport]")).to_have_attribute(
            "data-sync-transport", "ws"
        )

        # Forced expiry: the page believes its token lasts an hour, so nothing
        # refreshes it early. The server ends the stream at the next heartbeat
        # (soft logout); the client refreshes and resumes, and requests retry.
        ana.page.evaluate(
            """() => {
              const s = JSON.parse(localStorage.getItem('hs.session'))
              s.expiresAt = Date.now() + 3600 * 1000
              localStorage.setItem('hs.session', JSON.stringify(s))
            }"""
        )
        ana.page.reload()
        expect(ana.room_title).to_have_text("ben")
        stale = ana.session()
        after_expiry = wait_for_new_tokens(ana, stale)
        assert after_expiry["expiresAt"] < stale["expiresAt"]
        chat_works(ana, ben, "after the token expired")
        expect(ana.page.get_by_role("status").filter(has_text="signed out")).to_have_count(0)

        # Sign-out revokes the session: the old refresh token is refused by the token endpoint.
        last = ana.session()
        if ana.phone:
            ana.show_room_list()
        ana.page.get_by_role("button", name="Sign out").click()
        expect(
            ana.page.get_by_role("status").filter(has_text="You have signed out.")
        ).to_be_visible()
        assert ana.session() == {}
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            refused = http.post(
                "/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": last["refreshToken"],
                    "client_id": "web-client",
                },
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"] == "invalid_grant"
            whoami = http.get(
                "/_matrix/client/v3/account/whoami",
                headers={"Authorization": f"Bearer {last['accessToken']}"},
            )
            assert whoami.status_code == 401, whoami.text
        ana.screenshot(screenshots, "desktop-oauth-signed-out")

        # The server is down: signing in says so.
        server.stop()
        ana.page.get_by_role("button", name="Sign in").click()
        expect(ana.page.get_by_role("alert")).to_have_text(
            "Can't reach the server. Check your connection and try again."
        )
        expect(ana.page.get_by_role("button", name="Sign in")).to_be_enabled()
        ana.screenshot(screenshots, "desktop-oauth-server-down")

        for person in (ana, ben):
            assert person.errors == [], person.errors
            assert person.dialogs == [], person.dialogs
    finally:
        for person in (ana, ben, cat):
            person.close()


def test_closing_the_account_from_settings(
    browser: Any, start_server: StartServer, web_dist: Path, screenshots: Path
) -> None:
    server = start(start_server, web_dist)
    eve = Person(browser, server.base_url, "eve")
    try:
        eve.register()
        settings = eve.open_settings()
        link = settings.get_by_role("link", name="Deactivate account…")
        expect(link).to_have_attribute(
            "href", f"{server.base_url}/oauth2/account?action=org.matrix.account_deactivate"
        )
        with eve.context.expect_page() as opened:
            link.click()
        account = opened.value
        closing = account.get_by_role("region", name="Deactivate your account")
        expect(closing).to_be_visible()
        # The password field has the focus: the action pointed at this form.
        expect(closing.get_by_label("Your password")).to_be_focused()
        closing.get_by_label("Your password").fill("not my password")
        closing.get_by_role("button", name="Deactivate account").click()
        expect(account.get_by_role("alert")).to_have_text("That is not your password.")
        closing = account.get_by_role("region", name="Deactivate your account")
        closing.get_by_label("Your password").fill(PASSWORD)
        closing.get_by_label("Also erase my display name, picture and settings").check()
        account.screenshot(path=str(screenshots / "desktop-account-deactivate.png"), scale="css")
        closing.get_by_role("button", name="Deactivate account").click()
        expect(account.get_by_role("heading", name="Account deactivated")).to_be_visible()
        account.close()

        # The app's session ends by itself (its stream is closed at once) and says so.
        ended = eve.page.get_by_role("status").filter(has_text="Your session has ended.")
        expect(ended).to_be_visible(timeout=20_000)
        assert eve.session() == {}
        # Signing in again is refused with the reason.
        eve.open_login_page()
        eve.fill_login("eve")
        expect(eve.page.get_by_role("alert")).to_have_text("This account has been deactivated.")
        assert eve.errors == [], eve.errors
    finally:
        eve.close()


def test_password_form_when_oauth_is_off(
    browser: Any, start_server: StartServer, web_dist: Path
) -> None:
    server = start(start_server, web_dist, ENABLE_OAUTH="false")
    dan = Person(browser, server.base_url, "dan")
    try:
        page = dan.page
        page.goto("/")
        page.get_by_role("button", name="Create an account").click()
        page.get_by_label("Username").fill("dan")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Confirm password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        dan.expect_signed_in()
        assert "refreshToken" not in dan.session()
        assert dan.errors == []
    finally:
        dan.close()

"""The web client lives within its Content-Security-Policy (own scripts and
styles only, connections to its own origin): signing up, the WebSocket sync
stream, sending a message and the service worker cause no CSP violation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.ui import Person
from tests.e2e.conftest import ServerProcess


def test_the_web_client_runs_within_its_content_security_policy(
    browser: Any, web_server: ServerProcess
) -> None:
    ana = Person(browser, web_server.base_url, "ana")
    try:
        ana.register()
        ana.page.get_by_role("button", name="New room").click()
        ana.page.get_by_label("Name", exact=True).fill("Policy")
        ana.page.get_by_role("button", name="Create room").click()
        expect(ana.room_title).to_have_text("Policy")
        violations = [
            line for line in ana.console if "Content Security Policy" in line or "CSP" in line
        ]
        assert not violations, violations
        assert not ana.errors, ana.errors
        assert any(d == "received" for _, d, _ in ana.frames), "no sync stream frames"
    finally:
        ana.close()

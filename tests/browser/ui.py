"""Driving the web client like a person would: one `Person` per browser
context (own storage, own session), located by roles and labels."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=10_000)


class Person:
    def __init__(
        self,
        browser: Browser,
        base_url: str,
        username: str,
        *,
        phone: bool = False,
        permissions: list[str] | None = None,
        init_script: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.username = username
        self.user_id = f"@{username}:localhost"
        self.phone = phone
        options: dict[str, Any] = {"viewport": PHONE if phone else DESKTOP, "base_url": base_url}
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        self.context: BrowserContext = browser.new_context(**options)
        if permissions:
            self.context.grant_permissions(permissions, origin=base_url)
        if init_script:
            self.context.add_init_script(init_script)
        self.page: Page = self.context.new_page()
        self.dialogs: list[str] = []  # unexpected ones, dismissed
        self.confirmed: list[str] = []
        self._confirm_next = False
        self.errors: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        # Failed loads with their URLs (the console only says "404").
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.console.append(f"http {r.status}: {r.url}"),
        )
        # Frames on the sync stream, for waits and failure reports.
        self.frames: list[tuple[float, str, dict[str, Any]]] = []
        self.page.on("websocket", self._on_websocket)
        self.closed = False

    def _on_websocket(self, ws: Any) -> None:
        def record(direction: str, payload: str | bytes) -> None:
            try:
                frame = json.loads(payload)
            except ValueError:
                return
            if isinstance(frame, dict):
                self.frames.append((time.monotonic(), direction, frame))

        ws.on("framesent", lambda p: record("sent", p))
        ws.on("framereceived", lambda p: record("received", p))
        ws.on("close", lambda _ws: self.frames.append((time.monotonic(), "closed", {})))

    def frame_log(self) -> list[str]:
        """The stream's frames in short (type and the fields that tell them apart)."""
        keys = ("type", "req_id", "seq", "room_id", "focused", "errcode")
        return [
            f"{at:.3f} {direction} " + json.dumps({k: f[k] for k in keys if k in f})
            for at, direction, f in self.frames
        ]

    def last_focus_sent(self) -> dict[str, Any] | None:
        for _at, direction, frame in reversed(self.frames):
            if direction == "closed":
                return None  # a new connection sends its focus again
            if direction == "sent" and frame.get("type") == "focus":
                return frame
        return None

    def _on_dialog(self, dialog: Any) -> None:
        if self._confirm_next:
            self._confirm_next = False
            self.confirmed.append(f"{dialog.type}: {dialog.message}")
            dialog.accept()
            return
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def confirm_next(self) -> None:
        """The next dialog (a confirm() the person expects) is answered OK."""
        self._confirm_next = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.context.close()

    # ---- signing in ---------------------------------------------------------

    # Both go through the server's own pages (OAuth 2.0 authorization code +
    # PKCE): the client sends the browser there and gets it back signed in.

    def open_signup_page(self) -> None:
        """From the client's sign-in screen to the server's account creation page."""
        page = self.page
        page.goto("/")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/oauth2/authorize?**")
        expect(page.get_by_role("heading", name="Create account")).to_be_visible()

    def open_login_page(self) -> None:
        """From the client's sign-in screen to the server's sign-in page."""
        page = self.page
        page.goto("/")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth2/authorize?**")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    def fill_signup(self, username: str, password: str = PASSWORD) -> None:
        page = self.page
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Confirm password").fill(password)
        page.get_by_role("button", name="Create account").click()

    def fill_login(self, username: str, password: str = PASSWORD) -> None:
        page = self.page
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()

    def expect_signed_in(self) -> None:
        expect(self.page.get_by_text(f"Signed in as {self.username}")).to_be_visible()
        # Back on the app's own origin, with no code left in the address bar.
        assert self.page.url.rstrip("/") == self.base_url, self.page.url

    def register(self) -> None:
        self.open_signup_page()
        self.fill_signup(self.username)
        self.expect_signed_in()

    def login(self) -> None:
        self.open_login_page()
        self.fill_login(self.username)
        self.expect_signed_in()

    def session(self) -> dict[str, Any]:
        """The stored session (tokens and all)."""
        raw = self.page.evaluate("localStorage.getItem('hs.session')")
        return json.loads(raw) if raw else {}

    # ---- navigation ---------------------------------------------------------

    @property
    def room_list(self) -> Locator:
        return self.page.get_by_role("navigation", name="Rooms")

    def room_row(self, name: str) -> Locator:
        return self.room_list.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(,|$)"))

    def room_item(self, name: str) -> Locator:
        """The whole row of a room in the list (its button, badge, preview)."""
        button = self.page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(,|$)"))
        return self.room_list.locator("li[data-room-row]").filter(has=button)

    def show_room_list(self) -> None:
        """On a phone: back from a conversation to the list. On a desktop: no room selected."""
        if self.phone:
            back = self.page.get_by_role("button", name="Back to room list")
            if back.is_visible():
                back.click()
        else:
            self.page.evaluate("location.hash = ''")
        expect(self.room_list).to_be_visible()

    def open_room(self, name: str) -> None:
        if self.phone:
            self.show_room_list()
        self.room_row(name).click()
        expect(self.room_title).to_have_text(name)

    @property
    def room_title(self) -> Locator:
        return self.page.locator("#room-title")

    @property
    def room_id(self) -> str:
        """The id of the room on screen (from the URL's #/room/<id>)."""
        return str(
            self.page.evaluate(
                "location.hash.startsWith('#/room/') ? "
                "decodeURIComponent(location.hash.slice('#/room/'.length)) : ''"
            )
        )

    @property
    def access_token(self) -> str:
        return str(self.page.evaluate("JSON.parse(localStorage.getItem('hs.session')).accessToken"))

    # ---- settings -----------------------------------------------------------

    @property
    def settings(self) -> Locator:
        return self.page.get_by_role("dialog", name="Settings")

    def open_settings(self) -> Locator:
        """The gear button in the room list's header (on a phone: back to the list first)."""
        if self.phone:
            self.show_room_list()
        self.page.get_by_role("button", name="Settings", exact=True).click()
        expect(self.settings).to_be_visible()
        return self.settings

    def close_settings(self) -> None:
        self.settings.get_by_role("button", name="Close").click()
        expect(self.settings).to_be_hidden()

    # ---- the conversation ---------------------------------------------------

    @property
    def timeline(self) -> Locator:
        return self.page.get_by_role("log", name="Messages")

    @property
    def composer(self) -> Locator:
        return self.page.get_by_role("textbox", name=re.compile(r"^Message "))

    @property
    def typing(self) -> Locator:
        return self.page.get_by_test_id("typing")

    def message(self, text: str) -> Locator:
        """The line of a message with exactly this text (its own text node)."""
        body = self.page.locator("[data-body]", has_text=re.compile(rf"^{re.escape(text)}$"))
        return self.timeline.locator("li[data-event-id]").filter(has=body)

    def timeline_messages(self) -> list[tuple[str, str]]:
        """Every loaded message of the open room, oldest first, as (event id,
        text): the timeline renders only the rows around its viewport, so it is
        read by scrolling it from top to bottom. Fails if a window of it ever
        shows a message twice."""
        pairs = self.timeline.evaluate(
            """async (el) => {
              const settle = () => new Promise((r) =>
                requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 30))))
              const seen = new Set()
              const out = []
              el.scrollTop = 0
              await settle()
              for (let step = 0; step < 100000; step++) {
                const rows = [...el.querySelectorAll('li[data-event-id]')]
                const ids = rows.map((r) => r.dataset.eventId)
                if (new Set(ids).size !== ids.length) throw new Error('a message is shown twice')
                for (const r of rows) {
                  if (seen.has(r.dataset.eventId)) continue
                  seen.add(r.dataset.eventId)
                  out.push([r.dataset.eventId, r.querySelector('[data-body]').textContent])
                }
                if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) break
                el.scrollTop += Math.max(50, el.clientHeight / 2)
                await settle()
              }
              return out
            }"""
        )
        return [(str(i), str(b)) for i, b in pairs]

    def show_actions(self, text: str) -> Locator:
        """A message's buttons (react, reply, edit, delete): shown on hover, or
        on a phone for the message tapped."""
        line = self.message(text)
        if self.phone:
            line.locator("[data-body]").click()
        else:
            line.hover()
        return line

    def send(self, text: str) -> None:
        self.composer.fill(text)
        self.composer.press("Enter")
        expect(self.message(text)).to_have_attribute("data-status", "remote")

    def screenshot(self, directory: Path, name: str) -> None:
        self.page.screenshot(path=str(directory / f"{name}.png"), scale="css")


# ---- accessibility --------------------------------------------------------------

WEB_MODULES = Path(__file__).resolve().parents[2] / "clients" / "web" / "node_modules"
AXE_JS = WEB_MODULES / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.
    The script is evaluated through the driver (the page's CSP allows no
    injected <script>)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text())
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map((v) => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.failureSummary)}))"
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def expect_accessible(person: Person, screen: str) -> None:
    """Zero serious or critical axe-core violations on this screen."""
    violations = axe_violations(person.page)
    assert violations == [], f"{screen}: {json.dumps(violations, indent=1)}"

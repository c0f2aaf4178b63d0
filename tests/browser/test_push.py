"""Web Push through the web client, end to end: Ana turns push on in the
settings panel, the server pushes Ben's messages to a push service on
127.0.0.1 (this test plays the browser vendor's service: it decrypts each
push with the subscription's keys and checks the VAPID signature against the
key in /capabilities), pushes stop for a room on screen and for a muted
room, and turning push off removes the pusher. The service worker's push
handler gets a real push event through the DevTools protocol.

`PushManager.subscribe()` needs the browser vendor's push service, which
this machine can't reach: an init script replaces it with a subscription
whose endpoint is the local push service and whose keys this test made."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAST_SERVER_ENV
from tests.browser.ui import Person
from tests.e2e.conftest import ServerProcess, StartServer, free_port
from tests.notifications.push_service import Subscription, b64url, verify_vapid

V3 = "/_matrix/client/v3"
APP_ID = "org.homeserver.web"

# ---- the push service -----------------------------------------------------------


@dataclass
class Push:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class LocalPushService:
    """Plays a browser vendor's push service on 127.0.0.1: records every POST
    and answers 201 Created."""

    def __init__(self) -> None:
        self.received: list[Push] = []
        self._changed = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with service._changed:
                    service.received.append(Push(self.path, headers, body))
                    service._changed.notify_all()
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def pushes(self, path: str) -> list[Push]:
        with self._changed:
            return [p for p in self.received if p.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 15.0) -> list[Push]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([p for p in self.received if p.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} pushes to {path}, got {[p.path for p in self.received]}"
                    )
                self._changed.wait(left)
            return [p for p in self.received if p.path == path]


@pytest.fixture
def push_service() -> Iterator[LocalPushService]:
    service = LocalPushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def push_server(start_server: StartServer, web_dist: Path) -> ServerProcess:
    """The homeserver with the client, allowed to push to 127.0.0.1 over http
    (its public base URL is the address the browser uses, as for `web_server`)."""
    port = free_port()
    return start_server(
        port=port,
        env={
            **FAST_SERVER_ENV,
            "WEB_CLIENT_DIR": str(web_dist),
            "PUBLIC_BASEURL": f"http://127.0.0.1:{port}",
            "PUSH_ALLOW_PRIVATE_ADDRESSES": "true",
        },
    )


# ---- the browser's side ---------------------------------------------------------

# A PushManager whose subscriptions point at the local push service, with this
# test's keys. Kept in localStorage like a real browser keeps its subscription.
FAKE_PUSH_MANAGER = """
;(() => {
  const ENDPOINT = %(endpoint)s
  const P256DH = %(p256dh)s
  const AUTH = %(auth)s
  const STORE = '__test_push_subscription'
  const bytes = (s) => {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length %% 4)) %% 4)
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer
  }
  const b64url = (data) =>
    btoa(String.fromCharCode(...new Uint8Array(data instanceof ArrayBuffer ? data : data.buffer)))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '')
  window.__pushCalls = []
  function subscription(serverKey) {
    return {
      endpoint: ENDPOINT,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: bytes(serverKey) },
      getKey: (name) => (name === 'p256dh' ? bytes(P256DH) : name === 'auth' ? bytes(AUTH) : null),
      toJSON: () => ({
        endpoint: ENDPOINT,
        expirationTime: null,
        keys: { p256dh: P256DH, auth: AUTH },
      }),
      unsubscribe: async () => {
        window.__pushCalls.push({ call: 'unsubscribe' })
        localStorage.removeItem(STORE)
        return true
      },
    }
  }
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey
    window.__pushCalls.push({
      call: 'subscribe',
      userVisibleOnly: options.userVisibleOnly,
      keyType: Object.prototype.toString.call(key),
      applicationServerKey: typeof key === 'string' ? key : b64url(key),
    })
    localStorage.setItem(STORE, b64url(key))
    return subscription(localStorage.getItem(STORE))
  }
  PushManager.prototype.getSubscription = async function () {
    const key = localStorage.getItem(STORE)
    return key ? subscription(key) : null
  }
  PushManager.prototype.permissionState = async () =>
    Notification.permission === 'granted' ? 'granted' : 'prompt'
})()
"""

# Lets the test say "this tab is not focused" (headless tabs always are).
UNFOCUS_SCRIPT = """
;(() => {
  const real = Document.prototype.hasFocus
  Document.prototype.hasFocus = function () {
    return window.__testUnfocused ? false : real.call(this)
  }
})()
"""

SHOWN_NOTIFICATIONS = """
async () => {
  const reg = await navigator.serviceWorker.ready
  const list = await reg.getNotifications()
  return list.map((n) => ({
    title: n.title, body: n.body, tag: n.tag, room: n.data && n.data.room_id,
  }))
}
"""


def fake_push_manager(sub: Subscription) -> str:
    return FAKE_PUSH_MANAGER % {
        "endpoint": json.dumps(sub.endpoint),
        "p256dh": json.dumps(sub.p256dh),
        "auth": json.dumps(b64url(sub.auth)),
    }


def set_unfocused(person: Person, unfocused: bool) -> None:
    """The tab loses (or gets back) the focus: the client tells the server with
    a focus frame on its stream. Waits until that frame has gone out (the
    server takes it in as it arrives), so a message sent next finds it there."""
    person.page.evaluate(
        "(u) => { window.__testUnfocused = u; "
        "window.dispatchEvent(new Event(u ? 'blur' : 'focus')) }",
        unfocused,
    )
    for _ in range(100):
        frame = person.last_focus_sent()
        if frame is not None and frame["focused"] is (not unfocused):
            break
        person.page.wait_for_timeout(50)
    else:
        raise AssertionError(("no focus frame went out", unfocused, person.frame_log()))
    person.page.wait_for_timeout(200)


class Api:
    """Raw API calls with someone's token (to check what the server holds)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def get(self, path: str) -> Any:
        response = self.http.get(f"{V3}{path}")
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def close(self) -> None:
        self.http.close()


class ServiceWorkerPush:
    """Real push events for the page's service worker, through the DevTools
    protocol (what the browser does when its push service delivers)."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.registrations: list[dict[str, Any]] = []
        self.cdp = person.context.new_cdp_session(person.page)
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", self._updated)
        self.cdp.send("ServiceWorker.enable")

    def _updated(self, params: dict[str, Any]) -> None:
        self.registrations.extend(params.get("registrations", []))

    def deliver(self, payload: dict[str, Any]) -> None:
        scope = self.person.base_url + "/"
        for _ in range(50):
            ids = [
                r["registrationId"]
                for r in self.registrations
                if r.get("scopeURL") == scope and not r.get("isDeleted")
            ]
            if ids:
                break
            self.person.page.wait_for_timeout(100)
        assert ids, self.registrations
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": self.person.base_url,
                "registrationId": ids[-1],
                "data": json.dumps(payload),
            },
        )

    def shown(self) -> list[dict[str, Any]]:
        return list(self.person.page.evaluate(SHOWN_NOTIFICATIONS))

    def wait_shown(self, predicate: Any) -> list[dict[str, Any]]:
        shown: list[dict[str, Any]] = []
        for _ in range(100):
            shown = self.shown()
            if any(predicate(n) for n in shown):
                return shown
            self.person.page.wait_for_timeout(100)
        raise AssertionError(f"no such notification among {shown}")

    def clear(self) -> None:
        self.person.page.evaluate(
            "navigator.serviceWorker.ready.then((r) => r.getNotifications())"
            ".then((l) => l.forEach((n) => n.close()))"
        )


# ---- the test -----------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_web_push_end_to_end(
    browser: Any,
    push_server: ServerProcess,
    push_service: LocalPushService,
    screenshots: Path,
    size: str,
) -> None:
    phone = size == "phone"
    sub = Subscription(f"{push_service.origin}/wpush/ana")
    ana = Person(
        browser,
        push_server.base_url,
        "ana",
        phone=phone,
        permissions=["notifications"],
        init_script=UNFOCUS_SCRIPT + fake_push_manager(sub),
    )
    ben = Person(browser, push_server.base_url, "ben", phone=phone)
    api: Api | None = None
    try:
        ana.register()
        ben.register()
        api = Api(push_server.base_url, ana.access_token)
        run_push(ana, ben, api, push_service, sub, screenshots, size)
        assert ana.dialogs == [] and ben.dialogs == []
        assert ana.errors == [] and ben.errors == []
    finally:
        if api is not None:
            api.close()
        ana.close()
        ben.close()


def run_push(
    ana: Person,
    ben: Person,
    api: Api,
    service: LocalPushService,
    sub: Subscription,
    shots: Path,
    size: str,
) -> None:
    path = "/wpush/ana"
    vapid = api.get("/capabilities")["capabilities"]["m.webpush"]
    assert vapid["enabled"] is True

    # A DM between Ana and Ben.
    ana.page.get_by_role("button", name="New message").click()
    ana.page.get_by_label("Search people").fill(ben.user_id)
    ana.page.get_by_role("button", name=f"Message ben ({ben.user_id})").click()
    expect(ana.room_title).to_have_text("ben")
    dm = ana.room_id
    ben.page.get_by_role("button", name="Accept invitation to ana").click()
    expect(ben.room_title).to_have_text("ana")

    # Settings: the switch is off, and nothing was subscribed on page load.
    settings = ana.open_settings()
    switch = settings.get_by_role("switch", name="Push notifications on this device")
    status = settings.get_by_test_id("push-status")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(status).to_have_attribute("data-push-status", "off")
    assert api.get("/pushers")["pushers"] == []
    ana.screenshot(shots, f"{size}-settings-off")

    # Turned on (with the keyboard): subscribed with the server's key, registered as a pusher.
    switch.focus()
    ana.page.keyboard.press("Space")
    expect(status).not_to_have_attribute("data-push-status", "enabling")
    assert status.get_attribute("data-push-status") == "on", (settings.inner_text(), ana.console)
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(status).to_contain_text("On")
    calls = ana.page.evaluate("window.__pushCalls")
    assert calls == [
        {
            "call": "subscribe",
            "userVisibleOnly": True,
            "keyType": "[object Uint8Array]",
            "applicationServerKey": vapid["vapid"],
        }
    ], calls
    pushers = api.get("/pushers")["pushers"]
    assert len(pushers) == 1, pushers
    pusher = pushers[0]
    assert pusher["kind"] == "webpush"
    assert pusher["app_id"] == APP_ID
    assert pusher["pushkey"] == sub.p256dh
    assert pusher["data"] == {"url": sub.endpoint, "auth": b64url(sub.auth)}
    assert pusher["app_display_name"] == "Homeserver web"
    assert pusher["device_display_name"] == "Chrome on Linux"
    assert pusher["lang"]
    assert pusher["activated"] is True
    ana.screenshot(shots, f"{size}-settings-on")
    ana.page.emulate_media(color_scheme="dark")
    ana.screenshot(shots, f"{size}-settings-on-dark")
    ana.page.emulate_media(color_scheme="light")
    ana.close_settings()
    ana.open_room("ben")
    # Opening the room sends a focus frame; it must reach the server before the
    # message does (the push worker decides within milliseconds of a send).
    set_unfocused(ana, False)

    # On screen and focused: no push. In the background: exactly one.
    ben.send("Seen on screen")
    expect(ana.message("Seen on screen")).to_be_visible()
    set_unfocused(ana, True)
    ben.send("Are you there?")
    first = service.wait_for(path, 1)[0]
    assert first.headers["content-encoding"] == "aes128gcm"
    assert first.headers["urgency"] == "high"  # a DM
    assert int(first.headers["ttl"]) == 86400
    key, _claims = verify_vapid(first.headers["authorization"], service.origin)
    assert key == vapid["vapid"]
    payload = sub.decrypt(first.body)
    assert payload["room_id"] == dm
    assert payload["sender"] == ben.user_id
    assert payload["sender_display_name"] == "ben"
    assert payload["body"] == "Are you there?", "\n".join(ana.frame_log())
    assert payload["prio"] == "high"
    time.sleep(1.0)
    assert [sub.decrypt(p.body)["body"] for p in service.pushes(path)] == ["Are you there?"]

    # The service worker's push handler, with the decrypted payload as a real push event:
    # nothing while the room is on screen in a focused window, a notification otherwise.
    worker = ServiceWorkerPush(ana)
    worker.clear()
    set_unfocused(ana, False)
    worker.deliver(payload)
    ana.page.wait_for_timeout(1500)
    assert worker.shown() == [], worker.shown()
    set_unfocused(ana, True)
    worker.deliver(payload)
    shown = worker.wait_shown(lambda n: n["room"] == dm)
    assert shown == [{"title": "ben", "body": "Are you there?", "tag": f"room:{dm}", "room": dm}], (
        shown
    )
    worker.deliver({**payload, "event_id": "$other", "body": "One per room"})
    shown = worker.wait_shown(lambda n: n["body"] == "One per room")
    assert len(shown) == 1, shown  # the newer replaced the older
    worker.clear()

    # Muted: the header's bell, an icon in the room list, and no push.
    ana.open_room("ben")
    mute = ana.page.get_by_role("button", name="Mute notifications")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    rules = api.get("/pushrules/")["global"]
    assert {
        "rule_id": dm,
        "actions": [],
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": dm}],
    }.items() <= next(r for r in rules["override"] if r["rule_id"] == dm).items()
    ana.screenshot(shots, f"{size}-room-muted")
    ana.show_room_list()
    row = ana.room_row("ben")
    expect(ana.room_item("ben").get_by_test_id("muted-icon")).to_be_visible()
    expect(row).to_have_accessible_name(re.compile(r"^ben, .*muted"))
    ana.screenshot(shots, f"{size}-room-list-muted")
    settings = ana.open_settings()
    expect(settings.get_by_role("button", name="Unmute ben")).to_be_visible()
    ana.close_settings()
    ana.open_room("ben")
    ben.send("Muted message")
    expect(ana.message("Muted message")).to_be_visible()

    # Unmuted: pushed again. The muted message never was.
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "false")
    if ana.phone:
        ana.show_room_list()
    expect(ana.room_item("ben").get_by_test_id("muted-icon")).to_have_count(0)
    ben.send("After unmute")
    service.wait_for(path, 2)
    time.sleep(1.0)
    bodies = [sub.decrypt(p.body)["body"] for p in service.pushes(path)]
    assert bodies == ["Are you there?", "After unmute"], bodies
    set_unfocused(ana, False)

    # A reload: the switch is still on, from the device's memory, the browser's
    # subscription and the server's pusher agreeing (nothing subscribed again).
    ana.page.reload()
    expect(ana.page.get_by_text("Signed in as ana")).to_be_visible()
    settings = ana.open_settings()
    switch = settings.get_by_role("switch", name="Push notifications on this device")
    expect(settings.get_by_test_id("push-status")).to_have_attribute("data-push-status", "on")
    expect(switch).to_have_attribute("aria-checked", "true")
    assert ana.page.evaluate("window.__pushCalls") == []
    assert [p["pushkey"] for p in api.get("/pushers")["pushers"]] == [sub.p256dh]

    # Turned off: unsubscribed, and the pusher is gone.
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(settings.get_by_test_id("push-status")).to_have_attribute("data-push-status", "off")
    assert ana.page.evaluate("window.__pushCalls") == [{"call": "unsubscribe"}]
    assert api.get("/pushers")["pushers"] == []
    ana.close_settings()
    set_unfocused(ana, True)
    ben.send("After push is off")
    time.sleep(1.5)
    assert len(service.pushes(path)) == 2


def test_push_settings_explain_what_is_missing(
    browser: Any, push_server: ServerProcess, screenshots: Path
) -> None:
    """Blocked notifications, a browser without the Push API, a server without m.webpush."""
    people: list[Person] = []
    try:
        # Notifications blocked for the site.
        blocked = Person(browser, push_server.base_url, "cat")
        people.append(blocked)
        blocked.register()
        blocked.page.evaluate(
            """() => {
              Notification.requestPermission = async () => 'denied'
              Object.defineProperty(Notification, 'permission', { get: () => 'denied' })
            }"""
        )
        settings = blocked.open_settings()
        switch = settings.get_by_role("switch", name="Push notifications on this device")
        switch.click()
        expect(settings.get_by_test_id("push-status")).to_have_attribute(
            "data-push-status", "denied"
        )
        expect(settings.get_by_test_id("push-status")).to_contain_text("blocked")
        expect(switch).to_have_attribute("aria-checked", "false")
        blocked.screenshot(screenshots, "desktop-settings-denied")

        # No Push API in this browser.
        old = Person(
            browser,
            push_server.base_url,
            "cat",
            phone=True,
            init_script="delete window.PushManager",
        )
        people.append(old)
        old.login()
        settings = old.open_settings()
        expect(settings.get_by_test_id("push-status")).to_have_attribute(
            "data-push-status", "unsupported"
        )
        expect(
            settings.get_by_role("switch", name="Push notifications on this device")
        ).to_be_disabled()
        old.screenshot(screenshots, "phone-settings-unsupported")

        # A server without Web Push (its /capabilities has no m.webpush).
        plain = Person(browser, push_server.base_url, "cat")
        people.append(plain)

        def no_webpush(route: Any) -> None:
            response = route.fetch()
            body = response.json()
            body["capabilities"].pop("m.webpush", None)
            route.fulfill(response=response, json=body)

        plain.page.route("**/_matrix/client/v3/capabilities", no_webpush)
        plain.login()
        settings = plain.open_settings()
        expect(settings.get_by_test_id("push-status")).to_have_attribute(
            "data-push-status", "unavailable"
        )
        expect(settings.get_by_test_id("push-status")).to_have_text(
            "This server doesn't offer push notifications."
        )
        expect(
            settings.get_by_role("switch", name="Push notifications on this device")
        ).to_be_disabled()
        for person in people:
            assert person.errors == [], person.errors
    finally:
        for person in people:
            person.close()

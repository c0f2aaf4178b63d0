"""History and resilience: a room with 120 messages (seeded over HTTP), a
reload that keeps everything, scrolling up through older pages with no gap
and no duplicate, edits / redactions / read markers of others, and the
server going away and coming back (offline banner, a message sent meanwhile
delivered exactly once)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import expect

from tests.browser.ui import PASSWORD, Person
from tests.e2e.conftest import ServerProcess

V3 = "/_matrix/client/v3"
SEEDED = 120


def q(value: str) -> str:
    return quote(value, safe="")


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (
        f"{response.request.url} -> {response.status_code}: {response.text}"
    )
    return response.json()


def register(http: httpx.Client, username: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    data = ok(http.post(f"{V3}/register", json=body))
    return {"Authorization": f"Bearer {data['access_token']}", "user_id": data["user_id"]}


def auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


def send(
    http: httpx.Client,
    user: dict[str, str],
    room_id: str,
    txn: str,
    content: dict[str, Any],
    kind: str = "m.room.message",
) -> str:
    response = http.put(
        f"{V3}/rooms/{q(room_id)}/send/{kind}/{txn}", json=content, headers=auth(user)
    )
    return str(ok(response)["event_id"])


def seed(base_url: str) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """ana and ben in a room "History" with 120 messages from ana, then an
    edit of #118, a redaction of #119 and ben's read receipt at #110."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        ana = register(http, "ana")
        ben = register(http, "ben")
        room_id = str(
            ok(
                http.post(
                    f"{V3}/createRoom",
                    json={"name": "History", "preset": "private_chat", "invite": [ben["user_id"]]},
                    headers=auth(ana),
                )
            )["room_id"]
        )
        ok(http.post(f"{V3}/join/{q(room_id)}", json={}, headers=auth(ben)))
        ids = [
            send(http, ana, room_id, f"seed{i}", {"msgtype": "m.text", "body": f"Message {i}"})
            for i in range(1, SEEDED + 1)
        ]
        send(
            http,
            ana,
            room_id,
            "edit118",
            {
                "msgtype": "m.text",
                "body": "* Message 118, corrected",
                "m.new_content": {"msgtype": "m.text", "body": "Message 118, corrected"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": ids[117]},
            },
        )
        ok(
            http.put(
                f"{V3}/rooms/{q(room_id)}/redact/{q(ids[118])}/red119", json={}, headers=auth(ana)
            )
        )
        ok(
            http.post(
                f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(ids[109])}", json={}, headers=auth(ben)
            )
        )
        return room_id, ana, ben, ids


def test_history_reload_scrollback_and_reconnect(
    browser: Any, web_server: ServerProcess, screenshots: Path
) -> None:
    room_id, _, ben_http, ids = seed(web_server.base_url)
    ana = Person(browser, web_server.base_url, "ana")
    try:
        ana.login()
        ana.open_room("History")
        expect(ana.message("Message 120")).to_be_visible()
        # Edits and deletions of others, and where ben has read up to.
        expect(ana.message("Message 118, corrected")).to_contain_text("(edited)")
        expect(ana.timeline.locator(f'li[data-event-id="{ids[118]}"] [data-body]')).to_have_text(
            "Message deleted"
        )
        expect(ana.message("* Message 118, corrected")).to_have_count(0)
        read_by = ana.timeline.locator(f'li[data-event-id="{ids[109]}"]').get_by_test_id("read-by")
        expect(read_by).to_have_accessible_name("Read by ben")

        # A reload keeps the session, the open room and its history.
        ana.page.reload()
        expect(ana.room_title).to_have_text("History")
        expect(ana.message("Message 120")).to_be_visible()

        # Scrolling up loads older pages until the start of the room.
        beginning = ana.timeline.get_by_text("This is the beginning of the conversation.")
        for _ in range(20):
            if beginning.is_visible():
                break
            ana.timeline.evaluate("el => { el.scrollTop = 0 }")
            ana.page.wait_for_timeout(150)
        expect(beginning).to_be_visible()
        expect(ana.message("Message 1")).to_be_visible()
        ana.screenshot(screenshots, "desktop-history")
        # Only the rows around the viewport are rendered: read it all by scrolling down.
        loaded = ana.timeline_messages()
        bodies = [b for _, b in loaded]
        numbers = [int(m.group(1)) for b in bodies if (m := re.fullmatch(r"Message (\d+)", b))]
        assert numbers == [n for n in range(1, SEEDED + 1) if n not in (118, 119)], numbers
        event_ids = [i for i, _ in loaded]
        assert len(event_ids) == len(set(event_ids)), "a message is shown twice"
        rendered = ana.timeline.locator("li[data-event-id]").count()
        assert rendered < len(event_ids), (rendered, len(event_ids))

        # The server goes away: a banner says so, and a message written meanwhile waits.
        ana.timeline.evaluate("el => { el.scrollTop = el.scrollHeight }")
        web_server.stop()
        banner = ana.page.get_by_role("status").filter(has_text="Offline")
        expect(banner).to_be_visible()
        ana.composer.fill("Written while offline")
        ana.composer.press("Enter")
        pending = ana.timeline.locator('li[data-status="pending"]')
        expect(pending).to_contain_text("Written while offline")
        ana.screenshot(screenshots, "desktop-offline-banner")

        # It comes back: the client resumes (socket again) and the message goes out once.
        web_server.start()
        expect(banner).to_have_count(0, timeout=30_000)
        expect(ana.message("Written while offline")).to_have_attribute(
            "data-status", "remote", timeout=30_000
        )
        expect(ana.page.locator("[data-sync-transport]")).to_have_attribute(
            "data-sync-transport", "ws"
        )
        with httpx.Client(base_url=web_server.base_url, timeout=10) as http:
            chunk = ok(
                http.get(
                    f"{V3}/rooms/{q(room_id)}/messages",
                    params={"dir": "b", "limit": 10},
                    headers=auth(ben_http),
                )
            )["chunk"]
        bodies = [e["content"].get("body") for e in chunk if e["type"] == "m.room.message"]
        assert bodies.count("Written while offline") == 1, bodies

        # ...and live updates flow again.
        with httpx.Client(base_url=web_server.base_url, timeout=10) as http:
            send(http, ben_http, room_id, "after", {"msgtype": "m.text", "body": "Welcome back"})
        expect(ana.message("Welcome back")).to_be_visible()
        assert ana.dialogs == [] and ana.errors == []
    finally:
        ana.close()

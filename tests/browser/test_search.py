"""Message search in the web client, at desktop and phone size: the room on
screen or all my rooms through the server's /search (newest first), the
matched words highlighted as text (a message's markup is never parsed),
"load more" through next_batch, and a result far back in history opened in
its room (older pages loaded until it is there) and highlighted. The panel is
a dialog (full screen on a phone): Escape closes it, focus returns, and
axe-core finds no serious or critical violation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_history import auth, ok, q, register, send
from tests.browser.ui import Person, expect_accessible
from tests.e2e.conftest import ServerProcess

V3 = "/_matrix/client/v3"
MESSAGES = 150
# Messages that say "pineapple": all far older than the 30 the first sync brings.
PINEAPPLE = list(range(3, 26, 2))  # 12 of them: more than a page of 10
HOSTILE = 25  # its body is markup that must stay text


def body_of(i: int) -> str:
    if i == HOSTILE:
        return "<img src=x onerror=window.__pwned=1> pineapple <b>bold</b>"
    if i in PINEAPPLE:
        return f"Message {i}: pineapple pizza"
    return f"Message {i}"


def seed(base_url: str) -> dict[str, str]:
    """ana and ben in "Lunch" (150 messages from ben) and "Work" (one)."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        ana = register(http, "ana")
        ben = register(http, "ben")
        rooms: dict[str, str] = {}
        for name in ("Lunch", "Work"):
            room_id = str(
                ok(
                    http.post(
                        f"{V3}/createRoom",
                        json={"name": name, "preset": "private_chat", "invite": [ana["user_id"]]},
                        headers=auth(ben),
                    )
                )["room_id"]
            )
            ok(http.post(f"{V3}/join/{q(room_id)}", json={}, headers=auth(ana)))
            rooms[name] = room_id
        for i in range(1, MESSAGES + 1):
            send(http, ben, rooms["Lunch"], f"l{i}", {"msgtype": "m.text", "body": body_of(i)})
        send(
            http, ben, rooms["Work"], "w1", {"msgtype": "m.text", "body": "Pineapple in the fridge"}
        )
        return rooms


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_search_messages_and_jump_to_a_result(
    browser: Any, web_server: ServerProcess, screenshots: Path, size: str
) -> None:
    rooms = seed(web_server.base_url)
    ana = Person(browser, web_server.base_url, "ana", phone=size == "phone")
    page = ana.page
    try:
        ana.login()
        ana.open_room("Lunch")
        expect(ana.message(f"Message {MESSAGES}")).to_be_visible()

        # From the room's header; in this room by default.
        opener = (
            page.locator("#room-title")
            .locator("xpath=ancestor::header")
            .get_by_role("button", name="Search messages")
        )
        # Every header button fits beside the room's name, on a phone too.
        header = page.locator("#room-title").locator("xpath=ancestor::header")
        for name in ("Search messages", "Members", "Invite", "Leave"):
            expect(header.get_by_role("button", name=name, exact=True)).to_be_in_viewport(ratio=1)
        opener.click()
        panel = page.get_by_role("dialog", name="Search messages")
        expect(panel).to_be_visible()
        field = panel.get_by_role("searchbox", name="Search for")
        expect(field).to_be_focused()
        expect(panel.get_by_role("radio", name="In Lunch")).to_be_checked()
        if ana.phone:
            box = panel.bounding_box()
            assert box is not None and box["width"] >= 389 and box["height"] >= 843, box

        field.fill("pineapple")
        field.press("Enter")
        status = panel.get_by_test_id("search-summary")
        expect(status).to_have_text("12 messages match “pineapple” in this room.")
        results = panel.get_by_test_id("search-result")
        expect(results).to_have_count(10)
        # Newest first; sender and the highlighted word shown.
        expect(results.first).to_contain_text("ben")
        expect(results.first.locator("mark")).to_have_text(["pineapple"])
        # Markup in a message stays text: no element made from it, no script run.
        hostile = results.first.get_by_test_id("search-snippet")
        expect(hostile).to_contain_text("<img src=x onerror=window.__pwned=1>")
        assert panel.locator("img, b").count() == 0
        assert page.evaluate("window.__pwned") is None
        expect_accessible(ana, f"{size} search results")
        ana.screenshot(screenshots, f"{size}-search")

        # The next page through next_batch, then no more.
        panel.get_by_role("button", name="Load more results").click()
        expect(results).to_have_count(12)
        expect(panel.get_by_role("button", name="Load more results")).to_have_count(0)
        shown = results.evaluate_all("els => els.map((e) => e.dataset.eventId)")
        assert len(set(shown)) == 12, shown
        expect(results.last).to_contain_text("Message 3: pineapple pizza")

        # All my rooms: Work's message too, with its room named.
        panel.get_by_role("radio", name="All my rooms").check()
        field.press("Enter")
        expect(status).to_have_text("13 messages match “pineapple”.")
        work = results.filter(has_text="Pineapple in the fridge")
        expect(work).to_contain_text("in Work")
        expect(work.locator("mark")).to_have_text(["Pineapple"])

        # Escape closes the panel and the focus goes back to its button.
        page.keyboard.press("Escape")
        expect(panel).to_have_count(0)
        expect(opener).to_be_focused()

        # Keyboard only: Ctrl+Shift+F, type, Enter, Tab to the oldest result
        # (far back in history, not loaded), Enter: it is opened in its room.
        page.keyboard.press("Control+Shift+F")
        expect(panel).to_be_visible()
        expect(field).to_be_focused()
        page.keyboard.type("pineapple pizza")
        page.keyboard.press("Enter")
        expect(status).to_have_text(re.compile(r"^11 messages match"))
        panel.get_by_role("button", name="Load more results").click()
        oldest = results.filter(has_text="Message 3: pineapple pizza")
        oldest.focus()
        expect(oldest).to_be_focused()
        target = oldest.get_attribute("data-event-id")
        page.keyboard.press("Enter")
        expect(panel).to_have_count(0)
        expect(ana.room_title).to_have_text("Lunch")
        line = ana.timeline.locator(f'li[data-event-id="{target}"]')
        expect(line).to_be_visible(timeout=30_000)
        expect(line).to_have_attribute("data-highlighted", "true")
        expect(line).to_be_in_viewport()
        assert ana.room_id == rooms["Lunch"]
        ana.screenshot(screenshots, f"{size}-search-jump")

        # Once the highlight fades, the loaded history stays in order and whole.
        expect(line).not_to_have_attribute("data-highlighted", "true", timeout=5_000)
        bodies = [b for _, b in ana.timeline_messages()]
        assert bodies[-1] == body_of(MESSAGES), bodies[-3:]
        assert body_of(3) in bodies
        assert ana.errors == [] and ana.dialogs == []
    finally:
        ana.close()

"""The client's frame and its fixes, at desktop and phone size: the first
paint before the script arrives, axe-core on every screen (zero serious or
critical violations), keyboard use of dialogs (Escape closes, focus
returns), the room header's icon buttons that leave the title its room, a
new room's set-up summed up in one line with an offer to invite people,
messages over the size limit refused with the reason, a send the server
refuses not becoming the room's preview and ending the typing notice, and
deleting through the app's own confirmation dialog."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.ui import Person, expect_accessible
from tests.e2e.conftest import ServerProcess

V3 = "/_matrix/client/v3"


def forbid_sending(base_url: str, token: str, room_id: str, user_id: str) -> None:
    """The room's admin lets only moderators (not `user_id`) send messages."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        url = f"{V3}/rooms/{quote(room_id)}/state/m.room.power_levels"
        levels = http.get(url).json()
        levels["events_default"] = 50
        levels.setdefault("users", {})[user_id] = 0
        assert http.put(url, json=levels).status_code == 200


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_frame_accessibility_and_sending_defects(
    browser: Any, web_server: ServerProcess, screenshots: Path, size: str
) -> None:
    phone = size == "phone"
    ana = Person(browser, web_server.base_url, "ana", phone=phone)
    ben = Person(browser, web_server.base_url, "ben", phone=phone)
    try:
        run(ana, ben, web_server.base_url, screenshots, size)
    finally:
        ana.close()
        ben.close()


def run(ana: Person, ben: Person, base_url: str, shots: Path, size: str) -> None:
    page = ana.page

    # Before the script arrives the page already shows the app's frame.
    page.route(re.compile(r"/assets/.*\.js$"), lambda route: route.abort())
    page.goto("/")
    expect(page.locator(".boot")).to_be_visible()
    expect(page.locator(".boot-title")).to_have_text("Homeserver")
    ana.screenshot(shots, f"{size}-first-paint")
    page.unroute(re.compile(r"/assets/.*\.js$"))

    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect_accessible(ana, "sign-in")
    ana.register()
    ben.register()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect_accessible(ana, "room list, empty")

    # Tab goes through the sidebar in reading order.
    page.locator("body").focus()
    names = []
    focused = "(e => e.getAttribute('aria-label') || e.textContent)(document.activeElement)"
    for _ in range(7):
        page.keyboard.press("Tab")
        names.append(page.evaluate(focused))
    assert names == [
        "Go to a room or person",
        "Search messages",
        "Settings",
        "Sign out",
        "New room",
        "Join room",
        "New message",
    ], names

    # The sidebar's buttons each fit on one line.
    for name in ("New room", "Join room", "New message"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None and box["height"] < 36, (name, box)

    # A dialog: focus inside, Escape closes it, focus back on the button that opened it.
    new_room = page.get_by_role("button", name="New room")
    new_room.focus()
    new_room.press("Enter")
    dialog = page.get_by_role("dialog", name="Create a room")
    expect(dialog).to_be_visible()
    expect_accessible(ana, "create-room dialog")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(new_room).to_be_focused()

    # A new room: its set-up is one line, and the room offers to invite people.
    new_room.click()
    dialog.get_by_label("Name", exact=True).fill("Team")
    dialog.get_by_role("button", name="Create room").click()
    expect(ana.room_title).to_have_text("Team")
    summary = ana.timeline.get_by_test_id("state-summary")
    expect(summary).to_have_count(1)
    expect(summary).to_contain_text("ana created and configured the room")
    detail = summary.get_by_text("ana joined", exact=True)
    expect(detail).to_be_hidden()  # folded into the line
    summary.locator("summary").click()
    expect(detail).to_be_visible()
    # The title keeps its room beside the header's icon buttons.
    title_box = ana.room_title.bounding_box()
    assert title_box is not None and title_box["width"] >= 80, title_box
    for name in ("Members", "Invite", "Leave", "Mute notifications"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Team")).to_be_visible()
    expect_accessible(ana, "new room")
    ana.screenshot(shots, f"{size}-new-room")

    offer = page.get_by_role("button", name="Invite people")
    offer.click()
    invite = page.get_by_role("dialog", name="Invite to Team")
    expect(invite).to_be_visible()
    expect_accessible(ana, "invite dialog")
    page.keyboard.press("Escape")
    expect(invite).to_have_count(0)
    expect(offer).to_be_focused()
    offer.click()
    invite.get_by_label("Search people").fill(ben.user_id)
    invite.get_by_role("button", name=f"Invite ben ({ben.user_id})").click()
    if ben.phone:
        ben.show_room_list()
    ben.page.get_by_role("button", name="Accept invitation to Team").click()
    expect(ben.room_title).to_have_text("Team")
    expect(summary).to_contain_text("ben joined")
    expect(offer).to_have_count(0)
    ben.send("Hello team")
    ana.send("Welcome!")

    # Over the size limit: refused before sending, with the reason; the text stays.
    sends_before = sum(1 for _, d, f in ana.frames if d == "sent" and f.get("type") == "send")
    ana.composer.fill("x" * 70_000)
    ana.composer.press("Enter")
    error = page.get_by_test_id("composer-error")
    expect(error).to_contain_text("too long to send")
    expect(error).not_to_contain_text("reach the server")
    assert len(ana.composer.input_value()) == 70_000
    assert sends_before == sum(
        1 for _, d, f in ana.frames if d == "sent" and f.get("type") == "send"
    )
    ana.composer.fill("")
    expect(error).to_have_count(0)

    # A send the server refuses: shown as not sent with its reason, never the
    # room's preview, and the typing notice ends.
    forbid_sending(base_url, ana.access_token, ana.room_id, ben.user_id)
    ben.composer.press_sequentially("I can't say this", delay=20)
    expect(ana.typing).to_have_text("ben is typing…")
    ben.composer.press("Enter")
    failed = ben.timeline.locator('li[data-status="failed"]')
    expect(failed).to_contain_text("Not sent")
    expect(failed.get_by_role("alert")).not_to_contain_text("reach the server")
    expect(ana.typing).to_have_text("")
    ben.show_room_list()
    expect(ben.room_item("Team")).to_contain_text("ana: Welcome!")
    expect(ben.room_item("Team")).not_to_contain_text("I can't say this")
    ben.open_room("Team")

    # Deleting asks in the app's own dialog; Escape keeps the message, focus returns.
    delete = ana.show_actions("Welcome!").get_by_role("button", name="Delete message")
    delete.click()
    confirm = page.get_by_role("dialog", name="Delete this message?")
    expect(confirm).to_be_visible()
    expect_accessible(ana, "confirm dialog")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(delete).to_be_focused()
    expect(ana.message("Welcome!")).to_have_count(1)
    ana.show_actions("Welcome!")
    delete.click()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(ana.message("Welcome!")).to_have_count(0)
    expect(ben.message("Message deleted")).to_have_count(1)
    expect_accessible(ana, "room with messages")

    # The room list with a selected room (desktop) or on its own (phone).
    if ana.phone:
        ana.show_room_list()
    # After chatting, the notification offer is a compact strip (it took a fifth of the sidebar).
    offer_box = page.get_by_role("region", name="Notifications").bounding_box()
    assert offer_box is not None and offer_box["height"] <= 56, offer_box
    expect_accessible(ana, "room list")
    if not ana.phone:
        ana.page.get_by_role("button", name="Members").click()
        expect(ana.page.get_by_role("list", name="Joined members")).to_be_visible()
        expect_accessible(ana, "member panel")
        ana.page.get_by_role("button", name="Close member list").click()

    settings = ana.open_settings()
    expect_accessible(ana, "settings")
    page.keyboard.press("Escape")
    expect(settings).to_have_count(0)
    expect(page.get_by_role("button", name="Settings", exact=True)).to_be_focused()

    # Leaving asks too (and Cancel leaves everything as it was).
    ana.open_room("Team")
    page.get_by_role("button", name="Leave", exact=True).click()
    leave = page.get_by_role("dialog", name="Leave Team?")
    leave.get_by_role("button", name="Cancel").click()
    expect(leave).to_have_count(0)
    expect(ana.room_title).to_have_text("Team")

    ana.page.emulate_media(color_scheme="dark")
    expect_accessible(ana, "room, dark")
    ana.screenshot(shots, f"{size}-room-dark")
    ana.page.emulate_media(color_scheme="light")

    assert ana.dialogs == [] and ben.dialogs == []
    assert ana.errors == [] and ben.errors == []

"""What a message can do in the web client, two people in a group room, at
desktop and phone size: Markdown sent as HTML and received HTML shown
through the sanitizer, @-mentions picked from the members (m.mentions,
highlighted for the one mentioned), replies (quoted, jump to the
original), edits (m.replace, "(edited)", the new text in the room list),
reactions from the emoji picker aggregated per key with who reacted, the
"New messages" line with "Jump to first unread", and the quick switcher
(Ctrl+K)."""

from __future__ import annotations

import json
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


def sent_content(person: Person, body: str) -> dict[str, Any]:
    """The content of the last `send` frame with this body (or new body, for an edit)."""
    for _at, direction, frame in reversed(person.frames):
        content = frame.get("content") if direction == "sent" else None
        if not isinstance(content, dict):
            continue
        if body in (content.get("body"), content.get("m.new_content", {}).get("body")):
            return content
    sends = [
        f.get("content") for _, d, f in person.frames if d == "sent" and f.get("type") == "send"
    ]
    raise AssertionError(f"no send with body {body!r}: {sends[-3:]}")


def send_raw(base_url: str, token: str, room_id: str, content: dict[str, Any]) -> None:
    """A message as another client might send it (HTML we did not write)."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        txn = str(abs(hash(json.dumps(content))))
        url = f"{V3}/rooms/{quote(room_id)}/send/m.room.message/{txn}"
        assert http.put(url, json=content).status_code == 200


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_rich_messages(
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


def make_team(ana: Person, ben: Person) -> None:
    ana.page.get_by_role("button", name="New room").click()
    ana.page.get_by_label("Name", exact=True).fill("Team")
    ana.page.get_by_role("button", name="Create room").click()
    expect(ana.room_title).to_have_text("Team")
    ana.page.get_by_role("button", name="Invite", exact=True).click()
    ana.page.get_by_label("Search people").fill(ben.user_id)
    ana.page.get_by_role("button", name=f"Invite ben ({ben.user_id})").click()
    if ben.phone:
        ben.show_room_list()
    ben.page.get_by_role("button", name="Accept invitation to Team").click()
    expect(ben.room_title).to_have_text("Team")
    expect(ana.timeline.get_by_test_id("state-summary")).to_contain_text("ben joined")


def run(ana: Person, ben: Person, base_url: str, shots: Path, size: str) -> None:
    ana.register()
    ben.register()
    make_team(ana, ben)

    # Markdown: sent as org.matrix.custom.html, shown formatted on the other side.
    ana.composer.fill("**bold** _it_ `code` [docs](https://example.org)\n- one\n- two")
    ana.composer.press("Enter")
    content = sent_content(ana, "**bold** _it_ `code` [docs](https://example.org)\n- one\n- two")
    assert content["format"] == "org.matrix.custom.html"
    assert "<strong>bold</strong>" in content["formatted_body"]
    line = ben.timeline.locator("li[data-event-id]").filter(has=ben.page.locator("strong"))
    expect(line.locator("strong")).to_have_text("bold")
    expect(line.locator("em")).to_have_text("it")
    expect(line.locator("code")).to_have_text("code")
    expect(line.locator("ul li")).to_have_count(2)
    link = line.get_by_role("link", name="docs")
    expect(link).to_have_attribute("href", "https://example.org")
    expect(link).to_have_attribute("rel", "noopener noreferrer")

    # HTML from another client goes through the sanitizer: no script, handlers or javascript: links.
    send_raw(
        base_url,
        ben.access_token,
        ben.room_id,
        {
            "msgtype": "m.text",
            "body": "evil",
            "format": "org.matrix.custom.html",
            "formatted_body": '<b onclick="window.__pwned=1">evil</b>'
            '<img src=x onerror="window.__pwned=1">'
            '<a href="javascript:window.__pwned=1">click</a><script>window.__pwned=1</script>',
        },
    )
    evil = ana.timeline.locator("li[data-event-id]").filter(
        has=ana.page.locator("b", has_text="evil")
    )
    expect(evil).to_have_count(1)
    expect(evil.locator("img, script")).to_have_count(0)
    assert evil.locator("b").get_attribute("onclick") is None
    expect(evil.get_by_role("link")).to_have_count(0)
    evil.get_by_text("click").click()
    assert ana.page.evaluate("window.__pwned") is None

    # A mention picked from the members: m.mentions, a pill, highlighted for Ben.
    ana.composer.press_sequentially("thanks @be", delay=10)
    options = ana.page.get_by_role("listbox", name="Mention someone")
    expect(options.get_by_role("option")).to_have_count(1)
    expect(options.get_by_role("option")).to_contain_text("ben")
    ana.composer.press("Enter")  # picks
    expect(ana.composer).to_have_value("thanks ben ")
    ana.composer.press_sequentially("for the help", delay=5)
    ana.composer.press("Enter")
    content = sent_content(ana, "thanks ben for the help")
    assert content["m.mentions"] == {"user_ids": [ben.user_id]}
    assert f'href="https://matrix.to/#/{ben.user_id}"' in content["formatted_body"]
    mention = ben.timeline.locator('li[data-mentions-me="true"]')
    expect(mention).to_have_count(1)
    expect(mention.locator(f'[data-mention="{ben.user_id}"]')).to_have_text("ben")
    expect(ana.timeline.locator('li[data-mentions-me="true"]')).to_have_count(0)

    # A reply: quoted, relates to the original, a click jumps there.
    ben.send("Shall we ship on Friday?")
    expect(ana.message("Shall we ship on Friday?")).to_be_visible()
    ana.show_actions("Shall we ship on Friday?")
    ana.message("Shall we ship on Friday?").get_by_role("button", name="Reply").click()
    expect(ana.page.get_by_test_id("composer-context")).to_contain_text("Replying to ben")
    expect(ana.composer).to_be_focused()
    ana.composer.fill("Yes, Friday")
    ana.composer.press("Enter")
    content = sent_content(ana, "Yes, Friday")
    original_id = ben.message("Shall we ship on Friday?").get_attribute("data-event-id")
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": original_id}}
    assert content["m.mentions"] == {"user_ids": [ben.user_id]}
    expect(ana.page.get_by_test_id("composer-context")).to_have_count(0)
    reply = ben.message("Yes, Friday")
    quote_button = reply.get_by_test_id("reply-quote")
    expect(quote_button).to_have_accessible_name("In reply to You: Shall we ship on Friday?")
    quote_button.click()
    expect(ben.message("Shall we ship on Friday?")).to_be_focused()

    # An edit: m.replace, "(edited)" on both sides, the new text in the room list.
    ana.send("See you at 10")
    ana.show_actions("See you at 10")
    ana.message("See you at 10").get_by_role("button", name="Edit message").click()
    expect(ana.composer).to_have_value("See you at 10")
    expect(ana.page.get_by_test_id("composer-context")).to_contain_text("Editing message")
    ana.composer.fill("See you at 11")
    ana.composer.press("Enter")
    content = sent_content(ana, "See you at 11")
    assert content["m.relates_to"]["rel_type"] == "m.replace"
    assert content["m.new_content"] == {"msgtype": "m.text", "body": "See you at 11"}
    for person in (ana, ben):
        edited = person.message("See you at 11")
        expect(edited).to_be_visible()
        expect(edited.get_by_test_id("edited")).to_have_text("(edited)")
        expect(person.message("See you at 10")).to_have_count(0)
    ben.show_room_list()
    expect(ben.room_item("Team")).to_contain_text("ana: See you at 11")
    ben.open_room("Team")
    # Escape ends an edit without sending.
    ana.composer.press("ArrowUp")
    expect(ana.page.get_by_test_id("composer-context")).to_contain_text("Editing message")
    ana.composer.press("Escape")
    expect(ana.page.get_by_test_id("composer-context")).to_have_count(0)
    expect(ana.composer).to_have_value("")

    # Reactions from the picker, aggregated per key with who reacted; a second click takes one back.
    ben.show_actions("See you at 11")
    ben.message("See you at 11").get_by_role("button", name="React", exact=True).click()
    picker = ben.page.get_by_role("group", name="Pick a reaction")
    expect(picker).to_be_visible()
    expect_accessible(ben, "emoji picker")
    ben.page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(
        ben.message("See you at 11").get_by_role("button", name="React", exact=True)
    ).to_be_focused()
    ben.message("See you at 11").get_by_role("button", name="React", exact=True).click()
    picker.get_by_role("button", name="React with thumbs up").click()
    ana.show_actions("See you at 11")
    ana.message("See you at 11").get_by_role("button", name="React", exact=True).click()
    ana.page.get_by_role("button", name="React with thumbs up").click()
    for person in (ana, ben):
        chip = person.message("See you at 11").get_by_test_id("reactions").get_by_role("button")
        expect(chip).to_have_text("👍 2")
        expect(chip).to_have_attribute("aria-pressed", "true")
    chip = ben.message("See you at 11").get_by_test_id("reactions").get_by_role("button")
    expect(chip).to_have_accessible_name("👍 2, reacted by you, ana")
    chip.click()  # ben takes his back
    for person in (ana, ben):
        chip = person.message("See you at 11").get_by_test_id("reactions").get_by_role("button")
        expect(chip).to_have_text("👍 1")
    expect(
        ben.message("See you at 11").get_by_test_id("reactions").get_by_role("button")
    ).to_have_attribute("aria-pressed", "false")
    expect_accessible(ana, "room with formatting, replies, reactions")
    ana.screenshot(shots, f"{size}-rich-messages")

    # Unread: ben is away; on his return a "New messages" line and a jump to it.
    ben.show_room_list()
    for i in range(2):
        ana.send(f"news {i}")
    # A mention through m.mentions counts as a highlight on the server.
    ana.composer.press_sequentially("@be", delay=10)
    ana.composer.press("Enter")
    ana.composer.press_sequentially("see above", delay=5)
    ana.composer.press("Enter")
    expect(ana.message("ben see above")).to_have_attribute("data-status", "remote")
    badge = ben.room_item("Team").get_by_test_id("unread-badge")
    expect(badge).to_have_text("@ 3")
    expect(badge).to_have_attribute("data-highlight", "true")
    expect(ben.room_row("Team")).to_have_accessible_name(
        re.compile(r"3 unread messages, 1 mention")
    )
    expect(ben.page).to_have_title("(3) Homeserver")
    ben.open_room("Team")
    marker = ben.timeline.get_by_test_id("unread-marker")
    expect(marker).to_have_count(1)
    first_unread = ben.message("news 0")
    assert marker.evaluate(
        "(m, first) => !!(m.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)",
        first_unread.element_handle(),
    )
    ben.page.get_by_role("button", name="Jump to first unread").click()
    expect(marker).to_be_in_viewport()
    expect(ben.page).to_have_title("Homeserver")
    ben.screenshot(shots, f"{size}-unread-marker")

    # The quick switcher: Ctrl+K, type, Enter.
    ana.page.keyboard.press("Control+k")
    switcher = ana.page.get_by_role("dialog", name="Go to a room or person")
    expect(switcher).to_be_visible()
    expect_accessible(ana, "quick switcher")
    ana.page.keyboard.type("be")
    expect(switcher.get_by_role("option").first).to_contain_text("ben")
    ana.page.keyboard.press("Enter")
    expect(ana.room_title).to_have_text("ben")  # a DM with ben, created
    ana.page.keyboard.press("Control+k")
    ana.page.keyboard.type("tea")
    ana.page.keyboard.press("Enter")
    expect(ana.room_title).to_have_text("Team")
    ana.page.keyboard.press("Control+k")
    ana.page.keyboard.press("Escape")
    expect(switcher).to_have_count(0)

    assert ana.dialogs == [] and ben.dialogs == []
    assert ana.errors == [] and ben.errors == []

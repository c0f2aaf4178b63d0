"""Uploads that outlive the room on screen, failed uploads tried again, and a
message's actions on a phone floating over the conversation:

- a slow upload in room Alpha goes on while the user is in Beta (Beta shows
  no upload), is shown again with its progress and Cancel back in Alpha, and
  its message goes to Alpha;
- an upload the server fails shows why, with Retry and Dismiss; Retry sends
  the same file again and it is shared; Dismiss drops a failed one;
- on a phone (390x844) tapping a message shows its actions over the
  messages around it: no message moves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.browser.test_history import auth, ok
from tests.browser.test_media import payload, sent_media
from tests.browser.ui import Person, expect_accessible
from tests.e2e.conftest import ServerProcess

V3 = "/_matrix/client/v3"
UPLOAD = "/_matrix/media/v3/upload"


def make_rooms(person: Person, names: list[str]) -> dict[str, str]:
    """Rooms made over the API with the person's token; they show in the list through sync."""
    headers = auth({"Authorization": f"Bearer {person.access_token}"})
    rooms: dict[str, str] = {}
    with httpx.Client(base_url=person.base_url, timeout=10) as http:
        for name in names:
            rooms[name] = str(
                ok(
                    http.post(
                        f"{V3}/createRoom",
                        json={"name": name, "preset": "private_chat"},
                        headers=headers,
                    )
                )["room_id"]
            )
    for name in names:
        expect(person.room_row(name)).to_be_visible()
    return rooms


def file_card(person: Person, name: str) -> Any:
    return person.timeline.get_by_test_id("file-card").filter(has_text=name)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_upload_goes_on_in_another_room(
    browser: Any, web_server: ServerProcess, screenshots: Path, size: str
) -> None:
    ana = Person(browser, web_server.base_url, f"ana{size}", phone=size == "phone")
    try:
        ana.register()
        rooms = make_rooms(ana, ["Alpha", "Beta"])
        ana.open_room("Alpha")
        page = ana.page
        cdp = ana.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 20,
                "downloadThroughput": -1,
                "uploadThroughput": 32 * 1024,
            },
        )
        data = bytes(range(256)) * 2048  # 512 KiB: about 16 s at 32 KiB/s
        page.get_by_test_id("attach-input").set_input_files(
            files=[payload("plans.bin", "application/octet-stream", data)]
        )
        bar = page.get_by_role("progressbar", name="Uploading plans.bin")
        expect(bar).to_be_visible()
        page.wait_for_function(
            "() => { const p = document.querySelector('progress'); return p && p.value > 0 }"
        )

        # In Beta: not Beta's upload, so not shown there.
        ana.open_room("Beta")
        expect(page.get_by_test_id("upload")).to_have_count(0)
        page.wait_for_timeout(500)

        # Back in Alpha: still going, further along, and still cancellable.
        ana.open_room("Alpha")
        expect(bar).to_be_visible()
        expect(page.get_by_role("button", name="Cancel upload of plans.bin")).to_be_visible()
        progress = float(bar.evaluate("p => p.value"))
        assert progress > 0, progress
        ana.screenshot(screenshots, f"upload-back-in-room-{size}")

        # It finishes while the user is in Beta again: the file is shared in Alpha.
        ana.open_room("Beta")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=upload]').length === 0"
        )
        expect(file_card(ana, "plans.bin")).to_have_count(0)  # not in Beta
        ana.open_room("Alpha")
        expect(file_card(ana, "plans.bin")).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id("upload")).to_have_count(0)
        sent = [
            f
            for _, d, f in ana.frames
            if d == "sent"
            and f.get("type") == "send"
            and f.get("content", {}).get("body") == "plans.bin"
        ]
        assert len(sent) == 1 and sent[0]["room_id"] == rooms["Alpha"], sent
        assert sent_media(ana, "plans.bin")["info"]["size"] == len(data)
        assert ana.errors == [] and ana.dialogs == []
    finally:
        ana.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_failed_upload_retry_and_dismiss(
    browser: Any, web_server: ServerProcess, screenshots: Path, size: str
) -> None:
    ana = Person(browser, web_server.base_url, f"ana{size}", phone=size == "phone")
    try:
        ana.register()
        make_rooms(ana, ["Alpha"])
        ana.open_room("Alpha")
        page = ana.page
        attempts: list[str] = []
        fail_next = [True]

        def upload(route: Route) -> None:
            attempts.append(route.request.url)
            if fail_next[0]:
                fail_next[0] = False
                route.fulfill(
                    status=500,
                    content_type="application/json",
                    body=json.dumps({"errcode": "M_UNKNOWN", "error": "The media store is full"}),
                )
            else:
                route.continue_()

        page.route(lambda url: UPLOAD in url, upload)
        data = b"quarterly numbers\n" * 300
        page.get_by_test_id("attach-input").set_input_files(
            files=[payload("report.txt", "text/plain", data)]
        )
        error = page.get_by_test_id("upload-error")
        expect(error).to_have_text("The media store is full")
        retry = page.get_by_role("button", name="Retry upload of report.txt")
        expect(retry).to_be_visible()
        expect(page.get_by_role("button", name="Dismiss report.txt")).to_be_visible()
        expect_accessible(ana, f"failed upload ({size})")
        ana.screenshot(screenshots, f"upload-failed-{size}")
        expect(file_card(ana, "report.txt")).to_have_count(0)

        retry.click()
        expect(file_card(ana, "report.txt")).to_be_visible()
        expect(page.get_by_test_id("upload")).to_have_count(0)
        assert len(attempts) == 2, attempts
        assert sent_media(ana, "report.txt")["info"]["size"] == len(data)

        # Another one fails, and is dismissed: nothing is sent.
        fail_next[0] = True
        page.get_by_test_id("attach-input").set_input_files(
            files=[payload("draft.txt", "text/plain", b"draft")]
        )
        expect(error).to_have_text("The media store is full")
        page.get_by_role("button", name="Dismiss draft.txt").click()
        expect(page.get_by_test_id("upload")).to_have_count(0)
        page.wait_for_timeout(300)
        assert len(attempts) == 3, attempts
        expect(file_card(ana, "draft.txt")).to_have_count(0)
        assert ana.errors == [] and ana.dialogs == []
    finally:
        ana.close()


def test_phone_message_actions_float_over_the_conversation(
    browser: Any, web_server: ServerProcess, screenshots: Path
) -> None:
    ana = Person(browser, web_server.base_url, "ana", phone=True)
    try:
        ana.register()
        make_rooms(ana, ["Alpha"])
        ana.open_room("Alpha")
        for text in ("first message", "second message", "third message"):
            ana.send(text)
        page = ana.page
        lines = [ana.message(t) for t in ("first message", "second message", "third message")]
        before = [line.bounding_box() for line in lines]
        assert all(before), before

        # A tap on the middle one: its actions show, floating; nothing moves.
        line = ana.show_actions("second message")
        react = line.get_by_role("button", name="React")
        expect(react).to_be_visible()
        expect(line.get_by_role("button", name="Reply")).to_be_visible()
        expect(line.get_by_role("button", name="Edit message")).to_be_visible()
        expect(line.get_by_role("button", name="Delete message")).to_be_visible()
        toolbar = line.get_by_test_id("message-actions")
        assert toolbar.evaluate("e => getComputedStyle(e).position") == "absolute"
        after = [line.bounding_box() for line in lines]
        assert after == before, (before, after)
        # Over the conversation, inside the viewport.
        box = toolbar.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        ana.screenshot(screenshots, "phone-message-actions")
        expect_accessible(ana, "message actions (phone)")

        # They work where they are: Reply quotes the message.
        line.get_by_role("button", name="Reply").click()
        expect(page.get_by_text(re.compile("Replying to yourself"))).to_be_visible()
        assert [ln.bounding_box() for ln in lines] == before

        # The topmost message's actions open below it, not cut off by the top of the list.
        ana.timeline.evaluate("el => { el.scrollTop = 0 }")
        top_line = ana.show_actions("first message")
        top_bar = top_line.get_by_test_id("message-actions")
        expect(top_bar).to_be_visible()
        log_box = ana.timeline.bounding_box()
        bar_box = top_bar.bounding_box()
        assert log_box is not None and bar_box is not None
        assert bar_box["y"] >= log_box["y"], (bar_box, log_box)
        assert ana.errors == [] and ana.dialogs == []
    finally:
        ana.close()

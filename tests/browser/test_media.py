"""Files and images in the web client, two people in a group room, at desktop
and phone size: a file picked with the attach button, dropped onto the room
or pasted; the upload's progress bar and its Cancel (the server keeps
nothing); the server's size limit refused before the upload starts; images
as thumbnails in a box of their own proportions that open full size in a
viewer (Escape closes it, the focus goes back); other files as cards whose
Download saves them under their name (authenticated media, fetched with the
token); and media sent by another client through the API shown the same."""

from __future__ import annotations

import hashlib
import io
import json
import wave
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, Request, expect

from tests.browser.conftest import web_env
from tests.browser.test_messages import make_team
from tests.browser.ui import Person, expect_accessible
from tests.e2e.conftest import ServerProcess, StartServer, free_port

V3 = "/_matrix/client/v3"
LIMIT = 2 * 1024 * 1024


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def wav(seconds: float) -> bytes:
    """Silence as a WAV file (8 kHz, mono, 16 bit)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


def payload(name: str, mimetype: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": mimetype, "buffer": data}


def sent_media(person: Person, body: str) -> dict[str, Any]:
    """The content of the last message sent with this body (a file name)."""
    for _at, direction, frame in reversed(person.frames):
        content = frame.get("content") if direction == "sent" else None
        if isinstance(content, dict) and content.get("body") == body:
            return content
    raise AssertionError(f"no send with body {body!r}")


def media_line(person: Person, name: str) -> Any:
    """The timeline line of a media message by its file name."""
    return person.timeline.locator("li[data-event-id]").filter(
        has=person.page.get_by_role("button", name=f"Open image {name}")
    )


def drop_file(page: Page, name: str, mimetype: str, data: bytes) -> None:
    """Drags a file from the desktop and drops it on the conversation."""
    target = page.get_by_role("log", name="Messages")
    transfer = page.evaluate_handle(
        """([name, type, bytes]) => {
          const dt = new DataTransfer()
          dt.items.add(new File([new Uint8Array(bytes)], name, { type }))
          return dt
        }""",
        [name, mimetype, list(data)],
    )
    target.dispatch_event("dragenter", {"dataTransfer": transfer})
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(page.get_by_test_id("drop-zone")).to_be_visible()
    target.dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.get_by_test_id("drop-zone")).to_be_hidden()


def paste_file(person: Person, mimetype: str, data: bytes, html: str = "") -> None:
    """A paste into the composer of an image file (with `html`: rich text carrying one)."""
    person.composer.focus()
    person.composer.evaluate(
        """(box, [type, bytes, html]) => {
          const dt = new DataTransfer()
          if (html) dt.setData('text/html', html)
          dt.items.add(new File([new Uint8Array(bytes)], 'image.png', { type }))
          const init = { clipboardData: dt, bubbles: true, cancelable: true }
          box.dispatchEvent(new ClipboardEvent('paste', init))
        }""",
        [mimetype, list(data), html],
    )


def api_upload(base_url: str, token: str, name: str, mimetype: str, data: bytes) -> str:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        res = http.post(
            f"/_matrix/media/v3/upload?filename={quote(name)}",
            content=data,
            headers={"Content-Type": mimetype},
        )
        assert res.status_code == 200, res.text
        return str(res.json()["content_uri"])


def api_send(base_url: str, token: str, room_id: str, content: dict[str, Any]) -> None:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        txn = hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]
        url = f"{V3}/rooms/{quote(room_id)}/send/m.room.message/{txn}"
        assert http.put(url, json=content).status_code == 200


@pytest.fixture
def media_server(start_server: StartServer, web_dist: Path) -> ServerProcess:
    """The web client's server with a 2 MiB upload limit."""
    port = free_port()
    return start_server(port=port, env=web_env(port, web_dist, MAX_UPLOAD_SIZE=str(LIMIT)))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_files_and_images(
    browser: Any, media_server: ServerProcess, screenshots: Path, size: str
) -> None:
    phone = size == "phone"
    ana = Person(browser, media_server.base_url, "ana", phone=phone)
    ben = Person(browser, media_server.base_url, "ben", phone=phone)
    try:
        ana.register()
        ben.register()
        make_team(ana, ben)
        run(ana, ben, media_server, screenshots, size)
        assert ana.errors == [] and ben.errors == [], (ana.errors, ben.errors)
        assert ana.dialogs == [] and ben.dialogs == []
    finally:
        ana.close()
        ben.close()


def run(ana: Person, ben: Person, server: ServerProcess, shots: Path, size: str) -> None:
    page = ana.page
    uploads: list[str] = []

    def on_request(request: Request) -> None:
        if "/_matrix/media/v3/upload" in request.url:
            uploads.append(request.url)

    page.on("request", on_request)

    # An image picked with the attach button: sent as m.image with its size and type.
    photo = png(800, 600, (200, 30, 30))
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(files=[payload("sunset.png", "image/png", photo)])
    thumb = media_line(ben, "sunset.png").get_by_role("button", name="Open image sunset.png")
    expect(thumb).to_be_visible()
    content = sent_media(ana, "sunset.png")
    assert content["msgtype"] == "m.image"
    assert content["url"].startswith("mxc://localhost/")
    assert content["info"] == {"mimetype": "image/png", "size": len(photo), "w": 800, "h": 600}

    # The box has the image's proportions before and after the thumbnail arrives.
    img = thumb.locator("img")
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("i => i.naturalWidth") > 0
    box = thumb.bounding_box()
    assert box is not None
    assert abs(box["width"] / box["height"] - 800 / 600) < 0.03, box
    if size == "desktop":
        assert round(box["width"]) == 320, box
    # Fetched with the token as an object URL (an <img src> can't authenticate).
    assert img.get_attribute("src", timeout=1000).startswith("blob:")

    # Full size in a viewer: Escape closes it and the focus is back on the thumbnail.
    thumb.click()
    viewer = ben.page.get_by_role("dialog", name="sunset.png")
    expect(viewer).to_be_visible()
    full = viewer.get_by_role("img", name="sunset.png")
    expect(full).to_have_js_property("naturalWidth", 800)
    expect_accessible(ben, f"image viewer ({size})")
    ben.screenshot(shots, f"media-viewer-{size}")
    with ben.page.expect_download() as download:
        viewer.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "sunset.png"
    assert Path(download.value.path()).read_bytes() == photo
    ben.page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(thumb).to_be_focused()
    # By keyboard: Enter on the focused thumbnail opens it, in dark mode too.
    ben.page.emulate_media(color_scheme="dark")
    ben.page.keyboard.press("Enter")
    expect(viewer).to_be_visible()
    expect_accessible(ben, f"image viewer, dark ({size})")
    ben.page.keyboard.press("Escape")
    expect(thumb).to_be_focused()
    ben.page.emulate_media(color_scheme="light")
    # The attach button comes right before the message box in the Tab order.
    ana.composer.focus()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Attach files")).to_be_focused()

    # A file dropped on the room: a card with its name, size and Download.
    notes = ("meeting notes\n" * 200).encode()
    drop_file(page, "notes é.txt", "text/plain", notes)
    card = ben.timeline.get_by_test_id("file-card").filter(has_text="notes é.txt")
    expect(card).to_be_visible()
    expect(card).to_contain_text("2.7 KB")
    assert sent_media(ana, "notes é.txt")["msgtype"] == "m.file"
    # On a phone the first tap on a message reveals its actions (the row above
    # loses its own, and what is below moves up): tap the card, then Download.
    card.get_by_text("notes é.txt").click()
    with ben.page.expect_download() as download:
        card.get_by_role("button", name="Download notes é.txt").click()
    assert download.value.suggested_filename == "notes é.txt"
    assert Path(download.value.path()).read_bytes() == notes

    # Rich text pasted from a document (which carries a picture of itself) is not a file.
    before = len(uploads)
    paste_file(ana, "image/png", png(10, 10, (0, 0, 0)), html="<p>from a <b>document</b></p>")
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("upload")).to_have_count(0)
    assert len(uploads) == before

    # An image pasted into the composer (a screenshot) is shared.
    paste_file(ana, "image/png", png(64, 48, (20, 120, 20)))
    pasted = ben.timeline.get_by_role("button", name="Open image Pasted image", exact=False)
    expect(pasted).to_have_count(1)
    small = pasted.bounding_box()
    assert small is not None and round(small["width"]) == 64 and round(small["height"]) == 48

    # Over the server's limit: refused with the reason, no upload starts.
    before = len(uploads)
    ana.page.get_by_test_id("attach-input").set_input_files(
        files=[payload("huge.bin", "application/octet-stream", b"\0" * (3 * 1024 * 1024))]
    )
    error = page.get_by_test_id("upload-error")
    expect(error).to_have_text("This file is 3 MB; the server accepts files up to 2 MB.")
    expect_accessible(ana, f"refused upload ({size})")
    assert len(uploads) == before
    page.get_by_role("button", name="Dismiss huge.bin").click()
    expect(error).to_be_hidden()

    # A slow upload shows its progress; Cancel breaks it off and the server keeps nothing.
    cdp = ana.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 64 * 1024},
    )
    big = bytes(range(256)) * 4096 * 1  # 1 MiB: about 16 s at 64 KiB/s
    page.get_by_test_id("attach-input").set_input_files(
        files=[payload("video.mp4", "video/mp4", big)]
    )
    bar = page.get_by_role("progressbar", name="Uploading video.mp4")
    expect(bar).to_be_visible()
    page.wait_for_function(
        "() => { const p = document.querySelector('progress'); return p && p.value > 0 }"
    )
    ana.screenshot(shots, f"media-upload-progress-{size}")
    expect_accessible(ana, f"upload in progress ({size})")
    # The browser breaks the request off (before the throttle is lifted, or
    # the rest of the body would rush out).
    with page.expect_event(
        "requestfailed", lambda r: "/_matrix/media/v3/upload" in r.url
    ) as failed:
        page.get_by_role("button", name="Cancel upload of video.mp4").click()
    assert "ABORTED" in str(failed.value.failure), failed.value.failure
    expect(bar).to_be_hidden()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    digest = hashlib.sha256(big).hexdigest()
    page.wait_for_timeout(500)
    assert list(server.data_dir.rglob(digest)) == []
    assert not any(
        d == "sent" and f.get("content", {}).get("body") == "video.mp4" for _, d, f in ana.frames
    )

    # Media another client posted through the API renders the same.
    token = ben.access_token
    room_id = ben.room_id
    cat = png(300, 900, (10, 10, 200))
    cat_uri = api_upload(server.base_url, token, "tall.png", "image/png", cat)
    api_send(
        server.base_url,
        token,
        room_id,
        {
            "msgtype": "m.image",
            "body": "tall.png",
            "url": cat_uri,
            "info": {"mimetype": "image/png", "w": 300, "h": 900, "size": len(cat)},
        },
    )
    pdf = b"%PDF-1.4 not really\n" * 100
    pdf_uri = api_upload(server.base_url, token, "report.pdf", "application/pdf", pdf)
    api_send(
        server.base_url,
        token,
        room_id,
        {
            "msgtype": "m.file",
            "body": "report.pdf",
            "url": pdf_uri,
            "info": {"mimetype": "application/pdf", "size": len(pdf)},
        },
    )
    tall = ana.timeline.get_by_role("button", name="Open image tall.png")
    expect(tall).to_be_visible()
    expect(tall.locator("img")).to_have_js_property("complete", True)
    tall_box = tall.bounding_box()
    assert tall_box is not None and round(tall_box["height"]) == 240, tall_box
    assert round(tall_box["width"]) == 80, tall_box
    report = ana.timeline.get_by_test_id("file-card").filter(has_text="report.pdf")
    expect(report).to_contain_text("File · 2 KB")
    report.get_by_text("report.pdf").click()
    with page.expect_download() as download:
        report.get_by_role("button", name="Download report.pdf").click()
    assert download.value.suggested_filename == "report.pdf"
    assert Path(download.value.path()).read_bytes() == pdf

    # Sound is played once downloaded with the token (the page's CSP allows blob: media).
    tone = wav(0.5)
    tone_uri = api_upload(server.base_url, token, "tone.wav", "audio/wav", tone)
    api_send(
        server.base_url,
        token,
        room_id,
        {
            "msgtype": "m.audio",
            "body": "tone.wav",
            "url": tone_uri,
            "info": {"mimetype": "audio/wav", "size": len(tone), "duration": 500},
        },
    )
    sound = ana.timeline.get_by_test_id("file-card").filter(has_text="tone.wav")
    expect(sound).to_contain_text("Audio")
    sound.get_by_text("tone.wav").click()
    sound.get_by_role("button", name="Play tone.wav").click()
    player = ana.timeline.locator("audio[aria-label='tone.wav']")
    expect(player).to_be_visible()
    page.wait_for_function(
        "() => { const a = document.querySelector(\"audio[aria-label='tone.wav']\"); "
        "return a && a.readyState >= 1 }"
    )
    assert abs(player.evaluate("a => a.duration") - 0.5) < 0.05
    assert not [c for c in ana.console if "Content Security Policy" in c], ana.console

    expect_accessible(ana, f"room with media ({size})")
    ana.screenshot(shots, f"media-room-{size}")
    # Still nothing of the cancelled upload, seconds later.
    assert list(server.data_dir.rglob(digest)) == []

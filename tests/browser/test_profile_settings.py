"""My profile and a room's settings in the web client, at desktop and phone
size: a display name and a picture (uploaded to the media repository, shown
from authenticated media) that the room list, the timeline and the member
panel show; a room's name, topic and picture changed by its admin and shown
in the header and the room list; the same dialog read-only for a member
whose power level does not allow it. axe-core on both dialogs; Escape
closes them and the focus goes back."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, expect

from tests.browser.test_messages import make_team
from tests.browser.ui import Person, expect_accessible
from tests.e2e.conftest import ServerProcess


def picture(color: tuple[int, int, int], name: str) -> FilePayload:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), color).save(out, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def avatar_loaded(scope: Any) -> None:
    img = scope.get_by_test_id("avatar-image").first
    expect(img).to_be_visible()
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("i => i.naturalWidth") > 0
    assert str(img.get_attribute("src")).startswith("blob:")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_profile_and_room_settings(
    browser: Any, web_server: ServerProcess, screenshots: Path, size: str
) -> None:
    phone = size == "phone"
    ana = Person(browser, web_server.base_url, "ana", phone=phone)
    ben = Person(browser, web_server.base_url, "ben", phone=phone)
    try:
        ana.register()
        ben.register()
        make_team(ana, ben)
        run(ana, ben, screenshots, size)
        assert ana.errors == [] and ben.errors == [], (ana.errors, ben.errors)
    finally:
        ana.close()
        ben.close()


def run(ana: Person, ben: Person, shots: Path, size: str) -> None:
    ben.send("hello from ben")

    # My profile: a display name and a picture.
    settings = ana.open_settings()
    name = settings.get_by_label("Display name")
    expect(name).to_have_value("ana")
    name.fill("Ana Lima")
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_text("Display name saved.")).to_be_visible()
    with ana.page.expect_file_chooser() as chooser:
        settings.get_by_role("button", name="Change picture").click()
    chooser.value.set_files(files=[picture((250, 160, 0), "me.png")])
    expect(settings.get_by_text("Picture updated.")).to_be_visible()
    avatar_loaded(settings)
    expect_accessible(ana, f"settings with profile ({size})")
    ana.screenshot(shots, f"profile-settings-{size}")
    ana.page.keyboard.press("Escape")
    expect(ana.settings).to_be_hidden()
    expect(ana.page.get_by_role("button", name="Settings", exact=True)).to_be_focused()

    # Shown to others: the timeline (name and picture) and the member panel.
    ana.open_room("Team")
    ana.send("hello from Ana")
    line = ben.message("hello from Ana")
    expect(line).to_be_visible()
    group = line  # the first line of the sender's run shows their name and picture
    expect(group).to_contain_text("Ana Lima")
    avatar_loaded(group)
    ben.page.get_by_role("button", name="Members").click()
    panel = ben.page.get_by_role("complementary")
    row = panel.locator("li[data-user-id='@ana:localhost']")
    expect(row).to_contain_text("Ana Lima")
    avatar_loaded(row)
    close = "Back to conversation" if ana.phone else "Close member list"
    panel.get_by_role("button", name=close).click()

    # Room settings: ana (the room's admin) renames it, sets a topic and a picture.
    ana.page.get_by_role("button", name="Room settings").click()
    dialog = ana.page.get_by_role("dialog", name="Room settings")
    expect(dialog).to_be_visible()
    room_name = dialog.get_by_label("Room name")
    expect(room_name).to_be_focused()
    room_name.fill("Team Rocket")
    dialog.get_by_label("Topic").fill("Blasting off again")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("Saved.")).to_be_visible()
    with ana.page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Change room picture").click()
    chooser.value.set_files(files=[picture((0, 120, 200), "room.png")])
    expect(dialog.get_by_text("Picture updated.")).to_be_visible()
    expect_accessible(ana, f"room settings ({size})")
    ana.screenshot(shots, f"room-settings-{size}")
    ana.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(ana.page.get_by_role("button", name="Room settings")).to_be_focused()
    expect(ana.room_title).to_have_text("Team Rocket")
    expect(ana.page.get_by_test_id("room-subtitle")).to_have_text("Blasting off again")
    avatar_loaded(ana.page.get_by_role("button", name="Room settings"))

    # ben sees the new name and picture in the header and the room list.
    expect(ben.room_title).to_have_text("Team Rocket")
    ben.show_room_list()
    avatar_loaded(ben.room_item("Team Rocket"))
    ben.open_room("Team Rocket")

    # ben (power level 0) may look but not change: read-only, no Save, no picture button.
    ben.page.get_by_role("button", name="Room settings").click()
    ro = ben.page.get_by_role("dialog", name="Room settings")
    expect(ro.get_by_label("Room name")).to_have_value("Team Rocket")
    expect(ro.get_by_label("Room name")).not_to_be_editable()
    expect(ro.get_by_label("Topic")).not_to_be_editable()
    expect(ro.get_by_role("button", name="Save")).to_have_count(0)
    expect(ro.get_by_role("button", name="Change room picture")).to_have_count(0)
    expect(ro.get_by_test_id("room-settings-readonly")).to_be_visible()
    expect_accessible(ben, f"read-only room settings ({size})")
    ben.page.emulate_media(color_scheme="dark")
    expect_accessible(ben, f"read-only room settings, dark ({size})")
    ro.get_by_role("button", name="Close").click()
    expect(ro).to_be_hidden()

"""The web client of a federating server: Bob, on server B, joins a room of
server A by its alias from the join dialog, reads what A's people wrote,
sees them marked as people of A, and answers; A's people get the answer."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAST_SERVER_ENV
from tests.browser.ui import Person
from tests.federation.two_servers import FederatingServer, pair_of_servers, q

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

V3 = "/_matrix/client/v3"


@pytest.fixture
def servers(tmp_path: Path, web_dist: Path) -> Iterator[list[FederatingServer]]:
    def env(address: str, port: int) -> dict[str, str]:
        return {
            **FAST_SERVER_ENV,
            "WEB_CLIENT_DIR": str(web_dist),
            "PUBLIC_BASEURL": f"http://{address}:{port}",
        }

    pair = pair_of_servers(tmp_path, env)
    try:
        for server in pair:
            server.start()
        yield pair
    finally:
        for server in pair:
            server.stop()


def register(http: httpx.Client, username: str) -> dict[str, str]:
    body: dict[str, Any] = {"username": username, "password": "correct horse battery"}
    first = http.post(f"{V3}/register", json=body)
    body["auth"] = {"type": "m.login.dummy", "session": first.json()["session"]}
    done = http.post(f"{V3}/register", json=body)
    assert done.status_code == 200, done.text
    return {"Authorization": f"Bearer {done.json()['access_token']}"}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_join_a_room_of_another_server_by_alias(
    browser: Any, servers: list[FederatingServer], size: str
) -> None:
    a, b = servers
    with httpx.Client(base_url=a.base_url, timeout=30) as http:
        alice = register(http, "alice")
        http.put(f"{V3}/profile/{q(f'@alice:{a.server_name}')}/displayname", headers=alice,
                 json={"displayname": "Alice Adams"}).raise_for_status()  # fmt: skip
        created = http.post(
            f"{V3}/createRoom",
            headers=alice,
            json={"preset": "public_chat", "room_alias_name": "partners", "name": "Partners"},
        ).json()
        room_id = created["room_id"]
        http.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/t1",
            headers=alice,
            json={"msgtype": "m.text", "body": "welcome from A"},
        ).raise_for_status()

        bob = Person(browser, b.base_url, f"bob{size}", phone=size == "phone")
        try:
            bob.register()
            bob.page.get_by_role("button", name="Join room").click()
            dialog = bob.page.get_by_role("dialog", name="Join a room")
            dialog.get_by_label("Room address or ID").fill(f"#partners:{a.server_name}")
            dialog.get_by_role("button", name="Join", exact=True).click()
            expect(bob.room_title).to_have_text("Partners", timeout=30_000)
            expect(bob.message("welcome from A")).to_be_visible(timeout=30_000)
            # Her name, and the server she is on, head her message.
            expect(bob.page.get_by_test_id("sender-server").first).to_have_text(a.server_name)
            expect(bob.page.get_by_role("log")).to_contain_text("Alice Adams")

            # The member list says which people are from the other server.
            bob.page.get_by_role("button", name="Members").click()
            panel = bob.page.get_by_role("complementary")
            row = panel.locator(f"li[data-user-id='@alice:{a.server_name}']")
            expect(row).to_contain_text("Alice Adams")
            expect(row.get_by_test_id("member-server")).to_have_text(f"from {a.server_name}")
            mine = panel.locator(f"li[data-user-id='@bob{size}:{b.server_name}']")
            expect(mine.get_by_test_id("member-server")).to_have_count(0)
            close = "Back to conversation" if bob.phone else "Close member list"
            panel.get_by_role("button", name=close).click()

            bob.send("hello from B")
            deadline = time.monotonic() + 30
            while True:
                page = http.get(
                    f"{V3}/rooms/{q(room_id)}/messages",
                    headers=alice,
                    params={"dir": "b", "limit": "10"},
                ).json()
                if "hello from B" in [e["content"].get("body") for e in page["chunk"]]:
                    break
                assert time.monotonic() < deadline, "Bob's answer did not reach A"
                time.sleep(0.2)
            assert not bob.errors, bob.errors
        finally:
            bob.close()

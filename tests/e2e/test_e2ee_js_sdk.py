"""Two matrix-js-sdk clients with its Rust crypto (matrix-sdk-crypto-wasm), in
Node 22, against the real server: an encrypted DM decrypted both ways, a
second device cross-signed by the first, and room keys restored from key
backup; the database holds only ciphertext.

The JavaScript is `tests/e2ee/js/` (its own package.json and lock file,
installed here with `npm ci`; Node 22 comes from the npm registry's `node`
package, since matrix-js-sdk needs it)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from homeserver.storage.engine import create_engine
from homeserver.storage.tables import events, metadata
from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import PASSWORD, login, register

pytestmark = pytest.mark.e2e

JS_DIR = Path(__file__).resolve().parents[1] / "e2ee" / "js"
NODE = JS_DIR / "node_modules" / ".bin" / "node"
INSTALL_TIMEOUT_SECONDS = 300
SCENARIO_TIMEOUT_SECONDS = 300
MESSAGES = ["hello bob, this stays between us", "hello alice, it does"]


def _install() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            "npm is not installed: the matrix-js-sdk E2EE test needs npm (and the registry)"
        )
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    lock = JS_DIR / "package-lock.json"
    if not (
        NODE.exists() and installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime
    ):
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            check=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    return NODE


async def _accounts(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        alice = await register(http, "alice")
        bob = await register(http, "bob")
        alice2 = await login(http, "alice")

    def creds(user: Any) -> dict[str, str]:
        return {
            "userId": user.user_id,
            "accessToken": user.access_token,
            "deviceId": user.device_id,
        }

    return {
        "baseUrl": base_url,
        "password": PASSWORD,
        "messages": MESSAGES,
        "alice": creds(alice),
        "bob": creds(bob),
        "alice2": creds(alice2),
    }


async def _database_rows(url: str) -> tuple[list[str], dict[str, str]]:
    """Every row of every table as text, and the type of each stored event."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = []
            for table in metadata.sorted_tables:
                rows.extend(repr(tuple(r)) for r in await conn.execute(select(table)))
            types = {
                r.event_id: orjson.loads(r.json)["type"]
                for r in await conn.execute(select(events.c.event_id, events.c.json))
            }
    finally:
        await engine.dispose()
    return rows, types


def test_two_js_sdk_clients_talk_encrypted(server: ServerProcess) -> None:
    node = _install()
    config = asyncio.run(_accounts(server.base_url))
    run = subprocess.run(
        [str(node), "scenario.mjs", orjson.dumps(config).decode()],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"scenario failed:\n{run.stderr[-8000:]}\n{server.logs()[-8000:]}"
    result = orjson.loads(run.stdout.strip().splitlines()[-1])
    assert MESSAGES[0] in result["bobDecrypted"] and MESSAGES[1] in result["aliceDecrypted"]
    assert result["aliceCrossSigningReady"] is True
    assert result["secondDeviceSignedByOwner"] is True
    assert result["restoredKeys"] >= 1
    assert set(MESSAGES) <= set(result["alice2Decrypted"])

    rows, types = asyncio.run(_database_rows(server.database_url))
    assert all(types[event_id] == "m.room.encrypted" for event_id in result["eventIds"])
    for message in MESSAGES:
        assert not any(message in row for row in rows), f"plaintext {message!r} in the database"

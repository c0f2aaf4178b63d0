"""Schemathesis over the published OpenAPI document (/_matrix/client/openapi.json)
against a real server process (SQLite, or PostgreSQL with TEST_DATABASE_URL):
every built-in check, a bounded and deterministic number of cases per
operation. It must end with no server error and no conformance failure.
SCHEMATHESIS_OPERATIONS (operationIds, comma-separated) runs only those.

What is switched off, and why, is in tests/e2e/schemathesis.toml: the
"schema-valid request accepted" check for operations whose refusals depend on
the server's state (a taken alias, an existing filter id, DNS), and NUL
characters in generated strings (refused everywhere by one rule, tested on
every route by tests/hardening/test_bad_input.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from homeserver.handlers.e2ee.key_backup import BACKUP_ALGORITHMS
from tests.e2e.conftest import ServerProcess
from tests.e2e.helpers import PASSWORD, V3, create_room, ok, register, send_text

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
(BACKUP_ALGORITHM,) = BACKUP_ALGORITHMS
# Cases per operation (most of a run is the deterministic coverage phase).
MAX_EXAMPLES = 5
RUN_TIMEOUT_SECONDS = 240
# SCHEMATHESIS_OPERATIONS=search,uploadKeys runs only those operations (by
# operationId), to check a change quickly; unset, every operation runs.
ONLY_OPERATIONS = [op for op in os.environ.get("SCHEMATHESIS_OPERATIONS", "").split(",") if op]


async def test_schemathesis_finds_nothing(server: ServerProcess, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        # The user the config signs in as (and again after each 401), with a
        # room and a message, so that operations reach past "not found".
        fuzzer = await register(http, "fuzzer")
        room_id = await create_room(http, fuzzer, name="Fuzz")
        await send_text(http, fuzzer, room_id, "hello")
        # Key backup version 1, which the config names for updateRoomKeysBackup,
        # so that its checks reach past "unknown version".
        backup = {"algorithm": BACKUP_ALGORITHM, "auth_data": {"public_key": "fuzz"}}
        created = ok(
            await http.post(f"{V3}/room_keys/version", json=backup, headers=fuzzer.headers)
        )
        assert created == {"version": "1"}, created
    assert PASSWORD == "correct horse battery", "keep schemathesis.toml's password in step"
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{server.base_url}/_matrix/client/openapi.json",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--report-dir",
        str(tmp_path / "schemathesis-report"),
    ]
    for operation_id in ONLY_OPERATIONS:
        command += ["--include-operation-id", operation_id]
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        cwd=tmp_path,
        check=False,
    )
    output = result.stdout + result.stderr
    summary = output[output.find("= SUMMARY =") - 40 :] if "= SUMMARY =" in output else output
    print("\n" + summary[-3000:])
    assert result.returncode == 0, output[-30_000:]
    assert "API Operations:" in output, output[-3000:]

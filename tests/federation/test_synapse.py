"""Our server and Synapse on loopback, over TLS with a throwaway CA: profile
and directory queries both ways (each side signing its requests and
verifying the other's with keys fetched from it) and key queries across.

Synapse runs from its own virtual environment (tests/tools/synapse.py:
`SYNAPSE_PYTHON`, or the `.bench-venv` that `make test` installs)."""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
import yaml

from tests.e2e.helpers import V3, ok, q, register
from tests.federation.servers import (
    FederatingServer,
    free_port_on,
    start_federating_server,
    wait_for_federation,
)
from tests.federation.tls import TestCA
from tests.tools.synapse import require_synapse

SYNAPSE_READY_TIMEOUT_SECONDS = 60.0


@dataclass
class Synapse:
    process: subprocess.Popen[bytes]
    client_url: str
    server_name: str
    log: Path
    _files: list[IO[bytes]]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for handle in self._files:
            handle.close()


def start_synapse(python: str, directory: Path, tls: TestCA, host: str) -> Synapse:
    client_port, federation_port = free_port_on(host), free_port_on(host)
    server_name = f"{host}:{federation_port}"
    chain, key = tls.issue(host)
    config_path = directory / "homeserver.yaml"
    subprocess.run(
        [
            python, "-m", "synapse.app.homeserver", "--server-name", server_name,
            "--config-path", str(config_path), "--data-directory", str(directory),
            "--generate-config", "--report-stats=no",
        ],
        check=True,
        capture_output=True,
        cwd=directory,
    )  # fmt: skip
    config = yaml.safe_load(config_path.read_text())
    many = {"per_second": 1000, "burst_count": 1000}
    config["listeners"] = [
        {
            "port": client_port,
            "bind_addresses": [host],
            "type": "http",
            "tls": False,
            "resources": [{"names": ["client"], "compress": False}],
        },
        {
            "port": federation_port,
            "bind_addresses": [host],
            "type": "http",
            "tls": True,
            "resources": [{"names": ["federation", "keys"], "compress": False}],
        },
    ]
    config.update(
        {
            "tls_certificate_path": str(chain),
            "tls_private_key_path": str(key),
            "federation_verify_certificates": True,
            "federation_custom_ca_list": [str(tls.ca_file)],
            "ip_range_whitelist": ["127.0.0.0/8"],
            "federation_ip_range_blacklist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "enable_registration": True,
            "enable_registration_without_verification": True,
            "report_stats": False,
            "alias_creation_rules": [{"action": "allow"}],
            "room_list_publication_rules": [{"action": "allow"}],
            "rc_message": many,
            "rc_registration": many,
            "rc_login": {"address": many, "account": many, "failed_attempts": many},
            "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "reject_limit": 1000},
        }
    )
    config_path.write_text(yaml.safe_dump(config))
    log = directory / "synapse.log"
    output = log.open("wb")
    process = subprocess.Popen(
        [python, "-m", "synapse.app.homeserver", "--config-path", str(config_path)],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    synapse = Synapse(process, f"http://{host}:{client_port}", server_name, log, [output])
    deadline = time.monotonic() + SYNAPSE_READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            synapse.stop()
            pytest.fail(f"Synapse exited during start-up:\n{log.read_text()[-5000:]}")
        try:
            if httpx.get(f"{synapse.client_url}/_matrix/client/versions", timeout=1).is_success:
                return synapse
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    synapse.stop()
    pytest.fail(f"Synapse did not start:\n{log.read_text()[-5000:]}")


@pytest.fixture
def ours_and_synapse(
    tmp_path: Path, tls: TestCA, database_urls: tuple[str, str]
) -> Iterator[tuple[FederatingServer, Synapse, TestCA]]:
    python = str(require_synapse("synapse.app.homeserver"))
    ours = start_federating_server(tmp_path, 1, "127.0.0.1", database_urls[0], tls)
    synapse_dir = tmp_path / "synapse"
    synapse_dir.mkdir()
    try:
        synapse = start_synapse(python, synapse_dir, tls, "127.0.0.2")
    except BaseException:
        ours.kill()
        raise
    try:
        wait_for_federation(ours, ssl.create_default_context(cafile=str(tls.ca_file)))
        yield ours, synapse, tls
    finally:
        synapse.stop()
        ours.kill()


async def test_queries_both_ways_with_synapse(
    ours_and_synapse: tuple[FederatingServer, Synapse, TestCA],
) -> None:
    ours, synapse, tls = ours_and_synapse
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    async with (
        httpx.AsyncClient(base_url=ours.base_url, timeout=60) as http_ours,
        httpx.AsyncClient(base_url=synapse.client_url, timeout=60) as http_synapse,
        httpx.AsyncClient(verify=context, timeout=60) as federation,
    ):
        alice = await register(http_ours, "alice")
        bob = await register(http_synapse, "bob")
        for http, user, name in ((http_ours, alice, "Alice"), (http_synapse, bob, "Bob")):
            path = f"{V3}/profile/{q(user.user_id)}/displayname"
            ok(await http.put(path, json={"displayname": name}, headers=user.headers))

        # Synapse asks us (we verify its signature with keys fetched from it)
        # and we ask Synapse (it verifies ours with keys fetched from us).
        path = f"{V3}/profile/{q(alice.user_id)}"
        assert ok(await http_synapse.get(path, headers=bob.headers)) == {"displayname": "Alice"}
        path = f"{V3}/profile/{q(bob.user_id)}"
        assert ok(await http_ours.get(path, headers=alice.headers)) == {"displayname": "Bob"}

        room = ok(await http_ours.post(f"{V3}/createRoom", json={}, headers=alice.headers))
        alias = f"#ours:{ours.server_name}"
        body = {"room_id": room["room_id"]}
        ok(await http_ours.put(f"{V3}/directory/room/{q(alias)}", json=body, headers=alice.headers))
        found = ok(await http_synapse.get(f"{V3}/directory/room/{q(alias)}", headers=bob.headers))
        assert found["room_id"] == room["room_id"]
        assert ours.server_name in found["servers"]

        created = await http_synapse.post(
            f"{V3}/createRoom", json={"room_alias_name": "theirs"}, headers=bob.headers
        )
        theirs = ok(created)["room_id"]
        alias = f"#theirs:{synapse.server_name}"
        found = ok(await http_ours.get(f"{V3}/directory/room/{q(alias)}", headers=alice.headers))
        assert found == {"room_id": theirs, "servers": [synapse.server_name]}

        # Each answers key queries for the other.
        answer = ok(
            await federation.post(
                f"https://{ours.server_name}/_matrix/key/v2/query",
                json={"server_keys": {synapse.server_name: {}}},
            )
        )
        assert [k["server_name"] for k in answer["server_keys"]] == [synapse.server_name]
        answer = ok(
            await federation.get(
                f"https://{synapse.server_name}/_matrix/key/v2/query/{ours.server_name}"
            )
        )
        (keys,) = answer["server_keys"]
        assert set(keys["signatures"]) == {ours.server_name, synapse.server_name}

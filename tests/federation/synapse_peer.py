"""Synapse as a federation peer on loopback: its own data directory, a
certificate from the test's CA, TLS on its federation listener, rate limits
out of the way. Used by the tests that federate with it (test_synapse*.py)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml

from tests.federation.servers import free_port_on
from tests.federation.tls import TestCA

SYNAPSE_READY_TIMEOUT_SECONDS = 60.0


@dataclass
class Synapse:
    process: subprocess.Popen[bytes]
    client_url: str
    server_name: str
    log: Path
    _files: list[IO[bytes]]

    @property
    def base_url(self) -> str:
        return self.client_url

    def logs(self) -> str:
        """The tail of its output and of its log file, for failure reports."""
        parts = []
        for path in (self.log, self.log.parent / "homeserver.log"):
            if path.exists():
                parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-20000:]}")
        return "\n".join(parts)

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


def start_synapse(
    python: str,
    directory: Path,
    tls: TestCA,
    host: str,
    database: dict[str, Any] | None = None,
) -> Synapse:
    """Generates a config (SQLite unless `database` names another, in
    Synapse's `database` config shape), patches it and starts Synapse."""
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
            "rc_joins": {"local": many, "remote": many},
            "rc_joins_per_room": many,
            "rc_invites": {"per_room": many, "per_user": many, "per_issuer": many},
            "rc_presence": {"per_user": many},
            "presence": {"enabled": True},
        }
    )
    if database is not None:
        config["database"] = database
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

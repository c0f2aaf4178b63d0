"""Real homeserver processes with federation on, for the multi-server tests:
each on its own loopback address, its server name `<address>:<federation
port>`, with a certificate from the test's CA."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeserver.events import decode_signing_key
from tests.e2e.conftest import ServerProcess
from tests.federation.tls import TestCA

READY_TIMEOUT_SECONDS = 20.0
# The processes a test started, for the failure report (conftest.py).
SERVERS_KEY = pytest.StashKey[list["FederatingServer"]]()


def free_port_on(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class FederatingServer(ServerProcess):
    host: str = "127.0.0.1"
    federation_port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def server_name(self) -> str:
        return f"{self.host}:{self.federation_port}"

    @property
    def federation_url(self) -> str:
        return f"https://{self.server_name}"

    def signing_key(self) -> tuple[str, Any]:
        return decode_signing_key((self.data_dir / "signing.key").read_text())


def wait_for_federation(server: FederatingServer, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    url = f"{server.federation_url}/_matrix/federation/v1/version"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, verify=context, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"federation listener did not answer {url}:\n{server.logs()}")


def start_federating_server(
    tmp_path: Path, index: int, host: str, database_url: str, tls: TestCA
) -> FederatingServer:
    """Starts one server (federation on, TLS from `tls`) and waits for its
    client API; `wait_for_federation` waits for its federation listener."""
    chain, key = tls.issue(host)
    federation_port = free_port_on(host)
    log_dir = tmp_path / f"server{index}"
    log_dir.mkdir()
    server = FederatingServer(
        data_dir=tmp_path / f"data{index}",
        port=free_port_on(host),
        database_url=database_url,
        log_dir=log_dir,
        host=host,
        federation_port=federation_port,
    )
    server.extra_env = {
        "BIND_ADDRESS": host,
        "SERVER_NAME": server.server_name,
        "ENABLE_FEDERATION": "true",
        "FEDERATION_PORT": str(federation_port),
        "TLS_CERTIFICATE_PATH": str(chain),
        "TLS_PRIVATE_KEY_PATH": str(key),
        "FEDERATION_CA_FILE": str(tls.ca_file),
        "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    server.start()
    return server

"""Two real homeserver processes federating over TLS on loopback: a throwaway
CA (openssl), one certificate per server (IP SAN), each server on its own
address (127.0.0.1, 127.0.0.2) with its own data dir and SQLite database;
and a small client for their client APIs."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from tests.e2e.conftest import base_env

READY_TIMEOUT_SECONDS = 30.0
_txn = itertools.count(1)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "30",
        "-subj", "/CN=test federation CA", "-out", "ca.crt", cwd=directory,
    )  # fmt: skip
    return directory / "ca.crt"


def make_certificate(directory: Path, address: str) -> tuple[Path, Path]:
    """A key and a chain file (leaf, then CA) for `address`."""
    name = address.replace(".", "_")
    _openssl(
        "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", "-key", f"{name}.key", "-subj", f"/CN={address}", "-out", f"{name}.csr",
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.ext").write_text(
        f"subjectAltName=IP:{address}\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-sha256", "-extfile", f"{name}.ext",
        "-out", f"{name}.crt", cwd=directory,
    )  # fmt: skip
    chain = directory / f"{name}.chain.pem"
    chain.write_bytes(
        (directory / f"{name}.crt").read_bytes() + (directory / "ca.crt").read_bytes()
    )
    return chain, directory / f"{name}.key"


def free_port_on_both(addresses: tuple[str, ...]) -> int:
    """A port free on every address (each server binds the same port numbers)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on all addresses")


@dataclass
class FederatingServer:
    address: str
    port: int
    federation_port: int
    data_dir: Path
    ca_file: Path
    chain: Path
    key: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _files: list[IO[bytes]] = field(default_factory=list)

    @property
    def server_name(self) -> str:
        return f"{self.address}:{self.federation_port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = base_env(
            DATA_DIR=str(self.data_dir),
            BIND_ADDRESS=self.address,
            PORT=str(self.port),
            SERVER_NAME=self.server_name,
            ENABLE_REGISTRATION="true",
            RATE_LIMITS_ENABLED="false",
            ENABLE_FEDERATION="true",
            FEDERATION_PORT=str(self.federation_port),
            TLS_CERTIFICATE_PATH=str(self.chain),
            TLS_PRIVATE_KEY_PATH=str(self.key),
            FEDERATION_CA_FILE=str(self.ca_file),
            FEDERATION_ALLOW_PRIVATE_ADDRESSES="true",
            **self.extra_env,
        )
        out = (self.data_dir / "stdout.log").open("ab")
        err = (self.data_dir / "stderr.log").open("ab")
        self._files += [out, err]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "homeserver", "run"],
            env=env,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server_name} exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base_url}/_matrix/client/versions", timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.server_name} did not start:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for file in self._files:
            file.close()
        self._files.clear()

    def logs(self) -> str:
        parts = []
        for name in ("stdout.log", "stderr.log"):
            path = self.data_dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-8000:])
        return "\n".join(parts)


@dataclass
class Account:
    user_id: str
    token: str


class Client:
    """The client API of one server, as a user would drive it."""

    def __init__(self, server: FederatingServer) -> None:
        self.server = server
        self.http = httpx.AsyncClient(
            base_url=server.base_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account.token}"} if account else {}
        return await self.http.request(
            method, f"/_matrix/client/v3{path}", headers=headers, **kwargs
        )

    async def ok(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> Any:
        response = await self.call(method, path, account, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    async def register(self, username: str) -> Account:
        body: dict[str, Any] = {"username": username, "password": "correct horse battery"}
        first = await self.call("POST", "/register", json=body)
        body["auth"] = {"type": "m.login.dummy", "session": first.json()["session"]}
        done = await self.ok("POST", "/register", json=body)
        return Account(done["user_id"], done["access_token"])

    async def send_text(self, account: Account, room_id: str, text: str) -> str:
        path = f"/rooms/{q(room_id)}/send/m.room.message/t{next(_txn)}"
        result = await self.ok("PUT", path, account, json={"msgtype": "m.text", "body": text})
        return str(result["event_id"])

    async def sync_until(
        self, account: Account, predicate: Any, since: str | None = None, deadline: float = 30
    ) -> tuple[dict[str, Any], str]:
        """Long-polls /sync until `predicate(sync_body)` holds; returns that
        body and the next batch token."""
        end = time.monotonic() + deadline
        while True:
            params = {"timeout": "5000"}
            if since is not None:
                params["since"] = since
            body = await self.ok("GET", "/sync", account, params=params)
            since = body["next_batch"]
            if predicate(body):
                return body, str(since)
            if time.monotonic() > end:
                raise AssertionError("the expected change did not arrive in /sync")


def q(value: str) -> str:
    return quote(value, safe="")


def timeline(body: dict[str, Any], room_id: str, section: str = "join") -> list[dict[str, Any]]:
    room = body.get("rooms", {}).get(section, {}).get(room_id, {})
    return list(room.get("timeline", {}).get("events", []))


def ephemeral(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = body.get("rooms", {}).get("join", {}).get(room_id, {})
    return list(room.get("ephemeral", {}).get("events", []))

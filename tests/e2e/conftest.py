"""Fixtures that run the real server process (`python -m homeserver run`).

The database is a SQLite file in the test's tmp dir (created by the server), or,
when TEST_DATABASE_URL is set, the PostgreSQL database the in-process tests use
(`database_template`), emptied per test by the same TRUNCATE they use.
The process's stdout/stderr go to files in the tmp dir and are attached to the
report of a failing test."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL, truncate_postgres

READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_CHARS = 20_000

# Settings the server reads from the environment; the parent's are never inherited.
SERVER_ENV_VARS = (
    "PORT",
    "BIND_ADDRESS",
    "DATABASE_URL",
    "DATA_DIR",
    "HOMESERVER_DATA_DIR",
    "HOMESERVER_CONFIG",
    "SERVER_NAME",
    "PUBLIC_BASEURL",
    "ENABLE_REGISTRATION",
    "LOG_LEVEL",
    "WEB_CLIENT_DIR",
    "RATE_LIMITS_ENABLED",
    "TEST_DATABASE_URL",
    "ENABLE_FEDERATION",
    "FEDERATION_PORT",
    "TLS_CERTIFICATE_PATH",
    "TLS_PRIVATE_KEY_PATH",
    "FEDERATION_CA_FILE",
    "FEDERATION_ALLOW_PRIVATE_ADDRESSES",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**overrides: str) -> dict[str, str]:
    """The parent environment without any server setting, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def _tail(path: Path) -> str:
    if not path.exists():
        return "(no file)"
    text = path.read_text(errors="replace")
    if len(text) > LOG_TAIL_CHARS:
        return "...\n" + text[-LOG_TAIL_CHARS:]
    return text or "(empty)"


@dataclass
class ServerProcess:
    """One server: its data dir, port and database stay the same across restarts."""

    data_dir: Path
    port: int
    database_url: str
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _files: list[IO[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = base_env(
            DATA_DIR=str(self.data_dir),
            PORT=str(self.port),
            BIND_ADDRESS="127.0.0.1",
            SERVER_NAME="localhost",
            RATE_LIMITS_ENABLED="false",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def log_paths(self, start: int) -> tuple[Path, Path]:
        return (
            self.log_dir / f"server-{start}.stdout.log",
            self.log_dir / f"server-{start}.stderr.log",
        )

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        stdout_path, stderr_path = self.log_paths(self.starts)
        stdout = stdout_path.open("wb")
        stderr = stderr_path.open("wb")
        self._files += [stdout, stderr]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "homeserver", "run"],
            env=self.env,
            cwd=self.log_dir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        url = f"{self.base_url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                pytest.fail(f"server exited with {code} during start-up:\n{self.logs()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"server did not answer {url} within {READY_TIMEOUT_SECONDS} s:\n{self.logs()}")

    def stop(self) -> int:
        """SIGTERM, then wait for a clean exit; returns the exit code."""
        assert self.process is not None and self.process.poll() is None, "not running"
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"server ignored SIGTERM for {STOP_TIMEOUT_SECONDS} s:\n{self.logs()}")

    def restart(self) -> int:
        """Stops (returning the exit code) and starts again on the same data."""
        code = self.stop()
        self.start()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_SECONDS)
        for handle in self._files:
            handle.close()
        self._files.clear()

    def logs(self) -> str:
        parts = []
        for start in range(1, self.starts + 1):
            for path in self.log_paths(start):
                parts.append(f"--- {path.name} ---\n{_tail(path)}")
        return "\n".join(parts)


@pytest.fixture
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for this test's server process."""
    if TEST_DATABASE_URL:
        # The in-process tests' session database (migrated once), emptied by TRUNCATE.
        url = str(request.getfixturevalue("database_template"))
        asyncio.run(truncate_postgres(url))
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'homeserver.db'}"


StartServer = Callable[..., ServerProcess]
# The processes a test started, for the failure report.
_SERVERS = pytest.StashKey[list[ServerProcess]]()


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, tmp_path: Path, e2e_database_url: str
) -> Iterator[StartServer]:
    """Factory: `start_server(data_dir=..., port=..., env={...})` starts a server
    process and waits until it answers. Every process is killed at teardown."""
    started: list[ServerProcess] = []
    request.node.stash[_SERVERS] = started

    def start(
        *,
        data_dir: Path | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        index = len(started) + 1
        log_dir = tmp_path / f"server{index}"
        log_dir.mkdir()
        server = ServerProcess(
            data_dir=data_dir or tmp_path / f"data{index}",
            port=port or free_port(),
            database_url=e2e_database_url,
            log_dir=log_dir,
            extra_env=dict(env or {}),
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    return start_server()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    none: list[ServerProcess] = []
    servers = item.stash.get(_SERVERS, none)
    if report.failed:
        for index, server in enumerate(servers, start=1):
            report.sections.append((f"homeserver process {index} output", server.logs()))
    return report

"""The servers under test: this homeserver and Synapse, each on SQLite or
PostgreSQL, started fresh (new data directory, new database) as child processes
of the bench, so they inherit its raised open-files limit."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import yaml

from tests.bench import postgres, synapse_config
from tests.bench.procstat import die_with_parent

READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0
REPO = Path(__file__).resolve().parents[2]
BENCH_VENV = REPO / ".bench-venv"
SYNAPSE_PYTHON = BENCH_VENV / "bin" / "python"

# Settings the servers read from the environment; the bench's own are never inherited.
_SERVER_ENV_VARS = (
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
    "SYNAPSE_CONFIG_PATH",
    "VIRTUAL_ENV",
)


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass
class ServerUnderTest(ABC):
    """One server process on one kind of database, in `work_dir` (removed at stop)."""

    database_kind: str  # "sqlite" or "postgresql"
    work_dir: Path
    log_dir: Path
    run_id: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    pg_database: str | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    family: str = "?"
    supports_websocket: bool = False

    @property
    def name(self) -> str:
        return f"{self.family}-{self.database_kind}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError(f"{self.name} is not running")
        return self.process.pid

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def environment(self) -> dict[str, str]: ...

    @abstractmethod
    def prepare(self) -> None:
        """Writes the configuration (the database exists by now)."""

    @abstractmethod
    def version(self) -> str: ...

    async def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.database_kind == "postgresql":
            self.pg_database = f"bench_{self.run_id}_{self.family}"
            await postgres.create_database(self.pg_database, c_locale=self.family == "synapse")
        await asyncio.to_thread(self.prepare)
        self._spawn()
        await self._wait_ready()

    def _spawn(self, *, append: bool = False) -> None:
        mode = "ab" if append else "wb"
        stdout = (self.log_dir / f"{self.name}.stdout.log").open(mode)
        stderr = (self.log_dir / f"{self.name}.stderr.log").open(mode)
        self._logs = [stdout, stderr]
        self.process = subprocess.Popen(
            self.command(),
            env=self.environment(),
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=die_with_parent,
        )

    async def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        url = f"{self.base_url}/_matrix/client/versions"
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerError(f"{self.name} exited during start-up: {self.log_tail()}")
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise ServerError(f"{self.name} did not answer within {READY_TIMEOUT_SECONDS} s")

    async def restart(self) -> None:
        """Stops the process and starts it again on the same data: a fresh
        process, so that memory measured next starts from a clean slate."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
        for handle in self._logs:
            handle.close()
        self._spawn(append=True)
        await self._wait_ready()

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for path in sorted(self.log_dir.glob(f"{self.name}*")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    async def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
        for handle in self._logs:
            handle.close()
        self._logs = []
        if self.pg_database is not None:
            await postgres.drop_database(self.pg_database)
            self.pg_database = None
        shutil.rmtree(self.work_dir, ignore_errors=True)


@dataclass
class OurServer(ServerUnderTest):
    family: str = "ours"
    supports_websocket: bool = True

    def command(self) -> list[str]:
        return [sys.executable, "-m", "homeserver", "run"]

    def environment(self) -> dict[str, str]:
        env = clean_env(
            DATA_DIR=str(self.work_dir / "data"),
            PORT=str(self.port),
            BIND_ADDRESS="127.0.0.1",
            SERVER_NAME="localhost",
            RATE_LIMITS_ENABLED="false",
            LOG_LEVEL="WARNING",
        )
        if self.pg_database is not None:
            env["DATABASE_URL"] = postgres.sqlalchemy_url(self.pg_database)
        return env

    def prepare(self) -> None:
        data = self.work_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        # Registration is set-up, not a measurement: cheap hashes (Synapse's too).
        settings = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}
        (data / "homeserver.yaml").write_text(yaml.safe_dump(settings))

    def version(self) -> str:
        try:
            commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain", "homeserver"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
        return commit + ("+uncommitted changes" if dirty else "")


@dataclass
class SynapseServer(ServerUnderTest):
    family: str = "synapse"
    supports_websocket: bool = False
    config_path: Path | None = None

    def command(self) -> list[str]:
        assert self.config_path is not None
        return [str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "-c", str(self.config_path)]

    def environment(self) -> dict[str, str]:
        return clean_env()

    def prepare(self) -> None:
        if self.pg_database is not None:
            database = synapse_config.postgres_database(self.pg_database)
        else:
            database = synapse_config.sqlite_database(self.work_dir / "homeserver.db")
        self.config_path = synapse_config.write_config(
            SYNAPSE_PYTHON, self.work_dir, self.port, database
        )

    def version(self) -> str:
        return synapse_version()


def synapse_installed() -> bool:
    return SYNAPSE_PYTHON.exists() and bool(synapse_version())


def synapse_version() -> str:
    try:
        return subprocess.run(
            [str(SYNAPSE_PYTHON), "-c", "import synapse; print(synapse.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


@dataclass
class BaselineServer(OurServer):
    """This homeserver as of an earlier commit (`--baseline`), run from a git
    worktree beside the current code, so that a change is measured against
    what it changes in the same run, under the same machine noise."""

    family: str = "baseline"
    source_dir: Path = REPO
    revision: str = ""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        # Ahead of the editable install of the current checkout.
        env["PYTHONPATH"] = str(self.source_dir)
        return env

    def version(self) -> str:
        return self.revision


def checkout_baseline(revision: str, into: Path) -> str:
    """A detached worktree of `revision` at `into`; returns its short commit id."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(into), revision],
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        ["git", "-C", str(into), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def remove_baseline(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
        check=False,
        capture_output=True,
    )


def make_server(
    family: str,
    database_kind: str,
    root: Path,
    log_dir: Path,
    run_id: str,
    baseline: tuple[Path, str] | None = None,
) -> ServerUnderTest:
    work_dir = root / f"{family}-{database_kind}"
    if family == "ours":
        return OurServer(
            database_kind=database_kind, work_dir=work_dir, log_dir=log_dir, run_id=run_id
        )
    if family == "baseline" and baseline is not None:
        return BaselineServer(
            database_kind=database_kind,
            work_dir=work_dir,
            log_dir=log_dir,
            run_id=run_id,
            source_dir=baseline[0],
            revision=baseline[1],
        )
    if family == "synapse":
        return SynapseServer(
            database_kind=database_kind, work_dir=work_dir, log_dir=log_dir, run_id=run_id
        )
    raise ValueError(f"unknown server family {family!r}")

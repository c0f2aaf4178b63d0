"""An in-process homeserver with federation on: the client app and the
federation app over the same HomeServer, each with a test client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from federation.app import create_federation_app
from homeserver.app import create_app
from homeserver.config import Config
from tests.conftest import (
    TEST_DATABASE_URL,
    create_scratch_postgres,
    drop_scratch_postgres,
    make_config,
)
from tests.federation.servers import SERVERS_KEY, FederatingServer
from tests.federation.synapse_peer import Synapse, running_with_synapse
from tests.federation.tls import TestCA
from tests.federation.two_servers import Pair, running_pair
from tests.matrix_client import TestClient


@dataclass
class FederatedServer:
    client: TestClient  # the client API
    federation: TestClientProtocol  # the federation listener's app
    federation_app: Quart


@pytest.fixture
def federation_config(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Config:
    data_dir = tmp_path_factory.mktemp("federated") / "data"
    return make_config(data_dir, database_url, enable_federation=True, server_name="localhost")


@pytest.fixture
async def federated(federation_config: Config) -> AsyncIterator[FederatedServer]:
    app = create_app(federation_config)
    federation_app = create_federation_app(federation_config, app)
    async with app.test_app() as client_app, federation_app.test_app() as fed_app:
        yield FederatedServer(
            TestClient(client_app.test_client(), client_app.app),
            fed_app.test_client(),
            fed_app.app,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attaches the server processes' output to a failing two-server test."""
    report = yield
    if report.failed:
        for index, server in enumerate(item.stash.get(SERVERS_KEY, []), start=1):
            report.sections.append((f"homeserver process {index} output", server.logs()))
    return report


@pytest.fixture
def tls(tmp_path: Path) -> TestCA:
    """A throwaway certificate authority for this test's servers."""
    directory = tmp_path / "tls"
    directory.mkdir()
    return TestCA(directory)


@pytest.fixture
def database_urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases for two server processes: SQLite files, or scratch
    PostgreSQL databases (each server migrates its own at start-up)."""
    if not TEST_DATABASE_URL:
        yield (
            f"sqlite+aiosqlite:///{tmp_path / 'first.db'}",
            f"sqlite+aiosqlite:///{tmp_path / 'second.db'}",
        )
        return
    urls = [asyncio.run(create_scratch_postgres(TEST_DATABASE_URL)) for _ in range(2)]
    yield urls[0], urls[1]
    for url in urls:
        asyncio.run(drop_scratch_postgres(TEST_DATABASE_URL, url))


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    """Two real servers (127.0.0.1 and 127.0.0.2, TLS), each with its own
    SQLite database, and a client of each."""
    async with running_pair(tmp_path) as running:
        yield running


@pytest.fixture
def ours_and_synapse(
    tmp_path: Path, tls: TestCA, database_urls: tuple[str, str]
) -> Iterator[tuple[FederatingServer, Synapse, TestCA]]:
    """One server of ours and a Synapse, started for this test."""
    with running_with_synapse(tmp_path, tls, database_urls[0]) as (ours, synapse):
        yield ours, synapse, tls

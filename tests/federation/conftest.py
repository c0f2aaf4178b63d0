"""An in-process homeserver with federation on: the client app and the
federation app over the same HomeServer, each with a test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from federation.app import create_federation_app
from homeserver.app import create_app
from homeserver.config import Config
from tests.conftest import make_config
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
    from tests.federation.test_two_servers import SERVERS_KEY

    report = yield
    if report.failed:
        for index, server in enumerate(item.stash.get(SERVERS_KEY, []), start=1):
            report.sections.append((f"homeserver process {index} output", server.logs()))
    return report

"""An in-process server with access to Quart's own test client (to set the
peer address the operations endpoints look at)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from quart import Quart
from quart.testing import QuartClient

from homeserver.app import create_app
from homeserver.config import Config
from homeserver.server import HomeServer
from tests.e2e.conftest import (  # the real-process fixtures, here too
    e2e_database_url,
    pytest_runtest_makereport,
    start_server,
)
from tests.matrix_client import TestClient

__all__ = ["e2e_database_url", "pytest_runtest_makereport", "start_server"]


@dataclass
class Operated:
    app: Quart
    http: QuartClient  # raw, for the endpoints outside the Matrix contract
    matrix: TestClient

    @property
    def server(self) -> HomeServer:
        server: HomeServer = self.app.extensions["homeserver"]
        return server

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.server.metrics.registry.get_sample_value(name, labels or {})


@pytest.fixture
async def operated(config: Config) -> AsyncIterator[Operated]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield Operated(
            test_app.app, test_app.test_client(), TestClient(test_app.test_client(), app)
        )


def peer(address: str) -> dict[str, object]:
    """`scope_base` for a request from `address`."""
    return {"client": (address, 40_000)}

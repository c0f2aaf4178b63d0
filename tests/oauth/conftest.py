"""OAuth fixtures: an in-process app whose public base URL is loopback http (so
OAuth is available without TLS), and a browser on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from homeserver.app import create_app
from homeserver.config import Config
from tests.oauth.helpers import Browser


@pytest.fixture
async def app_and_browser(config: Config) -> AsyncIterator[tuple[object, Browser]]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield test_app.app, Browser(test_app.test_client())


@pytest.fixture
async def browser(app_and_browser: tuple[object, Browser]) -> Browser:
    return app_and_browser[1]


# The real server process (tests/e2e/conftest.py), for the flows driven by an
# OAuth client library over HTTP.
from tests.e2e.conftest import e2e_database_url, start_server  # noqa: E402

__all__ = ["e2e_database_url", "start_server"]

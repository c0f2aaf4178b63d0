"""Browser tests: the bundled web client in a real Chromium (Debian's
/usr/bin/chromium, driven by the `playwright` package), against the real
server process started by the e2e `start_server` fixture.

Without /usr/bin/chromium the tests are skipped, unless REQUIRE_BROWSER=1
(set by CI), which makes that a failure. The client is built first when
clients/web/dist is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The server-process fixtures (and the hook that attaches its logs to failures).
from tests.e2e.conftest import (  # noqa: F401
    ServerProcess,
    StartServer,
    e2e_database_url,
    free_port,
    pytest_runtest_makereport,
    start_server,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "clients" / "web"
DIST = WEB / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Fast presence and heartbeats so "went offline" shows within seconds.
FAST_SERVER_ENV = {
    "PRESENCE_OFFLINE_GRACE_SECONDS": "1",
    "STREAM_HEARTBEAT_SECONDS": "1",
}

pytestmark = pytest.mark.e2e


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1 makes browser tests mandatory)", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """clients/web/dist, built if it is missing."""
    if (DIST / "index.html").is_file():
        return DIST
    npm = shutil.which("npm")
    if npm is None:
        _missing("clients/web/dist is not built and npm is not installed")
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def web_env(port: int, web_dist: Path, **extra: str) -> dict[str, str]:
    """Settings for a server the browser uses at http://127.0.0.1:<port>: that
    is its public base URL too, so the web client's OAuth redirect URI (its own
    origin) is on the server's origin."""
    return {
        **FAST_SERVER_ENV,
        "WEB_CLIENT_DIR": str(web_dist),
        "PUBLIC_BASEURL": f"http://127.0.0.1:{port}",
        **extra,
    }


@pytest.fixture
def web_server(start_server: StartServer, web_dist: Path) -> ServerProcess:  # noqa: F811
    """The homeserver serving the built client at /, with fast presence."""
    port = free_port()
    return start_server(port=port, env=web_env(port, web_dist))


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

"""The OAuth fixtures (an in-process app and a browser on it) for these tests too."""

from tests.oauth.conftest import app_and_browser, browser  # noqa: F401

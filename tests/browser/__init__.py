"""Browser tests: the web client in Chromium against the real server process."""

"""log_format: json writes one JSON object per record."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from homeserver.config import ConfigError, load_config
from homeserver.logging_setup import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_message_extras_and_exception(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("homeserver.test")
    log.info("room created", extra={"room_id": "!a:localhost", "members": 2})
    log.debug("not shown at INFO")
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("it failed", extra={"request_id": "abc"})
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "room created"
    assert first["level"] == "INFO" and first["logger"] == "homeserver.test"
    assert first["room_id"] == "!a:localhost" and first["members"] == 2
    assert first["time"].endswith("+00:00")
    assert second["request_id"] == "abc"
    assert "ValueError: broken" in second["exception"]


def test_text_stays_the_default(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("homeserver.test").info("hello", extra={"user": "@a:b"})
    line = capsys.readouterr().err.strip()
    assert line.endswith("INFO homeserver.test: hello user='@a:b'")


def test_unknown_log_format_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with pytest.raises(ConfigError, match="log_format"):
        load_config(tmp_path, {"LOG_FORMAT": "xml"}, write_if_missing=False)

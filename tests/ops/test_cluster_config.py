"""REDIS_URL (several workers on one database) is for PostgreSQL only: on
SQLite it is refused with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeserver.config import ConfigError, load_config


def test_redis_url_on_sqlite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        load_config(tmp_path, {"REDIS_URL": "redis://127.0.0.1:6379/0"})


def test_redis_url_must_be_a_redis_address(tmp_path: Path) -> None:
    env = {"REDIS_URL": "http://127.0.0.1:6379", "DATABASE_URL": "postgresql+asyncpg://h/db"}
    with pytest.raises(ConfigError, match="redis://"):
        load_config(tmp_path, env)


def test_redis_url_needs_one_public_baseurl(tmp_path: Path) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": "postgresql+asyncpg://h/db"}
    with pytest.raises(ConfigError, match="PUBLIC_BASEURL"):
        load_config(tmp_path, env)


def test_redis_url_with_postgresql_is_accepted(tmp_path: Path) -> None:
    env = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": "postgresql+asyncpg://h/db",
        "PUBLIC_BASEURL": "https://chat.example.org",
    }
    assert load_config(tmp_path, env).redis_url == "redis://127.0.0.1:6379/0"


def test_without_redis_url_sqlite_stays_the_default(tmp_path: Path) -> None:
    config = load_config(tmp_path, {})
    assert config.redis_url == ""
    assert config.effective_database_url.startswith("sqlite")

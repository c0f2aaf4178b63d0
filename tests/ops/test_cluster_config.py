"""REDIS_URL (several workers on one database) is for PostgreSQL only: on
SQLite it is refused with a message that says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from homeserver.config import ConfigError, load_config
from tests.e2e.conftest import base_env, free_port


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


def _run_workers(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeserver", "run", "--workers", "2"],
        env=base_env(DATA_DIR=str(tmp_path / "data"), PORT=str(free_port()), **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    result = _run_workers(tmp_path, {})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "several workers need PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    result = _run_workers(tmp_path, {"DATABASE_URL": "postgresql+asyncpg://h/db"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "several workers need REDIS_URL" in result.stderr

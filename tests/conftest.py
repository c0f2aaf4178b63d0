"""Shared fixtures: a database (SQLite, or PostgreSQL when TEST_DATABASE_URL is
set), an in-process homeserver, and a Matrix client that checks every response
against spec/openapi.yaml."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from homeserver.app import create_app
from homeserver.config import Config
from homeserver.storage.engine import create_engine, run_migrations
from homeserver.storage.tables import metadata
from tests.matrix_client import TestClient

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(statement))
    await engine.dispose()


async def create_scratch_postgres(base_url: str) -> str:
    """A new empty database beside the one TEST_DATABASE_URL names, so that
    concurrent test runs never share tables. Returns its URL."""
    url = make_url(base_url)
    name = f"{url.database}_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_scratch_postgres(base_url: str, scratch_url: str) -> None:
    name = make_url(scratch_url).database
    await _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate(url: str) -> None:
    engine = create_engine(url)
    await run_migrations(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database: a SQLite file to copy, or a scratch
    PostgreSQL database created for this test session."""
    if TEST_DATABASE_URL:
        scratch = asyncio.run(create_scratch_postgres(TEST_DATABASE_URL))
        asyncio.run(migrate(scratch))
        yield scratch
        asyncio.run(drop_scratch_postgres(TEST_DATABASE_URL, scratch))
        return
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(_sqlite_url(path))
        await run_migrations(engine)
        async with engine.begin() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(build())
    yield str(path)


async def truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names}"))
    await engine.dispose()


@pytest.fixture
async def database_url(database_template: str, tmp_path: Path) -> str:
    """A fresh empty database for one test."""
    if TEST_DATABASE_URL:
        await truncate_postgres(database_template)
        return database_template
    target = tmp_path / "homeserver.db"
    await asyncio.to_thread(shutil.copyfile, database_template, target)
    return _sqlite_url(target)


def make_config(data_dir: Path, database_url: str, **overrides: Any) -> Config:
    config = Config(
        data_dir=data_dir,
        database_url=database_url,
        server_name="localhost",
        rate_limits_enabled=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path / "data", database_url)


@pytest.fixture
async def client(config: Config) -> AsyncIterator[TestClient]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"

"""The `homeserver` command: generate-config, migrate, create-user, run with PORT."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import StartServer, base_env, free_port
from tests.e2e.helpers import V3, ok

pytestmark = pytest.mark.e2e

# Settings whose names mention secrets but hold none.
# Settings whose names contain a "secret" word but hold no secret.
NOT_SECRETS = {
    "access_token_lifetime_seconds",
    "password_min_length",
    "signing_key_file",
    "push_allow_private_addresses",
    "tls_private_key_path",  # a file's path; the key stays in the file
    "federation_allow_private_addresses",
}
SECRET_WORDS = ("secret", "password", "token", "key", "salt", "private")


def run_cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeserver", "--data-dir", str(data_dir), *args],
        env=base_env(**env),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def _check_no_secrets(config: dict[str, Any]) -> None:
    for name, value in config.items():
        if name not in NOT_SECRETS:
            assert not any(word in name for word in SECRET_WORDS), f"{name} looks secret"
        text = str(value)
        assert "PRIVATE KEY" not in text and "ed25519" not in text, f"{name} holds a key"
    assert config["signing_key_file"] == "signing.key"
    assert config["database_url"] == "", "no database credentials in a generated config"


def test_generate_config(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    output = _succeeded(run_cli(data_dir, "generate-config", PORT="9999"))
    config_path = data_dir / "homeserver.yaml"
    assert str(config_path) in output
    config = yaml.safe_load(config_path.read_text())
    assert config["server_name"] == "localhost"
    assert config["port"] == 8008, "environment overrides must not be written to the file"
    _check_no_secrets(config)
    # Only the settings file: keys and the database appear at first start.
    assert sorted(p.name for p in data_dir.iterdir()) == ["homeserver.yaml"]

    # An existing file is kept as it is.
    edited = config_path.read_text().replace("port: 8008", "port: 8123")
    config_path.write_text(edited)
    _succeeded(run_cli(data_dir, "generate-config"))
    assert config_path.read_text() == edited


def test_migrate_on_a_fresh_dir(tmp_path: Path, e2e_database_url: str) -> None:
    data_dir = tmp_path / "fresh"
    # SQLite: the default database in the data dir; PostgreSQL: the test database.
    env = {"DATABASE_URL": e2e_database_url} if TEST_DATABASE_URL else {}
    assert "database is up to date" in _succeeded(run_cli(data_dir, "migrate", **env))
    if not TEST_DATABASE_URL:
        assert (data_dir / "homeserver.db").stat().st_size > 0
    # Running it again is a no-op.
    assert "database is up to date" in _succeeded(run_cli(data_dir, "migrate", **env))


def test_create_user_then_log_in_on_port_from_env(
    tmp_path: Path, e2e_database_url: str, start_server: StartServer
) -> None:
    data_dir = tmp_path / "data"
    db = {"DATABASE_URL": e2e_database_url}
    password = "an admin password"
    created = _succeeded(
        run_cli(data_dir, "create-user", "alice", "--password", password, "--admin", **db)
    )
    assert "@alice:localhost" in created and "admin" in created

    again = run_cli(data_dir, "create-user", "alice", "--password", password, **db)
    assert again.returncode != 0
    assert "already taken" in again.stderr
    assert "Traceback" not in again.stderr

    bad = run_cli(data_dir, "create-user", "Not A Name!", "--password", password, **db)
    assert bad.returncode != 0
    assert bad.stderr.startswith("error:") and "Traceback" not in bad.stderr

    port = free_port()
    server = start_server(data_dir=data_dir, port=port)
    assert server.base_url.endswith(f":{port}")
    stdout = (server.log_dir / "server-1.stdout.log").read_text()
    # The URL people should open (the public base URL), then where it listens.
    assert f"open http://localhost:{port}/ (listening on 127.0.0.1:{port}" in stdout

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": password,
        }
        login = ok(http.post(f"{V3}/login", json=body))
        assert login["user_id"] == "@alice:localhost"
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        assert ok(http.get(f"{V3}/account/whoami", headers=headers))["user_id"] == (
            "@alice:localhost"
        )
        wrong = http.post(f"{V3}/login", json={**body, "password": "not the password"})
        assert wrong.status_code == 403


def test_first_start_writes_config_and_private_keys(
    tmp_path: Path, start_server: StartServer
) -> None:
    data_dir = tmp_path / "new-data"
    assert not data_dir.exists()
    start_server(data_dir=data_dir)

    config = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
    _check_no_secrets(config)
    for name in ("signing.key", "token_signing.pem"):
        path = data_dir / name
        assert path.is_file(), f"{name} missing after first start"
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"

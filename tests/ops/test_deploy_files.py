"""deploy/: the systemd template verifies, and the compose file and Dockerfile
agree with the server's settings, the repository and deploy/nginx.conf.
(Images cannot be pulled here, so the containers themselves are not run.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from homeserver.config import _ENV_OVERRIDES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KNOWN_ENV = set(_ENV_OVERRIDES) | {"DATA_DIR", "HOMESERVER_CONFIG"}
NOT_YET_READ: set[str] = set()


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _upstream_ports() -> list[int]:
    conf = (DEPLOY / "nginx.conf").read_text()
    block = re.search(r"upstream homeserver \{(.*?)\}", conf, re.S)
    assert block is not None
    return [int(p) for p in re.findall(r"^\s*server 127\.0\.0\.1:(\d+);", block.group(1), re.M)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_template_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "homeserver@.service").read_text()
    assert "Environment=PORT=%i" in unit
    # The installed command is where the test's interpreter has it.
    command = Path(sys.executable).parent / "homeserver"
    unit = unit.replace("/opt/homeserver/.venv/bin/homeserver", str(command))
    instance = tmp_path / "homeserver@8008.service"
    instance.write_text(unit)
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(instance)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr


def test_compose_workers_match_nginx_and_known_settings() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "nginx"} <= set(services)
    workers = {name: s for name, s in services.items() if name.startswith("worker")}
    assert workers
    ports = [int(w["environment"]["PORT"]) for w in workers.values()]
    assert len(set(ports)) == len(ports), ports
    default_workers = [w for w in workers.values() if not w.get("profiles")]
    assert [int(w["environment"]["PORT"]) for w in default_workers] == _upstream_ports()
    for name, worker in workers.items():
        unknown = set(worker["environment"]) - KNOWN_ENV - NOT_YET_READ
        assert not unknown, f"{name}: not settings of the server: {unknown}"
        assert worker["build"]["dockerfile"] == "deploy/Dockerfile"
        assert worker["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    for name, service in services.items():
        # One network namespace: nginx.conf's 127.0.0.1 upstream holds as written.
        assert service["network_mode"] == "host", name
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def test_dockerfile_copies_what_exists_and_sets_known_settings() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    sources = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M)
    assert sources
    for line in sources:
        for source in line.split():
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    env_block = re.search(r"^ENV (.*?)(?=^\S)", dockerfile, re.M | re.S)
    assert env_block is not None
    names = set(re.findall(r"([A-Z_]+)=", env_block.group(1)))
    assert names and names <= KNOWN_ENV, names - KNOWN_ENV
    assert dockerfile.rstrip().endswith('CMD ["homeserver", "run"]')

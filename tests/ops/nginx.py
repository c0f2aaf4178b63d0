"""Runs deploy/nginx.conf in a private nginx (`nginx -p DIR`), with the
addresses, certificates and paths of a test swapped in."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
READY_SECONDS = 10.0


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


@dataclass
class Nginx:
    binary: str
    directory: Path
    http_port: int
    https_port: int
    upstream_ports: list[int]
    web_root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def main_conf(self) -> Path:
        return self.directory / "nginx.conf"

    def write(self) -> None:
        cert, key = self_signed(self.directory)
        site = DEPLOY_CONF.read_text()
        for old, new in (
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen [::]:80;", ""),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("listen [::]:443 ssl http2;", ""),
            (
                "server 127.0.0.1:8008;\n    server 127.0.0.1:8009;",
                "\n    ".join(f"server 127.0.0.1:{port};" for port in self.upstream_ports),
            ),
            ("/etc/letsencrypt/live/chat.example.org/fullchain.pem", str(cert)),
            ("/etc/letsencrypt/live/chat.example.org/privkey.pem", str(key)),
            ("root /opt/homeserver/clients/web/dist;", f"root {self.web_root};"),
        ):
            site = _replace_once(site, old, new)
        (self.directory / "homeserver.conf").write_text(site)
        d = self.directory
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the tmp dir
        mime_types = Path("/etc/nginx/mime.types")
        self.main_conf.write_text(
            f"{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            + (f"  include {mime_types};\n" if mime_types.exists() else "")
            + "  access_log off;\n"
            + "".join(
                f"  {kind}_temp_path {d}/{kind}_temp;\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {d}/homeserver.conf;\n}}\n"
        )

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t`: the configuration parses and its files load."""
        return subprocess.run(
            [self.binary, "-t", *self._args()],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def _args(self) -> list[str]:
        d = str(self.directory)
        return ["-p", d, "-c", str(self.main_conf), "-e", f"{d}/error.log"]

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, *self._args(), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited: {self.logs()}")
            try:
                httpx.get(f"http://127.0.0.1:{self.http_port}/", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not listen within {READY_SECONDS} s: {self.logs()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def logs(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else "(no error.log)"

"""Settings: a YAML file in the data directory, generated on first start, with
environment overrides (PORT, BIND_ADDRESS, DATABASE_URL, DATA_DIR, SERVER_NAME, ...)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE_NAME = "homeserver.yaml"


@dataclass
class RateLimit:
    per_second: float
    burst: int


@dataclass
class Config:
    data_dir: Path
    server_name: str = "localhost"
    public_baseurl: str = ""
    bind_address: str = "127.0.0.1"
    port: int = 8008
    database_url: str = ""
    # Scale-out: with a Redis URL several worker processes share one PostgreSQL
    # database (README "Architecture"); empty means a single process.
    redis_url: str = ""
    enable_registration: bool = True
    max_request_body_bytes: int = 1_048_576
    # Password logins get long-lived tokens (standard clients without refresh
    # support would otherwise be signed out); logout and password change revoke.
    access_token_lifetime_seconds: int = 365 * 24 * 3600
    password_min_length: int = 8
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456
    signing_key_file: str = "signing.key"
    web_client_dir: str = ""
    log_level: str = "INFO"
    # "text" (one key=value line per record) or "json" (one JSON object per line).
    log_format: str = "text"
    rate_limit_login: RateLimit = field(default_factory=lambda: RateLimit(0.5, 10))
    rate_limit_register: RateLimit = field(default_factory=lambda: RateLimit(0.2, 5))
    rate_limit_send: RateLimit = field(default_factory=lambda: RateLimit(20.0, 100))
    rate_limits_enabled: bool = True
    presence_idle_seconds: int = 300
    presence_offline_grace_seconds: int = 30
    # WebSocket sync stream: heartbeat interval, unacknowledged-frame window and
    # how long a reader may stall before it is told to resync.
    stream_heartbeat_seconds: int = 25
    stream_window: int = 16
    stream_stall_seconds: int = 60
    # Behind a reverse proxy (deploy/nginx.conf), take the client address from
    # the last X-Forwarded-For hop; never enable this without a proxy in front.
    trust_x_forwarded_for: bool = False
    # -- signing in: OAuth 2.0 and access tokens (README "Signing in") --------
    # The OAuth 2.0 authorization server; it needs an https public_baseurl (or a
    # loopback one, for development). Password /login works either way.
    enable_oauth: bool = True
    # Access tokens that come with a refresh token (OAuth; /login with
    # refresh_token: true) live this long ...
    refreshable_access_lifetime_seconds: int = 300
    # ... and such a session ends when it has not been refreshed for this long.
    session_idle_lifetime_seconds: int = 30 * 86400
    # Algorithm of new access-token signing keys (ES256 or EdDSA), and how often
    # a new key is rotated in (0: never); old keys stay published until their
    # tokens have expired.
    jwt_signing_alg: str = "ES256"
    jwt_rotation_days: int = 90
    # Confidential OAuth clients (resource servers) allowed to introspect any
    # token (RFC 7662); any confidential client may introspect its own tokens.
    oauth_introspection_clients: list[str] = field(default_factory=list)
    # RFC 8628 device authorization: how long a user code is valid, and the
    # minimum polling interval.
    oauth_device_code_lifetime_seconds: int = 1800
    oauth_device_poll_interval_seconds: int = 5
    # Failed sign-ins on the OAuth login page, per IP address and per user name.
    rate_limit_login_failures: RateLimit = field(default_factory=lambda: RateLimit(0.05, 5))
    # -- push notifications (README "Notifications") --------------------------
    # Pusher URLs and Web Push endpoints must be https and resolve to public
    # addresses; closed networks and tests may allow http and private ones.
    push_allow_private_addresses: bool = False
    # Pushes carry a preview of the message (and, to push gateways, the event
    # content); false sends only who wrote where.
    push_include_content: bool = True
    # -- federation (README "Federation") --------------------------------------
    # Off by default: then nothing of federation listens or is loaded.
    enable_federation: bool = False
    # The HTTPS listener for /_matrix/federation/* and /_matrix/key/* (on
    # bind_address), with its certificate chain and key (PEM files).
    federation_port: int = 8448
    tls_certificate_path: str = ""
    tls_private_key_path: str = ""
    # Extra CA certificates (PEM) trusted when verifying other servers.
    federation_ca_file: str = ""
    # Other servers may be reached on loopback and private addresses (tests,
    # closed networks); otherwise only public addresses.
    federation_allow_private_addresses: bool = False
    # -- operations (README "Operations") -------------------------------------
    # GET /metrics (Prometheus) answers only these client addresses or networks
    # (the address behind a trusted proxy when trust_x_forwarded_for is on).
    metrics_enabled: bool = True
    metrics_allowed_ips: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # -- media repository (README "Media") ------------------------------------
    # The largest upload, in bytes (the 1 MiB request body limit does not apply
    # to uploads), and how much each user may store in all.
    max_upload_size: int = 50 * 1024 * 1024
    media_quota_bytes_per_user: int = 1024 * 1024 * 1024
    # Created (POST /media/v1/create) but not yet uploaded mxc URIs per user.
    media_max_pending_uploads: int = 10
    # Uploads and created mxc URIs, per user.
    rate_limit_media: RateLimit = field(default_factory=lambda: RateLimit(2.0, 20))
    # Signed requests per origin server (transactions, queries, joins, backfill).
    rate_limit_federation: RateLimit = field(default_factory=lambda: RateLimit(50.0, 300))

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'homeserver.db'}"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / self.signing_key_file

    @property
    def server_host(self) -> str:
        """The server name without a port (`127.0.0.1:8448` -> `127.0.0.1`,
        `[::1]:8448` -> `[::1]`)."""
        name = self.server_name
        if name.startswith("["):
            return name[: name.find("]") + 1] if "]" in name else name
        return name.rsplit(":", 1)[0] if ":" in name else name

    @property
    def base_url(self) -> str:
        return self.public_baseurl or f"http://{self.server_host}:{self.port}"

    def to_yaml_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("data_dir")
        return data


_ENV_OVERRIDES: dict[str, str] = {
    "PORT": "port",
    "BIND_ADDRESS": "bind_address",
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "SERVER_NAME": "server_name",
    "PUBLIC_BASEURL": "public_baseurl",
    "ENABLE_REGISTRATION": "enable_registration",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "METRICS_ENABLED": "metrics_enabled",
    "METRICS_ALLOWED_IPS": "metrics_allowed_ips",
    "WEB_CLIENT_DIR": "web_client_dir",
    "RATE_LIMITS_ENABLED": "rate_limits_enabled",
    "TRUST_X_FORWARDED_FOR": "trust_x_forwarded_for",
    "ENABLE_OAUTH": "enable_oauth",
    "REFRESHABLE_ACCESS_LIFETIME_SECONDS": "refreshable_access_lifetime_seconds",
    "SESSION_IDLE_LIFETIME_SECONDS": "session_idle_lifetime_seconds",
    "JWT_SIGNING_ALG": "jwt_signing_alg",
    "JWT_ROTATION_DAYS": "jwt_rotation_days",
    "OAUTH_INTROSPECTION_CLIENTS": "oauth_introspection_clients",
    "OAUTH_DEVICE_CODE_LIFETIME_SECONDS": "oauth_device_code_lifetime_seconds",
    "OAUTH_DEVICE_POLL_INTERVAL_SECONDS": "oauth_device_poll_interval_seconds",
    "PUSH_ALLOW_PRIVATE_ADDRESSES": "push_allow_private_addresses",
    "PUSH_INCLUDE_CONTENT": "push_include_content",
    "PRESENCE_IDLE_SECONDS": "presence_idle_seconds",
    "PRESENCE_OFFLINE_GRACE_SECONDS": "presence_offline_grace_seconds",
    "STREAM_HEARTBEAT_SECONDS": "stream_heartbeat_seconds",
    "STREAM_WINDOW": "stream_window",
    "STREAM_STALL_SECONDS": "stream_stall_seconds",
    "ENABLE_FEDERATION": "enable_federation",
    "FEDERATION_PORT": "federation_port",
    "TLS_CERTIFICATE_PATH": "tls_certificate_path",
    "TLS_PRIVATE_KEY_PATH": "tls_private_key_path",
    "FEDERATION_CA_FILE": "federation_ca_file",
    "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "federation_allow_private_addresses",
    "MAX_UPLOAD_SIZE": "max_upload_size",
    "MEDIA_QUOTA_BYTES_PER_USER": "media_quota_bytes_per_user",
}


class ConfigError(Exception):
    pass


def default_data_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env.get("DATA_DIR") or env.get("HOMESERVER_DATA_DIR") or "data").resolve()


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected a boolean, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from exc
    if isinstance(default, list):
        # A YAML list, or (from the environment) a comma-separated string.
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    if isinstance(default, RateLimit):
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a mapping with per_second and burst")
        return RateLimit(
            float(value.get("per_second", default.per_second)),
            int(value.get("burst", default.burst)),
        )
    return str(value)


def load_config(
    data_dir: Path | None = None,
    env: dict[str, str] | None = None,
    *,
    write_if_missing: bool = True,
) -> Config:
    """Reads `<data_dir>/homeserver.yaml` (creating it on first start), then applies
    environment overrides. The file is never rewritten with environment values."""
    env = dict(os.environ) if env is None else env
    data_dir = (data_dir or default_data_dir(env)).resolve()
    config_path = Path(env["HOMESERVER_CONFIG"]) if env.get("HOMESERVER_CONFIG") else None
    config_path = config_path or data_dir / CONFIG_FILE_NAME

    config = Config(data_dir=data_dir)
    if config_path.exists():
        loaded = yaml.safe_load(config_path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_path}: expected a mapping at the top level")
        _apply(config, loaded, source=str(config_path))
    elif write_if_missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_config(config, config_path)

    overrides = {attr: env[var] for var, attr in _ENV_OVERRIDES.items() if env.get(var)}
    _apply(config, overrides, source="environment")
    _validate(config)
    return config


LOG_FORMATS = ("text", "json")


def _validate(config: Config) -> None:
    if config.redis_url:
        if not config.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"redis_url: expected redis://, rediss:// or unix://, got {config.redis_url!r}"
            )
        if config.effective_database_url.startswith("sqlite"):
            raise ConfigError(
                "REDIS_URL (several worker processes) needs PostgreSQL: SQLite serves a "
                "single process. Set DATABASE_URL to a PostgreSQL database (homeserver "
                "port-db copies an installation over), or unset REDIS_URL."
            )
        if not config.public_baseurl:
            raise ConfigError(
                "REDIS_URL (several worker processes) needs PUBLIC_BASEURL: every worker "
                "issues and checks tokens for the one address clients use (nginx's), "
                "so set the same PUBLIC_BASEURL on each of them."
            )
    if config.log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
    for entry in config.metrics_allowed_ips:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(f"metrics_allowed_ips: {entry!r} is not an address") from exc


def _apply(config: Config, values: dict[str, Any], *, source: str) -> None:
    known = {f.name for f in fields(config)} - {"data_dir"}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        setattr(config, key, _coerce(key, value, getattr(config, key)))


def write_config(config: Config, path: Path) -> None:
    header = (
        "# Homeserver settings. Environment variables override these:\n"
        "# PORT, BIND_ADDRESS, DATABASE_URL, SERVER_NAME, PUBLIC_BASEURL, ENABLE_REGISTRATION,\n"
        "# LOG_LEVEL, WEB_CLIENT_DIR, RATE_LIMITS_ENABLED, TRUST_X_FORWARDED_FOR,\n"
        "# ENABLE_OAUTH, REFRESHABLE_ACCESS_LIFETIME_SECONDS, SESSION_IDLE_LIFETIME_SECONDS,\n"
        "# JWT_SIGNING_ALG, JWT_ROTATION_DAYS, OAUTH_INTROSPECTION_CLIENTS,\n"
        "# OAUTH_DEVICE_CODE_LIFETIME_SECONDS, OAUTH_DEVICE_POLL_INTERVAL_SECONDS,\n"
        "# PUSH_ALLOW_PRIVATE_ADDRESSES, PUSH_INCLUDE_CONTENT, LOG_FORMAT,\n"
        "# METRICS_ENABLED, METRICS_ALLOWED_IPS,\n"
        "# ENABLE_FEDERATION, FEDERATION_PORT, TLS_CERTIFICATE_PATH, TLS_PRIVATE_KEY_PATH,\n"
        "# FEDERATION_CA_FILE, FEDERATION_ALLOW_PRIVATE_ADDRESSES,\n"
        "# MAX_UPLOAD_SIZE, MEDIA_QUOTA_BYTES_PER_USER\n"
        "# (and DATA_DIR for this folder).\n"
        "# database_url empty means SQLite in this folder (homeserver.db).\n"
    )
    path.write_text(header + yaml.safe_dump(config.to_yaml_dict(), sort_keys=False))

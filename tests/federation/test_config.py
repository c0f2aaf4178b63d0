"""Federation settings: off by default, from the environment, and a server
name with a port leaves the client API's default address sensible."""

from __future__ import annotations

from pathlib import Path

from homeserver.config import load_config


def test_federation_is_off_by_default(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={})
    assert config.enable_federation is False
    assert config.federation_port == 8448
    assert config.federation_allow_private_addresses is False


def test_federation_settings_from_the_environment(tmp_path: Path) -> None:
    env = {
        "ENABLE_FEDERATION": "true",
        "FEDERATION_PORT": "8449",
        "TLS_CERTIFICATE_PATH": "/etc/tls/chain.pem",
        "TLS_PRIVATE_KEY_PATH": "/etc/tls/key.pem",
        "FEDERATION_CA_FILE": "/etc/tls/ca.pem",
        "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "yes",
    }
    config = load_config(tmp_path, env=env)
    assert config.enable_federation is True
    assert config.federation_port == 8449
    assert config.tls_certificate_path == "/etc/tls/chain.pem"
    assert config.tls_private_key_path == "/etc/tls/key.pem"
    assert config.federation_ca_file == "/etc/tls/ca.pem"
    assert config.federation_allow_private_addresses is True


def test_public_baseurl_default_drops_the_server_names_port(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={"SERVER_NAME": "127.0.0.1:8448", "PORT": "8008"})
    assert config.base_url == "http://127.0.0.1:8008"
    config = load_config(tmp_path, env={"SERVER_NAME": "[::1]:8448", "PORT": "8008"})
    assert config.base_url == "http://[::1]:8008"
    config = load_config(tmp_path, env={"SERVER_NAME": "chat.example.org", "PORT": "8008"})
    assert config.base_url == "http://chat.example.org:8008"
    explicit = {"SERVER_NAME": "127.0.0.1:8448", "PUBLIC_BASEURL": "https://chat.example.org"}
    assert load_config(tmp_path, env=explicit).base_url == "https://chat.example.org"

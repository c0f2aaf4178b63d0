"""Two real homeserver processes federating over TLS on loopback:
127.0.0.1 and 127.0.0.2, each its own server name (`<address>:<federation
port>`), data directory and database, with certificates from a throwaway CA.

Driven through their client APIs: a user of each looks up the other's
profile and an alias of the other server, which makes each server send
signed federation requests to the other and fetch the other's keys to check
them. Then key queries across, and forged requests refused."""

from __future__ import annotations

import signal
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.client import path_with_query
from federation.key_documents import verify_key_document
from federation.request_auth import authorization_header
from homeserver.events import decode_verify_key, generate_signing_key, verify_json_signature
from tests.e2e.conftest import STOP_TIMEOUT_SECONDS
from tests.e2e.helpers import V3, ok, q, register
from tests.federation.servers import (
    SERVERS_KEY,
    FederatingServer,
    free_port_on,
    start_federating_server,
    wait_for_federation,
)
from tests.federation.tls import TestCA

PROFILE_PATH = "/_matrix/federation/v1/query/profile"


@pytest.fixture
def servers(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tls: TestCA,
    database_urls: tuple[str, str],
) -> Iterator[tuple[FederatingServer, FederatingServer]]:
    started: list[FederatingServer] = []
    request.node.stash[SERVERS_KEY] = started
    try:
        for index, (host, database_url) in enumerate(
            zip(("127.0.0.1", "127.0.0.2"), database_urls, strict=True), start=1
        ):
            started.append(start_federating_server(tmp_path, index, host, database_url, tls))
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        for server in started:
            wait_for_federation(server, context)
        yield started[0], started[1]
    finally:
        for server in started:
            server.kill()


async def test_two_servers_federate(
    servers: tuple[FederatingServer, FederatingServer], tls: TestCA
) -> None:
    a, b = servers
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as client_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as client_b,
        httpx.AsyncClient(verify=context, timeout=30) as federation,
    ):
        # Discovery on the client port names the federation listener.
        assert ok(await client_a.get("/.well-known/matrix/server")) == {"m.server": a.server_name}

        # Each publishes self-signed keys over TLS that our test CA vouches for.
        keys_a = ok(await federation.get(f"{a.federation_url}/_matrix/key/v2/server"))
        keys_b = ok(await federation.get(f"{b.federation_url}/_matrix/key/v2/server"))
        verify_key_document(keys_a, a.server_name, int(time.time() * 1000))
        verify_key_document(keys_b, b.server_name, int(time.time() * 1000))
        (key_id_a,) = keys_a["verify_keys"]

        alice = await register(client_a, "alice")
        bob = await register(client_b, "bob")
        assert alice.user_id == f"@alice:{a.server_name}"
        for client, user, name in ((client_a, alice, "Alice"), (client_b, bob, "Bob")):
            path = f"{V3}/profile/{q(user.user_id)}/displayname"
            ok(await client.put(path, json={"displayname": name}, headers=user.headers))

        # Profiles across: each server signs a query to the other, which
        # fetches the asking server's keys to check the signature.
        profile = ok(await client_b.get(f"{V3}/profile/{q(alice.user_id)}", headers=bob.headers))
        assert profile == {"displayname": "Alice"}
        profile = ok(await client_a.get(f"{V3}/profile/{q(bob.user_id)}", headers=alice.headers))
        assert profile == {"displayname": "Bob"}
        field = f"{V3}/profile/{q(alice.user_id)}/displayname"
        assert ok(await client_b.get(field, headers=bob.headers)) == {"displayname": "Alice"}
        missing = await client_b.get(
            f"{V3}/profile/{q('@nobody:' + a.server_name)}", headers=bob.headers
        )
        assert (missing.status_code, missing.json()["errcode"]) == (404, "M_NOT_FOUND")

        # An alias on A, resolved by B's user through B.
        room = ok(await client_a.post(f"{V3}/createRoom", json={}, headers=alice.headers))
        alias = f"#hangout:{a.server_name}"
        ok(
            await client_a.put(
                f"{V3}/directory/room/{q(alias)}",
                json={"room_id": room["room_id"]},
                headers=alice.headers,
            )
        )
        resolved = ok(await client_b.get(f"{V3}/directory/room/{q(alias)}", headers=bob.headers))
        assert resolved == {"room_id": room["room_id"], "servers": [a.server_name]}
        unknown = await client_b.get(
            f"{V3}/directory/room/{q('#nothing:' + a.server_name)}", headers=bob.headers
        )
        assert unknown.status_code == 404

        # A answers key queries for B as a notary (it holds B's keys now),
        # with B's signature kept and its own added.
        answer = ok(
            await federation.post(
                f"{a.federation_url}/_matrix/key/v2/query",
                json={"server_keys": {b.server_name: {}}},
            )
        )
        (notarised,) = answer["server_keys"]
        verify_key_document(notarised, b.server_name, int(time.time() * 1000))
        public_a = decode_verify_key(keys_a["verify_keys"][key_id_a]["key"])
        assert verify_json_signature(notarised, a.server_name, key_id_a, public_a)
        answer = ok(
            await federation.get(f"{b.federation_url}/_matrix/key/v2/query/{a.server_name}")
        )
        assert [k["server_name"] for k in answer["server_keys"]] == [a.server_name]

        # Requests to B in A's name: signed with A's key, accepted; forged
        # (another key), wrongly addressed or unsigned, 401.
        target = path_with_query(PROFILE_PATH, {"user_id": bob.user_id})
        url = f"{b.federation_url}{target}"
        real_id, real_key = a.signing_key()
        assert real_id == key_id_a

        def header(key: Any, destination: str = b.server_name) -> dict[str, str]:
            auth = authorization_header(
                "GET", target, a.server_name, destination, None, real_id, key
            )
            return {"Authorization": auth}

        assert ok(await federation.get(url, headers=header(real_key))) == {"displayname": "Bob"}
        _, forger = generate_signing_key()
        for headers in (header(forger), header(real_key, destination=a.server_name), {}):
            refused = await federation.get(url, headers=headers)
            assert (refused.status_code, refused.json()["errcode"]) == (401, "M_UNAUTHORIZED")

    # Both listeners of each stop cleanly, in the grace time.
    for server in (a, b):
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
    for server in (a, b):
        assert server.process is not None
        assert server.process.wait(STOP_TIMEOUT_SECONDS) == 0


def test_with_federation_off_nothing_of_it_listens(tmp_path: Path) -> None:
    port, federation_port = free_port_on("127.0.0.1"), free_port_on("127.0.0.1")
    server = FederatingServer(
        data_dir=tmp_path / "data",
        port=port,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'off.db'}",
        log_dir=tmp_path,
        extra_env={"FEDERATION_PORT": str(federation_port), "SERVER_NAME": "127.0.0.1:8448"},
        federation_port=federation_port,
    )
    try:
        server.start()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{federation_port}/_matrix/key/v2/server", timeout=2)
        response = httpx.get(f"{server.base_url}/.well-known/matrix/server", timeout=5)
        assert response.status_code == 404
        # The client API's own address ignores the server name's port.
        discovery = httpx.get(f"{server.base_url}/.well-known/matrix/client", timeout=5).json()
        assert discovery == {"m.homeserver": {"base_url": f"http://127.0.0.1:{port}"}}
    finally:
        server.kill()


def test_federation_without_tls_files_is_a_configuration_error(tmp_path: Path) -> None:
    from homeserver.app import create_app
    from homeserver.cli import _federation_listener
    from homeserver.config import Config, ConfigError

    config = Config(data_dir=tmp_path, enable_federation=True)
    with pytest.raises(ConfigError, match="tls_certificate_path"):
        _federation_listener(config, create_app(config))
    config.tls_certificate_path = str(tmp_path / "missing.pem")
    config.tls_private_key_path = str(tmp_path / "missing.key")
    with pytest.raises(ConfigError, match="not found"):
        _federation_listener(config, create_app(config))

"""Our server and Synapse on loopback, over TLS with a throwaway CA: profile
and directory queries both ways (each side signing its requests and
verifying the other's with keys fetched from it) and key queries across.

Synapse runs from its own virtual environment (tests/tools/synapse.py:
`SYNAPSE_PYTHON`, or the `.bench-venv` that `make test` installs)."""

from __future__ import annotations

import ssl

import httpx

from tests.e2e.helpers import V3, ok, q, register
from tests.federation.servers import (
    FederatingServer,
)
from tests.federation.synapse_peer import Synapse
from tests.federation.tls import TestCA


async def test_queries_both_ways_with_synapse(
    ours_and_synapse: tuple[FederatingServer, Synapse, TestCA],
) -> None:
    ours, synapse, tls = ours_and_synapse
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    async with (
        httpx.AsyncClient(base_url=ours.base_url, timeout=60) as http_ours,
        httpx.AsyncClient(base_url=synapse.client_url, timeout=60) as http_synapse,
        httpx.AsyncClient(verify=context, timeout=60) as federation,
    ):
        alice = await register(http_ours, "alice")
        bob = await register(http_synapse, "bob")
        for http, user, name in ((http_ours, alice, "Alice"), (http_synapse, bob, "Bob")):
            path = f"{V3}/profile/{q(user.user_id)}/displayname"
            ok(await http.put(path, json={"displayname": name}, headers=user.headers))

        # Synapse asks us (we verify its signature with keys fetched from it)
        # and we ask Synapse (it verifies ours with keys fetched from us).
        path = f"{V3}/profile/{q(alice.user_id)}"
        assert ok(await http_synapse.get(path, headers=bob.headers)) == {"displayname": "Alice"}
        path = f"{V3}/profile/{q(bob.user_id)}"
        assert ok(await http_ours.get(path, headers=alice.headers)) == {"displayname": "Bob"}

        room = ok(await http_ours.post(f"{V3}/createRoom", json={}, headers=alice.headers))
        alias = f"#ours:{ours.server_name}"
        body = {"room_id": room["room_id"]}
        ok(await http_ours.put(f"{V3}/directory/room/{q(alias)}", json=body, headers=alice.headers))
        found = ok(await http_synapse.get(f"{V3}/directory/room/{q(alias)}", headers=bob.headers))
        assert found["room_id"] == room["room_id"]
        assert ours.server_name in found["servers"]

        created = await http_synapse.post(
            f"{V3}/createRoom", json={"room_alias_name": "theirs"}, headers=bob.headers
        )
        theirs = ok(created)["room_id"]
        alias = f"#theirs:{synapse.server_name}"
        found = ok(await http_ours.get(f"{V3}/directory/room/{q(alias)}", headers=alice.headers))
        assert found == {"room_id": theirs, "servers": [synapse.server_name]}

        # Each answers key queries for the other.
        answer = ok(
            await federation.post(
                f"https://{ours.server_name}/_matrix/key/v2/query",
                json={"server_keys": {synapse.server_name: {}}},
            )
        )
        assert [k["server_name"] for k in answer["server_keys"]] == [synapse.server_name]
        answer = ok(
            await federation.get(
                f"https://{synapse.server_name}/_matrix/key/v2/query/{ours.server_name}"
            )
        )
        (keys,) = answer["server_keys"]
        assert set(keys["signatures"]) == {ours.server_name, synapse.server_name}

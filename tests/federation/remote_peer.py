"""For in-process tests of what other servers send us: our server's client
app and federation app over one HomeServer, and a remote server that is a key
pair (its public key stored as if fetched) building, signing and sending
events and transactions with X-Matrix. With `serve()`, the remote server also
answers our server's requests to it, in process: `/event` from the events it
holds, `/state_ids` and `get_missing_events` from the answers it was given,
`/send` by recording the PDUs (refused while `down`), anything else refused."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from quart.typing import TestClientProtocol
from werkzeug.urls import iri_to_uri

from federation.app import create_federation_app
from federation.client import FederationRequestError
from federation.inbound_pdus import pdu_event_id
from federation.request_auth import authorization_header
from federation.service import Federation
from homeserver.app import create_app
from homeserver.config import Config
from homeserver.events import (
    auth_types_for_event,
    encode_verify_key,
    generate_signing_key,
    hash_and_sign_event,
    room_version_of_create,
)
from homeserver.server import HomeServer
from homeserver.storage.server_keys import StoredServerKey
from tests.matrix_client import TestClient

FAR_FUTURE = 2**52
_txn_ids = itertools.count(1)


@dataclass
class Local:
    client: TestClient
    federation: TestClientProtocol
    homeserver: HomeServer
    services: Federation


@asynccontextmanager
async def local_server(config: Config) -> AsyncIterator[Local]:
    app = create_app(config)
    federation_app = create_federation_app(config, app)
    async with app.test_app() as client_app, federation_app.test_app() as fed_app:
        yield Local(
            TestClient(client_app.test_client(), client_app.app),
            fed_app.test_client(),
            fed_app.app.extensions["homeserver"],
            federation_app.extensions["federation"],
        )


@dataclass
class RemotePeer:
    name: str
    local: Local
    key_id: str = ""
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    # What it answers once serving: events by id, `/state_ids` by event id.
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    state_ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Transactions our server sends it: their PDUs, in order; refused while down.
    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    # What it answers get_missing_events with (refused when None).
    missing_events: list[dict[str, Any]] | None = None

    async def publish_key(self) -> None:
        self.key_id, self.key = generate_signing_key()
        stored = StoredServerKey(
            self.name, self.key_id, encode_verify_key(self.key.public_key()), FAR_FUTURE, None, 0
        )
        await self.local.homeserver.storage.server_keys.save([stored], None)

    async def build(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        *,
        state_key: str | None = None,
        prev_events: list[str] | None = None,
        auth_events: list[str] | None = None,
        key: Ed25519PrivateKey | None = None,
        origin_server_ts: int = 1_700_000_000_000,
        depth: int | None = None,
    ) -> dict[str, Any]:
        """A signed PDU built on the room's current state as we hold it (give
        `depth` when its prev_events are not ours). It is held, to be served."""
        events = self.local.homeserver.storage.events
        state = await events.get_current_state(room_id)
        extremities = await events.get_forward_extremities(room_id)
        event: dict[str, Any] = {
            "room_id": room_id,
            "sender": sender,
            "type": event_type,
            "content": content,
            "origin_server_ts": origin_server_ts,
        }
        if state_key is not None:
            event["state_key"] = state_key
        create = state[("m.room.create", "")].event
        version = room_version_of_create(create)
        event["auth_events"] = auth_events or sorted(
            state[k].event_id for k in auth_types_for_event(event, version) if k in state
        )
        if prev_events is None:
            prev_events = [event_id for event_id, _ in extremities]
        event["prev_events"] = prev_events
        if depth is None:
            prev = await events.get_events(prev_events)
            depth = max(int(e.event["depth"]) for e in prev.values()) + 1
        event["depth"] = depth
        hash_and_sign_event(event, self.name, self.key_id, key or self.key)
        self.events[pdu_event_id(event)] = event
        return event

    def serve(self) -> None:
        """From now on our server's requests to this server are answered here."""
        client = self.local.services.client
        original = client.request

        async def request(
            method: str, destination: str, target: str, content: Any | None = None
        ) -> Any:
            if destination != self.name:
                return await original(method, destination, target, content)
            self.requests.append((method, target))
            return self._answer(method, target, content)

        client.request = request  # type: ignore[method-assign]

    def _answer(self, method: str, target: str, content: Any) -> Any:
        path, _, query = target.partition("?")
        if method == "PUT" and path.startswith("/_matrix/federation/v1/send/"):
            if self.down:
                raise FederationRequestError(f"cannot connect to {self.name}")
            pdus = content.get("pdus", []) if isinstance(content, dict) else []
            self.received.extend(pdus)
            return {"pdus": {pdu_event_id(p): {} for p in pdus}}
        segments = [unquote(s) for s in path.split("/")]
        if method == "GET" and path.startswith("/_matrix/federation/v1/event/"):
            found = self.events.get(segments[-1])
            if found is not None:
                return {"origin": self.name, "origin_server_ts": 0, "pdus": [found]}
        elif method == "POST" and path.startswith("/_matrix/federation/v1/get_missing_events/"):
            if self.missing_events is not None:
                return {"events": self.missing_events}
        elif method == "GET" and path.startswith("/_matrix/federation/v1/state_ids/"):
            event_id = unquote(query.partition("event_id=")[2].partition("&")[0])
            if event_id in self.state_ids:
                return self.state_ids[event_id]
        raise FederationRequestError(f"{method} {path}: refused", 404, {"errcode": "M_NOT_FOUND"})

    async def send(
        self,
        pdus: list[dict[str, Any]],
        edus: list[dict[str, Any]] | None = None,
        *,
        txn_id: str | None = None,
    ) -> tuple[int, Any]:
        txn = txn_id or f"txn{next(_txn_ids)}"
        body = {
            "origin": self.name,
            "origin_server_ts": 1_700_000_000_000,
            "pdus": pdus,
            "edus": edus or [],
        }
        return await self.request("PUT", f"/_matrix/federation/v1/send/{txn}", body)

    async def request(self, method: str, target: str, body: Any | None = None) -> tuple[int, Any]:
        # Quart's test client re-encodes the path it is given (`%24` becomes `$`):
        # sign the target as it arrives, as a real server signs what it sends.
        path, sep, query = target.partition("?")
        signed_target = iri_to_uri(unquote(path)) + sep + query
        header = authorization_header(
            method,
            signed_target,
            self.name,
            self.local.homeserver.server_name,
            body,
            self.key_id,
            self.key,
        )
        kwargs: dict[str, Any] = {"headers": {"Authorization": header}}
        if body is not None:
            kwargs["json"] = body
        response = await self.local.federation.open(target, method=method, **kwargs)
        return response.status_code, await response.get_json()


def q(value: str) -> str:
    return quote(value, safe="")


__all__ = ["Local", "RemotePeer", "local_server", "pdu_event_id", "q"]

"""Real keys for the E2EE tests: ed25519 keys made here and objects signed
over canonical JSON, as a client would."""

from __future__ import annotations

import copy
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homeserver.events.b64 import encode_base64
from homeserver.events.canonical_json import canonical_json
from homeserver.events.signing import encode_verify_key
from tests.matrix_client import V3, Response, TestClient, User, password_auth

_key_ids = itertools.count(1)


def random_key() -> str:
    return encode_base64(secrets.token_bytes(32))


@dataclass
class SigningKey:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> str:
        return encode_verify_key(self.private.public_key())

    def sign(self, obj: dict[str, Any], user_id: str, key_id: str | None = None) -> dict[str, Any]:
        """A signed copy of `obj` (the key id defaults to ed25519:<public key>),
        over the canonical JSON of it without `signatures` and `unsigned`."""
        signed = copy.deepcopy(obj)
        payload = canonical_json(
            {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
        )
        signature = encode_base64(self.private.sign(payload))
        signed.setdefault("signatures", {}).setdefault(user_id, {})[
            key_id or f"ed25519:{self.public}"
        ] = signature
        return signed


@dataclass
class Device:
    """A device's keys as a client holds them."""

    user: User
    ed25519: SigningKey = field(default_factory=SigningKey)
    curve25519: str = field(default_factory=random_key)

    @property
    def device_id(self) -> str:
        return self.user.device_id

    def device_keys(self) -> dict[str, Any]:
        keys = {
            "user_id": self.user.user_id,
            "device_id": self.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {
                f"curve25519:{self.device_id}": self.curve25519,
                f"ed25519:{self.device_id}": self.ed25519.public,
            },
        }
        return self.ed25519.sign(keys, self.user.user_id, f"ed25519:{self.device_id}")

    def one_time_keys(self, count: int, *, fallback: bool = False) -> dict[str, Any]:
        keys = {}
        for _ in range(count):
            key: dict[str, Any] = {"key": random_key()}
            if fallback:
                key["fallback"] = True
            signed = self.ed25519.sign(key, self.user.user_id, f"ed25519:{self.device_id}")
            keys[f"signed_curve25519:AAAA{next(_key_ids)}"] = signed
        return keys


async def upload(client: TestClient, user: User, **body: Any) -> Response:
    return await client.post(f"{V3}/keys/upload", json=body, token=user.access_token)


async def query(client: TestClient, user: User, wanted: dict[str, list[str]]) -> dict[str, Any]:
    result = await client.post(
        f"{V3}/keys/query", json={"device_keys": wanted}, token=user.access_token
    )
    return dict(result.ok())


async def claim(
    client: TestClient, user: User, wanted: dict[str, dict[str, str]]
) -> dict[str, Any]:
    result = await client.post(
        f"{V3}/keys/claim", json={"one_time_keys": wanted}, token=user.access_token
    )
    return dict(result.ok())


async def login(client: TestClient, user: User, device_id: str | None = None) -> User:
    body: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": user.password,
    }
    if device_id is not None:
        body["device_id"] = device_id
    done = (await client.post(f"{V3}/login", json=body)).ok()
    return User(done["user_id"], done["access_token"], done["device_id"], user.password)


async def shared_room(
    client: TestClient, owner: User, *others: User, encrypted: bool = True
) -> str:
    """A room (encrypted by default) that the others join."""
    encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
    initial_state = (
        [{"type": "m.room.encryption", "state_key": "", "content": encryption}] if encrypted else []
    )
    room_id = await client.create_room(owner, preset="public_chat", initial_state=initial_state)
    for other in others:
        (await client.join(other, room_id)).ok()
    return room_id


@dataclass
class CrossSigningKeys:
    user: User
    master: SigningKey = field(default_factory=SigningKey)
    self_signing: SigningKey = field(default_factory=SigningKey)
    user_signing: SigningKey = field(default_factory=SigningKey)

    def key(self, usage: str) -> dict[str, Any]:
        signer: SigningKey = getattr(self, usage)
        obj = {
            "user_id": self.user.user_id,
            "usage": [usage],
            "keys": {f"ed25519:{signer.public}": signer.public},
        }
        if usage != "master":
            obj = self.master.sign(obj, self.user.user_id)
        return obj

    def upload_body(self) -> dict[str, Any]:
        return {
            "master_key": self.key("master"),
            "self_signing_key": self.key("self_signing"),
            "user_signing_key": self.key("user_signing"),
        }


async def upload_cross_signing(
    client: TestClient, user: User, body: dict[str, Any], *, password: bool = False
) -> Response:
    path = f"{V3}/keys/device_signing/upload"
    if password:
        first = await client.post(path, json=body, token=user.access_token)
        assert first.status == 401, first.body
        body = {**body, "auth": password_auth(user, user.password, first.body["session"])}
    return await client.post(path, json=body, token=user.access_token)


def sync_e2ee(sync: dict[str, Any]) -> tuple[list[str], list[str]]:
    lists = sync.get("device_lists", {})
    return list(lists.get("changed", [])), list(lists.get("left", []))

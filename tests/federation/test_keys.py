"""Server key answers: ours is self-signed; another server's is trusted only
when it is for that server and signed by its keys; validity is capped at 7
days; the keyring fetches, caches (in the database too) and keeps old keys."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from federation.key_documents import (
    MAX_KEY_VALIDITY_MS,
    OWN_KEYS_VALIDITY_MS,
    KeyDocumentError,
    OldKey,
    own_key_document,
    verify_key_document,
)
from federation.keyring import REFETCH_INTERVAL_MS, Keyring
from homeserver.events import (
    decode_verify_key,
    encode_verify_key,
    generate_signing_key,
    sign_json,
    verify_json_signature,
)
from homeserver.storage import Storage

NOW = 1_800_000_000_000
REMOTE = "remote.example.org:8448"


def test_own_document_is_self_signed_with_validity() -> None:
    key_id, key = generate_signing_key()
    document = own_key_document("here.example.org", key_id, key, NOW)
    assert document["valid_until_ts"] == NOW + OWN_KEYS_VALIDITY_MS
    assert document["verify_keys"] == {key_id: {"key": encode_verify_key(key.public_key())}}
    assert document["old_verify_keys"] == {}
    public = decode_verify_key(document["verify_keys"][key_id]["key"])
    assert verify_json_signature(document, "here.example.org", key_id, public)
    verified = verify_key_document(document, "here.example.org", NOW)
    assert [k.key_id for k in verified.keys] == [key_id]


def test_validity_is_capped_at_seven_days() -> None:
    key_id, key = generate_signing_key()
    document = {
        "server_name": REMOTE,
        "valid_until_ts": NOW + 365 * 86_400_000,
        "verify_keys": {key_id: {"key": encode_verify_key(key.public_key())}},
    }
    sign_json(document, REMOTE, key_id, key)
    verified = verify_key_document(document, REMOTE, NOW)
    assert verified.keys[0].valid_until_ts == NOW + MAX_KEY_VALIDITY_MS
    assert verified.valid_until_ts == NOW + 365 * 86_400_000


def test_old_keys_keep_their_expiry() -> None:
    key_id, key = generate_signing_key()
    old_id, old = generate_signing_key()
    old_key = OldKey(old_id, encode_verify_key(old.public_key()), NOW - 1000)
    document = own_key_document(REMOTE, key_id, key, NOW, (old_key,))
    by_id = {k.key_id: k for k in verify_key_document(document, REMOTE, NOW).keys}
    assert by_id[old_id].expired_ts == NOW - 1000
    assert by_id[key_id].expired_ts is None


def _tampered(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["valid_until_ts"] += 1
    return changed


def _unsigned(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    del changed["signatures"]
    return changed


def _signed_by_a_stranger(document: dict[str, Any]) -> dict[str, Any]:
    changed = _unsigned(document)
    stranger_id, stranger = generate_signing_key()
    return sign_json(changed, REMOTE, stranger_id + "x", stranger)


def _other_server(document: dict[str, Any]) -> dict[str, Any]:
    changed = _unsigned(document)
    changed["server_name"] = "other.example.org"
    return changed


@pytest.mark.parametrize("spoil", [_tampered, _unsigned, _signed_by_a_stranger, _other_server])
def test_untrustworthy_answers_are_refused(spoil: Any) -> None:
    key_id, key = generate_signing_key()
    document = own_key_document(REMOTE, key_id, key, NOW)
    with pytest.raises(KeyDocumentError):
        verify_key_document(spoil(document), REMOTE, NOW)


def test_malformed_answers_are_refused() -> None:
    for document in (
        None,
        [],
        {"server_name": REMOTE},
        {"server_name": REMOTE, "valid_until_ts": 1},
    ):
        with pytest.raises(KeyDocumentError):
            verify_key_document(document, REMOTE, NOW)


class RemoteServer:
    """What the remote server's /_matrix/key/v2/server answers."""

    def __init__(self) -> None:
        self.key_id, self.key = generate_signing_key()
        self.old: tuple[OldKey, ...] = ()
        self.fetches = 0
        self.reachable = True
        self.now = NOW

    async def fetch(self, server_name: str) -> dict[str, Any]:
        assert server_name == REMOTE
        self.fetches += 1
        if not self.reachable:
            raise ConnectionError("down")
        return own_key_document(REMOTE, self.key_id, self.key, self.now, self.old)

    def rotate(self) -> None:
        old_public = encode_verify_key(self.key.public_key())
        self.old = (OldKey(self.key_id, old_public, self.now),)
        self.key_id, self.key = generate_signing_key()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    store = await Storage.open(database_url, migrate=False)
    yield store
    await store.close()


def _keyring(storage: Storage, remote: RemoteServer, clock: Clock) -> Keyring:
    own_id, own = generate_signing_key()
    return Keyring(
        storage.server_keys, remote.fetch, "here.example.org", {own_id: own.public_key()}, clock
    )


async def test_keyring_fetches_once_then_answers_from_cache_and_database(
    storage: Storage,
) -> None:
    remote, clock = RemoteServer(), Clock()
    keyring = _keyring(storage, remote, clock)
    key = await keyring.key_for_request(REMOTE, remote.key_id)
    assert key is not None
    assert encode_verify_key(key) == encode_verify_key(remote.key.public_key())
    assert await keyring.key_for_request(REMOTE, remote.key_id) is not None
    assert remote.fetches == 1
    # A new keyring (a restart) reads the database.
    remote.reachable = False
    restarted = _keyring(storage, remote, clock)
    assert await restarted.key_for_request(REMOTE, remote.key_id) is not None
    assert remote.fetches == 1
    stored = await storage.server_keys.get_response(REMOTE)
    assert stored is not None and REMOTE in stored.response_json


async def test_expired_keys_are_refetched_and_unknown_ids_rate_limited(storage: Storage) -> None:
    remote, clock = RemoteServer(), Clock()
    keyring = _keyring(storage, remote, clock)
    assert await keyring.key_for_request(REMOTE, remote.key_id) is not None
    # Unknown key id: no refetch within the interval.
    assert await keyring.key_for_request(REMOTE, "ed25519:forged") is None
    assert remote.fetches == 1
    clock.now += REFETCH_INTERVAL_MS
    assert await keyring.key_for_request(REMOTE, "ed25519:forged") is None
    assert remote.fetches == 2
    # Past the key's validity the key is fetched anew; unreachable -> no key.
    clock.now = remote.now = NOW + OWN_KEYS_VALIDITY_MS + 1
    remote.reachable = False
    assert await keyring.key_for_request(REMOTE, remote.key_id) is None
    remote.reachable = True
    clock.now += REFETCH_INTERVAL_MS
    assert await keyring.key_for_request(REMOTE, remote.key_id) is not None


async def test_rotated_keys_stay_for_old_events_not_for_requests(storage: Storage) -> None:
    remote, clock = RemoteServer(), Clock()
    keyring = _keyring(storage, remote, clock)
    first_id = remote.key_id
    assert await keyring.key_for_request(REMOTE, first_id) is not None
    clock.now = remote.now = NOW + 10 * REFETCH_INTERVAL_MS
    remote.rotate()
    assert await keyring.key_for_request(REMOTE, remote.key_id) is not None  # fetches anew
    assert await keyring.key_for_request(REMOTE, first_id) is None
    assert await keyring.key_valid_at(REMOTE, first_id, NOW) is not None
    assert await keyring.key_valid_at(REMOTE, first_id, remote.now + 1) is None
    ids = {k.key_id: k.expired_ts for k in await storage.server_keys.get_keys(REMOTE)}
    assert ids == {first_id: remote.now, remote.key_id: None}

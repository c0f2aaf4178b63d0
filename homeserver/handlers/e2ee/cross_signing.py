"""Cross-signing: POST /keys/device_signing/upload (a user's master,
self-signing and user-signing keys) and POST /keys/signatures/upload
(signatures on one's own devices and keys, and on other users' master keys).

Every signature is checked before it is stored: a self-signing or
user-signing key must be signed by the master key; a device by the
self-signing key; the own master key by one of the own devices; another
user's master key by the user-signing key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeserver.errors import MatrixError, bad_json
from homeserver.handlers.e2ee.device_keys import DeviceKeys
from homeserver.handlers.e2ee.device_lists import DeviceLists
from homeserver.handlers.e2ee.key_objects import (
    CROSS_SIGNING_TYPES,
    check_cross_signing_key,
    check_user_device_map,
    device_ed25519_key,
    is_signed_by,
    key_error,
    optional_field,
    verify_signature,
    without_signatures,
)
from homeserver.handlers.tokens import Requester
from homeserver.storage import Storage
from homeserver.storage.e2ee_keys import CrossSigningKey, Signature
from homeserver.util import json_dumps, json_loads

# How long signing another server's user's key waits for their server.
REMOTE_KEY_TIME_LIMIT_SECONDS = 10.0

# Called when replacing keys needs the user to authenticate again (UIA).
ReauthCheck = Callable[[], Awaitable[None]]


def _invalid(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_SIGNATURE", error)


class CrossSigning:
    def __init__(
        self, storage: Storage, device_lists: DeviceLists, device_keys: DeviceKeys
    ) -> None:
        self._storage = storage
        self._device_lists = device_lists
        self._device_keys = device_keys

    async def upload_keys(
        self, requester: Requester, body: dict[str, Any], reauthenticate: ReauthCheck
    ) -> None:
        """Stores the uploaded keys. The first master key needs no UIA (a new
        account sets up cross-signing); changing existing keys does."""
        user_id = requester.user_id
        uploaded: dict[str, tuple[dict[str, Any], str]] = {}
        for key_type in CROSS_SIGNING_TYPES:
            value = optional_field(body, f"{key_type}_key")
            if value is not None:
                uploaded[key_type] = (value, check_cross_signing_key(value, key_type, user_id))
        if not uploaded:
            raise bad_json("Upload at least one of master_key, self_signing_key, user_signing_key")
        store = self._storage.e2ee_keys
        existing = (await store.get_cross_signing_keys([user_id])).get(user_id, {})
        changes = {
            key_type: value
            for key_type, value in uploaded.items()
            if key_type not in existing or existing[key_type].key_json != json_dumps(value[0])
        }
        if not changes:
            return  # the same keys again: nothing to authorise
        if "master" in uploaded:
            master: str | None = uploaded["master"][1]
        else:
            master = existing["master"].public_key if "master" in existing else None
        if master is None:
            raise bad_json("Upload a master_key first: the other keys are signed by it")
        for key_type in ("self_signing", "user_signing"):
            if key_type in uploaded and not is_signed_by(uploaded[key_type][0], user_id, master):
                raise _invalid(f"{key_type}_key is not signed by the master key")
        if (
            "master" in changes
            and "master" in existing
            and not all(t in uploaded for t in ("self_signing", "user_signing"))
        ):
            # Keys signed by the old master key would no longer verify.
            raise bad_json("A new master_key needs new self_signing_key and user_signing_key")
        if "master" in existing:
            # Checked last, so that a request refused anyway costs no password.
            await reauthenticate()
        await store.set_cross_signing_keys(
            user_id,
            [
                CrossSigningKey(key_type, public_key, json_dumps(value))
                for key_type, (value, public_key) in changes.items()
            ],
        )
        await self._device_lists.mark_changed(user_id, cross_signing=True)

    async def upload_signatures(self, requester: Requester, body: dict[str, Any]) -> dict[str, Any]:
        """Checks and stores each signature the requester made; what does not
        verify (or signs nothing known) is reported in `failures`."""
        me = requester.user_id
        check_user_device_map(body, "request body")
        store = self._storage.e2ee_keys
        own_keys = (await store.get_cross_signing_keys([me])).get(me, {})
        failures: dict[str, dict[str, Any]] = {}
        accepted: list[Signature] = []
        for user_id, objects in body.items():
            if not isinstance(objects, dict):
                raise bad_json("Each user's signed keys must be an object keyed by key id")
            for key_id, signed in objects.items():
                if not isinstance(signed, dict):
                    raise bad_json(f"The signed object for {key_id[:64]!r} must be an object")
                try:
                    accepted.extend(await self._check_signed(me, own_keys, user_id, key_id, signed))
                except MatrixError as exc:
                    failures.setdefault(user_id, {})[key_id] = key_error(exc.errcode, exc.error)
        await store.add_signatures(accepted)
        if accepted:
            # Signatures on one's own keys are news to everyone tracking one;
            # those on other users' keys are seen by oneself alone.
            own = sorted({s.key_id for s in accepted if s.user_id == me})
            await self._device_lists.mark_changed(me, own, cross_signing=bool(own))
        return {"failures": failures}

    async def _check_signed(
        self,
        me: str,
        own_keys: dict[str, CrossSigningKey],
        user_id: str,
        key_id: str,
        signed: dict[str, Any],
    ) -> list[Signature]:
        store = self._storage.e2ee_keys
        if user_id == me:
            target_keys = own_keys
        elif self._device_keys.is_local(user_id):
            target_keys = (await store.get_cross_signing_keys([user_id])).get(user_id, {})
        else:
            target_keys = await self._remote_master_key(user_id)
        master = target_keys.get("master")
        if master is not None and key_id == master.public_key:
            stored = json_loads(master.key_json)
            if user_id == me:
                # My master key, signed by my devices.
                signers = await self._own_device_keys(me)
            else:
                usk = own_keys.get("user_signing")
                if usk is None:
                    raise MatrixError(400, "M_MISSING_PARAM", "Upload a user-signing key first")
                signers = {f"ed25519:{usk.public_key}": usk.public_key}
        elif user_id == me:
            device_text = await store.get_device_keys_json(me, key_id)
            if device_text is None:
                raise MatrixError(404, "M_NOT_FOUND", "No such device or key")
            stored = json_loads(device_text)
            ssk = own_keys.get("self_signing")
            if ssk is None:
                raise MatrixError(400, "M_MISSING_PARAM", "Upload a self-signing key first")
            signers = {f"ed25519:{ssk.public_key}": ssk.public_key}
        else:
            raise MatrixError(
                400, "M_INVALID_SIGNATURE", "Only other users' master keys can be signed"
            )
        if without_signatures(signed) != without_signatures(stored):
            raise _invalid("The signed object differs from the stored key")
        made = signed.get("signatures", {}).get(me, {})
        if not isinstance(made, dict):
            raise bad_json("signatures must be an object")
        result = []
        for signer_key_id, signature in made.items():
            public_key = signers.get(signer_key_id)
            if public_key is None:
                continue  # a signature already there, or by a key of no concern here
            if not verify_signature(signed, me, signer_key_id, public_key):
                raise _invalid(f"The signature by {signer_key_id} does not verify")
            result.append(Signature(user_id, key_id, me, signer_key_id, str(signature)))
        if not result:
            raise _invalid("No signature by a key that may sign this one")
        return result

    async def _remote_master_key(self, user_id: str) -> dict[str, CrossSigningKey]:
        """Another server's user's master key, as their server gives it."""
        remote = self._device_keys.remote
        if remote is None:
            return {}
        answer = await remote.query({user_id: []}, REMOTE_KEY_TIME_LIMIT_SECONDS)
        master = answer.get("master_keys", {}).get(user_id)
        try:
            public_key = check_cross_signing_key(master, "master", user_id)
        except MatrixError:
            return {}
        assert isinstance(master, dict)
        return {"master": CrossSigningKey("master", public_key, json_dumps(master))}

    async def _own_device_keys(self, user_id: str) -> dict[str, str]:
        """ed25519:<device id> -> public key, for each of the user's devices with keys."""
        stored = await self._storage.e2ee_keys.query_device_keys({user_id: []})
        signers = {}
        for device_id, text in stored.get(user_id, {}).items():
            public_key = device_ed25519_key(json_loads(text), device_id)
            if public_key is not None:
                signers[f"ed25519:{device_id}"] = public_key
        return signers

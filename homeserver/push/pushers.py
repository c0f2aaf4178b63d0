"""Registering pushers (POST /pushers/set) and listing them (GET /pushers).

Two kinds are supported:

- `http`: a Matrix push gateway; `data.url` is its
  `https://.../_matrix/push/v1/notify` URL and `data.format` may be
  `event_id_only`.
- `webpush` (MSC4174): a Web Push subscription; `pushkey` is the browser's
  P-256 public key (`p256dh`, base64url), `data.url` the subscription endpoint
  (`data.endpoint`, from an earlier draft, is accepted too) and `data.auth`
  its 16-byte authentication secret (base64url).

Every URL passes the SSRF guard here, before anything is stored."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from homeserver.errors import MatrixError
from homeserver.push.notification import EVENT_ID_ONLY
from homeserver.push.ssrf import DestinationRefused, OutboundGuard
from homeserver.storage.pushers import Pusher, PusherStore
from homeserver.util import now_ms

KINDS: Final = ("http", "webpush")
GATEWAY_PATH: Final = "/_matrix/push/v1/notify"
MAX_PUSHERS_PER_USER: Final = 32
MAX_APP_ID_CHARS: Final = 64
MAX_PUSHKEY_BYTES: Final = 512
MAX_TEXT_CHARS: Final = 255
MAX_LANG_CHARS: Final = 64
MAX_DATA_BYTES: Final = 4096
AUTH_SECRET_BYTES: Final = 16


def _b64url_decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _string(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MatrixError(400, "M_BAD_JSON", f"{key} must be a string")
    if not value or len(value) > limit:
        raise MatrixError(400, "M_INVALID_PARAM", f"{key} must be 1 to {limit} characters")
    return value


def _pusher_json(pusher: Pusher) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pushkey": pusher.pushkey,
        "kind": pusher.kind,
        "app_id": pusher.app_id,
        "app_display_name": pusher.app_display_name,
        "device_display_name": pusher.device_display_name,
        "lang": pusher.lang,
        "data": pusher.data,
    }
    if pusher.profile_tag is not None:
        body["profile_tag"] = pusher.profile_tag
    if pusher.kind == "webpush":
        # MSC4174: pushers are active as soon as they are set (no ack step here).
        body["activated"] = True
    return body


class Pushers:
    def __init__(self, store: PusherStore, guard: OutboundGuard) -> None:
        self._store = store
        self._guard = guard

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        return [_pusher_json(p) for p in await self._store.pushers_for_users([user_id])]

    async def remove_all(self, user_id: str) -> int:
        return await self._store.delete_user_pushers(user_id)

    async def set(self, user_id: str, device_id: str | None, body: dict[str, Any]) -> None:
        missing = [key for key in ("kind", "app_id", "pushkey") if key not in body]
        if missing:
            raise MatrixError(400, "M_MISSING_PARAM", f"Missing parameters: {', '.join(missing)}")
        app_id = _string(body, "app_id", MAX_APP_ID_CHARS)
        pushkey = body.get("pushkey")
        if not isinstance(pushkey, str):
            raise MatrixError(400, "M_BAD_JSON", "pushkey must be a string")
        if not pushkey or len(pushkey.encode()) > MAX_PUSHKEY_BYTES:
            raise MatrixError(400, "M_INVALID_PARAM", "pushkey must be 1 to 512 bytes")
        kind = body["kind"]
        if kind is None:
            await self._store.delete_pusher(user_id, app_id, pushkey)
            return
        if kind not in KINDS:
            raise MatrixError(
                400,
                "M_INVALID_PARAM",
                f"Unsupported pusher kind {str(kind)[:40]!r}: this server supports http and "
                "webpush",
            )
        pusher = await self._validated(user_id, device_id, str(kind), app_id, pushkey, body)
        append = body.get("append", False)
        if not isinstance(append, bool):
            raise MatrixError(400, "M_BAD_JSON", "append must be true or false")
        if not await self._store.set_pusher(
            pusher, append=append, max_per_user=MAX_PUSHERS_PER_USER
        ):
            raise MatrixError(
                400,
                "M_INVALID_PARAM",
                f"Too many pushers (at most {MAX_PUSHERS_PER_USER}); remove one first",
            )

    async def _validated(
        self,
        user_id: str,
        device_id: str | None,
        kind: str,
        app_id: str,
        pushkey: str,
        body: dict[str, Any],
    ) -> Pusher:
        missing = [
            key
            for key in ("app_display_name", "device_display_name", "lang", "data")
            if key not in body
        ]
        if missing:
            raise MatrixError(400, "M_MISSING_PARAM", f"Missing parameters: {', '.join(missing)}")
        data = body["data"]
        if not isinstance(data, dict):
            raise MatrixError(400, "M_BAD_JSON", "data must be an object")
        if len(orjson.dumps(data)) > MAX_DATA_BYTES:
            raise MatrixError(400, "M_INVALID_PARAM", f"data is above {MAX_DATA_BYTES} bytes")
        profile_tag = body.get("profile_tag")
        if profile_tag is not None:
            profile_tag = _string(body, "profile_tag", MAX_TEXT_CHARS)
        fmt = data.get("format")
        if fmt is not None and fmt != EVENT_ID_ONLY:
            raise MatrixError(
                400, "M_INVALID_PARAM", "data.format must be event_id_only when given"
            )
        if kind == "http":
            await self._check_gateway(data)
        else:
            await self._check_webpush(pushkey, data)
        return Pusher(
            user_id=user_id,
            app_id=app_id,
            pushkey=pushkey,
            kind=kind,
            device_id=device_id,
            app_display_name=_string(body, "app_display_name", MAX_TEXT_CHARS),
            device_display_name=_string(body, "device_display_name", MAX_TEXT_CHARS),
            profile_tag=profile_tag,
            lang=_string(body, "lang", MAX_LANG_CHARS),
            data=data,
            pushkey_ts=now_ms(),
        )

    async def _check_url(self, url: Any, name: str) -> str:
        if not isinstance(url, str) or not url:
            raise MatrixError(400, "M_MISSING_PARAM", f"{name} is required (a URL)")
        try:
            await self._guard.check(url)
        except DestinationRefused as exc:
            raise MatrixError(400, "M_INVALID_PARAM", f"{name} is not allowed: {exc}") from exc
        return url

    async def _check_gateway(self, data: dict[str, Any]) -> None:
        url = await self._check_url(data.get("url"), "data.url")
        if urlsplit(url).path != GATEWAY_PATH:
            raise MatrixError(
                400, "M_INVALID_PARAM", f"data.url must be a push gateway URL ending {GATEWAY_PATH}"
            )

    async def _check_webpush(self, pushkey: str, data: dict[str, Any]) -> None:
        raw_key = _b64url_decode(pushkey)
        try:
            if raw_key is None or len(raw_key) != 65:
                raise ValueError("not 65 bytes")
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
        except ValueError as exc:
            raise MatrixError(
                400,
                "M_INVALID_PARAM",
                "pushkey must be the subscription's P-256 public key (p256dh), uncompressed, "
                "base64url",
            ) from exc
        name = "data.url" if "url" in data or "endpoint" not in data else "data.endpoint"
        await self._check_url(data.get("url", data.get("endpoint")), name)
        auth = data.get("auth")
        secret = _b64url_decode(auth) if isinstance(auth, str) else None
        if secret is None or len(secret) != AUTH_SECRET_BYTES:
            raise MatrixError(
                400,
                "M_INVALID_PARAM",
                "data.auth must be the subscription's 16-byte auth secret, base64url",
            )

"""A push service on 127.0.0.1 for the tests: it plays a browser vendor's Web
Push service (decrypting each push with the subscription's private key and
auth secret, and verifying the VAPID signature) and a Matrix push gateway.

Each path answers from a script of responses (status and headers) and then
with its default status; every request is recorded."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import http_ece
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """What a browser's PushManager.subscribe() creates."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def pusher(self, app_id: str = "org.example.web", **data: Any) -> dict[str, Any]:
        """The POST /pushers/set body registering this subscription (MSC4174)."""
        return {
            "kind": "webpush",
            "app_id": app_id,
            "pushkey": self.p256dh,
            "app_display_name": "Web client",
            "device_display_name": "Test browser",
            "lang": "en",
            "data": {"url": self.endpoint, "auth": b64url(self.auth), **data},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return dict(orjson.loads(plain))


def verify_vapid(authorization: str, audience: str) -> tuple[str, dict[str, Any]]:
    """Checks an RFC 8292 `vapid t=<JWT>,k=<key>` header: the ES256 signature
    against k, and the claims. Returns (k, claims)."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(item.split("=", 1) for item in params.split(","))
    token, key = parts["t"], parts["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = orjson.loads(b64url_decode(header_b64))
    assert header["alg"] == "ES256", header
    signature = b64url_decode(signature_b64)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    # Raises InvalidSignature when it does not verify.
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = dict(orjson.loads(b64url_decode(claims_b64)))
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert str(claims["sub"]).startswith(("mailto:", "https://")), claims
    return key, claims


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class PushService:
    def __init__(self) -> None:
        self.received: dict[str, list[Received]] = defaultdict(list)
        self._script: dict[str, list[tuple[int, dict[str, str], Any, float]]] = defaultdict(list)
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def subscription(self, name: str) -> Subscription:
        return Subscription(self.url(f"/wpush/{name}"))

    def answer(
        self,
        path: str,
        status: int,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
    ) -> None:
        """The next request to `path` gets this answer (in the order given),
        after `delay` seconds."""
        self._script[path].append((status, headers or {}, body, delay))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        received = Received(request.path, headers, await request.read())
        async with self._arrived:
            self.received[request.path].append(received)
            self._arrived.notify_all()
        if self._script[request.path]:
            status, headers, body, delay = self._script[request.path].pop(0)
            await asyncio.sleep(delay)
        elif request.path.startswith("/wpush/"):
            status, headers, body = 201, {}, None
        else:
            status, headers, body = 200, {}, {"rejected": []}
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received[path]) >= count)
        return list(self.received[path])

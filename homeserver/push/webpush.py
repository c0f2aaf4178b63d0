"""Pushes for `webpush` pushers (MSC4174): the notification is encrypted for
the subscription (aes128gcm, RFC 8291), signed with the server's VAPID key
(RFC 8292) and posted to the push service with pywebpush's async API.

pywebpush posts through an aiohttp session whose resolver is the SSRF guard,
so the addresses it connects to are the ones just checked; address literals
are checked before the send, and redirects are refused."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from http_ece import ECEException
from py_vapid import VapidException
from pywebpush import WebPushException, webpush_async

from homeserver.push.notification import Notification, webpush_payload
from homeserver.push.outcome import Outcome, outcome_for_status
from homeserver.push.retry import parse_retry_after
from homeserver.push.ssrf import DestinationRefused, OutboundGuard
from homeserver.push.vapid import VapidKey
from homeserver.storage.pushers import Pusher

logger = logging.getLogger(__name__)

# How long a push service keeps a notification for a device that is offline.
TTL_SECONDS: Final = 86_400
URGENCY: Final = {"high": "high", "low": "normal"}  # RFC 8030 section 5.3


class RedirectRefused(Exception):
    pass


class GuardedResolver(AbstractResolver):
    """aiohttp's DNS resolution, through the SSRF guard."""

    def __init__(self, guard: OutboundGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self._guard.resolve(host, port)
        except DestinationRefused as exc:
            raise OSError(str(exc)) from exc
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


async def _refuse_redirect(
    _session: aiohttp.ClientSession,
    _context: Any,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    raise RedirectRefused(f"redirect to {params.response.headers.get('Location', '?')!r}")


def vapid_subject(public_baseurl: str, server_name: str) -> str:
    """The VAPID `sub` claim: the server's https origin, else a mailto address."""
    parts = urlsplit(public_baseurl)
    if parts.scheme == "https" and parts.hostname and "." in parts.hostname:
        return f"https://{parts.hostname}"
    return f"mailto:postmaster@{server_name.rsplit(':', 1)[0]}"


class WebPushSender:
    def __init__(
        self,
        guard: OutboundGuard,
        vapid: VapidKey,
        subject: str,
        *,
        include_content: bool,
        timeout_seconds: float,
    ) -> None:
        self._guard = guard
        self._vapid = vapid
        self._subject = subject
        self._include_content = include_content
        self._timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            tracing = aiohttp.TraceConfig()
            tracing.on_request_redirect.append(_refuse_redirect)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=GuardedResolver(self._guard), limit=64),
                timeout=aiohttp.ClientTimeout(total=self._timeout_seconds),
                trace_configs=[tracing],
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, pusher: Pusher, notification: Notification) -> Outcome:
        endpoint = pusher.data.get("url", pusher.data.get("endpoint"))
        auth = pusher.data.get("auth")
        if not isinstance(endpoint, str) or not isinstance(auth, str):
            return Outcome("failed", "the pusher has no data.url or data.auth")
        try:
            await self._guard.check(endpoint)
        except DestinationRefused as exc:
            return Outcome("failed", f"refused: {exc}")
        payload = webpush_payload(notification, pusher, include_content=self._include_content)
        try:
            async with asyncio.timeout(self._timeout_seconds + 5):
                await webpush_async(
                    subscription_info={
                        "endpoint": endpoint,
                        "keys": {"p256dh": pusher.pushkey, "auth": auth},
                    },
                    data=orjson.dumps(payload).decode(),
                    vapid_private_key=self._vapid.signer,
                    # pywebpush writes aud and exp into the dict: a fresh one each time.
                    vapid_claims={"sub": self._subject},
                    content_encoding="aes128gcm",
                    ttl=TTL_SECONDS,
                    headers={"Urgency": URGENCY.get(notification.prio, "normal")},
                    timeout=aiohttp.ClientTimeout(total=self._timeout_seconds),
                    aiohttp_session=self._client(),
                )
        except WebPushException as exc:
            status = exc.status_code
            if status is None:
                return Outcome("failed", exc.message)
            return outcome_for_status(
                int(status), parse_retry_after(exc.retry_after), f"HTTP {status}"
            )
        except RedirectRefused as exc:
            return Outcome("failed", str(exc))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Outcome("retry", f"{type(exc).__name__}: {exc}")
        except (VapidException, ECEException, ValueError) as exc:
            return Outcome("failed", f"cannot encrypt or sign: {exc}")
        return Outcome("delivered")

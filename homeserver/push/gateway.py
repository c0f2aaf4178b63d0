"""Pushes for `http` pushers: the Matrix push gateway API
(`POST /_matrix/push/v1/notify`), over httpx.

Each request goes to an address the SSRF guard has just checked: the URL's
host is replaced by that address, and the name is kept for the Host header
and for TLS (SNI and certificate verification), so DNS cannot change between
the check and the connection. Redirects are not followed."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Final

import httpx
import orjson

from homeserver.push.notification import Notification, gateway_request
from homeserver.push.outcome import Outcome, outcome_for_status
from homeserver.push.retry import parse_retry_after
from homeserver.push.ssrf import Destination, DestinationRefused, OutboundGuard
from homeserver.storage.pushers import Pusher

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES: Final = 65_536


MAX_ADDRESSES_TRIED: Final = 3


def pinned_request_target(
    destination: Destination, address: str
) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL with a checked address as host, the Host header, and the
    request extensions that keep TLS on the original name."""
    url = httpx.URL(destination.url)
    target = url.copy_with(host=address)
    headers = {"Host": url.netloc.decode("ascii")}
    extensions: dict[str, Any] = {}
    try:
        ipaddress.ip_address(destination.host)
    except ValueError:
        if destination.scheme == "https":
            extensions["sni_hostname"] = destination.host
    return target, headers, extensions


class GatewaySender:
    def __init__(
        self, guard: OutboundGuard, *, include_content: bool, timeout_seconds: float
    ) -> None:
        self._guard = guard
        self._include_content = include_content
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would skip the guard
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, pusher: Pusher, notification: Notification) -> Outcome:
        url = pusher.data.get("url")
        if not isinstance(url, str):
            return Outcome("failed", "the pusher has no data.url")
        try:
            destination = await self._guard.check(url)
        except DestinationRefused as exc:
            return Outcome("failed", f"refused: {exc}")
        content = orjson.dumps(
            gateway_request(notification, pusher, include_content=self._include_content)
        )
        try:
            response, raw = await self._post(destination, content)
        except httpx.HTTPError as exc:
            return Outcome("retry", f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            if pusher.pushkey in _rejected(raw):
                return Outcome("gone", "the gateway rejected the pushkey", status=status)
            return Outcome("delivered", status=status)
        outcome = outcome_for_status(
            status, parse_retry_after(response.headers.get("Retry-After")), f"HTTP {status}"
        )
        if outcome.kind == "gone":
            # A gateway URL that answers 404 is misconfigured; only the
            # gateway's `rejected` list says that a pushkey is dead.
            return Outcome("failed", outcome.detail, status=status)
        return outcome

    async def _post(self, destination: Destination, content: bytes) -> tuple[httpx.Response, bytes]:
        """Posts to the first of the checked addresses that accepts a
        connection (a name may resolve to an unreachable IPv6 address first)."""
        addresses = destination.addresses[:MAX_ADDRESSES_TRIED]
        for index, address in enumerate(addresses):
            target, headers, extensions = pinned_request_target(destination, address)
            headers["Content-Type"] = "application/json"
            try:
                async with self._client.stream(
                    "POST", target, content=content, headers=headers, extensions=extensions
                ) as response:
                    return response, await _read_capped(response)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if index == len(addresses) - 1:
                    raise
        raise AssertionError("a destination has at least one address")


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def _rejected(raw: bytes) -> list[str]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    rejected = body.get("rejected") if isinstance(body, dict) else None
    if not isinstance(rejected, list):
        return []
    return [key for key in rejected if isinstance(key, str)]

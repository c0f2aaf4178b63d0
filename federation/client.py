"""Outbound federation requests over HTTPS, signed with `X-Matrix`.

Each request goes to an address the outbound guard has just checked (no
loopback or private addresses unless `federation_allow_private_addresses`):
the URL carries that address, the Host header the server name, and TLS
verifies the certificate against the name the discovery step says (SNI for
host names; none for IP literals). Certificates are checked against the
system's CAs plus `federation_ca_file`. Every request has a time limit,
redirects are not followed and answers are read up to a size cap."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.discovery import WELL_KNOWN_PATH, Route, ServerDiscovery
from federation.request_auth import authorization_header
from homeserver.push.ssrf import DestinationRefused, OutboundGuard

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS: Final = 30.0
CONNECT_TIMEOUT_SECONDS: Final = 10.0
WELL_KNOWN_TIMEOUT_SECONDS: Final = 10.0
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
MAX_WELL_KNOWN_BYTES: Final = 64 * 1024
MAX_ADDRESSES_TRIED: Final = 3


class FederationRequestError(Exception):
    """A request to another server failed: unreachable, refused by our guard,
    not JSON, or answered with an error (`status` and `body` then set)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def errcode(self) -> str | None:
        code = self.body.get("errcode") if isinstance(self.body, dict) else None
        return code if isinstance(code, str) else None


class FederationTimeout(FederationRequestError):
    """The other server did not answer in time."""


def tls_context(ca_file: str) -> ssl.SSLContext:
    """The system's CAs plus `ca_file` (blocking file read: call off the loop)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def path_with_query(path: str, query: dict[str, str] | None = None) -> str:
    """The request target; `path` must already be percent-encoded."""
    if not query:
        return path
    return f"{path}?{urlencode(query, quote_via=quote)}"


def quote_segment(value: str) -> str:
    """One path segment, percent-encoded (for ids like `!room:example.org`)."""
    return quote(value, safe="")


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


class FederationClient:
    def __init__(
        self,
        server_name: str,
        key_id: str,
        key: Ed25519PrivateKey,
        guard: OutboundGuard,
        context: ssl.SSLContext,
        *,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._server_name = server_name
        self._key_id = key_id
        self._key = key
        self._guard = guard
        self._timeout = timeout_seconds
        self._http = httpx.AsyncClient(
            verify=context,
            timeout=httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would skip the guard
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self.discovery = ServerDiscovery(self._fetch_well_known)

    async def close(self) -> None:
        await self._http.aclose()

    async def get_json(
        self, destination: str, path: str, query: dict[str, str] | None = None
    ) -> Any:
        return await self.request("GET", destination, path_with_query(path, query))

    async def post_json(self, destination: str, path: str, content: Any) -> Any:
        return await self.request("POST", destination, path, content)

    async def put_json(self, destination: str, path: str, content: Any) -> Any:
        return await self.request("PUT", destination, path, content)

    async def fetch_server_keys(self, server_name: str) -> Any:
        return await self.get_json(server_name, "/_matrix/key/v2/server")

    async def request(
        self, method: str, destination: str, target: str, content: Any | None = None
    ) -> Any:
        """A signed request to `destination`; its JSON answer, or
        FederationRequestError."""
        try:
            route = await self.discovery.route(destination)
        except ValueError as exc:
            raise FederationRequestError(f"not a server name: {destination!r}") from exc
        body = None if content is None else orjson.dumps(content)
        headers = {
            "Authorization": authorization_header(
                method, target, self._server_name, destination, content, self._key_id, self._key
            )
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        answer = await self._send(route, method, target, headers, body, MAX_RESPONSE_BYTES)
        return _json_or_raise(answer, f"{method} {destination}{target.split('?', 1)[0]}")

    async def _fetch_well_known(self, route: Route) -> Any:
        answer = await self._send(
            route,
            "GET",
            WELL_KNOWN_PATH,
            {},
            None,
            MAX_WELL_KNOWN_BYTES,
            WELL_KNOWN_TIMEOUT_SECONDS,
        )
        return _json_or_raise(answer, f"{route.host}{WELL_KNOWN_PATH}")

    async def _send(
        self,
        route: Route,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        limit: int,
        time_limit: float | None = None,
    ) -> _Answer:
        try:
            addresses = await self._guard.resolve(route.host, route.port)
        except DestinationRefused as exc:
            raise FederationRequestError(f"refused: {exc}") from exc
        headers = {**headers, "Host": route.host_header}
        extensions: dict[str, Any] = {} if route.is_ip_literal else {"sni_hostname": route.tls_name}
        tried = addresses[:MAX_ADDRESSES_TRIED]
        for index, address in enumerate(tried):
            host = f"[{address}]" if ":" in address else address
            url = f"https://{host}:{route.port}{target}"
            try:
                async with asyncio.timeout(time_limit or self._timeout):
                    async with self._http.stream(
                        method, url, content=body, headers=headers, extensions=extensions
                    ) as response:
                        return _Answer(response.status_code, await _read_capped(response, limit))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if index == len(tried) - 1:
                    raise FederationRequestError(f"cannot connect to {route.host}: {exc}") from exc
            except TimeoutError as exc:
                raise FederationTimeout(f"{route.host} did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise FederationRequestError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("the guard returns at least one address")

    @contextlib.asynccontextmanager
    async def stream_get(
        self, destination: str, target: str, time_limit: float
    ) -> AsyncIterator[httpx.Response]:
        """A signed GET whose answer is read by the caller as it arrives
        (media): the response once its headers came within `time_limit`
        seconds; each later read has the client's time limit."""
        try:
            route = await self.discovery.route(destination)
        except ValueError as exc:
            raise FederationRequestError(f"not a server name: {destination!r}") from exc
        headers = {
            "Authorization": authorization_header(
                "GET", target, self._server_name, destination, None, self._key_id, self._key
            )
        }
        response = await self._open(route, target, headers, time_limit)
        try:
            yield response
        finally:
            await response.aclose()

    @contextlib.asynccontextmanager
    async def stream_url(self, url: str, time_limit: float) -> AsyncIterator[httpx.Response]:
        """An unsigned GET of an https URL another server redirected us to,
        through the same outbound guard."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise FederationRequestError(f"not an https URL: {url[:200]!r}")
        try:
            port = parts.port or 443
        except ValueError as exc:
            raise FederationRequestError(f"bad port in {url[:200]!r}") from exc
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
            is_ip = True
        except ValueError:
            is_ip = False
        host_header = parts.netloc.rsplit("@", 1)[-1]
        route = Route(host, port, host_header, host, is_ip)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        response = await self._open(route, target, {}, time_limit)
        try:
            yield response
        finally:
            await response.aclose()

    async def _open(
        self,
        route: Route,
        target: str,
        headers: dict[str, str],
        time_limit: float,
    ) -> httpx.Response:
        try:
            addresses = await self._guard.resolve(route.host, route.port)
        except DestinationRefused as exc:
            raise FederationRequestError(f"refused: {exc}") from exc
        headers = {**headers, "Host": route.host_header}
        extensions: dict[str, Any] = {} if route.is_ip_literal else {"sni_hostname": route.tls_name}
        tried = addresses[:MAX_ADDRESSES_TRIED]
        for index, address in enumerate(tried):
            host = f"[{address}]" if ":" in address else address
            request = self._http.build_request(
                "GET",
                f"https://{host}:{route.port}{target}",
                headers=headers,
                extensions=extensions,
            )
            try:
                async with asyncio.timeout(time_limit):
                    return await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if index == len(tried) - 1:
                    raise FederationRequestError(f"cannot connect to {route.host}: {exc}") from exc
            except TimeoutError as exc:
                raise FederationTimeout(f"{route.host} did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise FederationRequestError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("the guard returns at least one address")


async def read_error(response: httpx.Response, what: str, limit: int = 64 * 1024) -> None:
    """Raises FederationRequestError for a non-2xx streamed answer, with its
    JSON body if it has one."""
    try:
        raw = await _read_capped(response, limit)
    except (FederationRequestError, httpx.HTTPError):
        raw = b""
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = None
    raise FederationRequestError(
        f"{what}: HTTP {response.status_code}", response.status_code, parsed
    )


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise FederationRequestError(f"answer larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_or_raise(answer: _Answer, what: str) -> Any:
    try:
        parsed = orjson.loads(answer.body) if answer.body else None
    except orjson.JSONDecodeError:
        parsed = None
        if 200 <= answer.status < 300:
            raise FederationRequestError(f"{what}: the answer is not JSON", answer.status) from None
    if not 200 <= answer.status < 300:
        raise FederationRequestError(f"{what}: HTTP {answer.status}", answer.status, parsed)
    return parsed

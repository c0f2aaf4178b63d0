"""Server discovery (spec "Resolving server names"): where to connect for a
server name, which Host header to send and which name its certificate must
carry.

IP literals and names with a port are reached directly. A plain host name
asks `https://<name>/.well-known/matrix/server` (cached: 24 h, errors 1 h)
and otherwise uses port 8448. SRV records are not looked up, and redirects
of the `.well-known` request are not followed."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from federation.server_names import DEFAULT_FEDERATION_PORT, ServerName, parse_server_name

logger = logging.getLogger(__name__)

WELL_KNOWN_PATH: Final = "/.well-known/matrix/server"
WELL_KNOWN_CACHE_SECONDS: Final = 24 * 3600
WELL_KNOWN_ERROR_CACHE_SECONDS: Final = 3600
# Names come from other servers too (origins of requests): keep the cache bounded.
MAX_CACHED_ROUTES: Final = 10_000


@dataclass(frozen=True)
class Route:
    host: str  # name or address to resolve and connect to (no brackets)
    port: int
    host_header: str
    # The name the certificate must be valid for (an address for IP literals).
    tls_name: str
    is_ip_literal: bool


def direct_route(name: ServerName, original: str) -> Route | None:
    """The route for names reached without `.well-known`, else None."""
    if name.is_ip_literal or name.port is not None:
        port = name.port or DEFAULT_FEDERATION_PORT
        return Route(name.host, port, original, name.host, name.is_ip_literal)
    return None


def delegated_route(delegated: str) -> Route | None:
    """The route for a `.well-known` `m.server` value, or None if invalid."""
    try:
        name = parse_server_name(delegated)
    except ValueError:
        return None
    return direct_route(name, delegated) or Route(
        name.host, DEFAULT_FEDERATION_PORT, delegated, name.host, False
    )


WellKnownFetcher = Callable[[Route], Awaitable[Any]]


class ServerDiscovery:
    def __init__(
        self, fetch_well_known: WellKnownFetcher, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch_well_known = fetch_well_known
        self._clock = clock
        self._cache: dict[str, tuple[float, Route]] = {}

    async def route(self, server_name: str) -> Route:
        """Raises ValueError for an invalid server name."""
        name = parse_server_name(server_name)
        direct = direct_route(name, server_name)
        if direct is not None:
            return direct
        cached = self._cache.get(server_name)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        route, lifetime = await self._discover(name)
        if len(self._cache) >= MAX_CACHED_ROUTES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[server_name] = (self._clock() + lifetime, route)
        return route

    async def _discover(self, name: ServerName) -> tuple[Route, float]:
        fallback = Route(name.host, DEFAULT_FEDERATION_PORT, name.host, name.host, False)
        well_known = Route(name.host, 443, name.host, name.host, False)
        try:
            body = await self._fetch_well_known(well_known)
        except Exception as exc:
            logger.debug("no .well-known", extra={"server": name.host, "error": str(exc)})
            return fallback, WELL_KNOWN_ERROR_CACHE_SECONDS
        delegated = body.get("m.server") if isinstance(body, dict) else None
        route = delegated_route(delegated) if isinstance(delegated, str) else None
        if route is None:
            return fallback, WELL_KNOWN_ERROR_CACHE_SECONDS
        return route, WELL_KNOWN_CACHE_SECONDS

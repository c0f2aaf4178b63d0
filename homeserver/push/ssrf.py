"""The guard on outbound push requests (server-side request forgery).

Pusher URLs and Web Push endpoints are chosen by users, so a request to one
must never reach the server's own network: only https, and only to public
addresses, checked after DNS resolution (every address a name resolves to must
be public, IPv4-mapped and embedded IPv4 addresses included). Closed networks
and tests switch the guard off with `push_allow_private_addresses`, which
accepts plain http and any address.

`check` is called when a pusher is registered and again before each send (DNS
may have changed since). Senders then connect only to the addresses it
returned (`Destination.addresses`), so a name cannot resolve to a public
address for the check and a private one for the connection."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECONDS: Final = 5.0
# NAT64 (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(Exception):
    """The URL may not be requested; the message says why, for the user."""


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str  # as in the URL (a name or an address literal, without brackets)
    port: int
    addresses: tuple[str, ...]  # what `host` resolved to, all allowed


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is on the public internet: not loopback, private,
    link-local, multicast, reserved, unspecified or otherwise non-global,
    looking through IPv4 addresses carried inside IPv6 ones."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public_address(inner):
            return False
        if address.is_site_local:
            return False
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


class OutboundGuard:
    def __init__(self, allow_private_addresses: bool) -> None:
        self.allow_private_addresses = allow_private_addresses

    async def check(self, url: str) -> Destination:
        """The URL's destination, resolved and checked; DestinationRefused if
        it may not be requested."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise DestinationRefused(f"not a valid URL: {exc}") from exc
        scheme = parts.scheme.lower()
        allowed_schemes = ("https", "http") if self.allow_private_addresses else ("https",)
        if scheme not in allowed_schemes:
            raise DestinationRefused("only https URLs are allowed")
        host = parts.hostname
        if not host:
            raise DestinationRefused("the URL has no host")
        if port is None:
            port = 443 if scheme == "https" else 80
        return Destination(url, scheme, host, port, await self.resolve(host, port))

    async def resolve(self, host: str, port: int) -> tuple[str, ...]:
        """The addresses `host` resolves to, all allowed (or DestinationRefused)."""
        addresses = await self._lookup(host, port)
        if not self.allow_private_addresses:
            for text in addresses:
                if not is_public_address(ipaddress.ip_address(text)):
                    where = text if text == host else f"{host} resolves to {text}, which"
                    raise DestinationRefused(
                        f"{where} is a loopback, private or otherwise non-public address"
                    )
        return addresses

    async def _lookup(self, host: str, port: int) -> tuple[str, ...]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            return (str(literal),)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise DestinationRefused(f"cannot resolve {host}") from exc
        addresses: list[str] = []
        for family, _type, _proto, _name, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            # Drop an IPv6 zone ("fe80::1%eth0"): the address decides.
            text = str(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise DestinationRefused(f"cannot resolve {host}")
        return tuple(addresses)

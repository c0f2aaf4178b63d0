"""Server names (spec appendix "Server Name"): a host — an IPv4 literal, an
IPv6 literal in brackets or a DNS name — and an optional port."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_FEDERATION_PORT = 8448
_DNS_NAME = re.compile(r"^[A-Za-z0-9.-]{1,255}$")
_MAX_SERVER_NAME_LENGTH = 255


@dataclass(frozen=True)
class ServerName:
    host: str  # without brackets for IPv6
    port: int | None
    is_ip_literal: bool

    @property
    def host_for_url(self) -> str:
        """The host as written in a URL (IPv6 in brackets)."""
        return f"[{self.host}]" if ":" in self.host else self.host


def parse_server_name(text: str) -> ServerName:
    """Raises ValueError when `text` is not a valid server name."""
    if not text or len(text) > _MAX_SERVER_NAME_LENGTH:
        raise ValueError("a server name must be 1 to 255 characters")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"unterminated IPv6 literal in {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ValueError(f"not an IPv6 address: {host!r}") from exc
        is_ip = True
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the IPv6 literal")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_or_empty = text.partition(":")
        port_text = port_text_or_empty if sep else None
        if not _DNS_NAME.match(host):
            raise ValueError(f"not a valid host name: {host!r}")
        try:
            ipaddress.IPv4Address(host)
            is_ip = True
        except ValueError:
            is_ip = False
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            raise ValueError(f"not a valid port: {port_text!r}")
        port = int(port_text)
    return ServerName(host, port, is_ip)


def is_valid_server_name(text: str) -> bool:
    try:
        parse_server_name(text)
    except ValueError:
        return False
    return True

"""Server names, server discovery (IP literals and explicit ports directly,
`.well-known` then port 8448 for plain names) and the outbound guard."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from federation.client import FederationClient, FederationRequestError
from federation.discovery import Route, ServerDiscovery
from federation.server_names import ServerName, parse_server_name
from homeserver.events import generate_signing_key
from homeserver.push.ssrf import OutboundGuard


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.org", ServerName("example.org", None, False)),
        ("example.org:8449", ServerName("example.org", 8449, False)),
        ("127.0.0.2:8448", ServerName("127.0.0.2", 8448, True)),
        ("[::1]:8448", ServerName("::1", 8448, True)),
        ("[2001:db8::1]", ServerName("2001:db8::1", None, True)),
    ],
)
def test_server_names(text: str, expected: ServerName) -> None:
    assert parse_server_name(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "exa mple.org", "example.org:", "example.org:0", "example.org:99999", "[::1", "[x]"],
)
def test_invalid_server_names(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server_name(text)


class WellKnown:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[Route] = []

    async def __call__(self, route: Route) -> Any:
        self.asked.append(route)
        answer = self.answers.get(route.host)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_ip_literals_and_explicit_ports_are_reached_directly() -> None:
    well_known = WellKnown({})
    discovery = ServerDiscovery(well_known)
    assert await discovery.route("127.0.0.2:8448") == Route(
        "127.0.0.2", 8448, "127.0.0.2:8448", "127.0.0.2", True
    )
    assert await discovery.route("[::1]") == Route("::1", 8448, "[::1]", "::1", True)
    assert await discovery.route("chat.example.org:443") == Route(
        "chat.example.org", 443, "chat.example.org:443", "chat.example.org", False
    )
    assert well_known.asked == []


async def test_plain_names_ask_well_known_and_cache_it() -> None:
    well_known = WellKnown(
        {
            "delegating.org": {"m.server": "matrix.delegating.org:8449"},
            "bare.org": {"m.server": "fed.bare.org"},
            "broken.org": {"m.server": "not a name"},
            "down.org": ConnectionError("no"),
        }
    )
    discovery = ServerDiscovery(well_known)
    assert await discovery.route("delegating.org") == Route(
        "matrix.delegating.org", 8449, "matrix.delegating.org:8449", "matrix.delegating.org", False
    )
    assert well_known.asked[0] == Route(
        "delegating.org", 443, "delegating.org", "delegating.org", False
    )
    assert await discovery.route("bare.org") == Route(
        "fed.bare.org", 8448, "fed.bare.org", "fed.bare.org", False
    )
    for name in ("broken.org", "down.org"):
        assert await discovery.route(name) == Route(name, 8448, name, name, False)
    asked = len(well_known.asked)
    await discovery.route("delegating.org")
    assert len(well_known.asked) == asked  # cached


def _client(allow_private: bool) -> FederationClient:
    key_id, key = generate_signing_key()
    return FederationClient(
        "here.example.org",
        key_id,
        key,
        OutboundGuard(allow_private),
        ssl.create_default_context(),
        timeout_seconds=5,
    )


async def test_private_destinations_are_refused_unless_allowed() -> None:
    client = _client(allow_private=False)
    try:
        with pytest.raises(FederationRequestError, match="refused"):
            await client.get_json("127.0.0.1:8448", "/_matrix/federation/v1/version")
        with pytest.raises(FederationRequestError, match="refused"):
            await client.get_json("[::1]:8448", "/_matrix/federation/v1/version")
    finally:
        await client.close()


async def test_unreachable_destination_is_an_error_not_a_hang() -> None:
    client = _client(allow_private=True)
    try:
        # Port 9 (discard) on a loopback address where nothing listens.
        with pytest.raises(FederationRequestError, match="cannot connect"):
            await client.get_json("127.0.0.3:9", "/_matrix/federation/v1/version")
    finally:
        await client.close()

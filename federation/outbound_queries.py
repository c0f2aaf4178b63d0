"""Asking other servers (the homeserver's RemoteQueries seam): a remote
user's profile and a remote alias, through `/_matrix/federation/v1/query/*`.

A 404 from the other server stays a 404; any other failure (unreachable,
refused by the outbound guard, an error or a malformed answer) is 502."""

from __future__ import annotations

import logging
from typing import Any

from federation.client import FederationClient, FederationRequestError
from federation.server_names import is_valid_server_name
from homeserver.errors import MatrixError, not_found
from homeserver.handlers.identifiers import parse_alias, parse_user_id

logger = logging.getLogger(__name__)

QUERY = "/_matrix/federation/v1/query"


def _bad_gateway(server: str) -> MatrixError:
    return MatrixError(502, "M_UNKNOWN", f"Could not get an answer from {server}")


class OutboundQueries:
    def __init__(self, client: FederationClient) -> None:
        self._client = client

    async def _query(self, server: str, kind: str, args: dict[str, str]) -> dict[str, Any]:
        if not is_valid_server_name(server):
            raise MatrixError(400, "M_INVALID_PARAM", f"Not a valid server name: {server[:80]!r}")
        try:
            answer = await self._client.get_json(server, f"{QUERY}/{kind}", args)
        except FederationRequestError as exc:
            if exc.status == 404:
                raise not_found(f"{server} does not know it") from exc
            logger.info("federation query failed", extra={"server": server, "error": str(exc)})
            raise _bad_gateway(server) from exc
        if not isinstance(answer, dict):
            raise _bad_gateway(server)
        return answer

    async def profile(self, user_id: str) -> dict[str, Any]:
        _, server = parse_user_id(user_id)
        answer = await self._query(server, "profile", {"user_id": user_id})
        return {
            field: answer[field]
            for field in ("displayname", "avatar_url")
            if isinstance(answer.get(field), str)
        }

    async def resolve_alias(self, alias: str) -> dict[str, Any]:
        _, server = parse_alias(alias)
        answer = await self._query(server, "directory", {"room_alias": alias})
        room_id, servers = answer.get("room_id"), answer.get("servers")
        if not isinstance(room_id, str) or not isinstance(servers, list):
            raise _bad_gateway(server)
        return {"room_id": room_id, "servers": [s for s in servers if isinstance(s, str)]}

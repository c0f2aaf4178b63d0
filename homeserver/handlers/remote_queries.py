"""The seam through which handlers ask other servers (federation queries).

Nothing is attached while federation is off: then remote users' profiles
and remote aliases are simply unknown (404), as on a single server."""

from __future__ import annotations

from typing import Any, Protocol


class RemoteQueries(Protocol):
    async def profile(self, user_id: str) -> dict[str, Any]:
        """The remote user's public profile; MatrixError when unknown or unreachable."""
        ...

    async def resolve_alias(self, alias: str) -> dict[str, Any]:
        """`{"room_id", "servers"}` from the alias's server; MatrixError otherwise."""
        ...

"""The seams through which the E2EE handlers reach other servers' users
(federation attaches them; with federation off nothing is attached and other
servers' users are simply not known, as on a single server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# How long a client's /keys/query or /keys/claim waits for other servers
# when it does not say (`timeout`, in milliseconds).
DEFAULT_REMOTE_TIMEOUT_MS = 10_000
MAX_REMOTE_TIMEOUT_MS = 60_000


def remote_timeout_seconds(body: dict[str, Any]) -> float:
    value = body.get("timeout")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        value = DEFAULT_REMOTE_TIMEOUT_MS
    return min(value, MAX_REMOTE_TIMEOUT_MS) / 1000


class RemoteKeys(Protocol):
    async def query(self, wanted: dict[str, list[str]], time_limit: float) -> dict[str, Any]:
        """`device_keys`, `master_keys`, `self_signing_keys` and `failures`
        (by server) of other servers' users."""
        ...

    async def claim(self, wanted: dict[str, dict[str, str]], time_limit: float) -> dict[str, Any]:
        """`one_time_keys` and `failures` (by server) of other servers' users."""
        ...


class RemoteToDevice(Protocol):
    async def send(
        self,
        sender: str,
        event_type: str,
        message_id: str,
        messages: dict[str, dict[str, Any]],
    ) -> None:
        """Hands the messages for one server's users to the outbound queue."""
        ...


@dataclass(frozen=True)
class DeviceListChange:
    """One change of a user's device list, as written to the stream."""

    user_id: str
    stream_id: int
    prev_id: int | None  # the user's previous change, if any
    device_ids: Sequence[str]  # the devices concerned (empty: none in particular)
    deleted: bool  # the devices are gone
    cross_signing: bool  # the cross-signing keys (or signatures on them) changed


DeviceListListener = Callable[[DeviceListChange], Awaitable[None]]

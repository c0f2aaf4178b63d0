"""How one attempt to deliver a push ended, as the senders report it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from homeserver.push.notification import Notification
from homeserver.storage.pushers import Pusher

# delivered: done. gone: the pusher is dead (404/410, or rejected by the
# gateway); remove it. retry: try again later (429, 5xx, network).
# failed: give up on this push, keep the pusher (other 4xx, refused address).
OutcomeKind = Literal["delivered", "gone", "retry", "failed"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: str = ""
    retry_after: float | None = None  # seconds, from the service's Retry-After
    status: int | None = None


def outcome_for_status(status: int, retry_after: float | None, detail: str) -> Outcome:
    """The usual reading of a push service's HTTP status."""
    if 200 <= status < 300:
        return Outcome("delivered", status=status)
    if status in (404, 410):
        return Outcome("gone", detail, status=status)
    if status == 429 or status >= 500:
        return Outcome("retry", detail, retry_after, status)
    return Outcome("failed", detail, status=status)


class Sender(Protocol):
    async def send(self, pusher: Pusher, notification: Notification) -> Outcome: ...

    async def close(self) -> None: ...

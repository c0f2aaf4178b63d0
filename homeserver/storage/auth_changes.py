"""Word from the stores that sessions ended or a user's standing changed, for
whatever keeps verified access tokens in memory (`handlers/token_cache.py`).

Every store method that revokes sessions, removes devices, deactivates a user
or changes their admin flag announces it here once its transaction has
committed, so no caller can forget to. Listeners run synchronously on the
event loop thread and must not block.

This reaches the listeners of this process only. With several server
processes the announcement has to be fanned out to the others too (Redis
pub/sub is the planned seam: a listener that publishes, and a subscriber
task that calls `changed` locally); until then, run one process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AuthChange:
    """What was signed out or changed: some of a user's devices, or (with
    `device_ids` None) everything of the user."""

    user_id: str
    device_ids: frozenset[str] | None = None


class AuthListener(Protocol):
    def auth_changed(self, change: AuthChange) -> None: ...

    def expired_purged(self, now_ms: int) -> None:
        """Housekeeping ran: anything that expired by `now_ms` may go."""


class AuthChanges:
    def __init__(self) -> None:
        self._listeners: list[AuthListener] = []

    def subscribe(self, listener: AuthListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: AuthListener) -> None:
        self._listeners.remove(listener)

    def changed(self, user_id: str, device_ids: Iterable[str] | None = None) -> None:
        change = AuthChange(user_id, None if device_ids is None else frozenset(device_ids))
        for listener in self._listeners:
            listener.auth_changed(change)

    def purged(self, now_ms: int) -> None:
        for listener in self._listeners:
            listener.expired_purged(now_ms)

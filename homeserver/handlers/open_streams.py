"""The WebSocket sync streams open in this process, by user, so that signing a
device out (or closing an account, or changing the password with sign-out)
ends its open streams at once instead of at the next periodic token check.

It listens to `storage/auth_changes.py`: for each change, the affected streams
check their token again (a scheduled task each, never on the announcing call)."""

from __future__ import annotations

from typing import Protocol

from homeserver.storage.auth_changes import AuthChange


class TokenBound(Protocol):
    def recheck_token(self) -> None:
        """Verify the stream's access token again soon; close it if refused."""


class OpenStreams:
    def __init__(self) -> None:
        self._by_user: dict[str, dict[TokenBound, str]] = {}  # stream -> device id

    def add(self, user_id: str, device_id: str, stream: TokenBound) -> None:
        self._by_user.setdefault(user_id, {})[stream] = device_id

    def remove(self, user_id: str, stream: TokenBound) -> None:
        streams = self._by_user.get(user_id)
        if streams is not None:
            streams.pop(stream, None)
            if not streams:
                del self._by_user[user_id]

    def count(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    def auth_changed(self, change: AuthChange) -> None:
        streams = self._by_user.get(change.user_id)
        if not streams:
            return
        for stream, device_id in list(streams.items()):
            if change.device_ids is None or device_id in change.device_ids:
                stream.recheck_token()

    def recheck_all(self) -> None:
        """Every stream checks its token again (a cluster worker that may
        have missed sign-outs on the others)."""
        for streams in list(self._by_user.values()):
            for stream in list(streams):
                stream.recheck_token()

    def expired_purged(self, now_ms: int) -> None:
        """Expired tokens are caught by the streams' periodic checks."""

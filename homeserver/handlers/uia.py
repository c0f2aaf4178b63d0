"""User-interactive authentication sessions (register, password change,
device deletion): the 401 flow response and the stages completed so far."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from homeserver.errors import MatrixError

SESSION_LIFETIME_SECONDS = 15 * 60


@dataclass
class _Session:
    created: float
    completed: list[str] = field(default_factory=list)


class UiaRequired(MatrixError):
    """401 carrying the flows, as UIA requires."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(401, body.get("errcode", "M_UNAUTHORIZED"), body.get("error", ""))
        self.body = body

    def to_json(self) -> dict[str, Any]:
        return self.body


StageChecker = Callable[[dict[str, Any]], Awaitable[None]]


class UserInteractiveAuth:
    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}

    def _new_session(self) -> str:
        self._expire()
        session_id = secrets.token_urlsafe(18)
        self._sessions[session_id] = _Session(time.monotonic())
        return session_id

    def _expire(self) -> None:
        cutoff = time.monotonic() - SESSION_LIFETIME_SECONDS
        for key in [k for k, s in self._sessions.items() if s.created < cutoff]:
            del self._sessions[key]

    async def check(self, auth: Any, stage: str, checker: StageChecker) -> None:
        """Completes the one-stage flow `stage` or raises the 401 to continue.
        `checker` validates the client's auth dict for that stage (raising a
        MatrixError such as M_FORBIDDEN when it is wrong)."""
        if auth is None:
            raise UiaRequired(self._flows(self._new_session(), stage))
        if not isinstance(auth, dict):
            raise MatrixError(400, "M_BAD_JSON", "auth must be an object")
        session_id = auth.get("session")
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            session_id = self._new_session()
            session = self._sessions[session_id]
        if auth.get("type") != stage:
            raise UiaRequired(self._flows(str(session_id), stage))
        try:
            await checker(auth)
        except MatrixError as exc:
            body = self._flows(str(session_id), stage)
            body.update(errcode=exc.errcode, error=exc.error)
            raise UiaRequired(body) from exc
        self._sessions.pop(str(session_id), None)

    @staticmethod
    def _flows(session_id: str, stage: str) -> dict[str, Any]:
        return {"flows": [{"stages": [stage]}], "params": {}, "session": session_id}

"""Access tokens: JWTs signed by the server, each naming a session row that
logout, password change or device deletion revokes at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from homeserver.errors import unknown_token
from homeserver.handlers.keys import ServerKeys
from homeserver.storage import Storage
from homeserver.util import now_ms


@dataclass(frozen=True)
class Requester:
    user_id: str
    device_id: str
    session_id: str
    is_admin: bool = False


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in_ms: int


class TokenService:
    def __init__(
        self, storage: Storage, keys: ServerKeys, issuer: str, lifetime_seconds: int
    ) -> None:
        self._storage = storage
        self._keys = keys
        self._issuer = issuer
        self._lifetime_ms = lifetime_seconds * 1000
        self._claims = JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            jti={"essential": True},
            exp={"essential": True},
        )

    async def issue(self, user_id: str, device_id: str) -> IssuedToken:
        now = now_ms()
        session_id = secrets.token_urlsafe(16)
        expires = now + self._lifetime_ms
        await self._storage.users.create_session(session_id, user_id, device_id, now, expires)
        claims = {
            "iss": self._issuer,
            "sub": user_id,
            "device_id": device_id,
            "jti": session_id,
            "iat": now // 1000,
            "exp": expires // 1000,
        }
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self._keys.token_key_id}
        token = jwt.encode(header, claims, self._keys.token_key)
        return IssuedToken(token, self._lifetime_ms)

    async def verify(self, token: str) -> Requester:
        try:
            decoded = jwt.decode(token, self._keys.token_key, algorithms=["ES256"])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise unknown_token() from exc
        claims = decoded.claims
        session = await self._storage.users.get_session(str(claims["jti"]))
        if (
            session is None
            or session.revoked
            or session.user_id != claims["sub"]
            or session.expires_ts <= now_ms()
        ):
            raise unknown_token()
        user = await self._storage.users.get_user(session.user_id)
        if user is None or user.deactivated:
            raise unknown_token()
        return Requester(session.user_id, session.device_id, session.session_id, user.is_admin)

"""Access tokens, sessions and refresh tokens.

An access token is a JWT in the RFC 9068 profile, signed by the current key of
the server's key ring (`handlers/keys.py`): `iss`, `sub` (the user id), `aud`
(this homeserver), `exp`, `iat`, `jti`, `client_id`, `scope` (Matrix scopes),
`sid` (the session row) and `device`. Every request checks the signature,
`typ`, expiry, issuer, audience and scope, then that the session row is live,
so that logout, device deletion, revocation or refresh-token reuse take effect
at once. A verified token is then kept in memory until it or its session
expires (`handlers/token_cache.py`): its next uses cost neither the signature
check nor a database read, and the stores evict it the moment its session ends
or its user changes.

Password logins without refresh support get a long-lived token (as before);
with `refresh_token: true`, and through OAuth, access tokens are short-lived and
come with a refresh token that rotates on every use: the previous one stays
usable until the new access (or refresh) token is first used, so a lost
response can be retried; presenting it after that is reuse and ends the
session (`storage/sessions.py`)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError

from homeserver.errors import unknown_token
from homeserver.handlers.keys import SUPPORTED_ALGORITHMS, ServerKeys
from homeserver.handlers.token_cache import DEFAULT_MAX_ENTRIES, TokenCache, cache_key
from homeserver.storage import Storage
from homeserver.storage.sessions import (
    ACTIVE,
    CONSUMED,
    ROTATED,
    NewRefreshToken,
    NewSession,
    RefreshTokenInfo,
    Rotation,
    SessionInfo,
)
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

API_SCOPE = "urn:matrix:client:api:*"
DEVICE_SCOPE_PREFIX = "urn:matrix:client:device:"
# MSC2967's unstable names, still sent by some clients (matrix-rust-sdk).
UNSTABLE_API_SCOPE = "urn:matrix:org.matrix.msc2967.client:api:*"
UNSTABLE_DEVICE_SCOPE_PREFIX = "urn:matrix:org.matrix.msc2967.client:device:"
API_SCOPES = frozenset({API_SCOPE, UNSTABLE_API_SCOPE})
# The `client_id` claim of tokens from the legacy API (/login, /register).
PASSWORD_LOGIN_CLIENT = "m.login.password"
REFRESH_TOKEN_PREFIX = "hsr_"


def hash_secret(value: str) -> str:
    """How codes, refresh tokens and other secrets are stored: SHA-256 hex.
    (They are long random strings, so a fast hash is enough.)"""
    return hashlib.sha256(value.encode()).hexdigest()


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def matrix_scope(device_id: str) -> str:
    return f"{API_SCOPE} {DEVICE_SCOPE_PREFIX}{device_id}"


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
    refresh_token: str | None = None


@dataclass(frozen=True)
class MintedToken:
    token: str
    jti: str
    expires_at: int  # seconds


@dataclass(frozen=True)
class AccessClaims:
    """A verified access token's claims. `legacy`: issued before OAuth landed
    (no `aud`; the `jti` names the session)."""

    user_id: str
    session_id: str
    jti: str
    client_id: str
    scope: str
    device_id: str | None
    issued_at: int
    expires_at: int
    audience: str | None
    legacy: bool


class TokenError(Exception):
    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


class TokenService:
    def __init__(
        self,
        storage: Storage,
        keys: ServerKeys,
        issuer: str,
        lifetime_seconds: int,
        *,
        audience: str | None = None,
        refreshable_lifetime_seconds: int = 300,
        refresh_lifetime_seconds: int = 30 * 86400,
        cache_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._storage = storage
        self.cache = TokenCache(cache_entries)
        storage.auth_changes.subscribe(self.cache)
        self._keys = keys.tokens
        self.issuer = issuer
        self.audience = audience or issuer
        self._long_lifetime = lifetime_seconds
        self.access_lifetime_seconds = refreshable_lifetime_seconds
        self._refresh_lifetime_ms = refresh_lifetime_seconds * 1000
        self._options: dict[str, Any] = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": self.audience},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "jti": {"essential": True},
            "client_id": {"essential": True},
            "scope": {"essential": True},
            "sid": {"essential": True},
        }
        self._legacy_options: dict[str, Any] = {
            "iss": {"essential": True, "value": issuer},
            "sub": {"essential": True},
            "jti": {"essential": True},
            "exp": {"essential": True},
        }

    # -- minting ---------------------------------------------------------------

    def mint(
        self,
        *,
        session_id: str,
        user_id: str,
        device_id: str,
        client_id: str,
        scope: str,
        lifetime_seconds: int,
        jti: str | None = None,
    ) -> MintedToken:
        """Signs an access token (pure CPU: safe from any thread)."""
        now = int(time.time())
        key = self._keys.signing_key(now_ms())
        jti = jti or new_token_id()
        claims = {
            "iss": self.issuer,
            "sub": user_id,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime_seconds,
            "jti": jti,
            "client_id": client_id,
            "scope": scope,
            "sid": session_id,
            "device": device_id,
        }
        header = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
        token = jwt.encode(header, claims, key.key, algorithms=[key.alg])
        return MintedToken(token, jti, now + lifetime_seconds)

    async def issue(self, user_id: str, device_id: str) -> IssuedToken:
        """A long-lived access token for a password login without refresh support."""
        session_id = new_token_id()
        minted = self.mint(
            session_id=session_id,
            user_id=user_id,
            device_id=device_id,
            client_id=PASSWORD_LOGIN_CLIENT,
            scope=matrix_scope(device_id),
            lifetime_seconds=self._long_lifetime,
        )
        await self._storage.sessions.create(
            NewSession(
                session_id,
                user_id,
                device_id,
                None,
                matrix_scope(device_id),
                minted.expires_at * 1000,
            ),
            None,
            now_ms(),
        )
        return IssuedToken(minted.token, self._long_lifetime * 1000)

    async def issue_refreshable(self, user_id: str, device_id: str) -> IssuedToken:
        """A short-lived access token and a refresh token (legacy API login)."""
        session_id = new_token_id()
        minted = self.mint(
            session_id=session_id,
            user_id=user_id,
            device_id=device_id,
            client_id=PASSWORD_LOGIN_CLIENT,
            scope=matrix_scope(device_id),
            lifetime_seconds=self.access_lifetime_seconds,
        )
        refresh_token = new_refresh_token()
        now = now_ms()
        expires = now + self._refresh_lifetime_ms
        await self._storage.sessions.create(
            NewSession(session_id, user_id, device_id, None, matrix_scope(device_id), expires),
            NewRefreshToken(hash_secret(refresh_token), minted.jti, expires),
            now,
        )
        return IssuedToken(minted.token, self.access_lifetime_seconds * 1000, refresh_token)

    async def open_session(
        self,
        session: NewSession,
        *,
        access_jti: str,
        refresh_token: str,
    ) -> None:
        """Stores an OAuth session (its access token already minted with
        `access_jti`). The device's earlier sessions are revoked."""
        now = now_ms()
        expires = now + self._refresh_lifetime_ms
        stored = NewSession(
            session.session_id,
            session.user_id,
            session.device_id,
            session.client_id,
            session.scope,
            expires,
            session.device_display_name,
            session.ip,
        )
        await self._storage.sessions.create(
            stored,
            NewRefreshToken(hash_secret(refresh_token), access_jti, expires),
            now,
            replace_device_sessions=True,
        )
        logger.info(
            "session started",
            extra={
                "user_id": session.user_id,
                "device_id": session.device_id,
                "client_id": session.client_id,
            },
        )

    # -- refresh tokens ----------------------------------------------------------

    async def lookup_refresh_token(self, refresh_token: str) -> RefreshTokenInfo | None:
        """The refresh token if it may be exchanged. Presenting a consumed one is
        reuse: the session is ended and None returned."""
        info = await self._storage.sessions.get_refresh_token(hash_secret(refresh_token))
        now = now_ms()
        if info is None or info.session.revoked or info.session.expires_ts <= now:
            return None
        if info.state == CONSUMED:
            await self._reuse_detected(info.session)
            return None
        if info.state not in (ACTIVE, ROTATED) or info.expires_ts <= now:
            return None
        return info

    async def rotate(
        self, old_refresh_token: str, new_refresh_token: str, new_access_jti: str
    ) -> bool:
        """Records the exchange of `old_refresh_token` (see storage/sessions.py)."""
        now = now_ms()
        expires = now + self._refresh_lifetime_ms
        outcome = await self._storage.sessions.rotate_refresh_token(
            hash_secret(old_refresh_token),
            NewRefreshToken(hash_secret(new_refresh_token), new_access_jti, expires),
            expires,
            now,
        )
        if outcome is Rotation.REUSED:
            logger.warning("refresh token reused: session revoked")
        return outcome is Rotation.ROTATED

    async def refresh(self, refresh_token: str) -> IssuedToken:
        """POST /refresh of the legacy API: only for password-login sessions."""
        info = await self.lookup_refresh_token(refresh_token)
        if info is None or info.session.client_id is not None or info.session.scope is None:
            raise unknown_token("Unknown, used or revoked refresh token")
        session = info.session
        minted = self.mint(
            session_id=session.session_id,
            user_id=session.user_id,
            device_id=session.device_id,
            client_id=PASSWORD_LOGIN_CLIENT,
            scope=session.scope or matrix_scope(session.device_id),
            lifetime_seconds=self.access_lifetime_seconds,
        )
        new = new_refresh_token()
        if not await self.rotate(refresh_token, new, minted.jti):
            raise unknown_token("Unknown, used or revoked refresh token")
        return IssuedToken(minted.token, self.access_lifetime_seconds * 1000, new)

    async def _reuse_detected(self, session: SessionInfo) -> None:
        logger.warning(
            "refresh token reused: session revoked",
            extra={"user_id": session.user_id, "device_id": session.device_id},
        )
        await self._storage.sessions.end_session(session.session_id, now_ms())

    # -- verifying ----------------------------------------------------------------

    def decode(self, token: str, *, validate: bool = True) -> AccessClaims:
        """Checks the signature and `typ` and, with `validate`, the claims
        (issuer, audience, expiry, scope). Raises TokenError."""
        try:
            decoded = jwt.decode(
                token, self._keys.verification_keys(), algorithms=list(SUPPORTED_ALGORITHMS)
            )
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenError("bad signature or format") from exc
        typ = str(decoded.header.get("typ", "")).lower()
        if typ not in ("at+jwt", "application/at+jwt"):
            raise TokenError("not an access token")
        claims = decoded.claims
        legacy = "aud" not in claims
        if validate:
            options = self._legacy_options if legacy else self._options
            try:
                JWTAccessTokenClaims(claims, dict(decoded.header), options).validate()
            except ExpiredTokenError as exc:
                raise TokenError("expired", expired=True) from exc
            except (JoseError, ValueError, TypeError) as exc:
                raise TokenError(f"invalid claims: {exc}") from exc
        try:
            result = self._claims(claims, legacy)
        except (KeyError, ValueError, TypeError) as exc:
            raise TokenError("malformed claims") from exc
        if validate and not legacy and not API_SCOPES & set(result.scope.split()):
            raise TokenError("scope does not grant the client-server API")
        return result

    @staticmethod
    def _claims(claims: dict[str, Any], legacy: bool) -> AccessClaims:
        if legacy:
            jti = str(claims["jti"])
            device = claims.get("device_id")
            return AccessClaims(
                user_id=str(claims["sub"]),
                session_id=jti,
                jti=jti,
                client_id=PASSWORD_LOGIN_CLIENT,
                scope=matrix_scope(str(device)) if device else API_SCOPE,
                device_id=str(device) if device else None,
                issued_at=int(claims.get("iat", 0)),
                expires_at=int(claims["exp"]),
                audience=None,
                legacy=True,
            )
        device = claims.get("device")
        return AccessClaims(
            user_id=str(claims["sub"]),
            session_id=str(claims["sid"]),
            jti=str(claims["jti"]),
            client_id=str(claims["client_id"]),
            scope=str(claims["scope"]),
            device_id=str(device) if device is not None else None,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            audience=str(claims["aud"]),
            legacy=False,
        )

    async def verify(self, token: str) -> Requester:
        key = cache_key(token)
        cached = self.cache.get(key, now_ms())
        if cached is not None:
            return cached
        generation = self.cache.generation
        try:
            claims = self.decode(token)
        except TokenError as exc:
            raise unknown_token(soft_logout=exc.expired) from exc
        session = await self._storage.sessions.get(claims.session_id)
        if session is None or not self._matches(claims, session):
            raise unknown_token()
        if session.pending_access_jti is not None and session.pending_access_jti == claims.jti:
            # The first use of a refreshed token: only cached once recorded.
            await self._storage.sessions.confirm_access(session.session_id, claims.jti)
        user = await self._storage.users.get_user(session.user_id)
        if user is None or user.deactivated:
            raise unknown_token()
        requester = Requester(session.user_id, session.device_id, session.session_id, user.is_admin)
        valid_until = min(claims.expires_at * 1000, session.expires_ts)
        self.cache.put(key, requester, valid_until, now_ms(), generation)
        return requester

    @staticmethod
    def _matches(claims: AccessClaims, session: SessionInfo) -> bool:
        if session.revoked or session.expires_ts <= now_ms() or session.user_id != claims.user_id:
            return False
        if claims.legacy:
            # Only sessions from before OAuth landed carry the older claim set.
            return session.legacy
        if session.legacy or session.device_id != claims.device_id:
            return False
        return (session.client_id or PASSWORD_LOGIN_CLIENT) == claims.client_id

    async def session_for_token(self, token: str) -> SessionInfo | None:
        """The session an access token (expired or not) or refresh token
        belongs to, for revocation and introspection; None if it is not ours."""
        if token.startswith(REFRESH_TOKEN_PREFIX):
            info = await self._storage.sessions.get_refresh_token(hash_secret(token))
            return None if info is None else info.session
        try:
            claims = self.decode(token, validate=False)
        except TokenError:
            return None
        session = await self._storage.sessions.get(claims.session_id)
        if session is None or session.user_id != claims.user_id:
            return None
        return session

    async def end_session(self, session_id: str) -> SessionInfo | None:
        return await self._storage.sessions.end_session(session_id, now_ms())

"""Authlib's AuthorizationServer, adapted: requests come from `requests.py`,
responses go back as plain data (the HTTP layer turns them into Quart
responses), and the hooks reach our storage through the bridge."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenGenerator

from homeserver.config import Config
from homeserver.handlers.tokens import (
    REFRESH_TOKEN_PREFIX,
    TokenError,
    TokenService,
    hash_secret,
    new_refresh_token,
)
from homeserver.oauth.bridge import AsyncBridge
from homeserver.oauth.endpoints import (
    DeviceAuthorizationEndpoint,
    IntrospectionEndpoint,
    RevocationEndpoint,
)
from homeserver.oauth.grants import (
    AuthorizationCodeGrant,
    DeviceCodeGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from homeserver.oauth.metadata import server_metadata
from homeserver.oauth.models import GrantSubject, KnownToken, OAuthClient
from homeserver.oauth.registration import ClientRegistrationEndpoint
from homeserver.oauth.requests import OAuthJsonRequest, OAuthRequest
from homeserver.oauth.scopes import ScopeError, parse_scope
from homeserver.storage import Storage
from homeserver.storage.sessions import NewSession

logger = logging.getLogger(__name__)

T = TypeVar("T")

AUTHORIZATION_CODE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class OAuthResponse:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)


class OAuthBackend:
    """What the Authlib hooks need, for synchronous use from the worker thread."""

    code_lifetime_seconds = AUTHORIZATION_CODE_LIFETIME_SECONDS

    def __init__(
        self, config: Config, storage: Storage, tokens: TokenService, bridge: AsyncBridge
    ) -> None:
        self.config = config
        self.storage = storage
        self.tokens = tokens
        self.bridge = bridge

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @property
    def device_code_lifetime_seconds(self) -> int:
        return self.config.oauth_device_code_lifetime_seconds

    @property
    def device_poll_interval_seconds(self) -> int:
        return self.config.oauth_device_poll_interval_seconds

    @property
    def introspection_clients(self) -> list[str]:
        return self.config.oauth_introspection_clients

    def metadata(self) -> dict[str, Any]:
        return server_metadata(self.base_url, registration_enabled=self.config.enable_registration)

    def wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.bridge.wait(coroutine)

    def client(self, client_id: str) -> OAuthClient | None:
        record = self.wait(self.storage.oauth.get_client(client_id))
        return None if record is None else OAuthClient(record, self.base_url)

    def user_active(self, user_id: str) -> bool:
        user = self.wait(self.storage.users.get_user(user_id))
        return user is not None and not user.deactivated

    def known_token(self, token: str) -> KnownToken | None:
        return self.wait(self._known_token(token))

    async def _known_token(self, token: str) -> KnownToken | None:
        session = await self.tokens.session_for_token(token)
        if session is None:
            return None
        if token.startswith(REFRESH_TOKEN_PREFIX):
            refresh = await self.storage.sessions.get_refresh_token(hash_secret(token))
            return KnownToken(session, None, refresh)
        try:
            claims = self.tokens.decode(token, validate=False)
        except TokenError:
            return None
        return KnownToken(session, claims)


class TokenGenerator(BearerTokenGenerator):
    """Access tokens are JWTs minted by the TokenService (the same kind password
    logins get); refresh tokens are opaque random strings."""

    def __init__(self, backend: OAuthBackend) -> None:
        super().__init__(self._access_token, self._refresh_token, self._expires_in)
        self._backend = backend

    def _access_token(
        self, client: OAuthClient, grant_type: str, user: GrantSubject, scope: str
    ) -> str:
        return self._backend.tokens.mint(
            session_id=user.session_id,
            user_id=user.user_id,
            device_id=user.device_id,
            client_id=client.get_client_id(),
            scope=scope,
            lifetime_seconds=self._backend.tokens.access_lifetime_seconds,
            jti=user.access_jti,
        ).token

    def _refresh_token(
        self, client: OAuthClient, grant_type: str, user: GrantSubject, scope: str
    ) -> str:
        return new_refresh_token()

    def _expires_in(self, client: OAuthClient, grant_type: str) -> int:
        return self._backend.tokens.access_lifetime_seconds


class HomeserverAuthorizationServer(AuthorizationServer):
    def __init__(self, backend: OAuthBackend) -> None:
        super().__init__()
        self.backend = backend
        self.register_token_generator("default", TokenGenerator(backend))
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(DeviceCodeGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)
        self.register_endpoint(DeviceAuthorizationEndpoint(self))
        self.register_endpoint(ClientRegistrationEndpoint(self))

    # -- Authlib's integration hooks -----------------------------------------

    def query_client(self, client_id: str) -> OAuthClient | None:
        return self.backend.client(client_id)

    def create_oauth2_request(self, request: Any) -> OAuthRequest:
        if not isinstance(request, OAuthRequest):
            raise TypeError("expected an OAuthRequest")
        return request

    def create_json_request(self, request: Any) -> OAuthJsonRequest:
        if not isinstance(request, OAuthJsonRequest):
            raise TypeError("expected an OAuthJsonRequest")
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, [(str(k), str(v)) for k, v in headers or []])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        logger.debug("oauth signal", extra={"signal": name})

    def validate_requested_scope(self, scope: str | None) -> None:
        try:
            parse_scope(scope)
        except ScopeError as exc:
            raise InvalidScopeError(str(exc)) from exc

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        subject: GrantSubject = request.user
        client: OAuthClient = request.client
        refresh = token.get("refresh_token")
        if not isinstance(refresh, str):
            raise InvalidGrantError("The client is not registered for refresh tokens.")
        backend = self.backend
        if request.payload.grant_type == "refresh_token":
            rotated = backend.wait(
                backend.tokens.rotate(request.refresh_token.token, refresh, subject.access_jti)
            )
            if not rotated:
                raise InvalidGrantError("The refresh token was already used or revoked.")
            return
        session = NewSession(
            session_id=subject.session_id,
            user_id=subject.user_id,
            device_id=subject.device_id,
            client_id=client.get_client_id(),
            scope=str(token.get("scope", "")),
            expires_ts=0,
            device_display_name=client.client_name,
            ip=request.ip,
        )
        backend.wait(
            backend.tokens.open_session(
                session, access_jti=subject.access_jti, refresh_token=refresh
            )
        )

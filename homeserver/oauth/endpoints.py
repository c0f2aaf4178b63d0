"""Token revocation (RFC 7009), introspection (RFC 7662) and device
authorization (RFC 8628 section 3.1): Authlib's endpoints over our storage."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, UnauthorizedClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as _DeviceAuthorizationEndpoint
from authlib.oauth2.rfc8628.endpoint import create_string_user_code

from homeserver.handlers.tokens import PASSWORD_LOGIN_CLIENT, hash_secret
from homeserver.oauth.models import KnownToken, OAuthClient
from homeserver.oauth.scopes import parse_scope
from homeserver.storage.oauth import DeviceGrantRecord
from homeserver.util import now_ms

if TYPE_CHECKING:
    from homeserver.oauth.server import OAuthBackend

logger = logging.getLogger(__name__)


def _backend(endpoint: Any) -> OAuthBackend:
    backend: OAuthBackend = endpoint.server.backend
    return backend


class RevocationEndpoint(_RevocationEndpoint):
    """As the Matrix API asks: `client_id` is optional and a token is revoked
    whoever presents it (the token is the proof); a client that authenticates
    with a secret must get it right (401 otherwise). Revoking either token of a
    session ends the session: access and refresh tokens, and the device."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def authenticate_endpoint_client(self, request: Any) -> OAuthClient | None:
        has_secret = extract_basic_authorization(request.headers)[0] or request.form.get(
            "client_secret"
        )
        try:
            client: OAuthClient | None = super().authenticate_endpoint_client(request)
        except InvalidClientError:
            if has_secret:
                raise
            client = None
        request.client = client
        return client

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        return _backend(self).known_token(token_string)

    def authenticate_token(self, request: Any, client: OAuthClient | None) -> KnownToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None and client is not None and not token.check_client(client):
            logger.warning(
                "token revoked by another client than its own",
                extra={"client_id": client.get_client_id(), "token_client": token.client_id},
            )
        return token

    def revoke_token(self, token: KnownToken, request: Any) -> None:
        backend = _backend(self)
        backend.wait(backend.tokens.end_session(token.session.session_id))
        logger.info(
            "session revoked",
            extra={"user_id": token.session.user_id, "device_id": token.session.device_id},
        )


class IntrospectionEndpoint(_IntrospectionEndpoint):
    """For resource servers: confidential clients only. One listed in
    `oauth_introspection_clients` may introspect any token; any other only
    the tokens issued to itself."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        return _backend(self).known_token(token_string)

    def check_permission(self, token: KnownToken, client: OAuthClient, request: Any) -> bool:
        if client.get_client_id() in _backend(self).introspection_clients:
            return True
        return token.check_client(client)

    def introspect_token(self, token: KnownToken) -> dict[str, Any]:
        backend = _backend(self)
        session = token.session
        body: dict[str, Any] = {
            "active": True,
            "scope": session.scope or "",
            "client_id": session.client_id or PASSWORD_LOGIN_CLIENT,
            "username": session.user_id,
            "sub": session.user_id,
            "iss": backend.tokens.issuer,
            "device_id": session.device_id,
        }
        if token.claims is not None:
            body.update(
                token_type="Bearer",
                exp=token.claims.expires_at,
                iat=token.claims.issued_at,
                jti=token.claims.jti,
                aud=token.claims.audience or backend.tokens.audience,
            )
        elif token.refresh is not None:
            body.update(token_type="refresh_token", exp=token.refresh.expires_ts // 1000)
        return body


class DeviceAuthorizationEndpoint(_DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        backend = _backend(self)
        self.EXPIRES_IN = backend.device_code_lifetime_seconds
        self.INTERVAL = backend.device_poll_interval_seconds

    def authenticate_client(self, request: Any) -> OAuthClient:
        client: OAuthClient = super().authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError(
                "The client is not registered for the device authorization grant."
            )
        return client

    def get_verification_uri(self) -> str:
        return f"{_backend(self).base_url}/oauth2/link"

    def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
        backend = _backend(self)
        now = now_ms()
        for _attempt in range(5):
            record = DeviceGrantRecord(
                device_code_hash=hash_secret(data["device_code"]),
                user_code=data["user_code"],
                client_id=client_id,
                scope=str(parse_scope(scope)),
                status="pending",
                interval_seconds=self.INTERVAL,
                expires_ts=now + self.EXPIRES_IN * 1000,
            )
            if backend.wait(backend.storage.oauth.save_device_grant(record, now)):
                return
            # The user code collided with a live one: draw another.
            data["user_code"] = create_string_user_code()
            data["verification_uri_complete"] = (
                f"{self.get_verification_uri()}?user_code={data['user_code']}"
            )
        raise RuntimeError("could not allocate a unique user code")

"""The grants: authorization code with PKCE (S256 only), refresh token with
rotation, and device authorization (RFC 8628) — Authlib's grants, with our
storage behind their hooks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _DeviceCodeGrant

from homeserver.handlers.tokens import hash_secret, new_token_id
from homeserver.oauth.models import (
    AuthorizationCode,
    DeviceCredential,
    GrantSubject,
    OAuthClient,
    RefreshToken,
)
from homeserver.oauth.scopes import parse_scope
from homeserver.storage.oauth import CodeRecord
from homeserver.util import now_ms

if TYPE_CHECKING:
    from homeserver.oauth.server import OAuthBackend

logger = logging.getLogger(__name__)

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
RESPONSE_MODES = ("query", "fragment")


def _backend(grant: Any) -> OAuthBackend:
    backend: OAuthBackend = grant.server.backend
    return backend


class S256CodeChallenge(CodeChallenge):
    """PKCE is required for every client, with the S256 method only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def _response_mode(self) -> str:
        return str(self.request.payload.data.get("response_mode") or "query")

    def validate_authorization_request(self) -> str:
        try:
            redirect_uri = str(super().validate_authorization_request())
            if self._response_mode() not in RESPONSE_MODES:
                raise InvalidRequestError(
                    "response_mode must be query or fragment", redirect_uri=redirect_uri
                )
            return redirect_uri
        except OAuth2Error as error:
            error.redirect_fragment = self._response_mode() == "fragment"
            raise

    def create_authorization_response(
        self, redirect_uri: str, grant_user: GrantSubject | None
    ) -> tuple[int, str, list[tuple[str, str]]]:
        fragment = self._response_mode() == "fragment"
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri, redirect_fragment=fragment)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        if self.request.payload.state:
            params.append(("state", self.request.payload.state))
        return 302, "", [("Location", add_params_to_uri(redirect_uri, params, fragment))]

    def save_authorization_code(self, code: str, request: Any) -> None:
        backend = _backend(self)
        data = request.payload.data
        now = now_ms()
        record = CodeRecord(
            code_hash=hash_secret(code),
            client_id=request.client.get_client_id(),
            user_id=request.user.get_user_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            expires_ts=now + backend.code_lifetime_seconds * 1000,
        )
        backend.wait(backend.storage.oauth.save_code(record, now))

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        backend = _backend(self)
        record = backend.wait(backend.storage.oauth.get_code(hash_secret(code)))
        if record is None or record.client_id != client.get_client_id():
            return None
        if record.used_ts is not None:
            # RFC 6749 section 4.1.2: deny, and revoke what the code gave.
            logger.warning(
                "authorization code used twice: revoking its session",
                extra={"client_id": record.client_id, "user_id": record.user_id},
            )
            if record.session_id is not None:
                backend.wait(backend.tokens.end_session(record.session_id))
            return None
        if record.expires_ts <= now_ms():
            return None
        return AuthorizationCode(record)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to delete: the code was marked used before tokens were issued."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> GrantSubject | None:
        backend = _backend(self)
        record = authorization_code.record
        if authorization_code.session_id is None or not backend.user_active(record.user_id):
            return None
        return GrantSubject(
            record.user_id,
            parse_scope(record.scope).device_id,
            authorization_code.session_id,
            new_token_id(),
        )

    def create_token_response(self) -> tuple[int, Any, Any]:
        backend = _backend(self)
        code: AuthorizationCode = self.request.authorization_code
        session_id = new_token_id()
        claimed = backend.wait(
            backend.storage.oauth.claim_code(code.record.code_hash, session_id, now_ms())
        )
        if not claimed:
            raise InvalidGrantError("The authorization code has already been used.")
        code.session_id = session_id
        result: tuple[int, Any, Any] = super().create_token_response()
        return result


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        backend = _backend(self)
        info = backend.wait(backend.tokens.lookup_refresh_token(refresh_token))
        # Refresh tokens of password logins are refreshed at /refresh instead.
        if info is None or info.session.client_id is None:
            return None
        return RefreshToken(refresh_token, info)

    def authenticate_user(self, refresh_token: RefreshToken) -> GrantSubject | None:
        session = refresh_token.session
        if not _backend(self).user_active(session.user_id):
            return None
        return GrantSubject(session.user_id, session.device_id, session.session_id, new_token_id())

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        """Nothing here: save_token records the rotation atomically."""


class DeviceCodeGrant(_DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def validate_token_request(self) -> None:
        """Authlib's steps with RFC 8628's errors (section 3.5, RFC 6749 5.2): a
        device code that is unknown, or was issued to another client, is an
        `invalid_grant`, as for any other grant."""
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("Missing 'device_code' in payload")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(f"The client may not use {self.GRANT_TYPE}")
        credential = self.query_device_credential(device_code)
        if credential is None or credential.get_client_id() != client.get_client_id():
            raise InvalidGrantError("Unknown device code")
        self.request.user = self.validate_device_credential(credential)
        self.request.client = client
        self.request.credential = credential

    def query_device_credential(self, device_code: str) -> DeviceCredential | None:
        backend = _backend(self)
        record = backend.wait(backend.storage.oauth.get_device_grant(hash_secret(device_code)))
        if record is None:
            return None
        self._credential = DeviceCredential(record)
        return self._credential

    def query_user_grant(self, user_code: str) -> tuple[GrantSubject | None, bool] | None:
        record = self._credential.record
        if record.status == "denied":
            return None, False
        if record.status == "used":
            raise InvalidGrantError("This device code has already been used.")
        if record.status != "approved" or record.user_id is None:
            return None
        if not _backend(self).user_active(record.user_id):
            return None, False
        subject = GrantSubject(
            record.user_id, parse_scope(record.scope).device_id, new_token_id(), new_token_id()
        )
        return subject, True

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        backend = _backend(self)
        slow: bool = backend.wait(
            backend.storage.oauth.record_poll(credential.record.device_code_hash, now_ms())
        )
        return slow

    def create_token_response(self) -> tuple[int, Any, Any]:
        backend = _backend(self)
        credential: DeviceCredential = self.request.credential
        subject: GrantSubject = self.request.user
        claimed = backend.wait(
            backend.storage.oauth.claim_device_grant(
                credential.record.device_code_hash, subject.session_id
            )
        )
        if not claimed:
            raise InvalidGrantError("This device code has already been used.")
        result: tuple[int, Any, Any] = super().create_token_response()
        return result

"""Our records as Authlib's model objects (ClientMixin, AuthorizationCodeMixin,
TokenMixin, DeviceCredentialMixin), and the subject a grant is issued for."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc8628 import DeviceCredentialMixin

from homeserver.handlers.tokens import AccessClaims, hash_secret
from homeserver.oauth.redirects import redirect_matches, same_origin
from homeserver.oauth.scopes import ScopeError, parse_scope
from homeserver.storage.oauth import ClientRecord, CodeRecord, DeviceGrantRecord
from homeserver.storage.sessions import ACTIVE, ROTATED, RefreshTokenInfo, SessionInfo
from homeserver.util import now_ms


@dataclass
class GrantSubject:
    """Who a token is being issued to: the user, the device from the scope, the
    session the tokens belong to and the `jti` of the access token to mint."""

    user_id: str
    device_id: str
    session_id: str
    access_jti: str

    def get_user_id(self) -> str:
        return self.user_id


@dataclass(frozen=True)
class AuthorizedUser:
    """The signed-in user who approved an authorization request."""

    user_id: str

    def get_user_id(self) -> str:
        return self.user_id


class OAuthClient(ClientMixin):
    def __init__(self, record: ClientRecord, base_url: str) -> None:
        self.record = record
        self._base_url = base_url

    @property
    def client_id(self) -> str:
        return self.record.client_id

    @property
    def client_name(self) -> str:
        return self.record.client_name or self.record.client_id

    @property
    def first_party(self) -> bool:
        return self.record.first_party

    @property
    def is_public(self) -> bool:
        return self.record.token_endpoint_auth_method == "none"

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> None:
        # The Matrix API requires `redirect_uri` in every authorization request.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        try:
            return str(parse_scope(scope))
        except ScopeError:
            return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.record.first_party and same_origin(redirect_uri, self._base_url):
            return True
        return redirect_matches(
            self.record.redirect_uris, redirect_uri, self.record.application_type
        )

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.client_secret_hash
        return stored is not None and hmac.compare_digest(stored, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.record.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.record.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.record.grant_types


class AuthorizationCode(AuthorizationCodeMixin):
    def __init__(self, record: CodeRecord) -> None:
        self.record = record
        self.session_id: str | None = None

    @property
    def code_challenge(self) -> str:
        return self.record.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope


class RefreshToken(TokenMixin):
    def __init__(self, token: str, info: RefreshTokenInfo) -> None:
        self.token = token
        self.info = info

    @property
    def session(self) -> SessionInfo:
        return self.info.session

    def check_client(self, client: OAuthClient) -> bool:
        return self.info.session.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.info.session.scope or ""

    def get_expires_in(self) -> int:
        return max(0, (self.info.expires_ts - now_ms()) // 1000)

    def is_expired(self) -> bool:
        return self.info.expires_ts <= now_ms()

    def is_revoked(self) -> bool:
        return self.info.session.revoked or self.info.state not in (ACTIVE, ROTATED)


class DeviceCredential(DeviceCredentialMixin):
    def __init__(self, record: DeviceGrantRecord) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_user_code(self) -> str:
        return self.record.user_code

    def is_expired(self) -> bool:
        return self.record.expires_ts <= now_ms()


@dataclass
class KnownToken:
    """A token presented for revocation or introspection: the session it
    belongs to, and the access token's claims (None for a refresh token)."""

    session: SessionInfo
    claims: AccessClaims | None
    refresh: RefreshTokenInfo | None = None

    @property
    def client_id(self) -> str | None:
        return self.session.client_id

    def check_client(self, client: OAuthClient | None) -> bool:
        return client is not None and self.session.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        if self.claims is not None:
            return self.claims.expires_at <= time.time()
        return self.refresh is None or self.refresh.expires_ts <= now_ms()

    def is_revoked(self) -> bool:
        if self.session.revoked or self.session.expires_ts <= now_ms():
            return True
        return self.refresh is not None and self.refresh.state not in (ACTIVE, ROTATED)

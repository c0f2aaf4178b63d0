"""What the HTTP layer calls: the protocol endpoints (run through Authlib in the
bridge's worker threads), the authorization and device-approval decisions, the
signed-in sessions a user manages, and the start-up registration of the
first-party web client."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749.errors import OAuth2Error
from werkzeug.datastructures import MultiDict

from homeserver.config import Config
from homeserver.handlers.keys import TokenKeyRing
from homeserver.handlers.tokens import TokenService
from homeserver.oauth.bridge import AsyncBridge
from homeserver.oauth.browser import BrowserSessions
from homeserver.oauth.models import AuthorizedUser, OAuthClient
from homeserver.oauth.requests import OAuthJsonRequest, OAuthRequest, RequestData
from homeserver.oauth.scopes import MatrixScope, ScopeError, parse_scope
from homeserver.oauth.server import HomeserverAuthorizationServer, OAuthBackend, OAuthResponse
from homeserver.oauth.throttle import FailureThrottle
from homeserver.storage import Storage
from homeserver.storage.oauth import ClientRecord, DeviceGrantRecord
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

WEB_CLIENT_ID = "web-client"
AUTHORIZATION_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)
USER_CODE_ALPHABET = re.compile(r"[^A-Z]")
FORBIDDEN_DESCRIPTION = "Error description contains forbidden characters"


@dataclass(frozen=True)
class ConsentRequest:
    client: OAuthClient
    scope: MatrixScope
    params: list[tuple[str, str]]
    device_known: bool


@dataclass(frozen=True)
class AuthorizationCheck:
    """One of: an error page (the request can't be redirected back), a redirect
    to the client (with an error, or the code), or a request to ask about."""

    error: str | None = None
    response: OAuthResponse | None = None
    consent: ConsentRequest | None = None


@dataclass(frozen=True)
class DeviceRequest:
    grant: DeviceGrantRecord
    client: OAuthClient
    scope: MatrixScope


@dataclass(frozen=True)
class SessionView:
    device_id: str
    display_name: str | None
    client_name: str
    client_uri: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None


def normalize_user_code(value: str) -> str:
    letters = USER_CODE_ALPHABET.sub("", value.upper())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


class OAuthService:
    def __init__(
        self,
        config: Config,
        storage: Storage,
        tokens: TokenService,
        token_keys: TokenKeyRing,
        browser_secret: bytes,
    ) -> None:
        self.config = config
        self._storage = storage
        self._tokens = tokens
        self._keys = token_keys
        self.bridge = AsyncBridge()
        self.backend = OAuthBackend(config, storage, tokens, self.bridge)
        self.server = HomeserverAuthorizationServer(self.backend)
        self.browser = BrowserSessions(storage, browser_secret, self.base_url)
        enabled = config.rate_limits_enabled
        limit = config.rate_limit_login_failures
        self.failures = FailureThrottle(limit.per_second, limit.burst, enabled=enabled)

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @property
    def available(self) -> bool:
        """OAuth needs TLS, except on loopback (development)."""
        return self.config.enable_oauth and bool(is_secure_transport(self.base_url + "/"))

    def metadata(self) -> dict[str, Any]:
        return self.backend.metadata()

    def jwks(self) -> dict[str, Any]:
        return self._keys.public_jwks()

    # -- protocol endpoints --------------------------------------------------------

    async def token(self, data: RequestData) -> OAuthResponse:
        return await self._guarded(self.server.create_token_response, OAuthRequest(data))

    async def endpoint(self, name: str, data: RequestData) -> OAuthResponse:
        request: OAuthRequest | OAuthJsonRequest = (
            OAuthJsonRequest(data) if name == "client_registration" else OAuthRequest(data)
        )
        return await self._guarded(self.server.create_endpoint_response, name, request)

    async def _guarded(self, function: Any, *args: Any) -> OAuthResponse:
        try:
            response: OAuthResponse = await self.bridge.run(function, *args)
        except ValueError as exc:
            if FORBIDDEN_DESCRIPTION not in str(exc):
                raise
            body = {"error": "invalid_request", "error_description": "Invalid characters"}
            return OAuthResponse(400, body, [("Content-Type", "application/json")])
        return response

    # -- authorization endpoint ----------------------------------------------------

    def _validate(self, request: OAuthRequest) -> AuthorizationCheck | Any:
        try:
            return self.server.get_consent_grant(request, end_user=None)
        except OAuth2Error as error:
            if error.redirect_uri:
                return AuthorizationCheck(
                    response=self.server.handle_error_response(request, error)
                )
            return AuthorizationCheck(error=error.get_error_description() or error.error)
        except ValueError as exc:
            # Authlib refuses to build an error description quoting input with
            # characters RFC 6749 forbids there (a quote, a backslash, ...).
            if FORBIDDEN_DESCRIPTION not in str(exc):
                raise
            return AuthorizationCheck(error="The request has invalid characters in it.")

    async def check_authorization(
        self, data: RequestData, params: MultiDict[str, str]
    ) -> AuthorizationCheck:
        """Validates an authorization request (RFC 6749 section 4.1.1)."""
        request = OAuthRequest(data, params)
        result = await self.bridge.run(self._validate, request)
        if isinstance(result, AuthorizationCheck):
            return result
        client: OAuthClient = result.request.client
        scope = parse_scope(result.request.scope)
        kept = [(k, v) for k in AUTHORIZATION_PARAMS for v in params.getlist(k)]
        return AuthorizationCheck(consent=ConsentRequest(client, scope, kept, False))

    async def device_known(self, user_id: str, device_id: str) -> bool:
        return await self._storage.users.get_device(user_id, device_id) is not None

    async def authorize(
        self, data: RequestData, params: MultiDict[str, str], user_id: str, approved: bool
    ) -> AuthorizationCheck:
        """The user's decision: a redirect carrying the code, or access_denied."""
        request = OAuthRequest(data, params)

        def decide() -> AuthorizationCheck:
            result = self._validate(request)
            if isinstance(result, AuthorizationCheck):
                return result
            user = AuthorizedUser(user_id) if approved else None
            response = self.server.create_authorization_response(request, user, result)
            return AuthorizationCheck(response=response)

        check: AuthorizationCheck = await self.bridge.run(decide)
        logger.info(
            "authorization decided",
            extra={"user_id": user_id, "approved": approved, "client_id": params.get("client_id")},
        )
        return check

    # -- device authorization (the user's side) ---------------------------------------

    async def device_request(self, user_code: str) -> DeviceRequest | None:
        grant = await self._storage.oauth.get_device_grant_by_user_code(
            normalize_user_code(user_code), now_ms()
        )
        if grant is None or grant.status != "pending":
            return None
        record = await self._storage.oauth.get_client(grant.client_id)
        if record is None:
            return None
        try:
            scope = parse_scope(grant.scope)
        except ScopeError:
            return None
        return DeviceRequest(grant, OAuthClient(record, self.base_url), scope)

    async def decide_device(self, request: DeviceRequest, user_id: str, approved: bool) -> bool:
        done = await self._storage.oauth.decide_device_grant(
            request.grant.device_code_hash, user_id, approved, now_ms()
        )
        logger.info(
            "device authorization decided",
            extra={"user_id": user_id, "approved": approved, "client_id": request.client.client_id},
        )
        return done

    # -- signed-in sessions ------------------------------------------------------------

    async def list_sessions(self, user_id: str) -> list[SessionView]:
        devices = await self._storage.users.list_devices(user_id)
        live = await self._storage.sessions.list_live(user_id, now_ms())
        client_of = {s.device_id: s.client_id for s in live}
        clients = await self._storage.oauth.get_clients(
            sorted({c for c in client_of.values() if c})
        )
        views = []
        for device in devices:
            client = clients.get(client_of.get(device.device_id) or "")
            views.append(
                SessionView(
                    device_id=device.device_id,
                    display_name=device.display_name,
                    client_name=(client.client_name or client.client_id)
                    if client
                    else "Password sign-in",
                    client_uri=client.client_uri if client else None,
                    created_ts=min(
                        (s.created_ts for s in live if s.device_id == device.device_id),
                        default=0,
                    ),
                    last_seen_ts=device.last_seen_ts,
                    last_seen_ip=device.last_seen_ip,
                )
            )
        return views

    async def sign_out_device(self, user_id: str, device_id: str) -> None:
        """Ends every session of the device (access and refresh tokens) and
        removes it."""
        await self._storage.users.delete_devices(user_id, [device_id], now_ms())
        logger.info("device signed out", extra={"user_id": user_id, "device_id": device_id})

    # -- start-up ------------------------------------------------------------------------

    async def register_first_party_clients(self) -> None:
        """The bundled web client: a public client allowed any redirect URI on
        this server's own origin, whose sign-ins need no consent screen."""
        await self._storage.oauth.save_client(
            ClientRecord(
                client_id=WEB_CLIENT_ID,
                client_secret_hash=None,
                token_endpoint_auth_method="none",
                application_type="web",
                client_name="Web client",
                client_uri=self.base_url + "/",
                redirect_uris=[self.base_url + "/"],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                extra_metadata={},
                first_party=True,
                created_ts=now_ms(),
            )
        )

    async def purge(self) -> int:
        now = now_ms()
        removed = await self._storage.oauth.purge(now, keep_codes_ms=86_400_000)
        removed += await self._storage.sessions.purge(now)
        return removed

    def close(self) -> None:
        self.bridge.close()

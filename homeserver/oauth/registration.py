"""Dynamic client registration (RFC 7591) with the Matrix rules: `client_uri`
(https) is required and is the common base of the other URIs; redirect URIs
follow `redirects.py`; unknown grant and response types are ignored."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from homeserver.handlers.tokens import hash_secret
from homeserver.oauth.models import OAuthClient
from homeserver.oauth.redirects import RedirectUriError, check_https_uri, check_redirect_uri
from homeserver.storage.oauth import ClientRecord
from homeserver.util import now_ms

if TYPE_CHECKING:
    from homeserver.oauth.server import OAuthBackend

GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_CODE_GRANT_TYPE)
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
HUMAN_URIS = ("logo_uri", "tos_uri", "policy_uri")
STRINGS = ("client_name", "client_uri", "token_endpoint_auth_method", "application_type")


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadataError(f"{name} must be an array of strings")
    return list(value)


class MatrixClientMetadataClaims(ClientMetadataClaims):
    REGISTERED_CLAIMS = [
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "contacts",
        "software_id",
        "software_version",
        "application_type",
    ]

    @classmethod
    def get_claims_options(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        # Unknown grant and response types are dropped (in `validate`), not refused.
        return {}

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        for name in STRINGS:
            if name in self and not isinstance(self[name], str):
                raise InvalidClientMetadataError(f"{name} must be a string")
        self.setdefault("application_type", "web")
        if self["application_type"] not in ("web", "native"):
            raise InvalidClientMetadataError("application_type must be web or native")
        self.setdefault("token_endpoint_auth_method", "client_secret_basic")
        if self["token_endpoint_auth_method"] not in AUTH_METHODS:
            raise InvalidClientMetadataError(
                "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post"
            )
        if "client_uri" not in self:
            raise InvalidClientMetadataError("client_uri is required")
        try:
            host = check_https_uri(self["client_uri"], None, "client_uri")
            for name in HUMAN_URIS:
                if name in self:
                    if not isinstance(self[name], str):
                        raise InvalidClientMetadataError(f"{name} must be a string")
                    check_https_uri(self[name], host, name)
        except RedirectUriError as exc:
            raise InvalidClientMetadataError(str(exc)) from exc
        grants = _string_list(self.get("grant_types", ["authorization_code"]), "grant_types")
        grants = [g for g in GRANT_TYPES if g in grants]
        if not grants or grants == ["refresh_token"]:
            raise InvalidClientMetadataError(
                "grant_types must include authorization_code or the device_code grant"
            )
        if "refresh_token" not in grants:
            grants.append("refresh_token")  # Matrix: every login grant comes with refresh
        self["grant_types"] = grants
        responses = _string_list(self.get("response_types", ["code"]), "response_types")
        self["response_types"] = ["code"] if "authorization_code" in grants else []
        if "authorization_code" in grants and "code" not in responses:
            raise InvalidClientMetadataError("response_types must include code")
        redirect_uris = _string_list(self.get("redirect_uris", []), "redirect_uris")
        if "authorization_code" in grants and not redirect_uris:
            raise InvalidRedirectURIError("redirect_uris is required for authorization_code")
        for uri in redirect_uris:
            try:
                check_redirect_uri(uri, self["application_type"], host)
            except RedirectUriError as exc:
                raise InvalidRedirectURIError(str(exc)) from exc
        self["redirect_uris"] = redirect_uris
        if "contacts" in self:
            self["contacts"] = _string_list(self["contacts"], "contacts")


class ClientRegistrationEndpoint(_ClientRegistrationEndpoint):
    """Open registration, as the Matrix API requires (the HTTP layer rate-limits
    it per IP address)."""

    def __init__(self, server: Any) -> None:
        super().__init__(server, claims_classes=[MatrixClientMetadataClaims])

    @property
    def backend(self) -> OAuthBackend:
        backend: OAuthBackend = self.server.backend
        return backend

    def authenticate_token(self, request: Any) -> bool:
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return self.backend.metadata()

    def generate_client_id(self, request: Any) -> str:
        return secrets.token_urlsafe(18)

    def generate_client_secret(self, request: Any) -> str:
        return secrets.token_urlsafe(32)

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        if request.payload.data.get("token_endpoint_auth_method") == "none":
            info.pop("client_secret", None)
            info.pop("client_secret_expires_at", None)
        return info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> OAuthClient:
        secret = client_info.get("client_secret")
        extra = {
            k: v
            for k, v in client_metadata.items()
            if k in (*HUMAN_URIS, "contacts", "software_id", "software_version")
        }
        record = ClientRecord(
            client_id=client_info["client_id"],
            client_secret_hash=hash_secret(secret) if secret else None,
            token_endpoint_auth_method=client_metadata["token_endpoint_auth_method"],
            application_type=client_metadata["application_type"],
            client_name=client_metadata.get("client_name"),
            client_uri=client_metadata.get("client_uri"),
            redirect_uris=client_metadata["redirect_uris"],
            grant_types=client_metadata["grant_types"],
            response_types=client_metadata["response_types"],
            extra_metadata=extra,
            created_ts=now_ms(),
        )
        backend = self.backend
        backend.wait(backend.storage.oauth.save_client(record))
        return OAuthClient(record, backend.base_url)

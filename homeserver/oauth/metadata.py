"""Authorization server metadata (RFC 8414), also served as the Matrix
`GET /_matrix/client/v1/auth_metadata`."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from homeserver.handlers.tokens import API_SCOPE


def server_metadata(base_url: str, *, registration_enabled: bool) -> dict[str, Any]:
    oauth2 = f"{base_url}/oauth2"
    metadata: dict[str, Any] = {
        "issuer": base_url,
        "authorization_endpoint": f"{oauth2}/authorize",
        "token_endpoint": f"{oauth2}/token",
        "revocation_endpoint": f"{oauth2}/revoke",
        "introspection_endpoint": f"{oauth2}/introspect",
        "registration_endpoint": f"{oauth2}/registration",
        "device_authorization_endpoint": f"{oauth2}/device",
        "jwks_uri": f"{oauth2}/jwks.json",
        "scopes_supported": [API_SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT_TYPE],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "account_management_uri": f"{oauth2}/account",
        "account_management_actions_supported": [
            "org.matrix.devices_list",
            "org.matrix.device_view",
            "org.matrix.device_delete",
            "org.matrix.account_deactivate",
        ],
    }
    metadata["prompt_values_supported"] = ["create", "login"] if registration_enabled else ["login"]
    return metadata

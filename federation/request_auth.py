"""The `X-Matrix` Authorization scheme (spec "Request Authentication"), pure:
the signed JSON of a request, the header that carries its signature, parsing
that header and checking the signature.

The signed object is ``{"method", "uri", "origin", "destination", "content"}``
(``content`` only when the request has a body), signed as any JSON is; `uri`
is the request target as sent: the path as it went over the wire and the
query string, if any."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from homeserver.events import sign_json, verify_json_signature

SCHEME = "X-Matrix"


@dataclass(frozen=True)
class XMatrixCredentials:
    origin: str
    destination: str | None  # optional for servers older than spec v1.3
    key_id: str
    signature: str


def request_json(
    method: str, uri: str, origin: str, destination: str | None, content: Any | None
) -> dict[str, Any]:
    signed: dict[str, Any] = {"method": method.upper(), "uri": uri, "origin": origin}
    if destination is not None:
        signed["destination"] = destination
    if content is not None:
        signed["content"] = content
    return signed


def authorization_header(
    method: str,
    uri: str,
    origin: str,
    destination: str,
    content: Any | None,
    key_id: str,
    key: Ed25519PrivateKey,
) -> str:
    """The `Authorization` header value for a request from `origin`."""
    signed = sign_json(request_json(method, uri, origin, destination, content), origin, key_id, key)
    signature = signed["signatures"][origin][key_id]
    return (
        f'{SCHEME} origin="{origin}",destination="{destination}",key="{key_id}",sig="{signature}"'
    )


def parse_authorization(header: str) -> XMatrixCredentials:
    """The credentials in an `X-Matrix` header. Raises ValueError when the
    header is another scheme, malformed, or lacks origin, key or sig."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        raise ValueError("not an X-Matrix authorization")
    params = _parse_params(rest)
    missing = [name for name in ("origin", "key", "sig") if not params.get(name)]
    if missing:
        raise ValueError(f"X-Matrix authorization lacks {', '.join(missing)}")
    return XMatrixCredentials(
        params["origin"], params.get("destination"), params["key"], params["sig"]
    )


def _parse_params(text: str) -> dict[str, str]:
    """RFC 9110 auth-params: `name=value` pairs separated by commas, values
    tokens or quoted strings with backslash escapes. Colons are accepted in
    unquoted values, as older servers send them (`origin=example.org:8448`)."""
    params: dict[str, str] = {}
    index, length = 0, len(text)
    while index < length:
        while index < length and text[index] in " \t,":
            index += 1
        if index >= length:
            break
        equals = text.find("=", index)
        if equals < 0:
            raise ValueError("X-Matrix parameter without a value")
        name = text[index:equals].strip().lower()
        if not name or any(c in name for c in ' \t,"'):
            raise ValueError("malformed X-Matrix parameter name")
        index = equals + 1
        while index < length and text[index] in " \t":
            index += 1
        if index < length and text[index] == '"':
            value_chars: list[str] = []
            index += 1
            while True:
                if index >= length:
                    raise ValueError("unterminated quoted X-Matrix value")
                char = text[index]
                if char == "\\" and index + 1 < length:
                    value_chars.append(text[index + 1])
                    index += 2
                    continue
                index += 1
                if char == '"':
                    break
                value_chars.append(char)
            value = "".join(value_chars)
            while index < length and text[index] in " \t":
                index += 1
            if index < length and text[index] != ",":
                raise ValueError("unexpected text after a quoted X-Matrix value")
        else:
            comma = text.find(",", index)
            end = length if comma < 0 else comma
            value = text[index:end].strip()
            if any(c in value for c in ' \t"\\'):
                raise ValueError("malformed unquoted X-Matrix value")
            index = end
        params.setdefault(name, value)
    return params


def verify_request(
    credentials: XMatrixCredentials,
    method: str,
    uri: str,
    content: Any | None,
    public_key: Ed25519PublicKey,
) -> bool:
    """Whether the credentials' signature covers this request, by `public_key`."""
    signed = request_json(method, uri, credentials.origin, credentials.destination, content)
    signed["signatures"] = {credentials.origin: {credentials.key_id: credentials.signature}}
    return verify_json_signature(signed, credentials.origin, credentials.key_id, public_key)

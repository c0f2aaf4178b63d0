"""X-Matrix request signing and verification (spec "Request Authentication").

The vectors use the spec appendix's test signing key (seed
`YJDBA9Xnr2sV...`, server `domain`, key `ed25519:1`); the expected signatures
were computed with PyNaCl (libsodium, an independent ed25519) over the
canonical JSON written out by hand below, and PyNaCl reproduces the spec's own
vector for `{}` with that key."""

from __future__ import annotations

import pytest

from federation.request_auth import (
    XMatrixCredentials,
    authorization_header,
    parse_authorization,
    request_json,
    verify_request,
)
from homeserver.events import canonical_json, decode_signing_key, generate_signing_key, sign_json

SPEC_KEY_ID, SPEC_KEY = decode_signing_key("ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
SPEC_EMPTY_OBJECT_SIGNATURE = (
    "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
)

PUT_URI = "/_matrix/federation/v1/send/txn1?x=%23y"
PUT_CONTENT = {"room_alias": "#a:domain", "n": 1}
PUT_CANONICAL = (
    b'{"content":{"n":1,"room_alias":"#a:domain"},"destination":"remote.example.org:8448",'
    b'"method":"PUT","origin":"domain","uri":"/_matrix/federation/v1/send/txn1?x=%23y"}'
)
PUT_SIGNATURE = (
    "CRBwqUjCuJg5YkBQI714xwB0WM3wikh5CU/LcCla2EjCrH6L/eYsoadO6aUb9HJ/LuZjL/EN1jC27SHshUfTAQ"
)
GET_URI = "/_matrix/federation/v1/query/profile?user_id=%40alice%3Adomain"
GET_SIGNATURE = (
    "35LcxaLTZ7DfP2grabpM1nHKEMNjfuk2mhHv3x4VRE+ZET2Ke2D1qPffbhxciidW94hfwgsFDunK3Hlb+0rDAA"
)


def test_the_spec_key_signs_the_spec_vector() -> None:
    signed = sign_json({}, "domain", SPEC_KEY_ID, SPEC_KEY)
    assert signed["signatures"]["domain"]["ed25519:1"] == SPEC_EMPTY_OBJECT_SIGNATURE


def test_request_json_is_what_gets_signed() -> None:
    signed = request_json("put", PUT_URI, "domain", "remote.example.org:8448", PUT_CONTENT)
    assert canonical_json(signed) == PUT_CANONICAL


def test_header_carries_the_vector_signature() -> None:
    header = authorization_header(
        "PUT", PUT_URI, "domain", "remote.example.org:8448", PUT_CONTENT, SPEC_KEY_ID, SPEC_KEY
    )
    assert header == (
        'X-Matrix origin="domain",destination="remote.example.org:8448",'
        f'key="ed25519:1",sig="{PUT_SIGNATURE}"'
    )
    get_header = authorization_header(
        "GET", GET_URI, "domain", "remote.example.org", None, SPEC_KEY_ID, SPEC_KEY
    )
    assert parse_authorization(get_header).signature == GET_SIGNATURE


def test_a_vector_signature_verifies() -> None:
    credentials = XMatrixCredentials("domain", "remote.example.org", "ed25519:1", GET_SIGNATURE)
    assert verify_request(credentials, "GET", GET_URI, None, SPEC_KEY.public_key())


@pytest.mark.parametrize(
    ("method", "uri", "content", "destination"),
    [
        ("POST", GET_URI, None, "remote.example.org"),  # another method
        ("GET", "/_matrix/federation/v1/query/profile?user_id=%40bob%3Adomain", None, None),
        ("GET", GET_URI, {}, "remote.example.org"),  # a body that was not signed
        ("GET", GET_URI, None, "evil.example.org"),  # another destination
    ],
)
def test_any_change_breaks_the_signature(
    method: str, uri: str, content: object, destination: str | None
) -> None:
    credentials = XMatrixCredentials(
        "domain", destination or "remote.example.org", "ed25519:1", GET_SIGNATURE
    )
    assert not verify_request(credentials, method, uri, content, SPEC_KEY.public_key())


def test_another_key_does_not_verify() -> None:
    _, other = generate_signing_key()
    credentials = XMatrixCredentials("domain", "remote.example.org", "ed25519:1", GET_SIGNATURE)
    assert not verify_request(credentials, "GET", GET_URI, None, other.public_key())


def test_a_garbled_signature_does_not_verify() -> None:
    credentials = XMatrixCredentials("domain", "remote.example.org", "ed25519:1", "not base64!")
    assert not verify_request(credentials, "GET", GET_URI, None, SPEC_KEY.public_key())


def test_parse_accepts_the_spec_variants() -> None:
    parsed = parse_authorization(
        'X-Matrix  ORIGIN=origin.example.org:8448 , key="ed25519:k\\"1",\tsig="c2ln",'
        'destination="dest.example.org",extra=ignored'
    )
    assert parsed == XMatrixCredentials(
        "origin.example.org:8448", "dest.example.org", 'ed25519:k"1', "c2ln"
    )
    older = parse_authorization('x-matrix origin=o.example.org,key="ed25519:1",sig="c2ln"')
    assert older.destination is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        'X-Matrix origin="o",key="ed25519:1"',  # no sig
        'X-Matrix key="ed25519:1",sig="s"',  # no origin
        'X-Matrix origin="o,key="ed25519:1",sig="s"',  # unterminated quote
        "X-Matrix origin",
        'X-Matrix origin="o"junk,key="k",sig="s"',
    ],
)
def test_parse_rejects_malformed_headers(header: str) -> None:
    with pytest.raises(ValueError):
        parse_authorization(header)

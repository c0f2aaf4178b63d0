"""POST /pushers/set and GET /pushers, with the SSRF guard on (the default)."""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.matrix_client import V3, TestClient, User

SET = f"{V3}/pushers/set"
PUBLIC_GATEWAY = "https://93.184.215.14/_matrix/push/v1/notify"  # an address literal: no DNS


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def p256dh() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64url(
        key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def gateway_pusher(url: str = PUBLIC_GATEWAY, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "http",
        "app_id": "org.example.android",
        "pushkey": "fcm-token-1",
        "app_display_name": "Example",
        "device_display_name": "Pixel",
        "lang": "en",
        "data": {"url": url},
        **extra,
    }


def webpush_pusher(endpoint: str = "https://8.8.4.4/wpush/abc", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "webpush",
        "app_id": "org.example.web",
        "pushkey": p256dh(),
        "app_display_name": "Web",
        "device_display_name": "Firefox",
        "lang": "en",
        "data": {"url": endpoint, "auth": b64url(os.urandom(16))},
        **extra,
    }


async def listed(client: TestClient, user: User) -> list[dict[str, Any]]:
    return list((await client.get(f"{V3}/pushers", token=user.access_token)).ok()["pushers"])


async def test_set_list_update_and_delete(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    assert await listed(client, alice) == []
    (await client.post(SET, json=gateway_pusher(profile_tag="tag"), token=token)).ok()
    web = webpush_pusher()
    (await client.post(SET, json=web, token=token)).ok()
    pushers = await listed(client, alice)
    assert pushers == [
        {
            "pushkey": "fcm-token-1",
            "kind": "http",
            "app_id": "org.example.android",
            "app_display_name": "Example",
            "device_display_name": "Pixel",
            "profile_tag": "tag",
            "lang": "en",
            "data": {"url": PUBLIC_GATEWAY},
        },
        {
            "pushkey": web["pushkey"],
            "kind": "webpush",
            "app_id": "org.example.web",
            "app_display_name": "Web",
            "device_display_name": "Firefox",
            "lang": "en",
            "data": web["data"],
            "activated": True,
        },
    ]
    renamed = gateway_pusher(device_display_name="Pixel 9")
    (await client.post(SET, json=renamed, token=token)).ok()
    assert [p["device_display_name"] for p in await listed(client, alice)] == ["Pixel 9", "Firefox"]
    gone = {"kind": None, "app_id": "org.example.android", "pushkey": "fcm-token-1"}
    (await client.post(SET, json=gone, token=token)).ok()
    (await client.post(SET, json=gone, token=token)).ok()  # deleting twice is fine
    assert [p["kind"] for p in await listed(client, alice)] == ["webpush"]


async def test_append_decides_whether_other_users_keep_the_pushkey(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    (await client.post(SET, json=gateway_pusher(), token=alice.access_token)).ok()
    (await client.post(SET, json=gateway_pusher(append=True), token=bob.access_token)).ok()
    assert len(await listed(client, alice)) == 1
    (await client.post(SET, json=gateway_pusher(), token=bob.access_token)).ok()
    assert await listed(client, alice) == []
    assert len(await listed(client, bob)) == 1


async def test_urls_must_be_https_and_public(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    refused = [
        "http://93.184.215.14/_matrix/push/v1/notify",
        "https://127.0.0.1/_matrix/push/v1/notify",
        "https://localhost/_matrix/push/v1/notify",
        "https://10.1.2.3/_matrix/push/v1/notify",
        "https://192.168.1.1:8443/_matrix/push/v1/notify",
        "https://169.254.169.254/_matrix/push/v1/notify",
        "https://[::1]/_matrix/push/v1/notify",
        "https://[::ffff:127.0.0.1]/_matrix/push/v1/notify",
        "https://[fd00::1]/_matrix/push/v1/notify",
        "https://0.0.0.0/_matrix/push/v1/notify",
        "ftp://93.184.215.14/_matrix/push/v1/notify",
        "https:///_matrix/push/v1/notify",
    ]
    for url in refused:
        body = (await client.post(SET, json=gateway_pusher(url), token=token)).error(
            400, "M_INVALID_PARAM"
        )
        assert "data.url is not allowed" in body["error"], (url, body)
    body = (
        await client.post(SET, json=webpush_pusher("https://127.0.0.1/wpush/x"), token=token)
    ).error(400, "M_INVALID_PARAM")
    assert "non-public" in body["error"]
    assert await listed(client, alice) == []


async def test_bad_pushers(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    no_lang = gateway_pusher()
    del no_lang["lang"]
    del no_lang["data"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"app_id": "a", "pushkey": "k"}, "M_MISSING_PARAM", "kind"),
        (no_lang, "M_MISSING_PARAM", "lang, data"),
        (gateway_pusher(kind="email"), "M_INVALID_PARAM", "kind"),
        (gateway_pusher(app_id="x" * 65), "M_INVALID_PARAM", "app_id"),
        (gateway_pusher(pushkey="é" * 300), "M_INVALID_PARAM", "pushkey"),
        (gateway_pusher(pushkey=7), "M_BAD_JSON", "pushkey"),
        (gateway_pusher(data="url"), "M_BAD_JSON", "data"),
        (gateway_pusher(data={}), "M_MISSING_PARAM", "data.url"),
        (gateway_pusher("https://93.184.215.14/notify"), "M_INVALID_PARAM", "/_matrix/push/v1"),
        (
            gateway_pusher(data={"url": PUBLIC_GATEWAY, "format": "full"}),
            "M_INVALID_PARAM",
            "format",
        ),
        (gateway_pusher(data={"url": PUBLIC_GATEWAY, "x": "y" * 5000}), "M_INVALID_PARAM", "data"),
        (gateway_pusher(append="yes"), "M_BAD_JSON", "append"),
        (webpush_pusher(pushkey="not-a-key"), "M_INVALID_PARAM", "p256dh"),
        (webpush_pusher(pushkey=b64url(b"\x04" + b"\x01" * 64)), "M_INVALID_PARAM", "p256dh"),
        (
            webpush_pusher(data={"url": "https://8.8.4.4/w", "auth": "c2hvcnQ"}),
            "M_INVALID_PARAM",
            "data.auth",
        ),
        (
            webpush_pusher(data={"auth": b64url(os.urandom(16))}),
            "M_MISSING_PARAM",
            "data.url",
        ),
    ]
    for body, errcode, mentions in cases:
        error = (await client.post(SET, json=body, token=token)).error(400, errcode)
        assert mentions in error["error"], (body, error)
    (await client.post(SET, data=b"[]", token=token)).error(400, "M_BAD_JSON")
    assert await listed(client, alice) == []


async def test_earlier_draft_endpoint_field_is_accepted(client: TestClient) -> None:
    alice = await client.register("alice")
    body = webpush_pusher()
    body["data"] = {"endpoint": "https://8.8.4.4/wpush/x", "auth": body["data"]["auth"]}
    (await client.post(SET, json=body, token=alice.access_token)).ok()
    assert (await listed(client, alice))[0]["data"]["endpoint"].endswith("/wpush/x")


async def test_pushers_per_user_are_limited(client: TestClient) -> None:
    alice = await client.register("alice")
    for i in range(32):
        body = gateway_pusher(pushkey=f"key-{i}")
        (await client.post(SET, json=body, token=alice.access_token)).ok()
    too_many = gateway_pusher(pushkey="key-32")
    (await client.post(SET, json=too_many, token=alice.access_token)).error(400, "M_INVALID_PARAM")
    # Updating an existing one still works.
    again = gateway_pusher(pushkey="key-0", lang="fr")
    (await client.post(SET, json=again, token=alice.access_token)).ok()


async def test_authentication_is_required(client: TestClient) -> None:
    (await client.get(f"{V3}/pushers")).error(401, "M_MISSING_TOKEN")
    (await client.post(SET, json=gateway_pusher())).error(401, "M_MISSING_TOKEN")
    (await client.get(f"{V3}/pushers", token="nonsense")).error(401, "M_UNKNOWN_TOKEN")


async def test_capabilities_publish_the_vapid_key(client: TestClient) -> None:
    alice = await client.register("alice")
    caps = (await client.get(f"{V3}/capabilities", token=alice.access_token)).ok()
    webpush = caps["capabilities"]["m.webpush"]
    assert webpush["enabled"] is True
    assert "=" not in webpush["vapid"]
    raw = base64.urlsafe_b64decode(webpush["vapid"] + "=" * (-len(webpush["vapid"]) % 4))
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # a P-256 point
    assert raw[0] == 4 and len(raw) == 65

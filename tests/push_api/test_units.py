"""The pure parts of push: the SSRF guard's address rules, retry timing, rule
edits and merging, the wire payloads, the VAPID key file, the attention registry."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from homeserver.errors import MatrixError
from homeserver.handlers.push_rules import default_push_rules
from homeserver.push import rule_edits
from homeserver.push.attention import AttentionRegistry
from homeserver.push.gateway import pinned_request_target
from homeserver.push.notification import (
    Notification,
    gateway_request,
    priority,
    tweaks_for_actions,
    webpush_payload,
)
from homeserver.push.retry import RetryPolicy, parse_retry_after
from homeserver.push.ssrf import DestinationRefused, OutboundGuard, is_public_address
from homeserver.push.vapid import VAPID_KEY_FILE, load_or_create_vapid_key
from homeserver.storage.pushers import Pusher

# -- the SSRF guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "2001:db8::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


async def test_guard_resolves_names_before_deciding() -> None:
    guard = OutboundGuard(allow_private_addresses=False)
    with pytest.raises(DestinationRefused, match="localhost resolves to"):
        await guard.check("https://localhost:8448/x")
    with pytest.raises(DestinationRefused, match="only https"):
        await guard.check("http://8.8.8.8/x")
    with pytest.raises(DestinationRefused, match="cannot resolve"):
        await guard.check("https://no-such-host.invalid/x")
    with pytest.raises(DestinationRefused, match="not a valid URL"):
        await guard.check("https://8.8.8.8:99999/x")
    destination = await guard.check("https://8.8.8.8/x")
    assert (destination.host, destination.port, destination.addresses) == (
        "8.8.8.8",
        443,
        ("8.8.8.8",),
    )


async def test_guard_switched_off_allows_http_and_private_addresses() -> None:
    guard = OutboundGuard(allow_private_addresses=True)
    destination = await guard.check("http://localhost:8080/x")
    assert destination.port == 8080
    assert set(destination.addresses) <= {"127.0.0.1", "::1"}


async def test_requests_go_to_the_checked_address_keeping_the_name() -> None:
    guard = OutboundGuard(allow_private_addresses=True)
    destination = await guard.check("https://localhost:8443/_matrix/push/v1/notify")
    target, headers, extensions = pinned_request_target(destination, destination.addresses[0])
    assert target.host in ("127.0.0.1", "::1") and target.port == 8443
    assert target.path == "/_matrix/push/v1/notify"
    assert headers == {"Host": "localhost:8443"}
    assert extensions == {"sni_hostname": "localhost"}
    literal = await guard.check("https://[::1]/x")
    target, headers, extensions = pinned_request_target(literal, "::1")
    assert str(target) == "https://[::1]/x" and extensions == {}


# -- retries --------------------------------------------------------------------------


def test_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_seconds=2, max_delay_seconds=60)
    for attempt, low in [(1, 2), (2, 4), (3, 8), (4, 16)]:
        assert low <= policy.delay(attempt) <= low * 1.25
    assert policy.delay(9) == 60
    assert policy.delay(1, retry_after=7) == 7  # the service's word wins
    assert policy.delay(1, retry_after=3600) == 60


def test_retry_after_header() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = 1_700_000_000.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:15:00 GMT", now=now) == 100
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0


# -- rule edits -------------------------------------------------------------------------

USER = "@alice:example.org"


def test_merge_keeps_master_first_and_user_rules_before_defaults() -> None:
    defaults = default_push_rules(USER)
    mine = rule_edits.build_user_rule("override", "mine", {"conditions": [], "actions": []})
    changes = rule_edits.put_rule(None, "override", mine)
    changes = rule_edits.set_enabled(changes, defaults, "override", ".m.rule.master", True)
    changes = rule_edits.set_actions(changes, defaults, "underride", ".m.rule.message", [])
    merged = rule_edits.effective_rules(defaults, changes)
    assert [r["rule_id"] for r in merged["override"][:3]] == [
        ".m.rule.master",
        "mine",
        ".m.rule.suppress_notices",
    ]
    assert merged["override"][0]["enabled"] is True
    message = next(r for r in merged["underride"] if r["rule_id"] == ".m.rule.message")
    assert message["actions"] == []
    # The defaults themselves are untouched.
    assert default_push_rules(USER) == defaults
    assert defaults["override"][0]["enabled"] is False


def test_edits_return_new_documents() -> None:
    rule = rule_edits.build_user_rule("content", "a", {"pattern": "a", "actions": []})
    first = rule_edits.put_rule(None, "content", rule)
    second = rule_edits.delete_rule(first, "content", "a")
    assert [r["rule_id"] for r in first["user"]["content"]] == ["a"]
    assert second["user"]["content"] == []


def test_user_rule_limit() -> None:
    changes = rule_edits.empty_changes()
    changes["user"]["sender"] = [
        rule_edits.build_user_rule("sender", f"@u{i}:x", {"actions": []})
        for i in range(rule_edits.MAX_USER_RULES)
    ]
    extra = rule_edits.build_user_rule("sender", "@extra:x", {"actions": []})
    with pytest.raises(MatrixError, match="Too many"):
        rule_edits.put_rule(changes, "sender", extra)


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "event_property_is", "key": "content.x"},
        {"kind": "event_property_is", "key": "content.x", "value": 1.5},
        {"kind": "room_member_count", "is": 2},
        {"kind": "sender_notification_permission"},
    ],
)
def test_malformed_conditions(condition: dict[str, Any]) -> None:
    with pytest.raises(MatrixError):
        rule_edits.validate_conditions([condition])


def test_unknown_condition_kinds_are_accepted() -> None:
    assert rule_edits.validate_conditions([{"kind": "org.example.future"}])


# -- payloads --------------------------------------------------------------------------


def _pusher(kind: str, **data: Any) -> Pusher:
    return Pusher(
        user_id="@bob:example.org",
        app_id="app",
        pushkey="key",
        kind=kind,
        device_id="DEV",
        app_display_name="App",
        device_display_name="Phone",
        profile_tag=None,
        lang="en",
        data={"url": "https://gw.example/_matrix/push/v1/notify", **data},
        pushkey_ts=1_700_000_000_123,
    )


def _notification(**overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "event_id": "$e",
        "room_id": "!r:example.org",
        "event_type": "m.room.message",
        "sender": "@alice:example.org",
        "content": {"msgtype": "m.text", "body": "hi " * 100},
        "prio": "high",
        "unread": 0,
        "tweaks": {"sound": "default"},
        "sender_display_name": "A" * 150,
        "room_name": "Room",
    }
    values.update(overrides)
    return Notification(**values)


def test_tweaks_and_priority() -> None:
    actions = ["notify", {"set_tweak": "sound", "value": "ring"}, {"set_tweak": "highlight"}]
    assert tweaks_for_actions(actions) == {"sound": "ring", "highlight": True}
    assert priority("m.room.message", {"highlight": False}) == "low"
    assert priority("m.room.message", {"sound": "default"}) == "high"
    assert priority("m.room.encrypted", {}) == "high"


def test_gateway_request_omits_zero_counts_and_content_when_private() -> None:
    body = gateway_request(_notification(), _pusher("http"), include_content=False)
    notification = body["notification"]
    assert notification["counts"] == {}
    assert "content" not in notification
    assert notification["devices"][0]["pushkey_ts"] == 1_700_000_000


def test_webpush_payload_is_small_and_honours_event_id_only() -> None:
    full = webpush_payload(_notification(unread=4), _pusher("webpush"), include_content=True)
    assert len(full["body"]) == 200 and len(full["sender_display_name"]) == 100
    assert full["unread"] == 4 and full["prio"] == "high"
    minimal = webpush_payload(
        _notification(), _pusher("webpush", format="event_id_only"), include_content=True
    )
    assert set(minimal) == {"room_id", "event_id", "sender", "unread", "prio"}


# -- VAPID key ----------------------------------------------------------------------------


def test_vapid_key_is_created_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_vapid_key(tmp_path)
    second = load_or_create_vapid_key(tmp_path)
    assert first.public_key == second.public_key
    assert len(first.public_key) == 87 and "=" not in first.public_key
    mode = stat.S_IMODE(os.stat(tmp_path / VAPID_KEY_FILE).st_mode)
    assert mode == 0o600
    (tmp_path / VAPID_KEY_FILE).write_text("not a key")
    with pytest.raises(ValueError):
        load_or_create_vapid_key(tmp_path)


# -- attention ------------------------------------------------------------------------------


def test_attention_is_per_connection() -> None:
    registry = AttentionRegistry()
    tab, phone = object(), object()
    registry.report(tab, "@bob:x", "LAPTOP", "!a:x", True)
    registry.report(phone, "@bob:x", "PHONE", "!a:x", False)
    assert registry.is_watching("@bob:x", "!a:x")
    assert not registry.is_watching("@bob:x", "!b:x")
    assert not registry.is_watching("@carol:x", "!a:x")
    registry.forget(tab)
    assert not registry.is_watching("@bob:x", "!a:x")
    registry.forget(phone)
    registry.forget(phone)
    with pytest.raises(MatrixError):
        registry.on_focus_frame(tab, "@bob:x", "LAPTOP", {"room_id": "#alias:x", "focused": True})
    with pytest.raises(MatrixError):
        registry.on_focus_frame(tab, "@bob:x", "LAPTOP", {"room_id": None})

"""The push rule evaluator against our default rule set and hand-written rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from homeserver.handlers.push_rules import default_push_rules
from homeserver.push import PushContext, PushDecision, evaluate, room_is_muted
from homeserver.push.matching import split_dotted_key

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!room:example.org"
OTHER_ROOM = "!other:example.org"

SOUND = {"set_tweak": "sound", "value": "default"}


def context(**overrides: Any) -> PushContext:
    values: dict[str, Any] = {
        "user_id": ALICE,
        "display_name": "Alice",
        "member_count": 5,
        "sender_power_level": 0,
        "notification_power_levels": {"room": 50},
    }
    values.update(overrides)
    return PushContext(**values)


def message(body: str = "hello there", /, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": ROOM,
        "sender": BOB,
        "event_id": "$event",
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def rules() -> dict[str, Any]:
    return default_push_rules(ALICE)


def run(event: dict[str, Any], ruleset: dict[str, Any] | None = None, **ctx: Any) -> PushDecision:
    return evaluate(rules() if ruleset is None else ruleset, event, context(**ctx))


def rule(rule_id: str, conditions: list[dict[str, Any]], actions: list[Any]) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "default": False,
        "enabled": True,
        "conditions": conditions,
        "actions": actions,
    }


def find(ruleset: dict[str, Any], kind: str, rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in ruleset[kind] if r["rule_id"] == rule_id)
    return found


# --- the default rules --------------------------------------------------------------


def test_plain_message_in_group_room_notifies_without_highlight() -> None:
    decision = run(message())
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.message"
    assert decision.actions == ["notify", {"set_tweak": "highlight", "value": False}]


def test_plain_message_in_one_to_one_room_notifies_with_sound() -> None:
    decision = run(message(), member_count=2)
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.room_one_to_one"
    assert SOUND in decision.actions


def test_encrypted_events() -> None:
    event = {"type": "m.room.encrypted", "room_id": ROOM, "sender": BOB, "content": {}}
    assert run(event).rule_id == ".m.rule.encrypted"
    assert run(event, member_count=2).rule_id == ".m.rule.encrypted_room_one_to_one"
    assert run(event).notify


def test_notice_does_not_notify() -> None:
    decision = run(message(msgtype="m.notice"))
    assert not decision.notify
    assert decision.rule_id == ".m.rule.suppress_notices"
    assert decision.actions == []


@pytest.mark.parametrize("body", ["hey alice", "ALICE!", "Alice: look", "(alice)", "alice"])
def test_localpart_as_a_word_highlights(body: str) -> None:
    # The display name is set to something else so that only the content rule can match.
    decision = run(message(body), display_name="Wonderland")
    assert decision.notify
    assert decision.highlight
    assert decision.rule_id == ".m.rule.contains_user_name"


@pytest.mark.parametrize("body", ["alicesmith says hi", "malice", "alice_2", "alice2"])
def test_localpart_inside_a_word_does_not_highlight(body: str) -> None:
    decision = run(message(body), display_name="Wonderland")
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.message"


def test_display_name_highlights() -> None:
    decision = run(message("thanks Queen of Hearts."), display_name="Queen of Hearts")
    assert decision.highlight
    assert decision.rule_id == ".m.rule.contains_display_name"


def test_display_name_matches_case_insensitively_and_as_a_word() -> None:
    assert run(message("ping alice")).rule_id == ".m.rule.contains_display_name"
    assert not run(message("Alicesmith"), display_name="Alice").highlight


def test_display_name_is_literal_not_a_glob() -> None:
    decision = run(message("anything at all"), display_name="*")
    assert not decision.highlight


def test_missing_or_blank_display_name_never_matches() -> None:
    for name in (None, "", " "):
        decision = run(message("hello there everyone"), display_name=name)
        assert decision.rule_id == ".m.rule.message", name


def test_user_mention_highlights() -> None:
    event = message("hi", **{"m.mentions": {"user_ids": [ALICE]}})
    decision = run(event)
    assert decision.notify
    assert decision.highlight
    assert decision.rule_id == ".m.rule.is_user_mention"


def test_mention_of_someone_else_does_not_highlight() -> None:
    event = message("hi", **{"m.mentions": {"user_ids": [BOB]}})
    assert not run(event).highlight


def test_m_mentions_disables_the_legacy_mention_rules() -> None:
    # Per v1.7 the body-scanning rules apply only to events without m.mentions.
    event = message("alice Alice @room", **{"m.mentions": {}})
    decision = run(event, sender_power_level=100)
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.message"


def test_at_room_by_a_privileged_sender_highlights() -> None:
    decision = run(message("@room lunch!"), sender_power_level=50)
    assert decision.highlight
    assert decision.rule_id == ".m.rule.roomnotif"


def test_at_room_by_an_unprivileged_sender_only_notifies() -> None:
    decision = run(message("@room lunch!"), sender_power_level=0)
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.message"


def test_at_room_threshold_comes_from_notification_power_levels() -> None:
    event = message("@room lunch!")
    assert not run(event, sender_power_level=50, notification_power_levels={"room": 60}).highlight
    assert run(event, sender_power_level=10, notification_power_levels={"room": 10}).highlight
    # Without a "room" entry the level is 50.
    assert run(event, sender_power_level=50, notification_power_levels={}).highlight
    assert not run(event, sender_power_level=49, notification_power_levels={}).highlight


def test_at_room_must_be_a_word() -> None:
    assert not run(message("email me@roomservice.example"), sender_power_level=100).highlight


def test_room_mention_by_a_privileged_sender_highlights() -> None:
    event = message("everyone look", **{"m.mentions": {"room": True}})
    decision = run(event, sender_power_level=50)
    assert decision.highlight
    assert decision.rule_id == ".m.rule.is_room_mention"


def test_room_mention_by_an_unprivileged_sender_only_notifies() -> None:
    event = message("everyone look", **{"m.mentions": {"room": True}})
    decision = run(event, sender_power_level=49)
    assert decision.notify
    assert not decision.highlight


def test_room_mention_must_be_boolean_true() -> None:
    event = message("everyone look", **{"m.mentions": {"room": "true"}})
    assert not run(event, sender_power_level=100).highlight


def member(target: str, membership: str) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "room_id": ROOM,
        "sender": BOB,
        "state_key": target,
        "content": {"membership": membership},
    }


@pytest.mark.parametrize(
    ("target", "membership"),
    [(BOB, "join"), (BOB, "invite"), (ALICE, "join"), ("@carol:example.org", "leave")],
)
def test_member_events_do_not_notify(target: str, membership: str) -> None:
    decision = run(member(target, membership))
    assert not decision.notify
    assert decision.rule_id == ".m.rule.member_event"


def test_invite_for_the_user_notifies() -> None:
    decision = run(member(ALICE, "invite"))
    assert decision.notify
    assert not decision.highlight
    assert decision.rule_id == ".m.rule.invite_for_me"


def test_reaction_does_not_notify() -> None:
    event = {
        "type": "m.reaction",
        "room_id": ROOM,
        "sender": BOB,
        "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}},
    }
    decision = run(event, member_count=2)
    assert not decision.notify
    assert decision.rule_id == ".m.rule.reaction"


def test_edit_does_not_notify() -> None:
    event = message(
        "* hello again",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "hello again"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"},
        },
    )
    decision = run(event, member_count=2)
    assert not decision.notify
    assert decision.rule_id == ".m.rule.suppress_edits"


def test_reply_is_not_an_edit() -> None:
    event = message("me too", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}})
    assert run(event).notify


def test_tombstone_highlights_but_only_as_state() -> None:
    tombstone = {
        "type": "m.room.tombstone",
        "room_id": ROOM,
        "sender": BOB,
        "state_key": "",
        "content": {"body": "moved", "replacement_room": OTHER_ROOM},
    }
    assert run(tombstone).highlight
    del tombstone["state_key"]
    assert not run(tombstone).notify


def test_call_invite_rings() -> None:
    event = {"type": "m.call.invite", "room_id": ROOM, "sender": BOB, "content": {}}
    decision = run(event)
    assert decision.notify
    assert {"set_tweak": "sound", "value": "ring"} in decision.actions


def test_unmatched_event_type_does_not_notify() -> None:
    event = {"type": "m.room.topic", "room_id": ROOM, "sender": BOB, "state_key": ""}
    assert run(event) == PushDecision(notify=False, highlight=False, actions=[], rule_id=None)


def test_event_without_type_is_not_evaluated() -> None:
    ruleset = {"override": [rule("everything", [], ["notify"])]}
    event = message()
    assert run(event, ruleset).notify
    del event["type"]
    assert run(event, ruleset) == PushDecision(False, False, [], None)


def test_redacted_message_falls_through_to_the_message_rule() -> None:
    event = message()
    event["content"] = {}
    decision = run(event, display_name="Alice")
    assert decision.rule_id == ".m.rule.message"
    assert not decision.highlight


def test_non_string_body_matches_no_body_rule() -> None:
    event = message()
    event["content"]["body"] = ["alice"]
    assert not run(event).highlight


# --- master, disabled rules, room and sender rules ----------------------------------


def test_master_rule_silences_everything() -> None:
    ruleset = rules()
    find(ruleset, "override", ".m.rule.master")["enabled"] = True
    mentions = {"m.mentions": {"user_ids": [ALICE], "room": True}}
    for event in (message(), message("alice", **mentions), member(ALICE, "invite")):
        decision = run(event, ruleset, sender_power_level=100)
        assert not decision.notify
        assert decision.rule_id == ".m.rule.master"


def test_master_rule_wins_wherever_it_is_listed() -> None:
    ruleset = rules()
    master = find(ruleset, "override", ".m.rule.master")
    master["enabled"] = True
    ruleset["override"].remove(master)
    ruleset["override"].insert(0, rule("user_override", [], ["notify"]))
    ruleset["override"].append(master)
    assert run(message(), ruleset).rule_id == ".m.rule.master"


def test_disabled_rules_are_skipped() -> None:
    ruleset = rules()
    find(ruleset, "override", ".m.rule.suppress_notices")["enabled"] = False
    decision = run(message(msgtype="m.notice"), ruleset)
    assert decision.notify
    assert decision.rule_id == ".m.rule.message"


def test_disabled_content_rule_is_skipped() -> None:
    ruleset = rules()
    ruleset["content"][0]["enabled"] = False
    assert not run(message("alice"), ruleset, display_name=None).highlight


def test_room_rule_with_no_actions_mutes_that_room_only() -> None:
    ruleset = rules()
    ruleset["room"] = [{"rule_id": ROOM, "default": False, "enabled": True, "actions": []}]
    decision = run(message(), ruleset)
    assert not decision.notify
    assert decision.rule_id == ROOM
    other = message()
    other["room_id"] = OTHER_ROOM
    assert run(other, ruleset).notify
    assert room_is_muted(ruleset, ROOM)
    assert not room_is_muted(ruleset, OTHER_ROOM)


def test_room_rule_comes_after_overrides_and_content_rules() -> None:
    ruleset = rules()
    ruleset["room"] = [{"rule_id": ROOM, "default": False, "enabled": True, "actions": []}]
    assert run(message("alice"), ruleset).highlight
    assert run(message("hi", **{"m.mentions": {"user_ids": [ALICE]}}), ruleset).highlight


def test_room_rule_id_is_matched_exactly() -> None:
    ruleset = {"room": [{"rule_id": "!ROOM:example.org", "enabled": True, "actions": ["notify"]}]}
    assert not run(message(), ruleset).notify
    ruleset["room"][0]["rule_id"] = ROOM
    assert run(message(), ruleset).notify


def test_disabled_room_rule_does_not_mute() -> None:
    ruleset = rules()
    ruleset["room"] = [{"rule_id": ROOM, "default": False, "enabled": False, "actions": []}]
    assert run(message(), ruleset).notify
    assert not room_is_muted(ruleset, ROOM)


def test_room_is_muted_by_a_room_id_override() -> None:
    ruleset = rules()
    assert not room_is_muted(ruleset, ROOM)
    mute = rule(ROOM, [{"kind": "event_match", "key": "room_id", "pattern": ROOM}], [])
    ruleset["override"].insert(1, mute)
    assert room_is_muted(ruleset, ROOM)
    assert not room_is_muted(ruleset, OTHER_ROOM)
    assert not run(message(), ruleset).notify


def test_master_rule_is_not_a_room_mute() -> None:
    ruleset = rules()
    find(ruleset, "override", ".m.rule.master")["enabled"] = True
    assert not room_is_muted(ruleset, ROOM)


def test_room_is_muted_accepts_legacy_dont_notify() -> None:
    ruleset = rules()
    ruleset["room"] = [{"rule_id": ROOM, "enabled": True, "actions": ["dont_notify"]}]
    assert room_is_muted(ruleset, ROOM)
    assert not run(message(), ruleset).notify


def test_room_is_not_muted_by_a_notifying_or_narrower_rule() -> None:
    ruleset = rules()
    ruleset["room"] = [{"rule_id": ROOM, "enabled": True, "actions": ["notify"]}]
    narrower = rule(
        "quiet_bots",
        [
            {"kind": "event_match", "key": "room_id", "pattern": ROOM},
            {"kind": "event_match", "key": "sender", "pattern": "@bot*"},
        ],
        [],
    )
    ruleset["override"].append(narrower)
    not_room_id = rule(
        "body", [{"kind": "event_match", "key": "content.body", "pattern": ROOM}], []
    )
    ruleset["override"].append(not_room_id)
    assert not room_is_muted(ruleset, ROOM)


def test_sender_rule() -> None:
    ruleset = rules()
    ruleset["sender"] = [
        {"rule_id": BOB, "default": False, "enabled": True, "actions": ["notify", SOUND]}
    ]
    notice = message(msgtype="m.text")
    decision = run(notice, ruleset)
    assert decision.rule_id == BOB
    assert decision.actions == ["notify", SOUND]
    ruleset["sender"][0]["actions"] = []
    assert not run(message(), ruleset).notify
    carol = message()
    carol["sender"] = "@carol:example.org"
    assert run(carol, ruleset).notify


def test_user_content_rule_pattern_is_a_glob_over_words() -> None:
    ruleset = rules()
    ruleset["content"].insert(
        0, {"rule_id": "cake", "enabled": True, "pattern": "cake*lie", "actions": ["notify"]}
    )
    assert run(message("the Cake is a LIE."), ruleset).rule_id == "cake"
    assert run(message("cakelie"), ruleset).rule_id == "cake"
    assert run(message("cupcake is a lie"), ruleset).rule_id == ".m.rule.message"
    assert run(message("cake is a lier"), ruleset).rule_id == ".m.rule.message"


# --- actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "notify", "highlight"),
    [
        ([], False, False),
        (["dont_notify"], False, False),
        (["coalesce"], False, False),
        (["notify"], True, False),
        (["notify", {"set_tweak": "highlight"}], True, True),
        (["notify", {"set_tweak": "highlight", "value": True}], True, True),
        (["notify", {"set_tweak": "highlight", "value": False}], True, False),
        (["notify", {"set_tweak": "highlight", "value": "true"}], True, False),
        (
            ["notify", {"set_tweak": "highlight"}, {"set_tweak": "highlight", "value": False}],
            True,
            False,
        ),
        ([{"set_tweak": "highlight"}], False, False),
        (["dont_notify", {"set_tweak": "highlight"}], False, False),
        (["coalesce", "notify", {"set_tweak": "sound", "value": "x"}], True, False),
    ],
)
def test_actions(actions: list[Any], notify: bool, highlight: bool) -> None:
    ruleset = {"override": [rule("r", [], actions)]}
    decision = run(message(), ruleset)
    assert (decision.notify, decision.highlight) == (notify, highlight)
    assert decision.actions == actions
    assert decision.rule_id == "r"


def test_decision_actions_are_a_copy() -> None:
    ruleset = rules()
    decision = run(message(), ruleset)
    decision.actions.append("coalesce")
    assert find(ruleset, "underride", ".m.rule.message")["actions"] == [
        "notify",
        {"set_tweak": "highlight", "value": False},
    ]


def test_ruleset_is_not_modified() -> None:
    ruleset = rules()
    ruleset["override"][0]["enabled"] = True
    before = copy.deepcopy(ruleset)
    run(message(), ruleset)
    assert ruleset == before


# --- conditions ---------------------------------------------------------------------


def matches(condition: dict[str, Any], event: dict[str, Any], **ctx: Any) -> bool:
    return run(event, {"override": [rule("r", [condition], ["notify"])]}, **ctx).notify


def test_rule_without_conditions_matches_everything() -> None:
    assert run(message(), {"underride": [rule("r", [], ["notify"])]}).notify


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("lunc?*", "Lunch plans", True),
        ("lunc?*", "LUNCH", True),
        ("lunc?*", " lunch", False),
        ("lunc?*", "lunc", False),
        ("lunch", "lunch plans", False),  # the whole value, not a substring
        ("*", "", True),
        ("", "", True),
        ("", "x", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a??*", "ab", False),
        ("a.c", "abc", False),  # regex characters are literal
        ("[ab]", "a", False),
        ("[ab]", "[AB]", True),
        ("multi*", "multi\nline", True),
    ],
)
def test_event_match_globs_the_whole_value(pattern: str, value: str, expected: bool) -> None:
    event = {"type": "m.room.topic", "room_id": ROOM, "content": {"topic": value}}
    condition = {"kind": "event_match", "key": "content.topic", "pattern": pattern}
    assert matches(condition, event) is expected


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        ("ex*ple", "An example event.", True),
        ("ex*ple", "exple", True),
        ("ex*ple", "An exciting triple-whammy", True),
        ("ex*ple", "An examples event", False),
        ("beer", "Beer?", True),
        ("beer", "rootbeer", False),
        ("beer", "beer_time", False),
        ("beer", "beer-time", True),
        ("beer", "café beer", True),
        ("beer", "beer你好", True),  # only ASCII letters, digits and _ are word characters
        ("beer", "beer\u212a", True),  # the Kelvin sign is not the letter K
        ("b?er", "a bier garden", True),
        ("@room", "hey @room", True),
        ("@room", "@roomy", False),
    ],
)
def test_event_match_on_body_matches_words(pattern: str, body: str, expected: bool) -> None:
    condition = {"kind": "event_match", "key": "content.body", "pattern": pattern}
    assert matches(condition, message(body)) is expected


def test_event_match_needs_a_string_value() -> None:
    event = message(count=3, flag=True, nothing=None, obj={"a": "b"})
    for key in ("content.count", "content.flag", "content.nothing", "content.obj", "content.x"):
        assert not matches({"kind": "event_match", "key": key, "pattern": "*"}, event), key


def test_event_match_needs_key_and_pattern() -> None:
    assert not matches({"kind": "event_match", "key": "type"}, message())
    assert not matches({"kind": "event_match", "pattern": "*"}, message())
    assert matches({"kind": "event_match", "key": "type", "pattern": "*"}, message())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("m.replace", True),
        ("M.REPLACE", False),  # exact, unlike event_match
        ("m.*", False),
    ],
)
def test_event_property_is_strings(value: str, expected: bool) -> None:
    event = message(**{"m.relates_to": {"rel_type": "m.replace"}})
    condition = {
        "kind": "event_property_is",
        "key": "content.m\\.relates_to.rel_type",
        "value": value,
    }
    assert matches(condition, event) is expected


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (True, True, True),
        (True, "true", False),
        (1, True, False),
        (True, 1, False),
        (0, False, False),
        (1, 1, True),
        (2**53 - 1, 2**53 - 1, True),
        (2**53, 2**53, False),  # outside canonical JSON's integer range
        (1.0, 1, False),
        (None, None, True),
        ("null", None, False),
        ([1], [1], False),  # compound values never match
        ({"a": 1}, {"a": 1}, False),
    ],
)
def test_event_property_is_types(field: Any, value: Any, expected: bool) -> None:
    event = message(field=field)
    condition = {"kind": "event_property_is", "key": "content.field", "value": value}
    assert matches(condition, event) is expected


def test_event_property_is_null_needs_the_property_present() -> None:
    condition = {"kind": "event_property_is", "key": "content.absent", "value": None}
    assert not matches(condition, message())
    assert not matches({"kind": "event_property_is", "key": "content.absent"}, message(absent=None))


@pytest.mark.parametrize(
    ("array", "value", "expected"),
    [
        ([ALICE, BOB], ALICE, True),
        (["@ALICE:example.org"], ALICE, False),
        ([":example.org"], "example.org", False),
        ([1, 2], 2, True),
        ([True], 1, False),
        ([[ALICE], {"id": ALICE}], ALICE, False),  # compound items are ignored
        ([None], None, True),
        (ALICE, ALICE, False),  # not an array
        ("a", "a", False),  # a string is not an array of characters
        ({"0": ALICE}, ALICE, False),
        ([ALICE], [ALICE], False),
    ],
)
def test_event_property_contains(array: Any, value: Any, expected: bool) -> None:
    condition = {"kind": "event_property_contains", "key": "content.list", "value": value}
    assert matches(condition, message(list=array)) is expected


def test_dotted_key_escaping() -> None:
    # `content.m\.mentions.user_ids` reads the "m.mentions" property, never content.m.mentions.
    condition = {
        "kind": "event_property_contains",
        "key": "content.m\\.mentions.user_ids",
        "value": ALICE,
    }
    assert matches(condition, message(**{"m.mentions": {"user_ids": [ALICE]}}))
    assert not matches(condition, message(m={"mentions": {"user_ids": [ALICE]}}))
    unescaped = dict(condition, key="content.m.mentions.user_ids")
    assert matches(unescaped, message(m={"mentions": {"user_ids": [ALICE]}}))
    assert not matches(unescaped, message(**{"m.mentions": {"user_ids": [ALICE]}}))


def test_escaped_backslash_in_key() -> None:
    condition = {"kind": "event_match", "key": "content.a\\\\.b", "pattern": "yes"}
    assert matches(condition, message(**{"a\\": {"b": "yes"}}))
    assert not matches(condition, message(**{"a\\.b": "yes"}))


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("content.body", ("content", "body")),
        ("content.m\\.mentions.room", ("content", "m.mentions", "room")),
        ("a\\\\.b", ("a\\", "b")),
        ("a\\\\\\.b", ("a\\.b",)),
        ("a\\b", ("a\\b",)),  # other escapes are left as they are
        ("a\\", ("a\\",)),
        ("", ("",)),
        ("a..b", ("a", "", "b")),
    ],
)
def test_split_dotted_key(key: str, parts: tuple[str, ...]) -> None:
    assert split_dotted_key(key) == parts


def test_paths_do_not_index_arrays() -> None:
    condition = {"kind": "event_match", "key": "content.list.0", "pattern": "x"}
    assert not matches(condition, message(list=["x"]))


@pytest.mark.parametrize(
    ("is_", "count", "expected"),
    [
        ("2", 2, True),
        ("2", 3, False),
        ("==2", 2, True),
        ("==2", 1, False),
        ("<2", 1, True),
        ("<2", 2, False),
        (">2", 3, True),
        (">2", 2, False),
        ("<=2", 2, True),
        ("<=2", 3, False),
        (">=2", 2, True),
        (">=2", 1, False),
        ("=2", 2, False),
        ("!=2", 3, False),
        ("2.0", 2, False),
        (" 2", 2, False),
        ("", 0, False),
        ("two", 2, False),
        ("٢", 2, False),  # decimal digits are ASCII only
    ],
)
def test_room_member_count(is_: str, count: int, expected: bool) -> None:
    condition = {"kind": "room_member_count", "is": is_}
    assert matches(condition, message(), member_count=count) is expected


def test_room_member_count_needs_a_string() -> None:
    assert not matches({"kind": "room_member_count", "is": 2}, message(), member_count=2)
    assert not matches({"kind": "room_member_count"}, message(), member_count=2)


def test_sender_notification_permission() -> None:
    condition = {"kind": "sender_notification_permission", "key": "room"}
    levels = {"room": 20}
    assert matches(condition, message(), sender_power_level=20, notification_power_levels=levels)
    assert not matches(
        condition, message(), sender_power_level=19, notification_power_levels=levels
    )
    custom = {"kind": "sender_notification_permission", "key": "custom"}
    assert matches(custom, message(), sender_power_level=50, notification_power_levels=levels)
    assert not matches(custom, message(), sender_power_level=49, notification_power_levels=levels)
    assert not matches(
        {"kind": "sender_notification_permission"}, message(), sender_power_level=100
    )


def test_contains_display_name_condition() -> None:
    condition = {"kind": "contains_display_name"}
    assert matches(condition, message("hi alice"), display_name="Alice")
    assert not matches(condition, message("hi alice"), display_name="Bob")
    assert matches(condition, message("ok [Bot]."), display_name="[Bot]")


def test_unknown_condition_kind_disables_the_rule() -> None:
    ruleset = rules()
    ruleset["override"].insert(
        1,
        rule(
            "future",
            [{"kind": "type", "is": "m.room.message"}, {"kind": "org.example.future"}],
            ["notify", {"set_tweak": "highlight"}],
        ),
    )
    decision = run(message(), ruleset)
    assert decision.rule_id == ".m.rule.message"
    assert not decision.highlight
    assert not matches({"key": "type", "pattern": "*"}, message())  # no kind at all


def test_all_conditions_must_hold() -> None:
    conditions = [
        {"kind": "event_match", "key": "type", "pattern": "m.room.message"},
        {"kind": "room_member_count", "is": ">10"},
    ]
    ruleset = {"override": [rule("big", conditions, ["notify"])]}
    assert run(message(), ruleset, member_count=11).notify
    assert not run(message(), ruleset, member_count=10).notify


def test_malformed_rules_do_not_match() -> None:
    ruleset: dict[str, Any] = {
        "override": [
            "not a rule",
            {
                "rule_id": "bad_conditions",
                "enabled": True,
                "conditions": "x",
                "actions": ["notify"],
            },
            {"rule_id": "bad_condition", "enabled": True, "conditions": [1], "actions": ["notify"]},
            {"rule_id": "off", "enabled": "yes", "conditions": [], "actions": ["notify"]},
        ],
        "content": [{"rule_id": "no_pattern", "enabled": True, "actions": ["notify"]}],
        "room": "nope",
    }
    assert run(message(), ruleset) == PushDecision(False, False, [], None)


def test_kind_order_override_content_room_sender_underride() -> None:
    everything: list[dict[str, Any]] = []
    ruleset: dict[str, Any] = {
        "underride": [rule("underride", everything, ["notify"])],
        "sender": [{"rule_id": BOB, "enabled": True, "actions": ["notify"]}],
        "room": [{"rule_id": ROOM, "enabled": True, "actions": ["notify"]}],
        "content": [{"rule_id": "content", "enabled": True, "pattern": "*", "actions": ["notify"]}],
        "override": [rule("override", everything, ["notify"])],
    }
    order = []
    for kind in ("override", "content", "room", "sender", "underride"):
        decision = run(message(), ruleset)
        order.append(decision.rule_id)
        ruleset[kind] = []
    assert order == ["override", "content", ROOM, BOB, "underride"]

"""Push rule evaluation (client-server spec, "Push Rules"), pure and I/O-free.

`evaluate` runs one user's rule set against one event and says whether the event
notifies and highlights. What the evaluator does not decide, the caller must:

- Never evaluate a user's own events: the spec forbids notifying for them, and no
  rule excludes them (`.m.rule.contains_display_name` would match your own name).
- Pass the room's facts at the event: the user's display name in that room, the
  joined member count, the sender's power level and `notifications` of the power
  levels (old room versions may hold strings there; convert them to ints first).
- Keep the rule order inside each kind: user-defined rules before server-default
  ones. Only `.m.rule.master` is moved ahead of everything here, wherever it sits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeserver.push.matching import (
    array_contains,
    canonical_scalar,
    contains_words,
    glob_matches,
    glob_matches_words,
    lookup,
)

RULE_KINDS: Final = ("override", "content", "room", "sender", "underride")
MASTER_RULE_ID: Final = ".m.rule.master"
DEFAULT_NOTIFICATION_LEVEL: Final = 50

# "dont_notify" and "coalesce" are historical: a rule holding only them is a rule
# with no actions.
LEGACY_ACTIONS: Final = frozenset({"dont_notify", "coalesce"})

# Deprecated in v1.7: these "should only be enabled if the event does not have an
# m.mentions property", so an event using intentional mentions skips them.
_LEGACY_MENTION_RULES: Final = frozenset(
    {
        ("override", ".m.rule.contains_display_name"),
        ("override", ".m.rule.roomnotif"),
        ("content", ".m.rule.contains_user_name"),
    }
)

_MEMBER_COUNT: Final = re.compile(r"(==|<=|>=|<|>)?([0-9]+)")


@dataclass(frozen=True)
class PushContext:
    """What the rules need to know besides the event."""

    user_id: str  # whose rules
    display_name: str | None  # the user's display name in that room
    member_count: int  # joined members of the room
    sender_power_level: int
    notification_power_levels: Mapping[str, int]  # power_levels.notifications


@dataclass(frozen=True)
class PushDecision:
    notify: bool
    highlight: bool  # only ever true together with notify
    actions: list[Any]  # the matching rule's actions as given, [] when none matched
    rule_id: str | None  # the matching rule, None when none matched


def evaluate(
    ruleset: Mapping[str, Any], event: Mapping[str, Any], context: PushContext
) -> PushDecision:
    """The first enabled rule that matches the event decides; no match, no notification."""
    if not isinstance(event.get("type"), str):
        return PushDecision(notify=False, highlight=False, actions=[], rule_id=None)
    content = event.get("content")
    has_mentions = isinstance(content, Mapping) and "m.mentions" in content
    for kind, rule in _rules_in_order(ruleset):
        if not _is_enabled(rule):
            continue
        if has_mentions and (kind, rule.get("rule_id")) in _LEGACY_MENTION_RULES:
            continue
        if _rule_matches(kind, rule, event, context):
            return _decide(rule)
    return PushDecision(notify=False, highlight=False, actions=[], rule_id=None)


def room_is_muted(ruleset: Mapping[str, Any], room_id: str) -> bool:
    """Whether an enabled rule silences the whole room: a room rule for it, or an
    override whose only conditions are `event_match` on `room_id` matching it,
    with no actions (legacy "dont_notify"/"coalesce" count as none)."""
    for rule in _rule_list(ruleset, "room"):
        if rule.get("rule_id") == room_id and _is_enabled(rule) and _is_silent(rule):
            return True
    for rule in _rule_list(ruleset, "override"):
        if _is_enabled(rule) and _is_silent(rule) and _only_targets_room(rule, room_id):
            return True
    return False


def _rule_list(ruleset: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    rules = ruleset.get(kind)
    if not isinstance(rules, list):
        return []
    return [rule for rule in rules if isinstance(rule, Mapping)]


def _rules_in_order(ruleset: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in RULE_KINDS:
        rules = _rule_list(ruleset, kind)
        if kind == "override":
            # A stable sort: the master rule first, the others in their order.
            rules.sort(key=lambda rule: rule.get("rule_id") != MASTER_RULE_ID)
        for rule in rules:
            yield kind, rule


def _is_enabled(rule: Mapping[str, Any]) -> bool:
    return rule.get("enabled", True) is True


def _rule_matches(
    kind: str, rule: Mapping[str, Any], event: Mapping[str, Any], context: PushContext
) -> bool:
    rule_id = rule.get("rule_id")
    if kind == "room":
        return isinstance(rule_id, str) and event.get("room_id") == rule_id
    if kind == "sender":
        return isinstance(rule_id, str) and event.get("sender") == rule_id
    if kind == "content":
        pattern = rule.get("pattern")
        body = lookup(event, "content.body")
        return (
            isinstance(pattern, str) and isinstance(body, str) and glob_matches_words(pattern, body)
        )
    conditions = rule.get("conditions", [])
    if not isinstance(conditions, list):
        return False
    return all(_condition_matches(condition, event, context) for condition in conditions)


def _condition_matches(condition: Any, event: Mapping[str, Any], context: PushContext) -> bool:
    if not isinstance(condition, Mapping):
        return False
    kind = condition.get("kind")
    key = condition.get("key")
    if kind == "event_match":
        pattern = condition.get("pattern")
        if not isinstance(key, str) or not isinstance(pattern, str):
            return False
        value = lookup(event, key)
        if not isinstance(value, str):
            return False
        if key == "content.body":
            return glob_matches_words(pattern, value)
        return glob_matches(pattern, value)
    if kind == "event_property_is":
        if not isinstance(key, str) or "value" not in condition:
            return False
        wanted = canonical_scalar(condition["value"])
        return wanted is not None and canonical_scalar(lookup(event, key)) == wanted
    if kind == "event_property_contains":
        if not isinstance(key, str) or "value" not in condition:
            return False
        return array_contains(lookup(event, key), condition["value"])
    if kind == "contains_display_name":
        name = context.display_name
        body = lookup(event, "content.body")
        # An empty name would match every body.
        if not name or not name.strip() or not isinstance(body, str):
            return False
        return contains_words(name, body)
    if kind == "room_member_count":
        return _member_count_matches(condition.get("is"), context.member_count)
    if kind == "sender_notification_permission":
        if not isinstance(key, str):
            return False
        required = context.notification_power_levels.get(key, DEFAULT_NOTIFICATION_LEVEL)
        return context.sender_power_level >= required
    # Unrecognised conditions must not match, which disables their rule.
    return False


def _member_count_matches(is_: Any, member_count: int) -> bool:
    if not isinstance(is_, str):
        return False
    parsed = _MEMBER_COUNT.fullmatch(is_)
    if parsed is None:
        return False
    operator, number = parsed.group(1) or "==", int(parsed.group(2))
    if operator == "==":
        return member_count == number
    if operator == "<":
        return member_count < number
    if operator == ">":
        return member_count > number
    if operator == "<=":
        return member_count <= number
    return member_count >= number


def _actions(rule: Mapping[str, Any]) -> list[Any]:
    actions = rule.get("actions")
    return list(actions) if isinstance(actions, list) else []


def _decide(rule: Mapping[str, Any]) -> PushDecision:
    actions = _actions(rule)
    notify = "notify" in actions
    highlight = False
    for action in actions:
        if isinstance(action, Mapping) and action.get("set_tweak") == "highlight":
            # A highlight tweak without a value means true; the last one wins.
            highlight = action.get("value", True) is True
    rule_id = rule.get("rule_id")
    return PushDecision(
        notify=notify,
        highlight=notify and highlight,
        actions=actions,
        rule_id=rule_id if isinstance(rule_id, str) else None,
    )


def _is_silent(rule: Mapping[str, Any]) -> bool:
    return all(isinstance(action, str) and action in LEGACY_ACTIONS for action in _actions(rule))


def _only_targets_room(rule: Mapping[str, Any], room_id: str) -> bool:
    conditions = rule.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        return False
    return all(
        isinstance(condition, Mapping)
        and condition.get("kind") == "event_match"
        and condition.get("key") == "room_id"
        and isinstance(condition.get("pattern"), str)
        and glob_matches(condition["pattern"], room_id)
        for condition in conditions
    )

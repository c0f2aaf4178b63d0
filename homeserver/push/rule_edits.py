"""A user's push rules: the server defaults merged with the user's changes, and
the edits the /pushrules API makes to those changes. Pure; nothing here does I/O.

The changes are one JSON document per user:

    {"user": {"override": [rule, ...], "content": [...], "room": [...],
              "sender": [...], "underride": [...]},     # most important first
     "defaults": {"override/.m.rule.master": {"enabled": true},
                  "underride/.m.rule.message": {"actions": [...]}}}

so the server's default rules can change with an upgrade while the user's
settings for them (enabled, actions) carry over.

Order in the effective rule set (client-server spec, "Push Rules"): within each
kind, the user's rules come before the server-default ones, except that
`.m.rule.master` stays the very first override rule."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from homeserver.errors import MatrixError
from homeserver.push.evaluator import MASTER_RULE_ID, RULE_KINDS

Doc = dict[str, Any]

MAX_USER_RULES: Final = 500
MAX_CONDITIONS: Final = 32
MAX_RULE_ID_LENGTH: Final = 255
ACTION_NAMES: Final = frozenset({"notify", "dont_notify", "coalesce"})

# What each known condition kind needs: field -> accepted types.
_CONDITION_FIELDS: Final[dict[str, dict[str, tuple[type, ...]]]] = {
    "event_match": {"key": (str,), "pattern": (str,)},
    "event_property_is": {"key": (str,)},
    "event_property_contains": {"key": (str,)},
    "contains_display_name": {},
    "room_member_count": {"is": (str,)},
    "sender_notification_permission": {"key": (str,)},
}


def not_found() -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", "The push rule was not found.")


def empty_changes() -> Doc:
    return {"user": {kind: [] for kind in RULE_KINDS}, "defaults": {}}


def _default_key(kind: str, rule_id: str) -> str:
    return f"{kind}/{rule_id}"


def _user_rules(changes: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    rules = changes.get("user", {}).get(kind, [])
    return rules if isinstance(rules, list) else []


def effective_rules(defaults: Mapping[str, Any], changes: Mapping[str, Any] | None) -> Doc:
    """The rule set GET /pushrules/ serves and the evaluator runs."""
    changes = changes or empty_changes()
    settings = changes.get("defaults", {})
    merged: Doc = {}
    for kind in RULE_KINDS:
        server_rules = []
        for rule in defaults.get(kind, []):
            rule = dict(rule)
            setting = settings.get(_default_key(kind, rule["rule_id"]), {})
            if "enabled" in setting:
                rule["enabled"] = setting["enabled"]
            if "actions" in setting:
                rule["actions"] = setting["actions"]
            server_rules.append(rule)
        user_rules = [dict(rule) for rule in _user_rules(changes, kind)]
        if kind == "override":
            first = [r for r in server_rules if r["rule_id"] == MASTER_RULE_ID]
            rest = [r for r in server_rules if r["rule_id"] != MASTER_RULE_ID]
            merged[kind] = first + user_rules + rest
        else:
            merged[kind] = user_rules + server_rules
    return merged


def check_kind(kind: str) -> None:
    if kind not in RULE_KINDS:
        raise MatrixError(
            400, "M_INVALID_PARAM", f"Unknown rule kind {kind[:40]!r}: one of {list(RULE_KINDS)}"
        )


def find_rule(ruleset: Mapping[str, Any], kind: str, rule_id: str) -> dict[str, Any]:
    check_kind(kind)
    for rule in ruleset.get(kind, []):
        if rule.get("rule_id") == rule_id:
            return dict(rule)
    raise not_found()


# -- validation -------------------------------------------------------------------


def validate_actions(actions: Any) -> list[Any]:
    if not isinstance(actions, list):
        raise MatrixError(400, "M_BAD_JSON", "actions must be an array")
    for action in actions:
        if isinstance(action, str):
            if action not in ACTION_NAMES:
                raise MatrixError(400, "M_INVALID_PARAM", f"Unknown action {action[:40]!r}")
        elif isinstance(action, dict):
            if not isinstance(action.get("set_tweak"), str) or not action["set_tweak"]:
                raise MatrixError(
                    400, "M_INVALID_PARAM", "An action object needs a set_tweak string"
                )
        else:
            raise MatrixError(400, "M_INVALID_PARAM", "An action is a string or an object")
    return list(actions)


def validate_conditions(conditions: Any) -> list[dict[str, Any]]:
    if not isinstance(conditions, list):
        raise MatrixError(400, "M_BAD_JSON", "conditions must be an array")
    if len(conditions) > MAX_CONDITIONS:
        raise MatrixError(400, "M_INVALID_PARAM", f"At most {MAX_CONDITIONS} conditions")
    for condition in conditions:
        if not isinstance(condition, dict) or not isinstance(condition.get("kind"), str):
            raise MatrixError(400, "M_BAD_JSON", "A condition is an object with a kind")
        # Unknown kinds are allowed: they never match (the spec says so).
        for name, types in _CONDITION_FIELDS.get(condition["kind"], {}).items():
            if not isinstance(condition.get(name), types):
                raise MatrixError(
                    400,
                    "M_BAD_JSON",
                    f"A {condition['kind']} condition needs {name} as a string",
                )
        if condition["kind"] in ("event_property_is", "event_property_contains") and (
            "value" not in condition or isinstance(condition["value"], dict | list | float)
        ):
            raise MatrixError(
                400,
                "M_BAD_JSON",
                f"A {condition['kind']} condition needs a string, integer, boolean or null value",
            )
    return [dict(condition) for condition in conditions]


def check_new_rule_id(rule_id: str) -> None:
    if not rule_id or len(rule_id) > MAX_RULE_ID_LENGTH:
        raise MatrixError(400, "M_INVALID_PARAM", "rule_id must be 1 to 255 characters")
    if rule_id.startswith("."):
        raise MatrixError(
            400, "M_INVALID_PARAM", "Rule ids starting with '.' are reserved for server rules"
        )
    if "/" in rule_id or "\\" in rule_id:
        raise MatrixError(400, "M_INVALID_PARAM", "Rule ids may not contain '/' or '\\'")


def build_user_rule(kind: str, rule_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The rule a PUT /pushrules/global/{kind}/{ruleId} body describes."""
    check_kind(kind)
    check_new_rule_id(rule_id)
    if "actions" not in body:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing actions")
    rule: dict[str, Any] = {
        "rule_id": rule_id,
        "default": False,
        "enabled": True,
        "actions": validate_actions(body["actions"]),
    }
    if kind == "content":
        pattern = body.get("pattern")
        if pattern is None:
            raise MatrixError(400, "M_MISSING_PARAM", "A content rule needs a pattern")
        if not isinstance(pattern, str) or not pattern:
            raise MatrixError(400, "M_BAD_JSON", "pattern must be a non-empty string")
        rule["pattern"] = pattern
    elif kind in ("override", "underride"):
        rule["conditions"] = validate_conditions(body.get("conditions", []))
    # room and sender rules match on their rule_id (a room or user id).
    return rule


# -- edits ---------------------------------------------------------------------------


def _copy(changes: Mapping[str, Any] | None) -> Doc:
    doc = copy.deepcopy(dict(changes)) if changes else empty_changes()
    doc.setdefault("user", {})
    for kind in RULE_KINDS:
        doc["user"].setdefault(kind, [])
    doc.setdefault("defaults", {})
    return doc


def _index(rules: list[dict[str, Any]], rule_id: str) -> int | None:
    for i, rule in enumerate(rules):
        if rule["rule_id"] == rule_id:
            return i
    return None


def put_rule(
    changes: Mapping[str, Any] | None,
    kind: str,
    rule: dict[str, Any],
    before: str | None = None,
    after: str | None = None,
) -> Doc:
    """Adds the user rule, or updates the one with its id (keeping its place
    and enabled state unless `before`/`after` moves it)."""
    doc = _copy(changes)
    rules: list[dict[str, Any]] = doc["user"][kind]
    existing = _index(rules, rule["rule_id"])
    if existing is not None:
        rule = {**rule, "enabled": rules[existing].get("enabled", True)}
        if before is None and after is None:
            rules[existing] = rule
            return doc
        rules.pop(existing)
    elif sum(len(doc["user"][k]) for k in RULE_KINDS) >= MAX_USER_RULES:
        raise MatrixError(400, "M_INVALID_PARAM", f"Too many push rules (at most {MAX_USER_RULES})")
    anchor = before if before is not None else after
    if anchor is None:
        rules.insert(0, rule)  # a new rule is the most important of its kind
        return doc
    if anchor.startswith("."):
        raise MatrixError(
            400, "M_INVALID_PARAM", "A rule cannot be placed relative to a server-default rule"
        )
    if anchor == rule["rule_id"]:
        raise MatrixError(400, "M_INVALID_PARAM", "A rule cannot be placed relative to itself")
    position = _index(rules, anchor)
    if position is None:
        raise MatrixError(400, "M_UNKNOWN", f"before/after rule not found: {anchor[:80]}")
    rules.insert(position if before is not None else position + 1, rule)
    return doc


def delete_rule(changes: Mapping[str, Any] | None, kind: str, rule_id: str) -> Doc:
    check_kind(kind)
    if rule_id.startswith("."):
        raise MatrixError(
            400, "M_INVALID_PARAM", "Server-default rules cannot be deleted; disable them instead"
        )
    doc = _copy(changes)
    rules = doc["user"][kind]
    position = _index(rules, rule_id)
    if position is None:
        raise not_found()
    rules.pop(position)
    return doc


def _set_attribute(
    changes: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    kind: str,
    rule_id: str,
    name: str,
    value: Any,
) -> Doc:
    check_kind(kind)
    doc = _copy(changes)
    position = _index(doc["user"][kind], rule_id)
    if position is not None:
        doc["user"][kind][position][name] = value
        return doc
    if not any(rule["rule_id"] == rule_id for rule in defaults.get(kind, [])):
        raise not_found()
    doc["defaults"].setdefault(_default_key(kind, rule_id), {})[name] = value
    return doc


def set_enabled(
    changes: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    kind: str,
    rule_id: str,
    enabled: bool,
) -> Doc:
    return _set_attribute(changes, defaults, kind, rule_id, "enabled", enabled)


def set_actions(
    changes: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    kind: str,
    rule_id: str,
    actions: list[Any],
) -> Doc:
    return _set_attribute(changes, defaults, kind, rule_id, "actions", actions)

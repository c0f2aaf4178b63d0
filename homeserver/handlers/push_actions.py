"""Deciding, as an event is sent, whom it notifies or highlights: the push
rules of every other joined member, evaluated once. Unread counts are the
count of these decisions after a user's read receipt, and pushes
(homeserver/push/dispatcher.py) read the same decisions, so counts and
notifications never disagree."""

from __future__ import annotations

from typing import Any, Protocol

from homeserver.events import get_user_power_level
from homeserver.push import PushContext, evaluate
from homeserver.storage import Storage
from homeserver.storage.receipts import PushAction

StateMap = dict[tuple[str, str], dict[str, Any]]


def may_notify(event: dict[str, Any]) -> bool:
    """Only these kinds of events can match a rule that notifies; skipping the
    rest saves evaluating every member's rules for every state change."""
    if "state_key" not in event:
        return True
    if event["type"] == "m.room.member":
        return bool(event["content"].get("membership") == "invite")
    return bool(event["type"] == "m.room.tombstone")


class RuleSource(Protocol):
    async def effective(self, user_id: str) -> dict[str, Any]: ...


class PushActions:
    def __init__(self, storage: Storage, rules: RuleSource) -> None:
        self._storage = storage
        self._rules = rules

    async def rules_for(self, user_id: str) -> dict[str, Any]:
        """The user's effective rules: defaults merged with their changes (cached)."""
        return await self._rules.effective(user_id)

    async def for_event(
        self, event: dict[str, Any], joined: dict[str, dict[str, Any]], auth_state: StateMap
    ) -> list[PushAction]:
        """`joined`: the member event content of each joined user, by user id."""
        sender = event["sender"]
        sender_level = get_user_power_level(sender, auth_state)
        notification_levels = _notification_levels(auth_state)
        recipients = set(joined)
        if event["type"] == "m.room.member" and event["content"].get("membership") == "invite":
            recipients.add(str(event.get("state_key")))
        actions = []
        for user_id in sorted(recipients):
            if user_id == sender:
                continue
            context = PushContext(
                user_id=user_id,
                display_name=_display_name(joined.get(user_id)),
                member_count=len(joined),
                sender_power_level=sender_level,
                notification_power_levels=notification_levels,
            )
            decision = evaluate(await self.rules_for(user_id), event, context)
            if decision.notify or decision.highlight:
                actions.append(
                    PushAction(user_id, decision.notify, decision.highlight, decision.actions)
                )
        return actions


def _display_name(content: dict[str, Any] | None) -> str | None:
    if content is None:
        return None
    name = content.get("displayname")
    return name if isinstance(name, str) and name else None


def _notification_levels(auth_state: StateMap) -> dict[str, int]:
    power_levels = auth_state.get(("m.room.power_levels", ""))
    levels = {"room": 50}
    if power_levels is not None:
        notifications = power_levels["content"].get("notifications")
        if isinstance(notifications, dict):
            for key, value in notifications.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    levels[str(key)] = value
    return levels

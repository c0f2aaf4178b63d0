"""Each user's effective push rules: read (cached in memory) by the evaluator
at every send, edited through the /pushrules API.

An edit stores the user's changes and publishes the new rule set as
`m.push_rules` account data in the same transaction, then wakes the user's
syncing clients, which is how Matrix clients learn of rule changes."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from homeserver.handlers.push_rules import default_push_rules
from homeserver.push import rule_edits
from homeserver.storage.push_rules import PushRuleStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions

Ruleset = dict[str, Any]
Edit = Callable[[dict[str, Any] | None], dict[str, Any]]

CACHE_SIZE = 10_000


class UserPushRules:
    def __init__(
        self,
        store: PushRuleStore,
        positions: Positions,
        notifier: Notifier,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._store = store
        self._positions = positions
        self._notifier = notifier
        self._cache: OrderedDict[str, Ruleset] = OrderedDict()
        self._cache_size = cache_size
        # Bumped by every edit: a read that started before an edit must not
        # put what it read into the cache afterwards.
        self._generation = 0
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- reading ---------------------------------------------------------------

    async def effective(self, user_id: str) -> Ruleset:
        """The user's rule set, server defaults merged with their changes.
        Shared with the cache: callers must not modify it."""
        cached = self._cache.get(user_id)
        if cached is not None:
            self._cache.move_to_end(user_id)
            return cached
        generation = self._generation
        rules = rule_edits.effective_rules(
            default_push_rules(user_id), await self._store.get(user_id)
        )
        if generation == self._generation:
            self._cache[user_id] = rules
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return rules

    async def rule(self, user_id: str, kind: str, rule_id: str) -> dict[str, Any]:
        return rule_edits.find_rule(await self.effective(user_id), kind, rule_id)

    # -- editing ---------------------------------------------------------------

    async def put_rule(
        self,
        user_id: str,
        kind: str,
        rule_id: str,
        body: dict[str, Any],
        before: str | None,
        after: str | None,
    ) -> None:
        rule = rule_edits.build_user_rule(kind, rule_id, body)
        await self._edit(user_id, lambda doc: rule_edits.put_rule(doc, kind, rule, before, after))

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> None:
        rule_edits.check_kind(kind)
        await self._edit(user_id, lambda doc: rule_edits.delete_rule(doc, kind, rule_id))

    async def set_enabled(self, user_id: str, kind: str, rule_id: str, enabled: bool) -> None:
        rule_edits.check_kind(kind)
        defaults = default_push_rules(user_id)
        await self._edit(
            user_id, lambda doc: rule_edits.set_enabled(doc, defaults, kind, rule_id, enabled)
        )

    async def set_actions(self, user_id: str, kind: str, rule_id: str, actions: Any) -> None:
        rule_edits.check_kind(kind)
        valid = rule_edits.validate_actions(actions)
        defaults = default_push_rules(user_id)
        await self._edit(
            user_id, lambda doc: rule_edits.set_actions(doc, defaults, kind, rule_id, valid)
        )

    def forget(self, user_id: str) -> None:
        """The user's rules may have changed elsewhere (another worker)."""
        self._generation += 1
        self._cache.pop(user_id, None)

    def clear(self) -> None:
        self._generation += 1
        self._cache.clear()

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def _edit(self, user_id: str, edit: Edit) -> None:
        defaults = default_push_rules(user_id)

        def publish(document: dict[str, Any]) -> dict[str, Any]:
            return {"global": rule_edits.effective_rules(defaults, document)}

        async with self._lock(user_id):
            try:
                async with self._positions.allocate() as position:
                    await self._store.edit(user_id, edit, publish, position)
            finally:
                self._generation += 1
                self._cache.pop(user_id, None)
        self._notifier.notify_users([user_id], position)

"""Closing an account for good: `POST /account/deactivate` and the account page.

In this order, so that nothing the user left running can act meanwhile:
1. the account is marked deactivated, which kills its access tokens at once
   (the token cache hears of it) and stops password and OAuth sign-in;
2. its sessions and devices are removed, and with them its refresh tokens;
3. it leaves every room it is in and declines its invites, so that the
   people it talked with see it go;
4. its pushers are removed, it goes offline, and its end-to-end encryption
   keys (device, one-time, fallback and cross-signing keys, signatures, key
   backups) and pending to-device messages are deleted;
5. with `erase`, its display name, avatar, account data and filters are
   deleted.

The user id stays taken: nobody can register it again and pass as this person
in rooms that still hold their messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from homeserver.errors import MatrixError
from homeserver.handlers.accounts import Accounts
from homeserver.handlers.e2ee.service import E2ee
from homeserver.handlers.membership import Membership
from homeserver.handlers.presence import PresenceHandler
from homeserver.push.pushers import Pushers
from homeserver.storage import Storage

logger = logging.getLogger(__name__)

LEFT_BEHIND = ("join", "invite", "knock")


@dataclass(frozen=True)
class DeactivationResult:
    rooms_left: int
    rooms_failed: int
    pushers_removed: int


class Deactivation:
    def __init__(
        self,
        storage: Storage,
        accounts: Accounts,
        membership: Membership,
        pushers: Pushers,
        presence: PresenceHandler,
        e2ee: E2ee,
    ) -> None:
        self._storage = storage
        self._accounts = accounts
        self._membership = membership
        self._pushers = pushers
        self._presence = presence
        self._e2ee = e2ee

    async def deactivate(self, user_id: str, *, erase: bool) -> DeactivationResult:
        users = self._storage.users
        await users.deactivate(user_id)
        await self._accounts.logout_all(user_id)
        left = failed = 0
        for row in await self._storage.events.get_rooms_for_user(user_id, LEFT_BEHIND):
            try:
                await self._membership.leave(row.room_id, user_id)
                left += 1
            except MatrixError as exc:
                # One room refusing (its rules, a race) must not keep the
                # account half-closed: the others are still left.
                failed += 1
                logger.warning(
                    "deactivated user could not leave a room",
                    extra={"user_id": user_id, "room_id": row.room_id, "error": exc.error},
                )
        removed = await self._pushers.remove_all(user_id)
        await self._presence.set_status(user_id, "offline", None)
        await self._e2ee.account_closed(user_id)
        if erase:
            await users.set_profile_field(user_id, "displayname", None)
            await users.set_profile_field(user_id, "avatar_url", None)
            await self._storage.account_data.erase_user(user_id)
        logger.info(
            "account deactivated",
            extra={"user_id": user_id, "erase": erase, "rooms_left": left, "rooms_failed": failed},
        )
        return DeactivationResult(left, failed, removed)

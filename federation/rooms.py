"""The room layer of federation, wired once over the homeserver: receiving
transactions (PDUs and EDUs) and answering other servers' reads."""

from __future__ import annotations

from typing import Any

from federation.backfill import Backfill
from federation.client import FederationClient
from federation.inbound_edus import InboundEdus
from federation.inbound_pdus import InboundPdus
from federation.invites import Invites
from federation.joins import ResidentJoins
from federation.keyring import Keyring
from federation.outbound.queue import OutboundQueues
from federation.remote_joins import RemoteJoins
from federation.room_reads import RoomReads
from federation.transactions import Transactions
from homeserver.server import HomeServer


class FederationRooms:
    def __init__(self, homeserver: HomeServer, keyring: Keyring, client: FederationClient) -> None:
        self.pdus = InboundPdus(homeserver, keyring, client)
        self.edus = InboundEdus(homeserver)
        self.transactions = Transactions(homeserver.storage.federation_rooms, self.pdus, self.edus)
        self.reads = RoomReads(homeserver)
        self.outbound = OutboundQueues(homeserver, client)
        self.joins = ResidentJoins(homeserver, self.pdus, self.reads, self.outbound)
        self.remote_joins = RemoteJoins(homeserver, client, self.pdus)
        self.invites = Invites(homeserver, client, self.pdus)
        self.backfill = Backfill(homeserver, client, self.pdus)
        self._homeserver = homeserver

    async def start(self) -> None:
        await self.outbound.start()
        self._homeserver.membership.remote = RemoteMembership(self.remote_joins, self.invites)

    async def stop(self) -> None:
        self._homeserver.membership.remote = None
        await self.outbound.stop()


class RemoteMembership:
    """What the homeserver's membership handler asks of federation (its
    `RemoteRooms`): joins and leaves through other servers, remote invites."""

    def __init__(self, joins: RemoteJoins, invites: Invites) -> None:
        self._joins = joins
        self._invites = invites

    async def join(
        self, room_id_or_alias: str, user_id: str, servers: list[str], reason: str | None
    ) -> str:
        return await self._joins.join(room_id_or_alias, user_id, servers, reason)

    async def leave(
        self, room_id: str, user_id: str, servers: list[str], reason: str | None
    ) -> dict[str, Any]:
        return await self._joins.leave(room_id, user_id, servers, reason)

    async def send_invite(self, event: dict[str, Any]) -> None:
        await self._invites.send_invite(event)

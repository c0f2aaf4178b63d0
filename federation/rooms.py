"""The room layer of federation, wired once over the homeserver: receiving
transactions (PDUs and EDUs) and answering other servers' reads."""

from __future__ import annotations

from federation.client import FederationClient
from federation.inbound_edus import InboundEdus
from federation.inbound_pdus import InboundPdus
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
        self._homeserver = homeserver

    async def start(self) -> None:
        await self.outbound.start()
        self._homeserver.membership.remote = self.remote_joins

    async def stop(self) -> None:
        self._homeserver.membership.remote = None
        await self.outbound.stop()

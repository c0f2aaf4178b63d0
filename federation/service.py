"""The federation services of one homeserver, wired once: the outbound
client, the keyring and the notary, over the homeserver's storage and keys."""

from __future__ import annotations

import asyncio

from federation.client import FederationClient, tls_context
from federation.e2ee_edus import InboundE2ee, OutboundE2ee
from federation.e2ee_queries import E2eeQueries
from federation.e2ee_remote import RemoteKeys
from federation.event_reads import EventReads
from federation.keyring import Keyring
from federation.notary import Notary
from federation.outbound_queries import OutboundQueries
from federation.queries import Queries
from federation.remote_media import RemoteMedia
from federation.rooms import FederationRooms
from homeserver.push.ssrf import OutboundGuard
from homeserver.server import HomeServer


class Federation:
    def __init__(self, homeserver: HomeServer, client: FederationClient) -> None:
        keys = homeserver.keys
        self.homeserver = homeserver
        self.server_name = homeserver.server_name
        self.client = client
        self.keyring = Keyring(
            homeserver.storage.server_keys,
            client.fetch_server_keys,
            self.server_name,
            {keys.event_key_id: keys.event_key.public_key()},
        )
        self.notary = Notary(
            homeserver.storage.server_keys,
            self.keyring,
            self.server_name,
            keys.event_key_id,
            keys.event_key,
        )
        self.queries = Queries(homeserver)
        self.event_reads = EventReads(homeserver)
        self.outbound_queries = OutboundQueries(client)
        self.rooms = FederationRooms(homeserver, self.keyring, client)
        self.e2ee_queries = E2eeQueries(homeserver)
        self.remote_keys = RemoteKeys(homeserver, client)
        self.e2ee_outbound = OutboundE2ee(homeserver, self.rooms.outbound)
        for edu_type, handler in InboundE2ee(homeserver, self.remote_keys).handlers().items():
            self.rooms.edus.register(edu_type, handler)

    @classmethod
    async def start(cls, homeserver: HomeServer) -> Federation:
        config = homeserver.config
        context = await asyncio.to_thread(tls_context, config.federation_ca_file)
        client = FederationClient(
            homeserver.server_name,
            homeserver.keys.event_key_id,
            homeserver.keys.event_key,
            OutboundGuard(config.federation_allow_private_addresses),
            context,
        )
        services = cls(homeserver, client)
        homeserver.attach_federation(services.outbound_queries)
        await services.rooms.start()
        homeserver.e2ee.device_keys.remote = services.remote_keys
        homeserver.media.remote = RemoteMedia(client)
        services.e2ee_outbound.start()
        return services

    async def stop(self) -> None:
        self.homeserver.attach_federation(None)
        self.homeserver.e2ee.device_keys.remote = None
        self.homeserver.media.remote = None
        self.e2ee_outbound.stop()
        await self.remote_keys.stop()
        await self.rooms.stop()
        await self.client.close()

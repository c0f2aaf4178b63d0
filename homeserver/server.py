"""The homeserver object: configuration, storage and the services, wired once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select

from homeserver.config import Config, ConfigError
from homeserver.handlers.accounts import Accounts
from homeserver.handlers.cluster import Cluster, instance_name
from homeserver.handlers.deactivation import Deactivation
from homeserver.handlers.directory import Directory
from homeserver.handlers.e2ee.service import E2ee
from homeserver.handlers.event_sender import EventSender
from homeserver.handlers.keys import (
    LEGACY_TOKEN_KEY_FILE,
    SUPPORTED_ALGORITHMS,
    TOKEN_KEYS_FILE,
    ServerKeys,
    load_or_create_keys,
)
from homeserver.handlers.media.repository import MediaRepository
from homeserver.handlers.membership import Membership
from homeserver.handlers.open_streams import OpenStreams
from homeserver.handlers.pagination import Pagination, RemoteHistory
from homeserver.handlers.passwords import Passwords
from homeserver.handlers.presence import PresenceHandler, PresenceSettings
from homeserver.handlers.profile import Profiles
from homeserver.handlers.push_actions import PushActions
from homeserver.handlers.receipts import ReceiptHandler
from homeserver.handlers.recent_events import RecentEvents
from homeserver.handlers.remote_queries import RemoteQueries
from homeserver.handlers.room_creation import RoomCreation
from homeserver.handlers.room_state import RoomState
from homeserver.handlers.search import Search
from homeserver.handlers.serialize import EventSerializer
from homeserver.handlers.sync import SyncHandler
from homeserver.handlers.tokens import TokenService
from homeserver.handlers.typing import TypingHandler
from homeserver.handlers.uia import UserInteractiveAuth
from homeserver.handlers.unread_cache import UnreadCache
from homeserver.handlers.user_rooms import UserRooms
from homeserver.handlers.visibility import Visibility
from homeserver.oauth.housekeeping import Housekeeping
from homeserver.oauth.service import OAuthService
from homeserver.operations.health import DatabaseHealth
from homeserver.operations.metrics import LiveFigures, Metrics
from homeserver.push.service import PushService, load_vapid_key
from homeserver.push.vapid import VapidKey
from homeserver.ratelimit import RateLimiter
from homeserver.storage import Storage
from homeserver.storage.stream_writers import StreamWriterStore
from homeserver.storage.writer_lock import WriterLock
from homeserver.streams.multi_writer import MultiWriterPositions
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions, StreamPositions

logger = logging.getLogger(__name__)


class HomeServer:
    def __init__(
        self,
        config: Config,
        storage: Storage,
        keys: ServerKeys,
        start: int,
        presence_settings: PresenceSettings | None = None,
        *,
        vapid: VapidKey,
        positions: Positions | None = None,
    ) -> None:
        self.config = config
        self.storage = storage
        self.keys = keys
        self.server_name = config.server_name
        self.positions: Positions = positions or StreamPositions(start)
        # A worker of a cluster (REDIS_URL): set by `start`.
        self.cluster: Cluster | None = None
        clustered = positions is not None
        self.notifier = Notifier(self.positions)
        self.passwords = Passwords(config.argon2_time_cost, config.argon2_memory_kib)
        self.tokens = TokenService(
            storage,
            keys,
            config.base_url,
            config.access_token_lifetime_seconds,
            refreshable_lifetime_seconds=config.refreshable_access_lifetime_seconds,
            refresh_lifetime_seconds=config.session_idle_lifetime_seconds,
        )
        self.accounts = Accounts(
            storage, self.passwords, self.tokens, self.server_name, config.password_min_length
        )
        self.uia = UserInteractiveAuth()
        self.push = PushService(config, storage, self.positions, self.notifier, vapid)
        self.push_actions = PushActions(storage, self.push.rules)
        self.sender = EventSender(
            storage, keys, self.server_name, self.positions, self.notifier, self.push_actions
        )
        self.sender.cluster = clustered
        storage.events.check_extremities = clustered
        self.typing = TypingHandler(storage, self.notifier)
        self.receipts = ReceiptHandler(storage, self.positions, self.notifier)
        self.sender.add_listener(self._after_event)
        if not clustered:
            # (A cluster's leader reads every worker's events instead.)
            self.sender.add_commit_listener(self.push.dispatcher.on_committed)
        self.user_rooms = UserRooms(storage, self.notifier)
        self.presence = PresenceHandler(storage, self.notifier, self.user_rooms, presence_settings)
        self.recent_events = RecentEvents(storage, self.notifier)
        self.unread = UnreadCache(
            storage, self.notifier, self.positions, self.sender.last_committed
        )
        if clustered:
            # Other workers' events never pass these listeners: the views are
            # read again from the database instead of counted forward.
            self.unread.cluster = True
            self.sender.add_commit_listener(self.unread.forget_committed)
            self.sender.add_commit_listener(self.recent_events.forget_committed)
        else:
            self.sender.add_commit_listener(self.unread.on_committed)
            self.sender.add_commit_listener(self.recent_events.on_committed)
        self.membership = Membership(storage, self.sender, self.server_name, self.user_rooms)
        self.rooms = RoomCreation(storage, self.sender, self.membership, self.server_name)
        self.room_state = RoomState(storage)
        self.visibility = Visibility(storage)
        self.serializer = EventSerializer(storage)
        self.pagination = Pagination(storage)
        self.e2ee = E2ee(storage, self.positions, self.notifier, self.user_rooms, self.server_name)
        self.search = Search(
            storage,
            self.positions,
            self.visibility,
            self.pagination,
            self.room_state,
            self.serializer,
        )
        self.sync = SyncHandler(
            storage,
            self.positions,
            self.notifier,
            self.visibility,
            self.room_state,
            self.serializer,
            self.typing,
            self.receipts,
            self.presence,
            self.push.rules.effective,
            self.user_rooms,
            self.recent_events,
            self.unread,
            self.e2ee.sync,
        )
        self.profiles = Profiles(storage, self.sender)
        self.open_streams = OpenStreams()
        storage.auth_changes.subscribe(self.open_streams)
        self.deactivation = Deactivation(
            storage, self.accounts, self.membership, self.push.pushers, self.presence, self.e2ee
        )
        self.directory = Directory(storage, self.server_name)
        self.media = MediaRepository(config, storage.media)
        enabled = config.rate_limits_enabled
        self.login_limiter = RateLimiter(
            config.rate_limit_login.per_second, config.rate_limit_login.burst, enabled=enabled
        )
        self.register_limiter = RateLimiter(
            config.rate_limit_register.per_second,
            config.rate_limit_register.burst,
            enabled=enabled,
        )
        self.send_limiter = RateLimiter(
            config.rate_limit_send.per_second, config.rate_limit_send.burst, enabled=enabled
        )
        self.media_limiter = RateLimiter(
            config.rate_limit_media.per_second, config.rate_limit_media.burst, enabled=enabled
        )
        self.oauth = OAuthService(
            config, storage, self.tokens, keys.tokens, keys.event_key.private_bytes_raw()
        )
        # Replaced by the lock `start` takes; a server built directly holds none.
        self.writer_lock = WriterLock()
        self.oauth_housekeeping = Housekeeping(
            config, keys.tokens, config.data_dir / TOKEN_KEYS_FILE, self.oauth
        )
        self.database_health = DatabaseHealth(storage)
        self.metrics = Metrics()
        self.metrics.watch(self._live_figures())

    def _live_figures(self) -> LiveFigures:
        return LiveFigures(
            events_persisted=lambda: self.sender.events_persisted,
            push_queue_depth=lambda: self.push.dispatcher.queue_depth,
            push_pending_deliveries=lambda: self.push.dispatcher.pending_deliveries,
            push_outcomes=self._push_outcomes,
            database_up=lambda: self.database_health.up,
            database_check_seconds=lambda: self.database_health.check_seconds,
        )

    def _push_outcomes(self) -> dict[str, int]:
        stats = self.push.dispatcher.stats
        return {
            "delivered": stats.delivered,
            "retried": stats.retried,
            "failed": stats.failed,
            "events_dropped": stats.events_dropped,
            "deliveries_dropped": stats.deliveries_dropped,
        }

    @classmethod
    async def start(cls, config: Config) -> HomeServer:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        if config.jwt_signing_alg not in SUPPORTED_ALGORITHMS:
            raise ConfigError(f"jwt_signing_alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}")
        keys = await asyncio.to_thread(
            load_or_create_keys,
            config.signing_key_path,
            config.data_dir / LEGACY_TOKEN_KEY_FILE,
            max(config.access_token_lifetime_seconds, config.refreshable_access_lifetime_seconds),
        )
        # Before migrations too: a running server's schema is not changed under
        # it. Workers of a cluster (REDIS_URL, PostgreSQL) share the lock.
        writer_lock = await WriterLock.acquire(
            config.effective_database_url, shared=bool(config.redis_url)
        )
        try:
            return await cls._start_locked(config, keys, writer_lock)
        except BaseException:
            await writer_lock.release()
            raise

    @classmethod
    async def _start_locked(
        cls, config: Config, keys: ServerKeys, writer_lock: WriterLock
    ) -> HomeServer:
        storage = await Storage.open(config.effective_database_url)
        positions: MultiWriterPositions | None = None
        try:
            start = await storage.max_stream_position()
            if config.redis_url:
                # This process's lifetime session (it holds the writer lock)
                # stands for it in `stream_writers`.
                assert writer_lock.connection is not None
                backend_pid = await writer_lock.connection.scalar(select(func.pg_backend_pid()))
                positions = MultiWriterPositions(
                    StreamWriterStore(storage.engine),
                    instance_name(config.port),
                    int(backend_pid or 0),
                )
                await positions.start(start)
                start = positions.current
            server = cls(
                config,
                storage,
                keys,
                start,
                PresenceSettings(
                    idle_after_seconds=config.presence_idle_seconds,
                    offline_grace_seconds=config.presence_offline_grace_seconds,
                    check_interval_seconds=min(
                        5.0, max(0.5, config.presence_offline_grace_seconds / 2)
                    ),
                ),
                vapid=await load_vapid_key(config),
                positions=positions,
            )
        except BaseException:
            if positions is not None:
                await positions.stop()
            await storage.close()
            raise
        server.writer_lock = writer_lock
        if positions is not None:
            server.cluster = Cluster(server, config.redis_url, positions.instance)
            server.cluster.start()
        await server.presence.start()
        await server.oauth.register_first_party_clients()
        if server.cluster is None:
            await server.push.start()
            await server.oauth_housekeeping.start()
            server.e2ee.housekeeping.start()
        else:
            # Push sending and housekeeping: on the cluster's leader only.
            await server.cluster.start_background()
        logger.info(
            "homeserver ready",
            extra={"server_name": config.server_name, "stream_position": start},
        )
        return server

    def attach_federation(
        self, remote: RemoteQueries | None, history: RemoteHistory | None = None
    ) -> None:
        """Federation (when enabled) answers for other servers' users and
        aliases, and fetches the history of rooms from before we joined them."""
        self.profiles.attach_remote(self.server_name, remote)
        self.directory.remote = remote
        self.pagination.remote = history

    async def _after_event(self, event: dict[str, Any]) -> None:
        """Sending a message ends typing and counts as activity."""
        if "state_key" not in event:
            self.typing.stop(event["room_id"], event["sender"])
            await self.presence.active(event["sender"])

    async def stop(self) -> None:
        if self.cluster is not None:
            await self.cluster.stop_background()
        else:
            await self.push.stop()
            await self.oauth_housekeeping.stop()
            await self.e2ee.housekeeping.stop()
        self.oauth.close()
        await self.presence.stop()
        await self.sender.drain()
        if self.cluster is not None:
            await self.cluster.stop()
        if isinstance(self.positions, MultiWriterPositions):
            await self.positions.stop()
        await self.storage.close()
        await self.writer_lock.release()

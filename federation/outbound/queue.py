"""One outbound queue per destination, kept in the database
(`federation_outbound_queue`): what our users do in rooms with other servers
goes there first, then out in transactions of up to 50 PDUs and 100 EDUs.

Each destination has its own sending task and its own back-off (doubling
from `INITIAL_BACKOFF_SECONDS` up to `MAX_BACKOFF_SECONDS`): one that is down
never delays the others. Rows leave the queue only once the destination
accepted the transaction; after a restart the queues resume from the
database. Once a destination's queue has been read whole, it is mirrored in
memory (`_Mirror`), so a live destination's sends read nothing back; one
that falls far behind goes back to reading the database in batches.

Only what happens after a server joins a room goes to it: an event is queued
for the servers in the room when it is sent, never for one that joins later
(that one asks for history with `/backfill`). Catch-up: a destination that
stays down keeps at most `MAX_QUEUED_PDUS` PDUs waiting (the oldest beyond
are dropped after each failed attempt); when it comes back it gets the newest
events, whose `prev_events` name what it lacks, and fills the rest with
`get_missing_events` (and `/state_ids` where that falls short)."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
from typing import Any, Final

from federation.client import FederationClient, FederationRequestError, quote_segment
from federation.inbound_pdus import as_federation_pdu
from federation.outbound.destinations import destinations_for
from homeserver.events.identifiers import server_name_of
from homeserver.server import HomeServer
from homeserver.storage.federation_rooms import QueuedItem
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MAX_PDUS: Final = 50
MAX_EDUS: Final = 100
INITIAL_BACKOFF_SECONDS: Final = 1.0
MAX_BACKOFF_SECONDS: Final = 300.0
# A destination with more than this waiting is read from the database again.
MIRROR_LIMIT: Final = 5_000
# A destination that is down keeps at most this many PDUs waiting (the newest).
MAX_QUEUED_PDUS: Final = 10_000
# Rows delivered from a mirrored queue leave the database with the next
# enqueue's transaction, or after this long (a crash meanwhile sends them
# again: PDUs and to-device messages are deduplicated by their receivers).
DELIVERED_FLUSH_SECONDS: Final = 1.0


class _Mirror:
    """One destination's queue in memory, in queue order, once the database's
    rows for it have all been read (`active`). Items queued while that read is
    under way are kept in `late` and merged by queue id."""

    def __init__(self) -> None:
        self.active = False
        self.loading = False
        self.late: list[QueuedItem] = []
        self.items: dict[str, list[QueuedItem]] = {"pdu": [], "edu": []}

    def add(self, item: QueuedItem) -> None:
        if self.active:
            bisect.insort(self.items[item.kind], item, key=_queue_order)
        elif self.loading:
            self.late.append(item)

    def load(self, pdus: list[QueuedItem], edus: list[QueuedItem]) -> None:
        seen = {item.queue_id for item in (*pdus, *edus)}
        merged = {"pdu": list(pdus), "edu": list(edus)}
        for item in self.late:
            if item.queue_id not in seen:
                merged[item.kind].append(item)
        self.items = {kind: sorted(items, key=_queue_order) for kind, items in merged.items()}
        self.late = []
        self.active = True

    def remove(self, sent: set[int]) -> None:
        for kind, items in self.items.items():
            self.items[kind] = [item for item in items if item.queue_id not in sent]

    def size(self) -> int:
        return sum(len(items) for items in self.items.values())

    def deactivate(self) -> None:
        self.active = False
        self.items = {"pdu": [], "edu": []}


def _queue_order(item: QueuedItem) -> int:
    return item.queue_id


class OutboundQueues:
    def __init__(self, homeserver: HomeServer, client: FederationClient) -> None:
        self._hs = homeserver
        self._store = homeserver.storage.federation_rooms
        self._client = client
        self._name = homeserver.server_name
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._mirrors: dict[str, _Mirror] = {}
        self._delivered: list[int] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._txn_prefix = str(now_ms())
        self._txn_counter = itertools.count(1)
        self._stopping = False

    async def start(self) -> None:
        self._hs.sender.add_listener(self.on_event)
        self._hs.typing.add_listener(self.on_typing)
        self._hs.receipts.add_listener(self.on_receipt)
        self._hs.presence.add_listener(self.on_presence)
        for destination in await self._store.queued_destinations():
            self._wake(destination)

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._tasks.values())
        if self._flush_task is not None:
            tasks.append(self._flush_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._flush_delivered()
        except Exception:
            logger.exception("could not remove delivered queue rows at shutdown")

    async def _flush_delivered(self) -> None:
        delivered, self._delivered = self._delivered, []
        try:
            await self._store.remove_queued(delivered)
        except BaseException:
            self._delivered = delivered + self._delivered
            raise

    async def _flush_later(self) -> None:
        await asyncio.sleep(DELIVERED_FLUSH_SECONDS)
        self._flush_task = None
        try:
            await self._flush_delivered()
        except Exception:
            logger.exception("could not remove delivered queue rows")

    def _is_ours(self, user_id: object) -> bool:
        return isinstance(user_id, str) and server_name_of(user_id) == self._name

    async def on_event(self, event: dict[str, Any]) -> None:
        """An event was persisted: our users' events go to the room's other servers."""
        if not self._is_ours(event.get("sender")):
            return
        room_id = event.get("room_id")
        if not isinstance(room_id, str):
            return
        destinations = await destinations_for(self._hs, room_id, self._name, event)
        await self.enqueue(destinations, "pdu", as_federation_pdu(event))

    async def on_typing(self, room_id: str, user_id: str, typing: bool) -> None:
        if not self._is_ours(user_id):
            return
        destinations = await destinations_for(self._hs, room_id, self._name)
        edu = {
            "edu_type": "m.typing",
            "content": {"room_id": room_id, "user_id": user_id, "typing": typing},
        }
        await self.enqueue(destinations, "edu", edu)

    async def on_receipt(
        self, room_id: str, user_id: str, receipt_type: str, event_id: str
    ) -> None:
        if not self._is_ours(user_id) or receipt_type != "m.read":
            return
        destinations = await destinations_for(self._hs, room_id, self._name)
        receipt = {"event_ids": [event_id], "data": {"ts": now_ms()}}
        edu = {"edu_type": "m.receipt", "content": {room_id: {"m.read": {user_id: receipt}}}}
        await self.enqueue(destinations, "edu", edu)

    async def on_presence(self, user_id: str, content: dict[str, Any]) -> None:
        """Our user's presence goes to every server sharing a room with them."""
        if not self._is_ours(user_id):
            return
        rooms = await self._hs.user_rooms.rooms_for_user(user_id)
        destinations: set[str] = set()
        for room in rooms:
            destinations.update(await destinations_for(self._hs, room.room_id, self._name))
        update = {"user_id": user_id, **content}
        edu = {"edu_type": "m.presence", "content": {"push": [update]}}
        await self.enqueue(sorted(destinations), "edu", edu)

    async def enqueue(self, destinations: list[str], kind: str, item: dict[str, Any]) -> None:
        if not destinations:
            return
        delivered, self._delivered = self._delivered, []
        try:
            queue_ids = await self._store.enqueue(
                destinations, kind, item, now_ms(), delivered=delivered
            )
        except BaseException:
            self._delivered = delivered + self._delivered
            raise
        for destination in destinations:
            mirror = self._mirrors.get(destination)
            if mirror is not None and destination in queue_ids:
                mirror.add(QueuedItem(queue_ids[destination], kind, item))
            self._wake(destination)

    def _wake(self, destination: str) -> None:
        if self._stopping:
            return
        self._wakeups.setdefault(destination, asyncio.Event()).set()
        task = self._tasks.get(destination)
        if task is None or task.done():
            self._tasks[destination] = asyncio.create_task(self._run(destination))

    async def _run(self, destination: str) -> None:
        wakeup = self._wakeups.setdefault(destination, asyncio.Event())
        mirror = self._mirrors.setdefault(destination, _Mirror())
        backoff = INITIAL_BACKOFF_SECONDS
        while True:
            wakeup.clear()
            pdus, edus = await self._next_batch(destination, mirror)
            if not pdus and not edus:
                await wakeup.wait()
                continue
            if await self._send(destination, pdus, edus):
                sent = {i.queue_id for i in (*pdus, *edus)}
                if mirror.active:
                    mirror.remove(sent)
                    self._delivered.extend(sent)
                    if self._flush_task is None and not self._stopping:
                        self._flush_task = asyncio.create_task(self._flush_later())
                else:
                    await self._store.remove_queued(sorted(sent))
                backoff = INITIAL_BACKOFF_SECONDS
                continue
            await self._trim(destination, mirror)
            if mirror.size() > MIRROR_LIMIT:
                mirror.deactivate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _trim(self, destination: str, mirror: _Mirror) -> None:
        """Keeps only the newest `MAX_QUEUED_PDUS` PDUs for a destination that
        is down: it catches up from those when it returns."""
        if mirror.active and len(mirror.items["pdu"]) <= MAX_QUEUED_PDUS:
            return
        await self._flush_delivered()  # what was delivered is not counted as waiting
        dropped = await self._store.trim_queue(destination, "pdu", MAX_QUEUED_PDUS)
        if dropped:
            logger.info(
                "queue trimmed for a destination that is down",
                extra={"destination": destination, "dropped": dropped},
            )
            mirror.deactivate()  # read back from the database

    async def _next_batch(
        self, destination: str, mirror: _Mirror
    ) -> tuple[list[QueuedItem], list[QueuedItem]]:
        """The oldest items waiting for `destination`, from memory once its
        whole queue is there, else from the database."""
        if not mirror.active:
            # Rows delivered but not yet deleted must not be read back as waiting.
            await self._flush_delivered()
            mirror.loading = True
            try:
                pdus = await self._store.peek_queue(destination, "pdu", MAX_PDUS)
                edus = await self._store.peek_queue(destination, "edu", MAX_EDUS)
            finally:
                mirror.loading = False
            if len(pdus) == MAX_PDUS or len(edus) == MAX_EDUS:
                mirror.late = []  # more rows than one batch: keep reading the database
                return pdus, edus
            mirror.load(pdus, edus)
        return mirror.items["pdu"][:MAX_PDUS], mirror.items["edu"][:MAX_EDUS]

    async def _send(self, destination: str, pdus: list[QueuedItem], edus: list[QueuedItem]) -> bool:
        txn_id = f"{self._txn_prefix}.{next(self._txn_counter)}"
        body = {
            "origin": self._name,
            "origin_server_ts": now_ms(),
            "pdus": [item.item for item in pdus],
            "edus": [item.item for item in edus],
        }
        try:
            await self._client.put_json(
                destination, f"/_matrix/federation/v1/send/{quote_segment(txn_id)}", body
            )
        except FederationRequestError as exc:
            # These answers will not get better by retrying: drop the batch.
            if exc.status in (400, 403, 404, 413):
                logger.warning(
                    "transaction refused", extra={"destination": destination, "error": str(exc)}
                )
                return True
            logger.info(
                "transaction not delivered", extra={"destination": destination, "error": str(exc)}
            )
            return False
        return True

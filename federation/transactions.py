"""Inbound transactions (`PUT /_matrix/federation/v1/send/{txnId}`): up to 50
PDUs and 100 EDUs from one origin, answered with a result per PDU. The answer
is stored by origin and transaction id, so a retried transaction gets the same
answer without being processed again; one transaction per origin at a time."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from federation.inbound_edus import InboundEdus
from federation.inbound_pdus import InboundPdus
from homeserver.errors import MatrixError
from homeserver.storage.federation_rooms import FederationRoomStore
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MAX_PDUS: Final = 50
MAX_EDUS: Final = 100


class Transactions:
    def __init__(self, store: FederationRoomStore, pdus: InboundPdus, edus: InboundEdus) -> None:
        self._store = store
        self._pdus = pdus
        self._edus = edus
        self._origin_locks: dict[str, asyncio.Lock] = {}

    async def receive(self, origin: str, txn_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise MatrixError(400, "M_BAD_JSON", "A transaction must be a JSON object")
        pdus = body.get("pdus", [])
        edus = body.get("edus", [])
        if not isinstance(pdus, list) or not isinstance(edus, list):
            raise MatrixError(400, "M_BAD_JSON", "pdus and edus must be arrays")
        if len(pdus) > MAX_PDUS or len(edus) > MAX_EDUS:
            raise MatrixError(
                400, "M_BAD_JSON", f"At most {MAX_PDUS} PDUs and {MAX_EDUS} EDUs per transaction"
            )
        lock = self._origin_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            done = await self._store.get_transaction_response(origin, txn_id)
            if done is not None:
                return done
            results: dict[str, Any] = {}
            for pdu in pdus:
                received = await self._pdus.receive(origin, pdu)
                if received.event_id:
                    results[received.event_id] = (
                        {} if received.error is None else {"error": received.error}
                    )
            for edu in edus:
                await self._edus.receive(origin, edu)
            response = {"pdus": results}
            await self._store.save_transaction_response(origin, txn_id, response, now_ms())
            return response

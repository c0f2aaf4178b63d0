"""The Redis pub/sub channel workers of a cluster tell each other news on
(wake-ups, cache invalidations, stream-writer progress).

Pub/sub loses what is published while a subscriber is disconnected, so the
feed never carries anything that only it knows: every message points at data
in PostgreSQL, and after each (re)connection `on_connected` is called so that
the worker re-reads what may have changed meanwhile (LESSONS.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis

from homeserver.util import json_dumps, json_loads

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]


class ClusterFeed:
    def __init__(
        self,
        redis_url: str,
        instance: str,
        *,
        channel: str = "homeserver",
        on_message: Handler,
        on_connected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[], None] | None = None,
        retry_seconds: float = 0.5,
    ) -> None:
        self._on_disconnected = on_disconnected
        # No read timeout (the subscription waits for messages); a bounded
        # connect and TCP keepalive, so that a Redis that is gone is noticed.
        self._client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=2, socket_keepalive=True
        )
        self._instance = instance
        self._channel = channel
        self._on_message = on_message
        self._on_connected = on_connected
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    async def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Best effort: a message lost here is made up for by the re-read
        every worker does after reconnecting and by its periodic refresh."""
        message = json_dumps({"from": self._instance, "kind": kind, "payload": payload})
        try:
            await self._client.publish(self._channel, message)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            logger.warning("cluster feed publish failed", extra={"kind": kind})

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                if self.connected:
                    logger.warning("cluster feed disconnected from Redis")
            except Exception:
                logger.exception("cluster feed failed")
            if self.connected and self._on_disconnected is not None:
                self._on_disconnected()
            self.connected = False
            await asyncio.sleep(self._retry_seconds)

    async def _listen(self) -> None:
        async with self._client.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            self.connected = True
            # Subscribed first, then re-read: nothing falls in between.
            await self._on_connected()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    decoded = json_loads(message["data"])
                    if decoded.get("from") == self._instance:
                        continue
                    self._on_message(str(decoded["kind"]), dict(decoded["payload"]))
                except Exception:
                    logger.exception("cluster feed message not handled")

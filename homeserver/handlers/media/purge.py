"""Deleting media: those nothing refers to any more (no stored event's JSON
nor any avatar URL mentions their mxc URI; a redacted event's stored JSON
has lost its content, so what it pointed to counts as unreferenced), all of
one user's or of every deactivated account, and the cache of other servers'
media."""

from __future__ import annotations

import re
from collections.abc import Sequence

from homeserver.handlers.media.files import MediaFiles
from homeserver.storage.media import MediaStore

_MXC = re.compile(r"mxc://([^/\s\"'\\]+)/([A-Za-z0-9_-]+)")


class MediaPurge:
    def __init__(self, store: MediaStore, files: MediaFiles, server_name: str) -> None:
        self.store = store
        self.files = files
        self.server_name = server_name

    async def unreferenced_before(self, before_ts: int) -> int:
        """Deletes media created before `before_ts` that nothing refers to;
        returns how many. Media referred to only inside encrypted events
        cannot be seen, and are deleted too."""
        candidates = await self.store.ids_created_before(before_ts)
        if not candidates:
            return 0
        referenced = await self._referenced()
        return await self._delete([m for m in candidates if m not in referenced])

    async def of_user(self, user_id: str) -> int:
        return await self._delete(await self.store.ids_of_user(user_id))

    async def of_deactivated_users(self) -> int:
        """All media of deactivated (and erased) accounts."""
        return await self._delete(await self.store.ids_of_deactivated_users())

    async def remote_fetched_before(self, before_ts: int) -> tuple[int, int]:
        """Forgets other servers' media cached before `before_ts` (fetched
        again when next asked for): how many media and thumbnails."""
        media_count, thumbnails, unused = await self.store.delete_remote_before(before_ts)
        for sha256 in unused:
            await self.files.remove(sha256)
        return media_count, thumbnails

    async def _referenced(self) -> set[str]:
        found: set[str] = set()
        async for text in self.store.texts_mentioning(f"mxc://{self.server_name}/"):
            for match in _MXC.finditer(text):
                if match.group(1) == self.server_name:
                    found.add(match.group(2))
        return found

    async def _delete(self, media_ids: Sequence[str]) -> int:
        for sha256 in await self.store.delete(media_ids):
            await self.files.remove(sha256)
        return len(media_ids)

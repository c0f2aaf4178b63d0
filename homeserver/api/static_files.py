"""Files from a folder of the package or the built web client, for any path
a client may send: outside the folder, too long for the file system, or with
characters no file name can hold, it is simply not there (None)."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path

from quart import Response


def _find(root: Path, relative: str) -> Path | None:
    try:
        base = root.resolve()
        candidate = (base / relative).resolve()
        if candidate.is_relative_to(base) and candidate.is_file():
            return candidate
    except (OSError, ValueError):  # ENAMETOOLONG, ELOOP, an embedded NUL...
        return None
    return None


async def find_file(root: Path, relative: str) -> Path | None:
    """The file `relative` names inside `root`, or None (checked off the event loop)."""
    return await asyncio.to_thread(_find, root, relative)


async def file_response(path: Path, cache_control: str) -> Response:
    content = await asyncio.to_thread(path.read_bytes)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(content, mimetype=mimetype)
    response.headers["Cache-Control"] = cache_control
    return response

"""Checks every request passes before an endpoint sees it, so that both
databases see the same input and no endpoint can forget them.

One rule for free text (handlers/free_text.py): no NUL character (U+0000)
anywhere — JSON strings (keys included), form fields, query and path
parameters: 400 (`M_BAD_JSON` in JSON, `M_INVALID_PARAM` elsewhere).
Lone surrogates never get this far: JSON with one is not JSON (`M_NOT_JSON`),
and percent-decoding replaces invalid UTF-8 in paths and queries.

Identifiers in paths are checked by their grammar (handlers/identifiers.py),
and every other path parameter is limited to 255 characters (event types and
state keys are limited to 255 bytes by the spec)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import request

from homeserver.errors import MatrixError
from homeserver.handlers.free_text import NUL, NUL_MESSAGE, has_nul
from homeserver.handlers.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    is_device_id,
    is_event_id,
    is_room_alias,
    is_room_id,
    is_user_id,
)

# Path parameters (by their name in the URL map) with a grammar of their own.
PATH_GRAMMARS: dict[str, tuple[Callable[[str], bool], str]] = {
    "room_id": (is_room_id, "room id"),
    "event_id": (is_event_id, "event id"),
    "user_id": (is_user_id, "user id"),
    "device_id": (is_device_id, "device id"),
    "room_alias": (is_room_alias, "room alias"),
    "room_id_or_alias": (lambda v: is_room_id(v) or is_room_alias(v), "room id or alias"),
}
# Paths into files (the web client, static assets): their views answer 404.
UNLIMITED_PATH_PARAMETERS = frozenset({"path", "filename"})


def check_json_text(value: Any) -> None:
    """400 M_BAD_JSON for a parsed JSON value holding a NUL character."""
    if has_nul(value):
        raise MatrixError(400, "M_BAD_JSON", NUL_MESSAGE)


def _invalid(message: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", message)


def check_path_parameters(view_args: dict[str, Any] | None) -> None:
    for name, value in (view_args or {}).items():
        if not isinstance(value, str):
            continue
        if NUL in value:
            raise _invalid(NUL_MESSAGE)
        grammar = PATH_GRAMMARS.get(name)
        if grammar is not None:
            accepts, what = grammar
            if not accepts(value):
                raise _invalid(f"Not a valid {what}: {value[:80]!r}")
        elif name not in UNLIMITED_PATH_PARAMETERS and (len(value) > MAX_IDENTIFIER_LENGTH):
            raise _invalid(f"{name} is longer than {MAX_IDENTIFIER_LENGTH} characters")


async def check_request() -> None:
    """The checks above for the current HTTP request (path, query, form)."""
    if NUL in request.path:
        raise _invalid(NUL_MESSAGE)
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            raise _invalid(NUL_MESSAGE)
    check_path_parameters(request.view_args)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form
        for key, value in form.items(multi=True):
            if NUL in key or NUL in value:
                raise _invalid(NUL_MESSAGE)

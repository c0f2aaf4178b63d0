"""The one rule for free text from clients, over HTTP and the WebSocket
stream alike: no NUL character (U+0000) in any string. PostgreSQL cannot
store it in text columns and SQLite would store it silently, so it is
refused at the edge with 400 and both databases see the same input."""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_MESSAGE = "Strings may not contain NUL (U+0000) characters"


def has_nul(value: Any) -> bool:
    """Whether any string in a JSON value (keys included) holds a NUL.
    Iterative, so that deeply nested input cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False

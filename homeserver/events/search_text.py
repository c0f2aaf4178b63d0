"""Which text of an event server-side search indexes (the spec's keys
`content.body` of m.room.message, `content.name` of m.room.name and
`content.topic` of m.room.topic, the latter also from the text/plain
representation in `m.topic`). Encrypted events have no plaintext and so
nothing to index."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SEARCH_KEYS: dict[str, str] = {
    "content.body": "m.room.message",
    "content.name": "m.room.name",
    "content.topic": "m.room.topic",
}


_WORDS = re.compile(r"\w+", re.UNICODE)
MAX_HIGHLIGHT_TERMS = 32


def _plain_topic(content: dict[str, Any]) -> str | None:
    topic = content.get("topic")
    if isinstance(topic, str) and topic:
        return topic
    rich = content.get("m.topic")
    representations = rich.get("m.text") if isinstance(rich, dict) else None
    if not isinstance(representations, list):
        return None
    for representation in representations:
        if not isinstance(representation, dict):
            continue
        body = representation.get("body")
        if representation.get("mimetype", "text/plain") == "text/plain" and isinstance(body, str):
            return body
    return None


def searchable_text(event: dict[str, Any]) -> tuple[str, str] | None:
    """(key, text) to index for the event, or None when it has none. NUL
    characters are dropped: PostgreSQL text cannot hold them."""
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    event_type = event.get("type")
    value: Any = None
    if event_type == "m.room.message":
        key, value = "content.body", content.get("body")
    elif event_type == "m.room.name" and event.get("state_key") == "":
        key, value = "content.name", content.get("name")
    elif event_type == "m.room.topic" and event.get("state_key") == "":
        key, value = "content.topic", _plain_topic(content)
    else:
        return None
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return (key, value) if value else None


def search_words(search_term: str) -> list[str]:
    """The words of a search term, case-folded, as search matches them."""
    words = dict.fromkeys(w.casefold() for w in _WORDS.findall(search_term))
    return list(words)[:MAX_HIGHLIGHT_TERMS]


def highlights(search_term: str, texts: Iterable[str]) -> list[str]:
    """The words to highlight in results: the search's words, and the words of
    the matched texts that they matched (search matches a word by its start,
    so "meet" highlights "meeting" and "Meetings"). Longest first."""
    terms = search_words(search_term)
    found = set(terms)
    prefixes = tuple(terms)
    for text in texts:
        for word in _WORDS.findall(text):
            if prefixes and word.casefold().startswith(prefixes):
                found.add(word)
    return sorted(found, key=lambda w: (-len(w), w))

"""The matching primitives push rule conditions are built from: dotted property
paths, glob patterns, word-boundary search and exact JSON value comparison.

Everything here is pure and cached where compiling is the expensive part, since a
server evaluates each event once per recipient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

# A `*`/`?` run such as `?*?` compiles to one bounded repetition (`.{2,}`), so that
# patterns like `*****a` cannot make the regex engine backtrack exponentially.
_WILDCARD_RUN: Final = re.compile(r"([^?*]*)([?*]*)")

# The spec's word characters. Case-insensitivity is switched off inside the class,
# because under IGNORECASE `[A-Za-z]` also matches a few non-ASCII letters
# (the Kelvin sign, the long s, ...).
_WORD_CHAR: Final = "(?-i:[A-Za-z0-9_])"
# A position is a word boundary unless it sits between two word characters, so a
# pattern starting or ending with a non-word character (`@room`) still matches.
_BOUNDARY: Final = f"(?:(?<!{_WORD_CHAR})|(?!{_WORD_CHAR}))"

_MAX_SAFE_INT: Final = 2**53 - 1


class Missing:
    """The type of `MISSING`: a property path that leads nowhere."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()


@lru_cache(maxsize=1024)
def split_dotted_key(key: str) -> tuple[str, ...]:
    """`content.m\\.mentions.user_ids` -> ("content", "m.mentions", "user_ids").

    `.` separates properties; `\\.` is a literal dot and `\\\\` a literal backslash.
    A backslash before anything else (or at the end) is kept as it is.
    """
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(key):
        char = key[i]
        if char == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            current.append(key[i + 1])
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def lookup(event: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted property path, or `MISSING`. Only objects are walked:
    a path never indexes into an array."""
    value: Any = event
    for part in split_dotted_key(key):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def canonical_scalar(value: Any) -> tuple[str, Any] | None:
    """A type-tagged form of a non-compound canonical JSON value (string, integer
    within +-(2**53 - 1), boolean, null), so that `true` never equals `1`; None for
    anything else (objects, arrays, floats, out-of-range integers)."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value) if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else None
    if isinstance(value, str):
        return ("str", value)
    return None


def array_contains(array: Any, value: Any) -> bool:
    """Whether a JSON array holds `value` exactly; elements that are not
    non-compound canonical JSON values are ignored."""
    wanted = canonical_scalar(value)
    if wanted is None or not isinstance(array, Sequence) or isinstance(array, str):
        return False
    return any(canonical_scalar(item) == wanted for item in array)


def _glob_body(pattern: str) -> str:
    chunks: list[str] = []
    for literal, wildcards in _WILDCARD_RUN.findall(pattern):
        chunks.append(re.escape(literal))
        if wildcards:
            count = wildcards.count("?")
            chunks.append(f".{{{count},}}" if "*" in wildcards else f".{{{count}}}")
    return "".join(chunks)


def _compile(body: str, words: bool) -> re.Pattern[str]:
    if words:
        body = f"{_BOUNDARY}{body}{_BOUNDARY}"
    return re.compile(body, re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, words: bool) -> re.Pattern[str]:
    return _compile(_glob_body(pattern), words)


@lru_cache(maxsize=1024)
def _literal_word_regex(text: str) -> re.Pattern[str]:
    return _compile(re.escape(text), True)


def glob_matches(pattern: str, value: str) -> bool:
    """Case-insensitive glob (`*` any run of characters, `?` exactly one) against
    the entire value."""
    return _glob_regex(pattern, False).fullmatch(value) is not None


def glob_matches_words(pattern: str, value: str) -> bool:
    """Case-insensitive glob against any substring of the value that starts and
    ends at a word boundary (the start or end of the value, or a character outside
    `[A-Za-z0-9_]`)."""
    return _glob_regex(pattern, True).search(value) is not None


def contains_words(text: str, value: str) -> bool:
    """Whether `text`, taken literally (no glob), occurs in the value
    case-insensitively at word boundaries."""
    return _literal_word_regex(text).search(value) is not None

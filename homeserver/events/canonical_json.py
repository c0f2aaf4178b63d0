"""Matrix canonical JSON encoding (spec appendix "Canonical JSON").

The output is the shortest UTF-8 JSON encoding of a value, with object keys sorted by
Unicode code point, no insignificant whitespace, non-ASCII characters written as raw
UTF-8 and only the escapes JSON requires. Numbers must be integers in the range
``[-(2**53)+1, (2**53)-1]``; floats are rejected.
"""

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER", "canonical_json"]

MAX_SAFE_INTEGER = 2**53 - 1
MIN_SAFE_INTEGER = -(2**53) + 1


def canonical_json(value: object) -> bytes:
    """Encode ``value`` as Matrix canonical JSON.

    Accepted inputs are ``None``, ``bool``, ``int``, ``str``, mappings with string keys,
    and lists or tuples (encoded as arrays), nested arbitrarily.

    Raises:
        ValueError: on floats, integers outside the canonical range, non-string object
            keys, strings that are not valid Unicode (lone surrogates), or any other type.
    """
    normalised = _normalise(value, "$")
    try:
        return orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:  # e.g. lone surrogates in a string
        raise ValueError(f"value cannot be encoded as canonical JSON: {exc}") from exc


def _normalise(value: object, path: str) -> Any:
    """Return a copy of ``value`` built only from plain JSON types, or raise ValueError.

    orjson would happily serialise floats, datetimes, dataclasses and the like; walking the
    value first lets us reject anything canonical JSON does not allow, and turns arbitrary
    mappings (e.g. ``MappingProxyType``) and tuples into dicts and lists.
    """
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # plain str content, even for (str, Enum) members
    if isinstance(value, int):
        number = int(value)
        if not MIN_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer at {path} is outside the canonical JSON range")
        return number
    if isinstance(value, float):
        raise ValueError(f"float at {path} is not allowed in canonical JSON")
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"object key {key!r} at {path} is not a string")
            result[str.__str__(key)] = _normalise(item, f"{path}.{key}")
        return result
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ValueError(f"value of type {type(value).__name__} at {path} is not JSON")

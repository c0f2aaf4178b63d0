"""Small helpers used everywhere: clocks, JSON, ids."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

import orjson

_ALNUM = string.ascii_letters + string.digits


def now_ms() -> int:
    return int(time.time() * 1000)


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))

import datetime
import json
from collections import OrderedDict
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from homeserver.events import canonical_json


def _parse_spec_json(text: str) -> Any:
    """Parse like a lenient server would: ``1e10`` is the integer 10000000000."""

    def integral(number: str) -> int:
        value = Decimal(number)
        if value != value.to_integral_value():
            raise ValueError(number)
        return int(value)

    return json.loads(text, parse_float=integral)


# The examples from the spec's appendix "Canonical JSON".
SPEC_EXAMPLES = [
    ("{}", "{}"),
    ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{
            "auth": {
                "success": true,
                "mxid": "@john.doe:example.com",
                "profile": {
                    "display_name": "John Doe",
                    "three_pids": [
                        {"medium": "email", "address": "john.doe@example.org"},
                        {"medium": "msisdn", "address": "123456789"}
                    ]
                }
            }
        }""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
    ('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'),
]


@pytest.mark.parametrize(("given", "expected"), SPEC_EXAMPLES)
def test_spec_examples(given: str, expected: str) -> None:
    assert canonical_json(_parse_spec_json(given)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Only the escapes the spec grammar allows, with lower-case hex digits.
        ("\x00\x07\x08\t\n\x0b\x0c\r\x1f", '"\\u0000\\u0007\\b\\t\\n\\u000b\\f\\r\\u001f"'),
        ('quote " and backslash \\', '"quote \\" and backslash \\\\"'),
        # No other escapes: slash, DEL, U+2028/2029 and astral characters stay raw.
        ("/\x7f\u2028\u2029\U0001f600", '"/\x7f\u2028\u2029\U0001f600"'),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ([1, "a", [], {}], '[1,"a",[],{}]'),
        ((1, 2), "[1,2]"),
        (2**53 - 1, "9007199254740991"),
        (-(2**53) + 1, "-9007199254740991"),
    ],
)
def test_encodes_values(value: object, expected: str) -> None:
    assert canonical_json(value) == expected.encode("utf-8")


def test_keys_sorted_by_code_point_not_utf16() -> None:
    # UTF-16 order would put U+1F600 (surrogate pair D83D...) before U+FB01.
    value = {"\U0001f600": 1, "\ufb01": 2, "Z": 3, "a": 4, "é": 5}
    assert canonical_json(value) == '{"Z":3,"a":4,"é":5,"ﬁ":2,"😀":1}'.encode()


def test_no_whitespace_and_nested_sorting() -> None:
    value = {"b": {"d": 1, "c": [{"z": 1, "y": 2}]}, "a": ""}
    assert canonical_json(value) == b'{"a":"","b":{"c":[{"y":2,"z":1}],"d":1}}'


def test_accepts_any_mapping() -> None:
    value = MappingProxyType({"b": 1, "a": OrderedDict([("y", 1), ("x", 2)])})
    assert canonical_json(value) == b'{"a":{"x":2,"y":1},"b":1}'


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        {"a": 0.5},
        [float("nan")],
        2**53,
        -(2**53),
        {"big": 2**64},
        {1: "non-string key"},
        {"when": datetime.datetime(2024, 1, 1)},
        {1, 2},
        b"bytes",
        object(),
        "lone surrogate \ud800",
    ],
)
def test_rejects_non_canonical_values(value: object) -> None:
    with pytest.raises(ValueError):
        canonical_json(value)


def test_matches_reference_encoder_for_unicode() -> None:
    text = "".join(chr(cp) for cp in range(0x0, 0x3000) if not 0xD800 <= cp <= 0xDFFF)
    expected = json.dumps(
        {"k": text}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")
    assert canonical_json({"k": text}) == expected

"""Authlib's request objects, built from a snapshot of the Quart request taken
on the event loop (form and JSON bodies are read asynchronously there), so the
Authlib code running in a worker thread never touches Quart's request context."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from werkzeug.datastructures import Headers, MultiDict


@dataclass(frozen=True)
class RequestData:
    method: str
    # The public URL (PUBLIC_BASEURL + path), which Authlib checks is https
    # (or loopback).
    url: str
    headers: Headers
    args: MultiDict[str, str] = field(default_factory=MultiDict)
    form: MultiDict[str, str] = field(default_factory=MultiDict)
    json: Any = None
    ip: str | None = None


class _Payload(OAuth2Payload):
    def __init__(self, values: MultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return self._values.to_dict()

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        result: defaultdict[str, list[str]] = defaultdict(list)
        for key in self._values:
            result[key].extend(self._values.getlist(key))
        return result


class OAuthRequest(OAuth2Request):
    """Parameters come from the query string for GET and from the form body
    otherwise, as RFC 6749 puts them."""

    def __init__(self, data: RequestData, params: MultiDict[str, str] | None = None) -> None:
        super().__init__(method=data.method, uri=data.url, headers=data.headers)
        self._data = data
        if params is None:
            params = data.args if data.method == "GET" else data.form
        self._params = params
        self.payload = _Payload(params)

    @property
    def args(self) -> MultiDict[str, str]:
        return self._data.args

    @property
    def form(self) -> MultiDict[str, str]:
        return self._params

    @property
    def ip(self) -> str | None:
        return self._data.ip


class _JsonPayload(JsonPayload):
    def __init__(self, body: Any) -> None:
        self._body = body

    @property
    def data(self) -> Any:
        return self._body


class OAuthJsonRequest(JsonRequest):
    def __init__(self, data: RequestData) -> None:
        super().__init__(data.method, data.url, data.headers)
        self.payload = _JsonPayload(data.json)

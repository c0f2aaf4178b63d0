"""Every route of the URL map, with its path parameters filled in, for tests
that must cover all endpoints (including ones added later) without a
hand-kept list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quart import Quart

from tests.contract import load_spec, match_path

_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[A-Za-z_]+)>")
METHODS = ("GET", "POST", "PUT", "DELETE")


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str
    params: tuple[str, ...]
    choices: dict[str, tuple[str, ...]]

    def path(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group("name")
            return values[name]

        return _PARAM.sub(fill, self.rule)

    @property
    def oauth(self) -> bool:
        """An OAuth 2.0 endpoint or page: errors in RFC 6749 form, or HTML."""
        return self.endpoint.startswith(("oauth.", "oauth_pages."))

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def http_routes(app: Quart) -> list[Route]:
    """(rule, method) for every HTTP route (WebSocket routes apart)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.websocket:
            continue
        params = []
        choices: dict[str, tuple[str, ...]] = {}
        for match in _PARAM.finditer(rule.rule):
            params.append(match.group("name"))
            if match.group("converter") == "any":
                options = [o.strip() for o in (match.group("args") or "").split(",")]
                choices[match.group("name")] = tuple(options)
        for method in sorted(rule.methods or ()):
            if method in METHODS:
                routes.append(Route(rule.rule, rule.endpoint, method, tuple(params), choices))
    return sorted(routes, key=str)


def websocket_rules(app: Quart) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules() if rule.websocket]


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The spec's operation for a concrete request path, if documented."""
    found = match_path(path)
    if found is None:
        return None
    template, _ = found
    op = load_spec()["paths"][template].get(method.lower())
    return op if isinstance(op, dict) else None


def _deref(node: Any) -> Any:
    spec = load_spec()
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for token in node["$ref"].removeprefix("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def body_fields(op: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    """(media type, top-level property names) of an operation's request body."""
    if op is None or "requestBody" not in op:
        return None, []
    content = _deref(op["requestBody"]).get("content", {})
    for media, entry in content.items():
        schema = _deref(entry.get("schema", {}))
        names: list[str] = list(schema.get("properties", {}))
        for part in schema.get("allOf", []) + schema.get("anyOf", []):
            names += list(_deref(part).get("properties", {}))
        return media, sorted(set(names))
    return None, []


def query_names(op: dict[str, Any] | None) -> list[str]:
    if op is None:
        return []
    return [
        p["name"] for p in (_deref(p) for p in op.get("parameters", [])) if p.get("in") == "query"
    ]


def is_public(op: dict[str, Any] | None) -> bool:
    """Whether the spec lets the operation be called without a token."""
    return op is not None and {} in op.get("security", [])

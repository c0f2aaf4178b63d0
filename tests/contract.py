"""Check HTTP responses against the OpenAPI contract in ``spec/openapi.yaml``.

The test suite calls :func:`check_response` on every response the server
produces. It finds the documented operation for the request (method + path),
the documented response for the status code, and validates a JSON body
against the response's schema (JSON Schema draft 2020-12, with ``$ref``
resolved inside the document).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "SPEC_PATH",
    "ContractError",
    "check_response",
    "load_spec",
    "match_path",
    "resolve_pointer",
    "validator_for_pointer",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "spec" / "openapi.yaml"

# The URI under which the whole document is registered for $ref resolution.
SPEC_URI = "urn:homeserver:openapi"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ContractError(AssertionError):
    """A response (or request) does not match the OpenAPI contract."""


@functools.cache
def load_spec() -> dict[str, Any]:
    """Load (once) and return the OpenAPI document as a plain dict."""
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    if not isinstance(spec, dict):
        raise ContractError(f"{SPEC_PATH} is not a YAML mapping")
    return spec


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(load_spec())
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str) -> str:
    return "".join("/" + _escape_pointer_token(t) for t in tokens)


def resolve_pointer(pointer: str) -> Any:
    """Return the node at a JSON pointer (``/a/b`` or ``#/a/b``) in the spec."""
    node: Any = load_spec()
    pointer = pointer.removeprefix("#")
    if not pointer:
        return node
    for raw in pointer.split("/")[1:]:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


def _follow_refs(node: Any, pointer: str) -> tuple[Any, str]:
    """Follow OpenAPI-level ``$ref``s (responses, parameters) to the target."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ContractError(f"unsupported $ref {ref!r} at {pointer} (must be local)")
        if ref in seen:
            raise ContractError(f"$ref cycle at {ref}")
        seen.add(ref)
        try:
            node = resolve_pointer(ref)
        except (KeyError, IndexError, ValueError) as exc:
            raise ContractError(f"$ref {ref!r} at {pointer} does not resolve") from exc
        pointer = ref[1:]
    return node, pointer


# --------------------------------------------------------------- path matching


@dataclass(frozen=True)
class _Template:
    template: str
    segments: tuple[str | None, ...]  # None = path parameter
    params: tuple[str, ...]


@functools.cache
def _templates() -> tuple[_Template, ...]:
    out = []
    for template in load_spec().get("paths", {}):
        segments: list[str | None] = []
        params: list[str] = []
        for seg in template.split("/")[1:]:
            if seg.startswith("{") and seg.endswith("}"):
                segments.append(None)
                params.append(seg[1:-1])
            else:
                segments.append(seg)
        out.append(_Template(template, tuple(segments), tuple(params)))
    return tuple(out)


def match_path(path: str) -> tuple[str, dict[str, str]] | None:
    """Find the spec path template matching a concrete request path.

    Returns ``(template, {param: decoded value})`` or ``None``. Each parameter
    matches exactly one (URL-decoded) segment; only the last segment of a
    path may be empty (e.g. an empty state key, ``.../state/m.room.name/``).
    When several templates match, literal segments win over parameters,
    comparing segment by segment from the left.
    """
    # A literal "#" is kept: it is part of an unencoded room alias, not a fragment.
    path = path.split("?", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    raw_segments = path.split("/")[1:]
    segments = [unquote(s) for s in raw_segments]
    best: tuple[tuple[int, ...], _Template] | None = None
    for tpl in _templates():
        if len(tpl.segments) != len(segments):
            continue
        score: list[int] = []
        for i, (want, got) in enumerate(zip(tpl.segments, segments, strict=True)):
            if want is None:
                if got == "" and i != len(segments) - 1:
                    break
                score.append(0)
            elif want == got:
                score.append(1)
            else:
                break
        else:
            key = tuple(score)
            if best is None or key > best[0]:
                best = (key, tpl)
    if best is None:
        return None
    tpl = best[1]
    values = [s for want, s in zip(tpl.segments, segments, strict=True) if want is None]
    return tpl.template, dict(zip(tpl.params, values, strict=True))


# ------------------------------------------------------------------ validation


def validator_for_pointer(pointer: str) -> Draft202012Validator:
    """A draft 2020-12 validator for the schema at ``pointer`` in the spec.

    ``pointer`` is a JSON pointer into the document, e.g.
    ``/components/schemas/SyncResponse``; ``$ref``s inside the schema resolve
    against the whole document.
    """
    pointer = pointer.removeprefix("#")
    ref = f"{SPEC_URI}#{quote(pointer, safe='/~')}"
    return Draft202012Validator({"$ref": ref}, registry=_registry())


@functools.cache
def _validator(template: str, method: str, status_key: str) -> tuple[Any, Any]:
    """Return ``(response_object, validator or None)`` for a documented response.

    The validator checks against ``{"$ref": "<doc>#<pointer to schema>"}`` so
    that nested ``#/components/...`` references resolve within the document.
    """
    op_pointer = _pointer("paths", template, method)
    response, resp_pointer = _follow_refs(
        resolve_pointer(op_pointer)["responses"][status_key],
        _pointer("paths", template, method, "responses", status_key),
    )
    content = response.get("content") or {}
    media = content.get("application/json")
    if not isinstance(media, dict) or "schema" not in media:
        return response, None
    schema_pointer = resp_pointer + _pointer("content", "application/json", "schema")
    return response, validator_for_pointer(schema_pointer)


def _is_json_media_type(content_type: str | None) -> bool:
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _describe(error: ValidationError) -> str:
    where = error.json_path
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    return f"{error.message} (at {where}; schema path {schema_path})"


def check_response(
    method: str,
    path: str,
    status: int,
    body: Any | None,
    content_type: str | None,
) -> None:
    """Raise :class:`ContractError` unless the response matches the contract.

    ``path`` is the request path without the query string (encoded or not).
    ``body`` is the decoded JSON body (``None`` when there is none); raw
    ``bytes``/``str`` are decoded as JSON when the content type is JSON.
    ``OPTIONS`` is always accepted (CORS pre-flight); ``HEAD`` is checked as
    ``GET`` (its body, normally absent, is only validated if given).
    """
    verb = method.upper()
    if verb == "OPTIONS":
        return
    op_method = "get" if verb == "HEAD" else verb.lower()
    label = f"{verb} {path} -> {status}"

    matched = match_path(path)
    if matched is None:
        raise ContractError(f"{verb} {path}: path is not documented in {SPEC_PATH.name}")
    template, _params = matched
    path_item = load_spec()["paths"][template]
    operation = path_item.get(op_method)
    if not isinstance(operation, dict):
        raise ContractError(
            f"{verb} {path}: method {op_method.upper()} is not documented for {template}"
        )
    responses = operation.get("responses") or {}
    status_key = str(status)
    if status_key not in responses:
        wildcard = f"{status_key[0]}XX"
        if wildcard in responses:
            status_key = wildcard
        elif "default" in responses:
            status_key = "default"
        else:
            documented = ", ".join(sorted(responses))
            raise ContractError(
                f"{label}: status {status} is not documented for "
                f"{op_method.upper()} {template} (documented: {documented})"
            )

    response, validator = _validator(template, op_method, status_key)
    if body is None or body == b"" or body == "":
        return
    content = response.get("content") or {}
    if content and content_type is not None and not _is_json_media_type(content_type):
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in content and "*/*" not in content:
            raise ContractError(
                f"{label}: content type {content_type!r} is not documented "
                f"(documented: {', '.join(content)})"
            )
        return
    if validator is None or not _is_json_media_type(content_type):
        return
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise ContractError(f"{label}: body is not valid JSON: {exc}") from exc

    errors = list(validator.iter_errors(body))
    if errors:
        best = best_match(errors)
        others = [e for e in errors if e is not best][:2]
        details = "\n  ".join(_describe(e) for e in [best, *others])
        snippet = json.dumps(body, default=str)
        if len(snippet) > 500:
            snippet = snippet[:500] + "..."
        raise ContractError(
            f"{label}: response body does not match the schema for "
            f"{op_method.upper()} {template} {status_key}:\n  {details}\nbody: {snippet}"
        )

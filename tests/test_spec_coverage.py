"""spec/openapi.yaml documents exactly the endpoints the server routes."""

from __future__ import annotations

import re
from pathlib import Path

from homeserver.app import create_app
from homeserver.config import Config
from tests.contract import load_spec

_PARAM = re.compile(r"<(?:[a-z]+:)?[A-Za-z_]+>")
_CHOICE = re.compile(r"<any\(([^)]*)\):[A-Za-z_]+>")
_SPEC_PARAM = re.compile(r"\{[A-Za-z_]+\}")
API_PREFIXES = ("/_matrix", "/.well-known", "/oauth2")


def _served(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Config(data_dir=tmp_path))
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIXES):
            continue
        choice = _CHOICE.search(rule.rule)
        options = [c.strip() for c in choice.group(1).split(",")] if choice else [None]
        for option in options:
            text = rule.rule if option is None else _CHOICE.sub(option, rule.rule)
            template = _PARAM.sub("{}", text)
            if template.endswith("/{}/"):  # /state/{type}/ is /state/{type}/{key} with key ""
                template += "{}"
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    served.add((method, template))
    return served


def _documented() -> set[tuple[str, str]]:
    documented = set()
    for path, item in load_spec()["paths"].items():
        for method in item:
            if method in ("get", "put", "post", "delete", "patch"):
                documented.add((method.upper(), _SPEC_PARAM.sub("{}", path)))
    return documented


def test_every_served_endpoint_is_documented(tmp_path: Path) -> None:
    missing = _served(tmp_path) - _documented()
    # The catch-all moderation route serves kick/ban/unban, documented one by one.
    missing.discard(("POST", "/_matrix/client/v3/rooms/{}/{}"))
    assert not missing, f"served but not in spec/openapi.yaml: {sorted(missing)}"


def test_every_documented_endpoint_is_served(tmp_path: Path) -> None:
    served = _served(tmp_path)
    moderation = {("POST", f"/_matrix/client/v3/rooms/{{}}/{a}") for a in ("kick", "ban", "unban")}
    missing = _documented() - served - moderation
    assert not missing, f"documented but not served: {sorted(missing)}"

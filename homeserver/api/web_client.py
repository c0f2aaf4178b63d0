"""Serves the bundled web client (clients/web/dist) at /.

Hashed assets are cached for a year; index.html is revalidated on every load.
Every response carries the security headers of api/security_headers.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from homeserver.api.common import hs
from homeserver.api.static_files import file_response, find_file
from homeserver.errors import MatrixError

bp = Blueprint("web_client", __name__)

DEFAULT_DIST = Path(__file__).resolve().parent.parent.parent / "clients" / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = b"""<!doctype html><meta charset="utf-8"><title>Homeserver</title>
<p>The homeserver is running, but its web client has not been built.
Run <code>make run</code> (or <code>make web</code>) to build it.</p>"""


def _dist() -> Path:
    configured = hs().config.web_client_dir
    return Path(configured) if configured else DEFAULT_DIST


def _html(body: bytes) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def api_methods(path: str) -> set[str]:
    """The methods an API endpoint (not this catch-all) serves at `path`: empty
    for an unknown endpoint (404), else a wrong method is a 405."""
    adapter = current_app.url_map.bind("localhost")
    found: set[str] = set()
    for method in ("GET", "POST", "PUT", "DELETE"):
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.endpoint != "web_client.web_client":
            found.add(method)
    return found


def _is_websocket_route(path: str) -> bool:
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET", websocket=True)
    except HTTPException:
        return False
    return True


def allowed_methods(path: str) -> set[str]:
    """Every method some endpoint serves at `path`, a WebSocket's GET included."""
    methods = api_methods(path)
    if _is_websocket_route(path):
        methods.add("GET")
    return methods


def allow_header(path: str) -> str:
    methods = allowed_methods(path)
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    order = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
    return ", ".join(m for m in order if m in methods)


@bp.get("/")
@bp.get("/<path:path>")
async def web_client(path: str = "") -> Response:
    if path.startswith("oauth2/"):
        # Not a page: a GET to a POST-only OAuth endpoint, or nothing at all.
        raise MethodNotAllowed() if api_methods(request.path) else NotFound()
    if path.startswith("_matrix/"):
        status = 405 if api_methods(request.path) else 404
        raise MatrixError(status, "M_UNRECOGNIZED", "Unrecognized request")
    root = _dist()
    if path:
        found = await find_file(root, path)
        if found is not None:
            if found.suffix == ".html":
                return _html(await asyncio.to_thread(found.read_bytes))
            hashed = found.parent.name == "assets"
            return await file_response(found, IMMUTABLE if hashed else "no-cache")
        if "." in path.rsplit("/", 1)[-1]:
            raise MatrixError(404, "M_NOT_FOUND", "File not found")
    index = await find_file(root, "index.html")
    if index is None:
        return _html(NOT_BUILT)
    return _html(await asyncio.to_thread(index.read_bytes))

"""Serves the bundled web client (clients/web/dist) at /.

Hashed assets are cached for a year; index.html is revalidated on every load,
and HTML carries a strict content-security policy."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path

from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from homeserver.api.common import hs
from homeserver.errors import MatrixError

bp = Blueprint("web_client", __name__)

DEFAULT_DIST = Path(__file__).resolve().parent.parent.parent / "clients" / "web" / "dist"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; worker-src 'self'; "
    "manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
NOT_BUILT = b"""<!doctype html><meta charset="utf-8"><title>Homeserver</title>
<p>The homeserver is running, but its web client has not been built.
Run <code>make run</code> (or <code>make web</code>) to build it.</p>"""


def _dist() -> Path:
    configured = hs().config.web_client_dir
    return Path(configured) if configured else DEFAULT_DIST


def _html(body: bytes) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
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


@bp.get("/")
@bp.get("/<path:path>")
async def web_client(path: str = "") -> Response:
    if path.startswith("oauth2/"):
        # Not a page: a GET to a POST-only OAuth endpoint, or nothing at all.
        raise MethodNotAllowed() if api_methods(request.path) else NotFound()
    if path.startswith("_matrix/"):
        status = 405 if api_methods(request.path) else 404
        raise MatrixError(status, "M_UNRECOGNIZED", "Unrecognized request")
    root = _dist().resolve()
    index = root / "index.html"
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            mimetype = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            content = await asyncio.to_thread(candidate.read_bytes)
            if candidate.suffix == ".html":
                return _html(content)
            response = Response(content, mimetype=mimetype)
            response.headers["X-Content-Type-Options"] = "nosniff"
            if candidate.parent.name == "assets":
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
            return response
        if "." in path.rsplit("/", 1)[-1]:
            raise MatrixError(404, "M_NOT_FOUND", "File not found")
    if not index.is_file():
        return _html(NOT_BUILT)
    return _html(await asyncio.to_thread(index.read_bytes))

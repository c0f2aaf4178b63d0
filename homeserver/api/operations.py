"""For operators, outside the Matrix API: `/health` (liveness), `/ready`
(readiness: the database answers) and `/metrics` (Prometheus, for the
addresses in `metrics_allowed_ips` only)."""

from __future__ import annotations

import ipaddress

from quart import Blueprint, Response

from homeserver.api.common import client_ip, hs, json_response
from homeserver.errors import MatrixError
from homeserver.operations.outage import RETRY_AFTER_SECONDS, database_unavailable

bp = Blueprint("operations", __name__)


@bp.get("/health")
async def health() -> Response:
    """The process runs and its event loop answers; nothing else is checked."""
    return json_response({"status": "ok"})


@bp.get("/ready")
async def ready() -> Response:
    if not await hs().database_health.check():
        outage = database_unavailable()
        response = json_response(outage.to_json(), outage.status)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return json_response({"status": "ready", "database": "ok"})


@bp.get("/metrics")
async def metrics() -> Response:
    server = hs()
    if not server.config.metrics_enabled:
        raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")
    if not _allowed(client_ip(), server.config.metrics_allowed_ips):
        raise MatrixError(403, "M_FORBIDDEN", "Metrics are not served to this address")
    await server.database_health.check()
    body, content_type = server.metrics.render()
    response = Response(body, status=200, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _allowed(address: str, allowed: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in allowed)

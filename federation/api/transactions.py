"""`PUT /_matrix/federation/v1/send/{txnId}`: a transaction of PDUs and EDUs."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, origin, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_transactions", __name__)


@bp.put("/_matrix/federation/v1/send/<txn_id>")
@signed_request
async def send_transaction(txn_id: str) -> Response:
    body = await request.get_json(force=True, silent=True)
    if body is None:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON")
    result = await federation().rooms.transactions.receive(origin(), txn_id, body)
    return json_response(result)

"""PUT /sendToDevice/{eventType}/{txnId}: messages straight to devices."""

from __future__ import annotations

from quart import Blueprint, Response

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester
from homeserver.errors import invalid_param

bp = Blueprint("to_device", __name__, url_prefix=CLIENT_V3)

MAX_ID_LENGTH = 255


@bp.put("/sendToDevice/<event_type>/<txn_id>")
@authenticated
async def send_to_device(event_type: str, txn_id: str) -> Response:
    if len(event_type) > MAX_ID_LENGTH or len(txn_id) > MAX_ID_LENGTH:
        raise invalid_param("The event type and transaction id are at most 255 characters")
    await hs().e2ee.to_device.send(requester(), event_type, txn_id, await json_body())
    return json_response({})

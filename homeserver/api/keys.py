"""End-to-end encryption keys: device and one-time keys, cross-signing keys
and signatures, and who changed their keys (/keys/...)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.account import _password_stage
from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester
from homeserver.errors import missing_param
from homeserver.streams.tokens import StreamToken

bp = Blueprint("keys", __name__, url_prefix=CLIENT_V3)


@bp.post("/keys/upload")
@authenticated
async def upload_keys() -> Response:
    counts = await hs().e2ee.device_keys.upload(requester(), await json_body())
    return json_response({"one_time_key_counts": counts})


@bp.post("/keys/query")
@authenticated
async def query_keys() -> Response:
    return json_response(await hs().e2ee.device_keys.query(await json_body(), requester()))


@bp.post("/keys/claim")
@authenticated
async def claim_keys() -> Response:
    return json_response(await hs().e2ee.device_keys.claim(await json_body()))


@bp.get("/keys/changes")
@authenticated
async def key_changes() -> Response:
    from_raw, to_raw = request.args.get("from"), request.args.get("to")
    if not from_raw or not to_raw:
        raise missing_param("from and to are required")
    since, upto = StreamToken.parse(from_raw), StreamToken.parse(to_raw)
    delta = await hs().e2ee.changes_between(requester().user_id, since.events, upto.events)
    return json_response({"changed": sorted(delta.changed), "left": sorted(delta.left)})


@bp.post("/keys/device_signing/upload")
@authenticated
async def upload_signing_keys() -> Response:
    server = hs()
    body = await json_body()

    async def reauthenticate() -> None:
        await server.uia.check(body.get("auth"), "m.login.password", _password_stage)

    await server.e2ee.cross_signing.upload_keys(requester(), body, reauthenticate)
    return json_response({})


@bp.post("/keys/signatures/upload")
@authenticated
async def upload_signatures() -> Response:
    result = await hs().e2ee.cross_signing.upload_signatures(requester(), await json_body())
    return json_response(result)

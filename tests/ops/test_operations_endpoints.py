"""/health, /ready and /metrics (in-process)."""

from __future__ import annotations

import asyncio
import json

from homeserver.config import Config
from tests.matrix_client import V3, q
from tests.ops.conftest import Operated, peer

SEND_RULE = "/_matrix/client/v3/rooms/<room_id>/send/<event_type>/<txn_id>"


async def _metrics(
    operated: Operated, address: str = "127.0.0.1", **kwargs: object
) -> tuple[int, str]:
    response = await operated.http.get("/metrics", scope_base=peer(address), **kwargs)  # type: ignore[arg-type]
    return response.status_code, (await response.get_data()).decode()


async def _until_sample(operated: Operated, name: str, value: float) -> None:
    """A gauge has no event to wait on: look again each loop turn, for 5 s."""
    for _ in range(500):
        if operated.sample(name) == value:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} stayed at {operated.sample(name)}, expected {value}")


async def test_health_and_ready_answer(operated: Operated) -> None:
    health = await operated.http.get("/health")
    assert health.status_code == 200
    assert await health.get_json() == {"status": "ok"}
    ready = await operated.http.get("/ready")
    assert ready.status_code == 200
    assert (await ready.get_json())["database"] == "ok"


async def test_metrics_count_requests_by_rule_events_and_database(operated: Operated) -> None:
    alice = await operated.matrix.register("alice")
    room_id = await operated.matrix.create_room(alice)
    for i in range(3):
        await operated.matrix.send_text(alice, room_id, f"hello {i}")
    missing = await operated.matrix.get(
        f"{V3}/rooms/{q(room_id)}/event/$nope", token=alice.access_token
    )
    assert missing.status == 404

    status, text = await _metrics(operated)
    assert status == 200
    # Route rules, not raw paths: no room id or transaction id in any label.
    assert room_id not in text and q(room_id) not in text
    labels = {"method": "PUT", "endpoint": SEND_RULE, "status": "200"}
    assert operated.sample("homeserver_http_requests_total", labels) == 3
    assert (
        operated.sample(
            "homeserver_http_request_duration_seconds_count",
            {"method": "PUT", "endpoint": SEND_RULE},
        )
        == 3
    )
    assert (
        operated.sample(
            "homeserver_http_requests_total",
            {
                "method": "GET",
                "endpoint": "/_matrix/client/v3/rooms/<room_id>/event/<event_id>",
                "status": "404",
            },
        )
        == 1
    )
    # create, membership, power levels, join rules, ... and the three messages
    persisted = operated.sample("homeserver_events_persisted_total")
    assert persisted is not None and persisted >= 6
    assert operated.sample("homeserver_database_up") == 1
    assert operated.sample("homeserver_push_queue_depth") == 0
    assert operated.sample("homeserver_long_polls") == 0
    assert operated.sample("homeserver_websocket_streams") == 0


async def test_unrouted_paths_share_one_label(operated: Operated) -> None:
    for i in range(5):
        response = await operated.http.post(f"/_matrix/client/v3/no/such/thing/{i}")
        assert response.status_code == 404
    assert (
        operated.sample(
            "homeserver_http_requests_total",
            {"method": "POST", "endpoint": "unmatched", "status": "404"},
        )
        == 5
    )
    for method in ("BREW", "PROPFIND"):
        await operated.http.open("/_matrix/client/versions", method=method)
    labels = {"method": "other", "endpoint": "unmatched", "status": "405"}
    other = operated.sample("homeserver_http_requests_total", labels)
    assert other == 2, (await _metrics(operated))[1]


async def test_long_polls_are_counted_while_they_wait(operated: Operated) -> None:
    alice = await operated.matrix.register("alice")
    room_id = await operated.matrix.create_room(alice)
    since = (await operated.matrix.sync(alice))["next_batch"]
    poll = asyncio.create_task(
        operated.matrix.get(
            f"{V3}/sync", token=alice.access_token, query={"since": since, "timeout": 10_000}
        )
    )
    await _until_sample(operated, "homeserver_long_polls", 1)
    await operated.matrix.send_text(alice, room_id, "wake up")
    assert (await poll).status == 200
    assert operated.sample("homeserver_long_polls") == 0


async def test_websocket_streams_are_counted_while_open(operated: Operated) -> None:
    alice = await operated.matrix.register("alice")
    path = "/_matrix/client/unstable/homeserver.sync/ws"
    async with operated.http.websocket(path, subprotocols=["homeserver.sync.v1"]) as socket:
        await socket.send(json.dumps({"type": "start", "access_token": alice.access_token}))
        first = json.loads(await socket.receive())
        assert first["type"] == "ready", first
        assert operated.sample("homeserver_websocket_streams") == 1
    await _until_sample(operated, "homeserver_websocket_streams", 0)


async def test_metrics_refused_to_other_addresses(operated: Operated) -> None:
    status, text = await _metrics(operated, "203.0.113.7")
    assert status == 403
    assert json.loads(text)["errcode"] == "M_FORBIDDEN"
    assert (await _metrics(operated, "::1"))[0] == 200


async def test_metrics_allowlist_takes_networks(operated: Operated) -> None:
    operated.server.config.metrics_allowed_ips = ["10.0.0.0/8"]
    assert (await _metrics(operated, "10.20.30.40"))[0] == 200
    assert (await _metrics(operated, "127.0.0.1"))[0] == 403


async def test_behind_a_proxy_the_forwarded_address_decides(operated: Operated) -> None:
    operated.server.config.trust_x_forwarded_for = True
    outside = {"X-Forwarded-For": "203.0.113.7"}
    assert (await _metrics(operated, "127.0.0.1", headers=outside))[0] == 403
    assert (await _metrics(operated, "127.0.0.1"))[0] == 200


async def test_metrics_can_be_switched_off(operated: Operated) -> None:
    operated.server.config.metrics_enabled = False
    status, text = await _metrics(operated)
    assert status == 404
    assert json.loads(text)["errcode"] == "M_UNRECOGNIZED"


def test_operations_settings_from_the_environment(tmp_path: object) -> None:
    from pathlib import Path

    from homeserver.config import load_config

    assert isinstance(tmp_path, Path)
    env = {"METRICS_ALLOWED_IPS": "10.0.0.0/8, 192.168.1.5", "LOG_FORMAT": "json"}
    config: Config = load_config(tmp_path, env, write_if_missing=False)
    assert config.metrics_allowed_ips == ["10.0.0.0/8", "192.168.1.5"]
    assert config.log_format == "json"

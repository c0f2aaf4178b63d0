"""Our state resolution agrees with Synapse's on random rooms (room versions 11 and 12).

Synapse runs from the benchmark's virtual environment (``.bench-venv``, which
``make test`` and ``make bench`` install); without it this test is skipped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from homeserver.events.room_versions import ROOM_V11, ROOM_V12
from tests.tools.synapse import require_synapse

from .random_rooms import random_room

SCRIPT = Path(__file__).with_name("synapse_state_res.py")
ROOMS = 40


def test_state_resolution_agrees_with_synapse() -> None:
    synapse_python = require_synapse("synapse.event_auth", "synapse.state.v2")
    rooms = [random_room(seed, ROOM_V12 if seed % 2 else ROOM_V11) for seed in range(ROOMS)]
    done = subprocess.run(
        [str(synapse_python), str(SCRIPT)],
        input=json.dumps(rooms),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout)
    for seed, (room, synapse) in enumerate(zip(rooms, answers, strict=True)):
        # The same event IDs: reference hashes (and so redaction) agree too.
        assert synapse["event_ids"] == sorted(e["event_id"] for e in room["events"]), seed
        for index, query in enumerate(room["queries"]):
            assert query["ours"] == synapse["answers"][index], (seed, room["room_version"], index)

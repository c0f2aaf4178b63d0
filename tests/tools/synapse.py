"""Synapse for the tests that compare with it or federate with it: it lives in
the benchmark's virtual environment, `.bench-venv/`, which `make test` and
`make bench` install. Without it those tests skip with this reason, unless
REQUIRE_SYNAPSE=1 (set by CI) makes them mandatory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH_PYTHON = REPO / ".bench-venv" / "bin" / "python"


def require_synapse(*modules: str) -> Path:
    """The Synapse virtual environment's Python (`SYNAPSE_PYTHON`, else the
    benchmark's), once `modules` import there."""
    python = Path(os.environ.get("SYNAPSE_PYTHON") or BENCH_PYTHON)
    probe = [str(python), "-c", "; ".join(f"import {m}" for m in ("synapse", *modules))]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    reason = "Synapse is not installed in .bench-venv (make test and make bench install it)"
    if os.environ.get("REQUIRE_SYNAPSE") == "1":
        pytest.fail(f"{reason} (REQUIRE_SYNAPSE=1 makes it mandatory)", pytrace=False)
    pytest.skip(reason)

"""`python -m tests.bench [--quick] [--servers ...] [--only ...] [--set key=value]`"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from tests.bench.profiles import PROFILES, with_overrides
from tests.bench.runner import ALL_SERVERS, Options, run
from tests.bench.workloads import WORKLOADS

DEFAULT_SERVERS = ("ours-sqlite", "ours-postgresql", "synapse-postgresql")


def _override(text: str) -> tuple[str, Any]:
    key, _, raw = text.partition("=")
    value: Any
    try:
        value = int(raw)
    except ValueError:
        try:
            value = float(raw)
        except ValueError:
            value = raw
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (make bench-quick)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="counts to run: full (default), quick (same as --quick) or issue (the issue's"
        " counts everywhere; about 13 minutes on a 2-core machine)",
    )
    parser.add_argument(
        "--servers",
        default=",".join(DEFAULT_SERVERS),
        help=f"comma-separated, from {', '.join(ALL_SERVERS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help="comma-separated workloads to run (default: all, in this order: %(default)s)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile count, e.g. --set history_events=10000",
    )
    parser.add_argument("--out", default="bench-results", help="results folder")
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="record each server with py-spy during each workload (profiles in the log folder;"
        " sampling costs the servers some CPU: figures from such a run are not for the table)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run this homeserver as of git revision REV (from a temporary worktree),"
        " as baseline-<database> beside each ours-<database>, with a ratio column",
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile or ("quick" if args.quick else "full")]
    if args.set:
        profile = with_overrides(profile, dict(_override(s) for s in args.set))
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [s for s in servers if s not in ALL_SERVERS]
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown += [w for w in only if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    options = Options(
        profile=profile,
        servers=servers,
        workloads=only,
        out_dir=Path(args.out),
        py_spy=args.py_spy,
        baseline=args.baseline,
    )
    return asyncio.run(_run_until_signalled(options))


async def _run_until_signalled(options: Options) -> int:
    """SIGTERM cancels the run, so that its clean-up (servers, databases) happens."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(options)


if __name__ == "__main__":
    sys.exit(main())

"""One bench run: start the servers, build their rooms (concurrently, not
measured), run the workloads in order with rounds alternating between the
servers, stop everything, and write the table and the JSON."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench import population, postgres, profiling, report, servers, workloads
from tests.bench.meter import Meter
from tests.bench.procstat import machine, raise_fd_limit
from tests.bench.profiles import Profile
from tests.bench.servers import ServerUnderTest
from tests.bench.workers import WorkerPool

ALL_SERVERS = ("ours-sqlite", "ours-postgresql", "synapse-postgresql", "synapse-sqlite")


@dataclass
class Options:
    profile: Profile
    servers: list[str]
    workloads: list[str]
    out_dir: Path
    py_spy: bool = False
    # A git revision of this homeserver to run beside the current code.
    baseline: str | None = None


class Log:
    def __init__(self, path: Path) -> None:
        self._started = time.monotonic()
        self._file = path.open("a")

    def __call__(self, message: str) -> None:
        line = f"[{time.monotonic() - self._started:6.1f}s] {message}"
        print(line, flush=True)
        self._file.write(line + "\n")
        self._file.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started


def _versions(started: Sequence[ServerUnderTest], pg_version: str | None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for server in started:
        versions[server.family] = server.version()
    if pg_version:
        versions["postgresql"] = pg_version
    return versions


async def _quiesce(started: Sequence[ServerUnderTest], log: Log) -> None:
    """Lets set-up's after-effects pass before the first measurement: the
    databases vacuumed and checkpointed, every server's CPU quiet."""
    began = time.monotonic()
    databases = [s.pg_database for s in started if s.pg_database is not None]
    if databases:
        await postgres.quiesce(databases)
    await asyncio.gather(*(workloads.settle(s) for s in started))
    log(f"databases and servers quiet after {time.monotonic() - began:.1f} s")


async def run(options: Options) -> int:
    run_id = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    out_dir = options.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = out_dir / f"logs-{run_id}"
    log_dir.mkdir()
    log = Log(log_dir / "bench.log")
    fd_limit = raise_fd_limit()
    profile = options.profile
    log(f"bench profile {profile.name}: servers {', '.join(options.servers)}")
    for line in profile.shortfalls():
        log(f"  reduced to fit the time budget: {line}")

    wanted = list(options.servers)
    pg_ok = await postgres.available()
    if not pg_ok:
        dropped = [s for s in wanted if s.endswith("postgresql")]
        if dropped:
            log(f"SKIPPED {', '.join(dropped)}: no PostgreSQL at {postgres.ADMIN_DSN}")
        wanted = [s for s in wanted if not s.endswith("postgresql")]
    if any(s.startswith("synapse") for s in wanted) and not servers.synapse_installed():
        log(f"SKIPPED Synapse: not installed in {servers.BENCH_VENV} (make bench installs it)")
        wanted = [s for s in wanted if not s.startswith("synapse")]
    most_idle = max(profile.idle_connections, profile.idle_longpoll_connections)
    if most_idle * 1.1 + 200 > fd_limit:
        log(f"note: open-files limit {fd_limit} may not allow {most_idle} sockets")

    postmaster = await postgres.postmaster_pid() if pg_ok else None
    pg_version = await postgres.server_version() if pg_ok else None
    root = Path(tempfile.mkdtemp(prefix="homeserver-bench-"))
    started: list[ServerUnderTest] = []
    pool = WorkerPool(profile.client_processes)
    results: workloads.Results = {}
    failures: list[str] = []
    setup: dict[str, Any] = {}
    versions: dict[str, str] = {}
    baseline: tuple[Path, str] | None = None
    try:
        if options.baseline is not None:
            source = root / "baseline-source"
            commit = await asyncio.to_thread(servers.checkout_baseline, options.baseline, source)
            baseline = (source, commit)
            log(f"baseline: {options.baseline} ({commit}) from {source}")
            wanted += [
                f"baseline-{s.split('-', 1)[1]}" for s in list(wanted) if s.startswith("ours-")
            ]
        await pool.start()
        for name in wanted:
            family, database = name.split("-", 1)
            server = servers.make_server(family, database, root, log_dir, run_id, baseline)
            started.append(server)
        await asyncio.gather(*(s.start() for s in started))
        log("servers up: " + ", ".join(f"{s.name} (pid {s.pid})" for s in started))
        # The code under test is what was there at start (others may commit meanwhile).
        versions = _versions(started, pg_version)
        log(f"versions: {versions}")
        pops = await asyncio.gather(*(population.build(s, profile, pool, log) for s in started))
        populations = {s.name: p for s, p in zip(started, pops, strict=True)}
        setup = {name: p.setup_seconds for name, p in populations.items()}
        log(f"set-up done at {log.elapsed:.0f} s")
        await _quiesce(started, log)
        bench = workloads.Bench(
            pool=pool,
            meter=Meter(pool, postmaster),
            profile=profile,
            log=log,
            servers=started,
            populations=populations,
        )
        for name in options.workloads:
            began = time.monotonic()
            log(f"{name} ...")
            try:
                if options.py_spy:
                    async with profiling.recording(started, log_dir, name) as paths:
                        await workloads.WORKLOADS[name](bench, results)
                    for path in paths:
                        if path.exists():
                            (path.with_suffix(".summary.txt")).write_text(
                                profiling.summarize(path) + "\n"
                            )
                else:
                    await workloads.WORKLOADS[name](bench, results)
            except Exception:
                failures.append(f"{name}: {traceback.format_exc()}")
                log(f"FAILED {name}:\n{traceback.format_exc()}")
            log(f"{name} took {time.monotonic() - began:.0f} s")
    finally:
        await pool.close()
        await asyncio.gather(*(s.stop() for s in started), return_exceptions=True)
        if baseline is not None:
            await asyncio.to_thread(servers.remove_baseline, baseline[0])

    names = [s.name for s in started]
    rows = report.build_rows(results, names)
    goal_list = report.goals(rows, profile.idle_connections)
    text = report.table(rows, names)
    the_machine = machine()
    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    document = {
        "date": date,
        "machine": the_machine.to_json(),
        "versions": versions,
        "profile": profile.to_json(),
        "shortfalls": profile.shortfalls(),
        "servers": names,
        "setup_seconds": setup,
        "elapsed_seconds": round(log.elapsed, 1),
        "rows": [r.to_json() for r in rows],
        "goals": [g.to_json() for g in goal_list],
        "failures": failures,
        "results": results,
    }
    json_path = out_dir / f"bench-{profile.name}-{run_id}.json"
    json_path.write_text(json.dumps(document, indent=1))
    (out_dir / f"latest-{profile.name}.json").write_text(json.dumps(document, indent=1))
    summary = "\n".join(
        [
            "",
            f"Benchmark ({profile.name}), {date}, {the_machine.describe()}",
            f"Versions: {document['versions']}",
            "",
            text,
            "",
            "Goals:",
            report.goals_text(goal_list),
            "",
            *(
                ["Reduced counts: " + "; ".join(profile.shortfalls()), ""]
                if profile.shortfalls()
                else []
            ),
            f"Total time {log.elapsed:.0f} s. JSON: {json_path}",
        ]
    )
    print(summary)
    (out_dir / f"latest-{profile.name}.md").write_text(summary + "\n")
    if failures:
        print(f"{len(failures)} workload(s) failed; see {log_dir / 'bench.log'}", file=sys.stderr)
        return 1
    return 0

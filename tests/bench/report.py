"""From raw per-round records to the table: one row per measurement, one column
per server, and a ratio column (ours / Synapse on the same database) — plus the
goals of the issue, each met or not, by how much."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tests.bench.rows import all_specs
from tests.bench.stats import ratio

Record = dict[str, Any]
Results = dict[str, dict[str, list[Record]]]


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str
    better: str  # "lower", "higher" or "" (informative)
    values: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Goal:
    name: str
    met: bool | None  # None: could not be measured in this run
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_rows(results: Results, servers: Sequence[str]) -> list[Row]:
    rows = []
    for spec in all_specs():
        values: dict[str, float | None] = {}
        for server in servers:
            records = results.get(spec.source, {}).get(server, [])
            values[server] = spec.extract(records) if records else None
        if any(v is not None for v in values.values()):
            rows.append(Row(spec.key, spec.label, spec.unit, spec.better, values))
    return rows


def pair_ratio(row: Row, database: str, other: str = "synapse") -> float | None:
    return ratio(row.values.get(f"ours-{database}"), row.values.get(f"{other}-{database}"))


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def table(rows: Sequence[Row], servers: Sequence[str]) -> str:
    """A Markdown table (readable as plain text too)."""
    pairs = [
        (other, db)
        for other in ("synapse", "baseline")
        for db in ("postgresql", "sqlite")
        if f"{other}-{db}" in servers
    ]
    headers = ["measurement", "unit", *servers]
    headers += [
        f"ours÷{'Synapse' if other == 'synapse' else 'baseline'} "
        f"({'PG' if db == 'postgresql' else 'SQLite'})"
        for other, db in pairs
    ]
    lines = [headers]
    for row in rows:
        cells = [
            row.label + (" ↓" if row.better == "lower" else " ↑" if row.better == "higher" else ""),
            row.unit,
        ]
        cells += [_fmt(row.values.get(s)) for s in servers]
        cells += [_fmt_ratio(pair_ratio(row, db, other)) for other, db in pairs]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def _value(rows: Sequence[Row], key: str, server: str) -> float | None:
    for row in rows:
        if row.key == key:
            return row.values.get(server)
    return None


def goals(rows: Sequence[Row], idle_target: int) -> list[Goal]:
    found: list[Goal] = []
    ours, theirs = "ours-postgresql", "synapse-postgresql"

    def compare(name: str, key: str, want: float, higher: bool) -> None:
        a, b = _value(rows, key, ours), _value(rows, key, theirs)
        r = ratio(a, b)
        if r is None:
            found.append(Goal(name, None, "not measured (needs ours and Synapse on PostgreSQL)"))
            return
        met = r >= want if higher else r <= want
        target = f"{want:g}x" if higher else f"1/{1 / want:g}"
        found.append(
            Goal(
                name,
                met,
                f"ours {_fmt(a)} vs Synapse {_fmt(b)}: {r:.2f}x (goal {'≥' if higher else '≤'} "
                f"{target})",
            )
        )

    compare(
        "PostgreSQL: ≥ 5x Synapse's acknowledged msg/s (1 room)",
        "throughput/one-room/acked",
        5.0,
        True,
    )
    compare(
        "PostgreSQL: ≥ 5x Synapse's acknowledged msg/s (10 rooms)",
        "throughput/ten-rooms/acked",
        5.0,
        True,
    )
    compare(
        "PostgreSQL: ≤ 1/5 of Synapse's send→receive p99 (long-poll)",
        "latency/longpoll/p99",
        0.2,
        False,
    )
    a = _value(rows, "latency/websocket/p99", ours)
    b = _value(rows, "latency/longpoll/p99", theirs)
    r = ratio(a, b)
    found.append(
        Goal(
            "PostgreSQL: ≤ 1/5 of Synapse's send→receive p99 (our WebSocket vs its long-poll)",
            None if r is None else r <= 0.2,
            "not measured" if r is None else f"ours {_fmt(a)} vs Synapse {_fmt(b)}: {r:.2f}x",
        )
    )
    compare(
        "PostgreSQL: ≤ 1/5 of Synapse's server CPU per message (throughput, 1 room)",
        "throughput/one-room/cpu-per-1k",
        0.2,
        False,
    )
    compare(
        "PostgreSQL: ≤ 1/5 of Synapse's server CPU per message (throughput, 10 rooms)",
        "throughput/ten-rooms/cpu-per-1k",
        0.2,
        False,
    )
    for server in ("ours-sqlite", "ours-postgresql"):
        flat = _value(rows, "history/flatness", server)
        events = _value(rows, "history/events", server)
        found.append(
            Goal(
                f"{server}: history page time flat (oldest ≤ 2x newest)",
                None if flat is None else flat <= 2.0,
                "not measured"
                if flat is None
                else f"oldest ÷ newest = {flat:.2f}x in a room of {_fmt(events)} events",
            )
        )
    for server in ("ours-postgresql", "ours-sqlite"):
        held = _value(rows, "idle/websocket/held", server)
        rss = _value(rows, "idle/websocket/rss", server)
        projected = _value(rows, "idle/websocket/rss-10k", server)
        if held is None or rss is None:
            continue
        if held >= 10_000:
            met: bool | None = rss < 1024
            detail = f"{held:,.0f} held, RSS {rss:,.0f} MiB"
        elif idle_target >= 10_000:
            met = False
            detail = (
                f"held {held:,.0f} of {idle_target:,} (the rest failed or were dropped), "
                f"RSS {rss:,.0f} MiB"
            )
        else:
            met = None
            detail = (
                f"not tried: this run asked for {idle_target:,} and held {held:,.0f} "
                f"(RSS {rss:,.0f} MiB; {_fmt(projected)} MiB projected at 10,000)"
            )
        found.append(
            Goal(f"{server}: 10,000 idle sync sockets in one process under 1 GiB", met, detail)
        )
    for server in ("ours-postgresql", "ours-sqlite"):
        found.extend(media_memory_goals(rows, server))
    return found


# A streamed transfer holds a few buffers, whatever the file's size: the RSS
# rise while moving 40 MB may exceed that of 10 MB by at most this share of
# the 30 MB between them (buffering the file would show all of it).
MEDIA_RSS_SHARE = 0.25
MEDIA_SIZES_MB = (10, 40)


def media_memory_goals(rows: Sequence[Row], server: str) -> list[Goal]:
    found = []
    for kind in ("upload", "download"):
        small = _value(rows, f"media/{kind}-rss-file", server)
        large = _value(rows, f"media/{kind}-rss-large", server)
        if small is None or large is None:
            continue
        low, high = MEDIA_SIZES_MB
        allowed = MEDIA_RSS_SHARE * (high - low) * 1e6 / 2**20
        found.append(
            Goal(
                f"{server}: resident memory does not grow with the file size ({kind}, streamed)",
                large - small <= allowed,
                f"RSS rise {_fmt(small)} MiB for {low} MB, {_fmt(large)} MiB for {high} MB "
                f"(at most {allowed:.1f} MiB more allowed)",
            )
        )
    return found


def goals_text(found: Sequence[Goal]) -> str:
    marks = {True: "MET", False: "NOT MET", None: "n/a"}
    return "\n".join(f"- {marks[g.met]}: {g.name} — {g.detail}" for g in found)

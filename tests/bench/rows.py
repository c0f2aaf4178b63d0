"""Which figure of the table comes from which raw records, and how: pooled
percentiles for latencies (every sample of every round), medians over rounds
for rates, and CPU totals divided by the work done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.bench.stats import median_of, percentile, ratio

Record = dict[str, Any]
Records = Sequence[Record]
Extract = Callable[[Records], float | None]


@dataclass(frozen=True)
class RowSpec:
    source: str  # the result key the records come from
    key: str
    label: str
    unit: str
    better: str  # "lower", "higher" or "" (for information)
    extract: Extract


def pooled(records: Records, field: str) -> list[float]:
    return [float(x) for r in records for x in r.get(field, [])]


def pooled_percentile(records: Records, field: str, p: float) -> float | None:
    samples = pooled(records, field)
    return percentile(samples, p) if samples else None


def cpu_per(records: Records, count_field: str, scale: float, field: str) -> float | None:
    """Sum of a CPU figure over the rounds, per `count_field` (times `scale`)."""
    cpu = sum(r["usage"][field] for r in records)
    count = sum(r.get(count_field, 0) for r in records)
    return cpu / count * scale if count else None


def history_ends(pages: Sequence[float], k: int = 10) -> tuple[float | None, float | None]:
    """Median time of the first `k` pages and of the last `k` full pages (the
    final request, which finds the start of the room, is left out)."""
    full = list(pages[:-1]) if len(pages) > 1 else list(pages)
    if not full:
        return None, None
    k = max(1, min(k, len(full) // 2 or 1))
    return percentile(full[:k], 50), percentile(full[-k:], 50)


def fanout_wakeups(records: Records) -> float | None:
    """Sync responses per member per message, over the rounds (each counts
    what its own messages woke)."""
    counted = [r for r in records if "wakeups" in r]
    deliveries = sum(int(r["members"]) * int(r["messages"]) for r in counted)
    if not deliveries:
        return None
    return sum(float(r["wakeups"]) for r in counted) / deliveries


def _latency(variant: str, name: str) -> list[RowSpec]:
    key = f"latency/{variant}"
    specs = [
        RowSpec(
            key,
            f"{key}/p{p}",
            f"send→receive p{p}, {name}",
            "ms",
            "lower",
            lambda rs, p=p: pooled_percentile(rs, "latency_ms", p),  # type: ignore[misc]
        )
        for p in (50, 90, 99)
    ]
    specs.append(
        RowSpec(
            key,
            f"{key}/max",
            f"send→receive max, {name}",
            "ms",
            "lower",
            lambda rs: max(pooled(rs, "latency_ms"), default=None),
        )
    )
    specs.append(
        RowSpec(
            key,
            f"{key}/cpu",
            f"server CPU per message, {name}",
            "ms",
            "lower",
            lambda rs: cpu_per(rs, "messages", 1000, "server_total_cpu"),
        )
    )
    return specs


def _throughput(variant: str, name: str) -> list[RowSpec]:
    key = f"throughput/{variant}"

    def per_second(field: str) -> Extract:
        return lambda rs: median_of(r[field] / r["seconds"] for r in rs)

    return [
        RowSpec(key, f"{key}/acked", f"acknowledged msg/s, {name}", "msg/s", "higher",
                per_second("acked_in_window")),
        RowSpec(key, f"{key}/delivered", f"delivered msg/s, {name}", "msg/s", "higher",
                per_second("delivered_in_window")),
        RowSpec(key, f"{key}/ack-p99", f"send ack p99 under load, {name}", "ms", "lower",
                lambda rs: pooled_percentile(rs, "ack_ms", 99)),
        RowSpec(key, f"{key}/cpu-total", f"server CPU for the whole workload, {name}", "s",
                "lower", lambda rs: sum(r["usage"]["server_total_cpu"] for r in rs)),
        RowSpec(key, f"{key}/cpu-per-1k", f"server CPU per 1,000 msgs (with its DB), {name}",
                "s", "lower", lambda rs: cpu_per(rs, "acked", 1000, "server_total_cpu")),
        RowSpec(key, f"{key}/cpu-process-per-1k", f"server process CPU per 1,000 msgs, {name}",
                "s", "lower", lambda rs: cpu_per(rs, "acked", 1000, "server_cpu")),
        RowSpec(key, f"{key}/client-cpu-per-1k", f"client CPU per 1,000 msgs, {name}", "s", "",
                lambda rs: cpu_per(rs, "acked", 1000, "client_cpu")),
    ]  # fmt: skip


def _fanout(variant: str, name: str) -> list[RowSpec]:
    key = f"fanout/{variant}"
    return [
        RowSpec(key, f"{key}/p50", f"fan-out, last member has it p50, {name}", "ms", "lower",
                lambda rs: pooled_percentile(rs, "last_ms", 50)),
        RowSpec(key, f"{key}/p99", f"fan-out, last member has it p99, {name}", "ms", "lower",
                lambda rs: pooled_percentile(rs, "last_ms", 99)),
        RowSpec(key, f"{key}/median-member", f"fan-out, median member has it p50, {name}", "ms",
                "lower", lambda rs: pooled_percentile(rs, "median_member_ms", 50)),
        RowSpec(key, f"{key}/wakeups", f"fan-out, sync wake-ups per member per message, {name}",
                "", "lower", fanout_wakeups),
        RowSpec(key, f"{key}/cpu", f"fan-out, server CPU per message, {name}", "ms", "lower",
                lambda rs: cpu_per(rs, "messages", 1000, "server_total_cpu")),
    ]  # fmt: skip


def _history() -> list[RowSpec]:
    def end(index: int) -> Extract:
        return lambda rs: median_of(history_ends(r["page_ms"])[index] for r in rs)

    def flatness(rs: Records) -> float | None:
        return median_of(ratio(*reversed(history_ends(r["page_ms"]))) for r in rs)

    return [
        RowSpec("history", "history/newest", "history page of 50, newest end", "ms", "lower",
                end(0)),
        RowSpec("history", "history/oldest", "history page of 50, oldest end", "ms", "lower",
                end(1)),
        RowSpec("history", "history/flatness", "history, oldest ÷ newest page time", "x",
                "lower", flatness),
        RowSpec("history", "history/events", "history, events in the room", "", "",
                lambda rs: float(rs[0]["events"]) if rs and "events" in rs[0] else None),
    ]  # fmt: skip


def _sync_and_presence() -> list[RowSpec]:
    def per_change(field: str) -> Extract:
        return lambda rs: median_of(r[field] / r["changes"] for r in rs if r["changes"])

    return [
        RowSpec("initial_sync", "initial_sync/ms", "initial sync", "ms", "lower",
                lambda rs: median_of(r["ms"] for r in rs)),
        RowSpec("initial_sync", "initial_sync/cpu", "initial sync, server CPU", "ms", "lower",
                lambda rs: median_of(r["usage"]["server_total_cpu"] * 1000 for r in rs)),
        RowSpec("presence", "presence/cpu", "presence change, server CPU each", "ms", "lower",
                lambda rs: cpu_per(rs, "changes", 1000, "server_total_cpu")),
        RowSpec("presence", "presence/wakeups", "presence change, sync wake-ups each", "", "",
                per_change("wakeups")),
        RowSpec("presence", "presence/events", "presence change, m.presence delivered each", "",
                "", per_change("presence_events")),
        RowSpec("presence", "presence/connect-cpu", "listeners coming online, server CPU", "s",
                "lower", lambda rs: median_of(r["connect_usage"]["server_total_cpu"] for r in rs)),
    ]  # fmt: skip


def idle_cpu_per_minute(r: Record) -> float:
    """Server CPU milliseconds per held connection per minute of holding."""
    usage = r["hold_usage"]
    held = max(1, int(r["still_open"]))
    return 1000 * 60 * float(usage["server_total_cpu"]) / float(usage["wall"]) / held


def _idle(variant: str, name: str) -> list[RowSpec]:
    key = f"idle/{variant}"

    def per_connection(r: Record) -> float:
        """The slope from the first tenth of the connections to all of them."""
        later = int(r["opened"]) - int(r["opened_first"])
        return float(r["rss_open"] - r["rss_warm"]) / max(1, later)

    def projected(r: Record) -> float:
        more = 10_000 - int(r["opened_first"])
        return (float(r["rss_warm"]) + more * per_connection(r)) / 2**20

    return [
        RowSpec(key, f"{key}/held", f"idle {name} connections held", "", "higher",
                lambda rs: median_of(r["still_open"] for r in rs)),
        RowSpec(key, f"{key}/failed", f"idle {name} connections that failed", "", "lower",
                lambda rs: median_of(r["failed"] for r in rs)),
        RowSpec(key, f"{key}/rss-per-conn", f"resident memory per idle {name} connection",
                "KiB", "lower", lambda rs: median_of(per_connection(r) / 1024 for r in rs)),
        RowSpec(key, f"{key}/rss", f"resident memory with them open, {name}", "MiB", "lower",
                lambda rs: median_of(r["rss_open"] / 2**20 for r in rs)),
        RowSpec(key, f"{key}/rss-10k", f"resident memory at 10,000 (projected), {name}", "MiB",
                "lower", lambda rs: median_of(projected(r) for r in rs)),
        RowSpec(key, f"{key}/idle-cpu", f"server CPU while they idle, {name}", "%", "lower",
                lambda rs: median_of(
                    100 * r["hold_usage"]["server_total_cpu"] / r["hold_usage"]["wall"]
                    for r in rs
                )),
        RowSpec(key, f"{key}/idle-cpu-per-conn",
                f"server CPU (with its DB) per idle {name} connection per minute", "ms", "lower",
                lambda rs: median_of(idle_cpu_per_minute(r) for r in rs)),
        RowSpec(key, f"{key}/open-rate", f"{name} connections opened per second", "/s",
                "higher", lambda rs: median_of(r["opened"] / r["open_seconds"] for r in rs)),
    ]  # fmt: skip


def media_rate(field: str) -> Extract:
    """MB/s of the large file, the median over rounds."""
    return lambda rs: median_of(r["file_mb"] / r[field] for r in rs if r.get(field))


def media_rss(field: str) -> Extract:
    return lambda rs: median_of(r[field] / 2**20 for r in rs if field in r)


def _media() -> list[RowSpec]:
    return [
        RowSpec("media", "media/upload", "media upload of a 10 MB file", "MB/s", "higher",
                media_rate("upload_file_s")),
        RowSpec("media", "media/download", "media download of a 10 MB file", "MB/s", "higher",
                media_rate("download_file_s")),
        RowSpec("media", "media/thumbnail-p50", "thumbnail (sizes made before) p50", "ms",
                "lower", lambda rs: pooled_percentile(rs, "thumbnail_ms", 50)),
        RowSpec("media", "media/thumbnail-p99", "thumbnail (sizes made before) p99", "ms",
                "lower", lambda rs: pooled_percentile(rs, "thumbnail_ms", 99)),
        RowSpec("media", "media/thumbnail-first", "thumbnail, first request of a size, p50",
                "ms", "lower", lambda rs: pooled_percentile(rs, "thumbnail_first_ms", 50)),
        RowSpec("media", "media/upload-rss-file", "server RSS rise during a 10 MB upload", "MiB",
                "lower", media_rss("upload_file_rss_rise")),
        RowSpec("media", "media/upload-rss-large", "server RSS rise during a 40 MB upload", "MiB",
                "lower", media_rss("upload_large_rss_rise")),
        RowSpec("media", "media/download-rss-file", "server RSS rise during a 10 MB download",
                "MiB", "lower", media_rss("download_file_rss_rise")),
        RowSpec("media", "media/download-rss-large", "server RSS rise during a 40 MB download",
                "MiB", "lower", media_rss("download_large_rss_rise")),
    ]  # fmt: skip


def all_specs() -> list[RowSpec]:
    specs: list[RowSpec] = []
    specs += _latency("longpoll", "long-poll /sync")
    specs += _latency("websocket", "WebSocket (HTTP send)")
    specs += _latency("websocket-send", "WebSocket (send over it too)")
    specs += _throughput("one-room", "10 senders, 1 room")
    specs += _throughput("ten-rooms", "10 senders, 10 rooms")
    specs += _fanout("longpoll", "long-poll /sync")
    specs += _fanout("websocket", "WebSocket")
    specs += _history()
    specs += _sync_and_presence()
    specs += _idle("websocket", "WebSocket")
    specs += _idle("longpoll", "long-poll /sync")
    specs += _media()
    return specs

"""The bench's arithmetic, checked against values worked out by hand, so that
its figures can be trusted. Pure and fast: no servers, no network."""

from __future__ import annotations

import math

import pytest

from tests.bench import procstat, report, rows
from tests.bench.profiles import FULL, QUICK
from tests.bench.stats import median, median_of, percentile, rate, ratio, summarize

# -- percentile: linear interpolation between closest ranks (NumPy's default) ----------


def test_percentile_interpolates_between_ranks() -> None:
    # h = (n - 1) * p / 100 over [1, 2, 3, 4]
    assert percentile([1, 2, 3, 4], 50) == 2.5  # h = 1.5
    assert percentile([1, 2, 3, 4], 25) == 1.75  # h = 0.75
    assert percentile([1, 2, 3, 4], 75) == 3.25  # h = 2.25
    assert percentile(range(1, 11), 90) == pytest.approx(9.1)  # h = 8.1


def test_percentile_ends_are_min_and_max() -> None:
    samples = [7.0, -3.0, 12.5, 0.0]
    assert percentile(samples, 0) == -3.0
    assert percentile(samples, 100) == 12.5


def test_percentile_does_not_depend_on_order() -> None:
    assert percentile([5, 1, 4, 2, 3], 50) == 3
    assert percentile((x for x in [9, 1, 5]), 50) == 5


def test_percentile_of_one_sample_is_that_sample() -> None:
    for p in (0, 1, 50, 99, 100):
        assert percentile([42.0], p) == 42.0


def test_percentile_with_ties() -> None:
    assert percentile([3, 3, 3, 3], 99) == 3
    # [1, 2, 2, 2, 10]: p50 lands on a tie, p90 (h = 3.6) between 2 and 10
    assert percentile([1, 2, 2, 2, 10], 50) == 2
    assert percentile([1, 2, 2, 2, 10], 90) == pytest.approx(2 + 0.6 * 8)


def test_p99_of_a_hundred_samples_sits_near_the_top() -> None:
    samples = list(range(1, 101))  # 1..100: h = 98.01
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 50) == pytest.approx(50.5)


def test_percentile_refuses_empty_and_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], -1)
    with pytest.raises(ValueError):
        percentile([1.0], 100.5)
    with pytest.raises(ValueError):
        percentile([1.0], math.nan)
    with pytest.raises(ValueError):
        percentile([1.0, math.nan], 50)


def test_median_is_p50() -> None:
    assert median([1, 3]) == 2
    assert median([4, 1, 3]) == 3


# -- summaries, medians of repeats, ratios ---------------------------------------------


def test_summarize_empty_has_count_zero_and_no_figures() -> None:
    summary = summarize([])
    assert summary.count == 0
    assert summary.p50 is None and summary.p99 is None and summary.max is None


def test_summarize_figures() -> None:
    summary = summarize([10.0, 20.0, 30.0, 40.0, 50.0])
    assert summary.count == 5
    assert summary.p50 == 30.0
    assert summary.p90 == pytest.approx(46.0)  # h = 3.6
    assert summary.p99 == pytest.approx(49.6)  # h = 3.96
    assert summary.max == 50.0
    assert summary.mean == 30.0


def test_median_of_repeats_skips_missing_values() -> None:
    assert median_of([3.0, None, 1.0, 2.0]) == 2.0
    assert median_of([None, None]) is None
    assert median_of([]) is None


def test_ratio_and_rate_guard_against_nothing() -> None:
    assert ratio(10.0, 4.0) == 2.5
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 3.0) is None
    assert ratio(3.0, None) is None
    assert rate(50, 2.0) == 25.0
    assert rate(5, 0.0) is None


# -- figures derived from raw records ----------------------------------------------------


def test_history_ends_leave_out_the_final_request() -> None:
    # Pages of 10 ms at first, 30 ms at the end; the last call (found nothing) is 1 ms.
    pages = [10.0] * 5 + [20.0] * 5 + [30.0] * 5 + [1.0]
    newest, oldest = rows.history_ends(pages, k=5)
    assert (newest, oldest) == (10.0, 30.0)


def test_history_ends_of_a_short_walk() -> None:
    assert rows.history_ends([]) == (None, None)
    assert rows.history_ends([5.0]) == (5.0, 5.0)
    assert rows.history_ends([4.0, 8.0, 1.0], k=10) == (4.0, 8.0)


def test_cpu_per_divides_total_cpu_by_total_work() -> None:
    records = [
        {"usage": {"server_total_cpu": 2.0}, "acked": 100},
        {"usage": {"server_total_cpu": 4.0}, "acked": 300},
    ]
    assert rows.cpu_per(records, "acked", 1000, "server_total_cpu") == pytest.approx(15.0)
    assert rows.cpu_per([], "acked", 1000, "server_total_cpu") is None


def test_latency_rows_pool_samples_across_rounds() -> None:
    results = {
        "latency/longpoll": {
            "a": [
                {"latency_ms": [1.0, 2.0], "messages": 2, "usage": {"server_total_cpu": 0.02}},
                {"latency_ms": [3.0, 4.0], "messages": 2, "usage": {"server_total_cpu": 0.02}},
            ]
        }
    }
    built = {row.key: row.values["a"] for row in report.build_rows(results, ["a"])}
    assert built["latency/longpoll/p50"] == 2.5
    assert built["latency/longpoll/max"] == 4.0
    assert built["latency/longpoll/cpu"] == pytest.approx(10.0)  # 40 ms over 4 messages


def test_fanout_wakeups_are_per_member_per_message_over_the_rounds() -> None:
    records = [
        {"members": 10, "messages": 2, "wakeups": 20},
        {"members": 10, "messages": 2, "wakeups": 24},
    ]
    assert rows.fanout_wakeups(records) == pytest.approx(1.1)
    assert rows.fanout_wakeups([{"members": 10, "messages": 2}]) is None


# -- goals --------------------------------------------------------------------------------


def _row(key: str, ours: float, synapse: float) -> report.Row:
    return report.Row(key, key, "", "", {"ours-postgresql": ours, "synapse-postgresql": synapse})


def test_goals_compare_against_synapse_on_postgresql() -> None:
    found = {
        g.name: g.met
        for g in report.goals(
            [
                _row("throughput/one-room/acked", 500.0, 100.0),  # 5x: met
                _row("latency/longpoll/p99", 30.0, 100.0),  # 0.3: not met
            ],
            idle_target=10_000,
        )
    }
    assert found["PostgreSQL: ≥ 5x Synapse's acknowledged msg/s (1 room)"] is True
    assert found["PostgreSQL: ≤ 1/5 of Synapse's send→receive p99 (long-poll)"] is False
    # Not measured in this run: neither met nor failed.
    assert found["PostgreSQL: ≥ 5x Synapse's acknowledged msg/s (10 rooms)"] is None


def test_table_has_a_ratio_column_for_each_reference_server() -> None:
    row = report.Row(
        "latency/longpoll/p50",
        "p50",
        "ms",
        "lower",
        {"ours-postgresql": 3.0, "synapse-postgresql": 30.0, "baseline-postgresql": 4.0},
    )
    servers = ["ours-postgresql", "baseline-postgresql", "synapse-postgresql"]
    header, _, line = report.table([row], servers).splitlines()
    assert header.split("|")[-3:-1] == [" ours÷Synapse (PG) ", " ours÷baseline (PG) "]
    assert [c.strip() for c in line.split("|")[-3:-1]] == ["0.10x", "0.75x"]


# -- /proc parsing and the profiles ---------------------------------------------------------


def test_parse_stat_cpu_handles_spaces_and_parentheses_in_the_name() -> None:
    ticks = procstat.CLOCK_TICKS
    fields = ["S"] + ["0"] * 10 + [str(3 * ticks), str(ticks), str(2 * ticks), str(ticks)]
    raw = "1234 (python (x) y) " + " ".join(fields + ["0"] * 30)
    assert procstat.parse_stat_cpu(raw) == 4.0
    assert procstat.parse_stat_children_cpu(raw) == 3.0


def test_parse_status_rss() -> None:
    text = "Name:\tpython\nVmPeak:\t  9000 kB\nVmRSS:\t  2048 kB\n"
    assert procstat.parse_status_rss(text) == 2048 * 1024
    assert procstat.parse_status_rss("Name: x\n") == 0


def test_profiles_name_their_shortfalls() -> None:
    assert any(s.startswith("history_events") for s in QUICK.shortfalls())
    assert not any(s.startswith("history_events") for s in FULL.shortfalls())
    assert len(QUICK.shortfalls()) >= len(FULL.shortfalls())
    assert FULL.latency_messages % FULL.latency_rounds == 0


def test_idle_goal_fails_when_fewer_than_asked_are_held() -> None:
    def idle_rows(held: float, rss: float) -> list[report.Row]:
        return [
            report.Row("idle/websocket/held", "", "", "", {"ours-postgresql": held}),
            report.Row("idle/websocket/rss", "", "", "", {"ours-postgresql": rss}),
        ]

    def met(held: float, rss: float, target: int) -> bool | None:
        goals = report.goals(idle_rows(held, rss), idle_target=target)
        return next(g.met for g in goals if "idle sync sockets" in g.name)

    assert met(10_000, 900, 10_000) is True
    assert met(10_000, 1100, 10_000) is False
    assert met(7_223, 600, 10_000) is False
    assert met(2_000, 200, 2_000) is None  # this run did not try 10,000


def test_idle_cpu_is_per_held_connection_per_minute() -> None:
    # 0.6 s of server CPU over 20 s of holding 1,000 connections:
    # 0.03 s/s over 1,000 = 30 µs per connection per second = 1.8 ms a minute.
    record = {"still_open": 1_000, "hold_usage": {"server_total_cpu": 0.6, "wall": 20.0}}
    assert rows.idle_cpu_per_minute(record) == pytest.approx(1.8)
    assert FULL.idle_connections == 10_000  # the full profile tries the goal's count


def _media_record(file_rise: int, large_rise: int) -> dict[str, object]:
    return {
        "file_mb": 10,
        "large_mb": 40,
        "upload_file_s": 0.1,
        "download_file_s": 0.05,
        "upload_file_rss_rise": file_rise,
        "upload_large_rss_rise": large_rise,
        "download_file_rss_rise": 0,
        "download_large_rss_rise": 0,
        "thumbnail_ms": [2.0, 4.0, 6.0],
        "thumbnail_first_ms": [30.0],
    }


def test_media_rows_and_the_streaming_goal() -> None:
    mib = 2**20
    streamed = [_media_record(1 * mib, 2 * mib), _media_record(3 * mib, 3 * mib)]
    buffered = [_media_record(11 * mib, 41 * mib)]
    results = {"media": {"ours-postgresql": streamed, "ours-sqlite": buffered}}
    built = report.build_rows(results, ["ours-postgresql", "ours-sqlite"])
    values = {row.key: row.values for row in built}
    assert values["media/upload"]["ours-postgresql"] == pytest.approx(100.0)
    assert values["media/download"]["ours-postgresql"] == pytest.approx(200.0)
    assert values["media/thumbnail-p50"]["ours-postgresql"] == pytest.approx(4.0)
    assert values["media/upload-rss-large"]["ours-postgresql"] == pytest.approx(2.5)
    by_server = {
        g.name.split(":")[0]: g.met for g in report.goals(built, 0) if "upload, streamed" in g.name
    }
    assert by_server == {"ours-postgresql": True, "ours-sqlite": False}

"""Prometheus metrics (`GET /metrics`), one registry per server.

Requests are counted by route rule (`/_matrix/client/v3/rooms/<room_id>/send/...`),
never by raw path, so the number of series stays bounded whatever clients ask
for. Figures the server already keeps (events persisted, push queue depth) are
read when scraped instead of being counted twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Long polls wait up to the client's timeout (30 s is usual), hence the long tail.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "unmatched"
# Clients may send any method name; others share one label.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


@dataclass(frozen=True)
class LiveFigures:
    """Where the scrape reads what the server keeps anyway."""

    events_persisted: Callable[[], int]
    push_queue_depth: Callable[[], int]
    push_pending_deliveries: Callable[[], int]
    push_outcomes: Callable[[], dict[str, int]]
    database_up: Callable[[], bool]
    database_check_seconds: Callable[[], float]


class _LiveCollector(Collector):
    def __init__(self, figures: LiveFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures
        yield CounterMetricFamily(
            "homeserver_events_persisted",
            "Room events committed to the database by this process",
            value=figures.events_persisted(),
        )
        yield GaugeMetricFamily(
            "homeserver_push_queue_depth",
            "Events waiting to be looked at for pushes",
            value=figures.push_queue_depth(),
        )
        yield GaugeMetricFamily(
            "homeserver_push_pending_deliveries",
            "Pushes being sent or waiting to be retried",
            value=figures.push_pending_deliveries(),
        )
        outcomes = CounterMetricFamily(
            "homeserver_push_outcomes",
            "Push deliveries and events by outcome",
            labels=["outcome"],
        )
        for outcome, count in sorted(figures.push_outcomes().items()):
            outcomes.add_metric([outcome], count)
        yield outcomes
        yield GaugeMetricFamily(
            "homeserver_database_up",
            "1 if the database answered a trivial query at this scrape, else 0",
            value=1 if figures.database_up() else 0,
        )
        yield GaugeMetricFamily(
            "homeserver_database_check_seconds",
            "How long that query took (or how long until it failed)",
            value=figures.database_check_seconds(),
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "homeserver_http_requests",
            "HTTP requests answered, by method, route rule and status",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "homeserver_http_request_duration_seconds",
            "Time to answer HTTP requests (long polls included), by method and route rule",
            ["method", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.websocket_streams = Gauge(
            "homeserver_websocket_streams",
            "Open WebSocket sync streams",
            registry=self.registry,
        )
        self.long_polls = Gauge(
            "homeserver_long_polls",
            "Long-poll /sync requests waiting",
            registry=self.registry,
        )

        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def watch(self, figures: LiveFigures) -> None:
        self.registry.register(_LiveCollector(figures))

    def observe_request(self, method: str, rule: str | None, status: int, seconds: float) -> None:
        key = (method if method in KNOWN_METHODS else "other", rule or UNMATCHED, status)
        children = self._children.get(key)
        if children is None:
            # Looking up labelled children costs more than counting: once per series.
            children = (
                self.requests.labels(key[0], key[1], str(status)),
                self.latency.labels(key[0], key[1]),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

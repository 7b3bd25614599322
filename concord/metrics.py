"""The bot's metrics: one Prometheus registry per bot, served on ``CONCORD_METRICS_ADDR`` and,
with ``CONCORD_METRICS_EMF=1``, written once a minute as CloudWatch Embedded Metric Format lines.

Nothing here imports discord: the bot feeds the interaction, REST and gateway figures in
(``concord/bot.py``), the database and the scheduler call the small observer methods below.
Exposition, label escaping and the histogram maths are prometheus-client's.

Interactions are followed through ``concord.telemetry.current_interaction``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from concord.telemetry import OK, UNANSWERED, InteractionState, route_template

log: logging.Logger = logging.getLogger(__name__)

# Discord asks for an answer within 3 s and takes followups for 15 min: buckets around both.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0,
)  # fmt: skip
DB_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
)  # fmt: skip
GROUP_SIZE_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64)
PASS_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class _WaitWatch:
    """The longest wait seen since the last look (for the writer-queue alert)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    longest: float = 0.0

    def see(self, seconds: float) -> None:
        # Called for every write (on the loop's thread, or the writer thread): no lock unless
        # the wait is a new longest.
        # Skipping without the lock is safe because reading a float attribute is atomic (GIL,
        # and per-object locking in free-threaded builds): a value >= seconds was in place after
        # this wait ended, so the next take() reports at least this wait.
        if seconds <= self.longest:
            return
        with self.lock:
            self.longest = max(self.longest, seconds)

    def take(self) -> float:
        with self.lock:
            longest, self.longest = self.longest, 0.0
        return longest


class PlainHistogram:
    """One histogram series kept as plain Python numbers: an observation is a bisect and two
    additions (prometheus-client's ``observe`` takes a lock per bucket and for the sum, ~10x the
    cost). Only one thread at a time may observe a given series (for the database series the
    loop, or the writer thread while the loop runs no write group: concord/db/database.py hands
    over through the loop; the loop for the interaction series), so no update is lost without
    a lock;
    the scrape thread only copies the numbers (each copy is atomic), at worst a count and a sum
    from a moment apart, as with prometheus-client's own histograms."""

    __slots__ = ("bounds", "counts", "created", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds  # finite upper bounds, ascending; the last count is for +Inf
        self.counts: list[int] = [0] * (len(bounds) + 1)
        self.total = 0.0
        self.created: float = time.time()

    def observe(self, value: float) -> None:
        # The first bound >= value: Prometheus buckets are "less than or equal".
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value


class PlainHistogramFamily:
    """A histogram metric (name, help, label names, buckets) whose series are
    :class:`PlainHistogram`; :class:`_PlainCollector` turns them into the exposition
    prometheus-client would give for a ``Histogram`` of the same name and labels."""

    def __init__(
        self, name: str, documentation: str, labelnames: tuple[str, ...], buckets: tuple[float, ...]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self.buckets: tuple[float, ...] = tuple(float(b) for b in buckets if b != math.inf)
        self.series: dict[tuple[str, ...], PlainHistogram] = {}
        if not labelnames:  # as prometheus-client: an unlabelled histogram shows zeros at once
            self.series[()] = PlainHistogram(self.buckets)

    def child(self, values: tuple[str, ...]) -> PlainHistogram:
        series = self.series.get(values)
        if series is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: labels {self.labelnames}, got {values}")
            series = self.series[values] = PlainHistogram(self.buckets)
        return series

    def observe(self, value: float) -> None:
        """Unlabelled families only."""
        self.series[()].observe(value)

    def family(self) -> HistogramMetricFamily:
        metric = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        bounds = [floatToGoString(b) for b in self.buckets] + ["+Inf"]
        with_created = prometheus_metrics._get_use_created()
        for values, series in self.series.copy().items():  # dict.copy(): atomic, unlike a walk
            counts, total = series.counts.copy(), series.total
            cumulative: list[tuple[str, float]] = []
            running = 0
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                cumulative.append((bound, float(running)))
            metric.add_metric(list(values), cumulative, total)
            if with_created:
                labels = dict(zip(self.labelnames, values, strict=True))
                metric.samples.append(Sample(f"{self.name}_created", labels, series.created))
        return metric


class PlainCounter:
    """One counter series as a plain number (see :class:`PlainHistogram`: one thread counts)."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created: float = time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class PlainCounterFamily:
    """A counter metric whose series are :class:`PlainCounter`, exposed as prometheus-client
    would expose a ``Counter`` of the same name and labels (``_total`` and ``_created``)."""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self.series: dict[tuple[str, ...], PlainCounter] = {}

    def child(self, values: tuple[str, ...]) -> PlainCounter:
        series = self.series.get(values)
        if series is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: labels {self.labelnames}, got {values}")
            series = self.series[values] = PlainCounter()
        return series

    def labels(self, *values: str) -> PlainCounter:
        return self.child(tuple(values))

    def family(self) -> CounterMetricFamily:
        metric = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with_created = prometheus_metrics._get_use_created()
        for values, series in self.series.copy().items():
            created = series.created if with_created else None
            metric.add_metric(list(values), series.value, created=created)
        return metric


class _PlainCollector(Collector):
    def __init__(self, families: list[PlainHistogramFamily | PlainCounterFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.family()


class BotMetrics:
    """Every metric the bot exports, in a registry of its own (two bots in one test process
    must not share counters)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # The counters and histograms moved per interaction, per request and per write: plain
        # numbers, turned into the exposition at scrape time (see PlainHistogram).
        self._plain: list[PlainHistogramFamily | PlainCounterFamily] = []

        def plain(
            name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...]
        ) -> PlainHistogramFamily:
            family = PlainHistogramFamily(name, documentation, labels, buckets)
            self._plain.append(family)
            return family

        def plain_counter(
            name: str, documentation: str, labels: tuple[str, ...]
        ) -> PlainCounterFamily:
            family = PlainCounterFamily(name, documentation, labels)
            self._plain.append(family)
            return family

        self.interactions: PlainCounterFamily = plain_counter(
            "concord_interactions",
            "Interactions handled, by kind, command or button, and outcome.",
            ("kind", "name", "outcome"),
        )
        self.ack_seconds: PlainHistogramFamily = plain(
            "concord_interaction_ack_seconds",
            "From receiving an interaction to Discord accepting its first response.",
            ("kind", "name"),
            LATENCY_BUCKETS,
        )
        self.answer_seconds: PlainHistogramFamily = plain(
            "concord_interaction_answer_seconds",
            "From receiving an interaction to the end of its handling (every answer sent).",
            ("kind", "name"),
            LATENCY_BUCKETS,
        )
        self.requests: PlainCounterFamily = plain_counter(
            "concord_discord_requests",
            "Discord REST requests (each attempt), by method, route template and status.",
            ("method", "route", "status"),
        )
        self.rate_limited = Counter(
            "concord_discord_rate_limited",
            "Discord REST answers with status 429, by route template.",
            ["method", "route"],
            registry=r,
        )
        self.retries = Counter(
            "concord_discord_retries",
            "REST requests sent again after a 429 or 5xx answer, by route template.",
            ["method", "route"],
            registry=r,
        )
        self.gateway_latency = Gauge(
            "concord_gateway_latency_seconds",
            "Time between the last gateway heartbeat and its acknowledgement.",
            registry=r,
        )
        self.gateway_events = Counter(
            "concord_gateway_connections",
            "Gateway connection events: connect, disconnect, resume.",
            ["event"],
            registry=r,
        )
        self.write_queue = Gauge(
            "concord_db_write_queue_depth",
            "Transactions waiting to run (for the loop's next write group or the writer thread).",
            registry=r,
        )
        self.write_wait: PlainHistogramFamily = plain(
            "concord_db_write_wait_seconds",
            "Time a transaction waited to run, from its submission.",
            (),
            DB_BUCKETS,
        )
        self.transaction_seconds: PlainHistogramFamily = plain(
            "concord_db_transaction_seconds",
            "Time the writer spent running one transaction function.",
            (),
            DB_BUCKETS,
        )
        self.group_size: PlainHistogramFamily = plain(
            "concord_db_group_commit_size",
            "Transactions committed together by one COMMIT.",
            (),
            GROUP_SIZE_BUCKETS,
        )
        self.group_seconds: PlainHistogramFamily = plain(
            "concord_db_group_commit_seconds",
            "Time from BEGIN to the end of COMMIT for one group of transactions.",
            (),
            DB_BUCKETS,
        )
        self.reader_wait: PlainHistogramFamily = plain(
            "concord_db_reader_wait_seconds",
            "Time waited for a read connection from the pool.",
            (),
            DB_BUCKETS,
        )
        self.scheduler_pass: PlainHistogramFamily = plain(
            "concord_scheduler_pass_seconds",
            "Duration of one scheduler pass over every guild.",
            (),
            PASS_BUCKETS,
        )
        self.job_runs = Counter(
            "concord_job_runs",
            "Daily job runs by job and outcome (ok, late, failed).",
            ["job", "outcome"],
            registry=r,
        )
        self.notifications = Counter(
            "concord_notifications_sent",
            "Once-only notifications claimed for sending, by kind.",
            ["kind"],
            registry=r,
        )
        self.guilds = Gauge("concord_guilds", "Guilds the bot is in.", registry=r)
        self.members = Gauge("concord_members", "Members of the guilds the bot is in.", registry=r)
        r.register(_PlainCollector(self._plain))
        self.writer_waits = _WaitWatch()
        # When the last good backup was taken (Unix time), read from job_runs by the monitoring;
        # None (no series at all) while backups are off or none has succeeded yet.
        self.last_backup: float | None = None
        r.register(_LastBackupCollector(self))

    # -- interactions ------------------------------------------------------------------------
    def interaction_received(self, kind: str, name: str) -> InteractionState:
        return InteractionState(kind, name, self.monotonic())

    def interaction_acked(self, state: InteractionState) -> None:
        if state.acked:
            return
        state.acked = True
        self.ack_seconds.child((state.kind, state.name)).observe(self.monotonic() - state.received)

    def interaction_finished(self, state: InteractionState) -> None:
        """Count the interaction once its handling tasks are all done."""
        if state.finished:
            return
        state.finished = True
        outcome = state.outcome or (OK if state.acked else UNANSWERED)
        self.interactions.child((state.kind, state.name, outcome)).inc()
        answer = self.answer_seconds.child((state.kind, state.name))
        answer.observe(self.monotonic() - state.received)

    # -- Discord REST --------------------------------------------------------------------------
    def request_done(self, method: str, path: str, status: int, retry: bool) -> None:
        route = route_template(path)
        self.requests.child((method, route, str(status))).inc()
        if status == 429:
            self.rate_limited.labels(method, route).inc()
        if retry:
            self.retries.labels(method, route).inc()

    # -- database (called from the writer thread and the loop) ----------------------------------
    def write_waited(self, seconds: float) -> None:
        self.write_wait.observe(seconds)
        self.writer_waits.see(seconds)

    def transaction_ran(self, seconds: float) -> None:
        self.transaction_seconds.observe(seconds)

    def group_committed(self, size: int, seconds: float) -> None:
        self.group_size.observe(size)
        self.group_seconds.observe(seconds)

    def reader_waited(self, seconds: float) -> None:
        self.reader_wait.observe(seconds)

    # -- scheduler ----------------------------------------------------------------------------
    def pass_took(self, seconds: float) -> None:
        self.scheduler_pass.observe(seconds)

    def job_ran(self, job: str, outcome: str) -> None:
        self.job_runs.labels(job, outcome).inc()

    def notification_sent(self, kind: str) -> None:
        self.notifications.labels(kind).inc()


class _LastBackupCollector(Collector):
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        last = self.metrics.last_backup
        if last is None:
            return
        family = GaugeMetricFamily(
            "concord_backup_last_success_timestamp_seconds",
            "When the last good (verified) scheduled backup finished (Unix time).",
        )
        family.add_metric([], last)
        yield family


class MetricsServer:
    """prometheus-client's HTTP server for ``/metrics`` on a daemon thread."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        server, thread = start_http_server(port, addr=host, registry=registry)
        self._server: WSGIServer = server
        self._thread: threading.Thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# -- CloudWatch Embedded Metric Format ----------------------------------------------------------
EMF_NAMESPACE = "ConcordDesk"
_EMF_MAX_METRICS = 100  # per document, by the specification


def _samples(registry: CollectorRegistry) -> Iterator[tuple[Metric, str, dict[str, str], float]]:
    for metric in registry.collect():
        for sample in metric.samples:
            yield metric, sample.name, dict(sample.labels), float(sample.value)


class EmfWriter:
    """Turns the registry into EMF documents: counters and histogram counts/sums as the change
    since the last call (CloudWatch sums the values of a minute), gauges as they are."""

    def __init__(self, registry: CollectorRegistry, namespace: str = EMF_NAMESPACE) -> None:
        self.registry = registry
        self.namespace = namespace
        self._last: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def documents(self, timestamp_ms: int) -> list[dict[str, Any]]:
        grouped: dict[tuple[str, ...], dict[tuple[str, ...], dict[str, float]]] = {}
        for metric, name, labels, value in _samples(self.registry):
            if metric.type == "histogram" and not name.endswith(("_count", "_sum")):
                continue  # buckets: Prometheus has them; CloudWatch gets count and sum
            if name.endswith("_created") or not math.isfinite(value):
                continue
            key = (name, tuple(sorted(labels.items())))
            if metric.type in ("counter", "histogram"):
                delta = value - self._last.get(key, 0.0)
                self._last[key] = value
                if delta == 0:
                    continue
                value = delta
            dims = tuple(sorted(labels))
            values = tuple(labels[d] for d in dims)
            grouped.setdefault(dims, {}).setdefault(values, {})[name] = value
        documents: list[dict[str, Any]] = []
        for dims, by_values in grouped.items():
            for values, metrics in by_values.items():
                names = sorted(metrics)
                for start in range(0, len(names), _EMF_MAX_METRICS):
                    chunk = names[start : start + _EMF_MAX_METRICS]
                    documents.append(self._document(timestamp_ms, dims, values, chunk, metrics))
        return documents

    def _document(
        self,
        timestamp_ms: int,
        dims: tuple[str, ...],
        values: tuple[str, ...],
        names: list[str],
        metrics: dict[str, float],
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dims)],
                        "Metrics": [{"Name": n, "Unit": _unit(n)} for n in names],
                    }
                ],
            }
        }
        doc.update(zip(dims, values, strict=True))
        doc.update({n: metrics[n] for n in names})
        return doc


def _unit(name: str) -> str:
    if name.endswith("_seconds_sum") or name.endswith("_seconds"):
        return "Seconds"
    if name.endswith("_sum") and "size" in name:
        return "Count"
    return "Count" if name.endswith(("_total", "_count")) else "None"

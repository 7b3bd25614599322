"""The histograms kept as plain numbers (concord/metrics.py PlainHistogram) expose exactly what
prometheus-client's own Histogram would for the same observations, and lose none."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from concord import telemetry
from concord.db.database import Database
from concord.metrics import (
    DB_BUCKETS,
    BotMetrics,
    PlainCounterFamily,
    PlainHistogramFamily,
    _PlainCollector,
    _WaitWatch,
)
from concord.telemetry import route_template

# On, just under, just over and between bounds, above the top, zero.
VALUES = [0.0, 0.0005, 0.00050001, 0.0007, 0.001, 0.3, 0.5, 5.0, 5.0001, 99.0]


def _samples(
    registry: CollectorRegistry, name: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name == name
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_a_plain_histogram_exposes_what_prometheus_client_would() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    plain = PlainHistogramFamily("x_seconds", "Help.", ("kind", "name"), DB_BUCKETS)
    ours.register(_PlainCollector([plain]))
    reference = Histogram(
        "x_seconds", "Help.", ["kind", "name"], buckets=DB_BUCKETS, registry=theirs
    )
    for index, value in enumerate(VALUES):
        labels = ("slash", "a" if index % 3 else "b")
        plain.child(labels).observe(value)
        reference.labels(*labels).observe(value)
    got = _samples(ours, "x_seconds")
    assert got == _samples(theirs, "x_seconds")
    assert got[("x_seconds_count", (("kind", "slash"), ("name", "a")))] == 6
    # Each series also has its _created sample, as prometheus-client's.
    text = "\n".join(
        f.name for f in ours.collect() for s in f.samples if s.name.endswith("_created")
    )
    assert text.count("x_seconds") == 2


def test_a_plain_counter_exposes_what_prometheus_client_would() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    plain = PlainCounterFamily("z", "Help.", ("route", "status"))
    ours.register(_PlainCollector([plain]))
    reference = Counter("z", "Help.", ["route", "status"], registry=theirs)
    for route, status in [("/a", "200"), ("/a", "200"), ("/b", "429"), ("/a", "404")]:
        plain.child((route, status)).inc()
        reference.labels(route, status).inc()
    plain.labels("/b", "429").inc(3)
    reference.labels("/b", "429").inc(3)
    assert _samples(ours, "z") == _samples(theirs, "z")
    assert _samples(ours, "z")[("z_total", (("route", "/b"), ("status", "429")))] == 4
    created = [s for f in ours.collect() for s in f.samples if s.name == "z_created"]
    assert len(created) == 3


def test_an_unlabelled_plain_histogram_shows_zeros_before_any_observation() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    ours.register(_PlainCollector([PlainHistogramFamily("y", "Help.", (), (1, 2))]))
    Histogram("y", "Help.", buckets=(1, 2), registry=theirs)
    assert _samples(ours, "y") == _samples(theirs, "y")
    assert _samples(ours, "y")[("y_bucket", (("le", "+Inf"),))] == 0


async def test_a_scrape_after_n_writes_shows_n_observations_of_each(tmp_path: Path) -> None:
    metrics = BotMetrics()
    n = 25
    async with Database(tmp_path / "m.db") as db:
        await db.write(lambda c: c.execute("CREATE TABLE t (v INTEGER)"))
        db.observer = metrics
        await asyncio.gather(*(db.write(_insert, i) for i in range(n)))
    registry = metrics.registry
    for name in ("write_wait", "transaction"):
        assert registry.get_sample_value(f"concord_db_{name}_seconds_count") == n
        inf = registry.get_sample_value(f"concord_db_{name}_seconds_bucket", {"le": "+Inf"})
        assert inf == n
    groups = registry.get_sample_value("concord_db_group_commit_size_count")
    assert groups is not None and 1 <= groups <= n
    assert registry.get_sample_value("concord_db_group_commit_size_sum") == n  # every write once
    assert registry.get_sample_value("concord_db_group_commit_seconds_count") == groups


def _insert(conn: sqlite3.Connection, value: int) -> None:
    conn.execute("INSERT INTO t (v) VALUES (?)", (value,))


def test_observations_from_the_writer_thread_are_not_lost_while_scraping() -> None:
    metrics = BotMetrics()
    n = 50_000
    seen: list[float] = []

    def writer() -> None:
        for _ in range(n):
            metrics.transaction_ran(0.002)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        seen.append(metrics.registry.get_sample_value("concord_db_transaction_seconds_count") or 0)
    thread.join()
    assert seen == sorted(seen)  # never goes back
    registry = metrics.registry
    assert registry.get_sample_value("concord_db_transaction_seconds_count") == n
    assert registry.get_sample_value("concord_db_transaction_seconds_bucket", {"le": "0.001"}) == 0
    assert registry.get_sample_value("concord_db_transaction_seconds_bucket", {"le": "0.0025"}) == n
    assert abs((registry.get_sample_value("concord_db_transaction_seconds_sum") or 0) - 100) < 1e-6


def test_interaction_latencies_land_in_their_buckets() -> None:
    now = [100.0]
    metrics = BotMetrics(monotonic=lambda: now[0])
    state = metrics.interaction_received("slash", "/ping")
    now[0] += 0.02
    metrics.interaction_acked(state)
    metrics.interaction_acked(state)  # the first acknowledgement only
    now[0] += 1.5
    metrics.interaction_finished(state)
    registry, labels = metrics.registry, {"kind": "slash", "name": "/ping"}
    ack = "concord_interaction_ack_seconds"
    assert registry.get_sample_value(f"{ack}_count", labels) == 1
    assert registry.get_sample_value(f"{ack}_bucket", {**labels, "le": "0.01"}) == 0
    assert registry.get_sample_value(f"{ack}_bucket", {**labels, "le": "0.025"}) == 1
    answer = "concord_interaction_answer_seconds"
    assert registry.get_sample_value(f"{answer}_bucket", {**labels, "le": "1.0"}) == 0
    assert registry.get_sample_value(f"{answer}_bucket", {**labels, "le": "2.0"}) == 1
    assert abs((registry.get_sample_value(f"{answer}_sum", labels) or 0) - 1.52) < 1e-9


def test_the_wait_watch_reports_the_longest_wait_since_the_last_look() -> None:
    watch = _WaitWatch()
    for seconds in (0.1, 3.0, 0.2, 7.5, 1.0):
        watch.see(seconds)
    assert watch.take() == 7.5
    assert watch.take() == 0.0
    watch.see(0.3)
    assert watch.take() == 0.3


def test_route_templates_are_cached_and_the_cache_stays_bounded() -> None:
    path = "/api/v10/channels/123/messages/456"
    assert route_template(path) == route_template(path) == "/channels/{id}/messages/{id}"
    token = "/api/v10/interactions/1/aW50ZXJhY3Rpb24/callback"
    assert route_template(token) == "/interactions/{id}/{token}/callback"
    for index in range(telemetry._ROUTE_CACHE_SIZE + 10):
        assert route_template(f"/api/v10/channels/{index}") == "/channels/{id}"
    assert len(telemetry._route_cache) <= telemetry._ROUTE_CACHE_SIZE


def test_paths_with_a_token_get_their_template_without_evicting_the_cached_paths() -> None:
    channel = "/api/v10/channels/77/messages"
    assert route_template(channel) == "/channels/{id}/messages"
    for index in range(telemetry._ROUTE_CACHE_SIZE + 10):  # every one a fresh id and token
        followup = f"/api/v10/webhooks/{index}/dG9rZW4{index}/messages/@original"
        assert route_template(followup) == "/webhooks/{id}/{token}/messages/@original"
        edit = f"/api/v10/webhooks/9/dG9rZW4{index}/messages/{index}"
        assert route_template(edit) == "/webhooks/{id}/{token}/messages/{id}"
        callback = f"/api/v10/interactions/{index}/dG9rZW4{index}/callback"
        assert route_template(callback) == "/interactions/{id}/{token}/callback"
    assert channel in telemetry._route_cache
    assert len(telemetry._token_route_cache) <= telemetry._ROUTE_CACHE_SIZE
    # Not the token form (no id before it): the general rule, all the same.
    assert route_template("/api/v10/webhooks/abc/def/messages") == "/webhooks/abc/def/messages"
    assert route_template("/api/v10/webhooks/1/dG9rZW4") == "/webhooks/{id}/{token}"


def test_command_names_are_looked_up_once_per_command_and_unknown_ones_never_cached() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from concord.monitoring import CommandCache, interaction_label

    lookups: list[str] = []

    def get_command(name: str, **_kwargs: Any) -> Any:
        lookups.append(name)
        return SimpleNamespace(name=name) if name == "leave" else None

    bot = cast(Any, SimpleNamespace(tree=SimpleNamespace(get_command=get_command)))
    known: CommandCache = {}
    apply = {
        "type": 2,
        "data": {"name": "leave", "type": 1, "options": [{"type": 1, "name": "apply"}]},
    }
    balance = {
        "type": 2,
        "data": {"name": "leave", "type": 1, "options": [{"type": 1, "name": "balance"}]},
    }
    forged = {"type": 2, "data": {"name": "nope", "type": 1}}
    assert interaction_label(bot, apply, known) == ("command", "leave apply")
    assert interaction_label(bot, balance, known) == ("command", "leave balance")
    assert lookups == ["leave"]
    assert interaction_label(bot, forged, known) == ("command", "unknown")
    assert interaction_label(bot, forged, known) == ("command", "unknown")
    assert lookups == ["leave", "nope", "nope"]
    assert len(known) == 1

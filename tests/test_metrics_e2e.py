"""Monitoring end to end: /metrics scraped before and after a slash command, a button, a user
error, an unexpected error and a scheduled job moves by exactly what happened; EMF lines follow
the specification; alerts reach a Discord incoming webhook once, rate-limited, and resolve."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
from discord import app_commands
from discord.ext import commands
from prometheus_client.parser import text_string_to_metric_families

from concord import monitoring
from concord.clock import ManualClock
from concord.logsetup import JsonFormatter
from concord.metrics import EMF_NAMESPACE, EmfWriter
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_ON = pytest.mark.sandbox(settings={"metrics_addr": ("127.0.0.1", 0)})


async def scrape(sandbox: Sandbox) -> Samples:
    monitoring = sandbox.bot.monitoring
    assert monitoring is not None and monitoring.server is not None
    url = f"http://127.0.0.1:{monitoring.server.port}/metrics"

    def get() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    text = await asyncio.to_thread(get)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, metric: str, **labels: str) -> float:
    key = (metric, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


class Broken(commands.Cog):
    @app_commands.command(name="broken", description="Always fails (test only)")
    async def broken(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("boom")


@METRICS_ON
async def test_counters_and_histograms_move_by_exactly_what_happened(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.add_cog(Broken())
    before = await scrape(sandbox)

    await sandbox.slash("owner", "concord settings")
    await apply(sandbox)  # /leave apply: a command that posts a card
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    await sandbox.slash("owner", "concord timezone", timezone="Not/AZone")  # a member's mistake
    with sandbox.expect_errors():
        await sandbox.slash("bob", "broken")
    sandbox.clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())

    after = await scrape(sandbox)
    total = "concord_interactions_total"
    assert moved(before, after, total, kind="command", name="concord settings", outcome="ok") == 1
    assert moved(before, after, total, kind="command", name="leave apply", outcome="ok") == 1
    assert moved(before, after, total, kind="component", name="leave:approve", outcome="ok") == 1
    assert (
        moved(before, after, total, kind="command", name="concord timezone", outcome="user_error")
        == 1
    )
    assert (
        moved(before, after, total, kind="command", name="broken", outcome="unexpected_error") == 1
    )
    interactions = sum(after[key] - before.get(key, 0.0) for key in after if key[0] == total)
    assert interactions == 5
    acks = "concord_interaction_ack_seconds_count"
    answers = "concord_interaction_answer_seconds_count"
    assert moved(before, after, acks, kind="component", name="leave:approve") == 1
    assert moved(before, after, answers, kind="command", name="leave apply") == 1
    # The office's summary (19:00 London time) ran: one job run, on time.
    assert moved(before, after, "concord_job_runs_total", job="dar_summary", outcome="ok") == 1
    assert moved(before, after, "concord_scheduler_pass_seconds_count") == 1
    # REST: one interaction callback per interaction, by route template (no ids or tokens).
    route = "/interactions/{id}/{token}/callback"
    callbacks = moved(
        before, after, "concord_discord_requests_total", method="POST", route=route, status="200"
    )
    assert callbacks == 5
    assert moved(before, after, "concord_db_group_commit_size_count") >= 3
    assert after[("concord_guilds", frozenset())] == 1
    assert after[("concord_members", frozenset())] == len(sandbox.guild.members)


@METRICS_ON
@pytest.mark.parametrize("hook", ["middleware", "trace"])
async def test_rate_limits_and_retries_are_counted(
    sandbox: Sandbox, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hook == "trace":  # an aiohttp without client middlewares: discord.py's http_trace
        monkeypatch.setattr(monitoring, "MIDDLEWARES_SUPPORTED", False)
        await sandbox.restart()
        assert sandbox.bot.http.http_trace is not None
    else:  # the cheaper client middleware on discord.py's session
        assert sandbox.bot.http.http_trace is None
    await sandbox.configure_office()
    before = await scrape(sandbox)
    sandbox.emulator.inject_rate_limit("POST /channels/{channel_id}/messages", retry_after=0.01)
    await apply(sandbox)
    after = await scrape(sandbox)
    labels = {"method": "POST", "route": "/channels/{id}/messages"}
    assert moved(before, after, "concord_discord_rate_limited_total", **labels) == 1
    assert moved(before, after, "concord_discord_retries_total", **labels) == 1
    assert moved(before, after, "concord_discord_requests_total", **labels, status="429") == 1


def test_emf_documents_follow_the_specification() -> None:
    from concord.metrics import BotMetrics

    metrics = BotMetrics()
    metrics.interactions.labels("command", "leave apply", "ok").inc(3)
    metrics.job_runs.labels("digest", "late").inc()
    metrics.transaction_ran(0.002)
    writer = EmfWriter(metrics.registry)
    documents = writer.documents(1_764_000_000_000)
    assert documents
    for document in documents:
        directive = document["_aws"]
        assert directive["Timestamp"] == 1_764_000_000_000
        (metric_directive,) = directive["CloudWatchMetrics"]
        assert metric_directive["Namespace"] == EMF_NAMESPACE
        for dimension_set in metric_directive["Dimensions"]:
            assert len(dimension_set) <= 30
            for dimension in dimension_set:
                assert isinstance(document[dimension], str)
        assert 1 <= len(metric_directive["Metrics"]) <= 100
        for definition in metric_directive["Metrics"]:
            assert isinstance(document[definition["Name"]], int | float)
    by_name = {name: doc for doc in documents for name in doc if name.startswith("concord_")}
    assert by_name["concord_interactions_total"]["concord_interactions_total"] == 3
    assert by_name["concord_interactions_total"]["name"] == "leave apply"
    # The next minute carries only what changed since (CloudWatch adds them up).
    metrics.interactions.labels("command", "leave apply", "ok").inc()
    later = writer.documents(1_764_000_060_000)
    counts = [d["concord_interactions_total"] for d in later if "concord_interactions_total" in d]
    assert counts == [1]
    # Written through the JSON log format, the document is the log line's top level.
    record = logging.LogRecord("concord.metrics.emf", logging.INFO, "", 0, "metrics", (), None)
    record.emf = later[0]
    line = json.loads(JsonFormatter().format(record))
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == EMF_NAMESPACE


# -- alerts ---------------------------------------------------------------------------------------
def alert_settings(sandbox: Sandbox) -> dict[str, Any]:
    url = sandbox.emulator.create_incoming_webhook(sandbox.channel("general"), "Alerts")
    return {"alert_webhook_url": url}


@pytest.fixture
async def alerting(sandbox: Sandbox) -> Sandbox:
    """The sandbox's bot restarted with CONCORD_ALERT_WEBHOOK_URL → #general."""
    sandbox.extra_settings.update(alert_settings(sandbox))
    await sandbox.restart()
    await sandbox.configure_office()
    return sandbox


def alerts(sandbox: Sandbox) -> list[str]:
    return [
        embed["title"]
        for message in sandbox.messages("general")
        for embed in message.embeds
        if message.stored.author_id in sandbox.emulator.incoming_webhooks
    ]


async def test_a_job_failing_after_its_retries_alerts_once_then_resolves(
    alerting: Sandbox,
) -> None:
    sandbox = alerting
    failures = Counter[str]()
    real = sandbox.bot.scheduler.daily_jobs["dar_summary"]

    async def failing(config: Any, local_date: Any, late: bool) -> None:
        failures["summary"] += 1
        raise RuntimeError("the reports channel is gone")

    sandbox.bot.scheduler.add_daily("dar_summary", real.at, failing)
    start = datetime(2026, 12, 1, 19, 1, tzinfo=UTC)  # the office's summary is at 19:00
    with sandbox.expect_errors():
        for minute in range(0, 60, 11):  # retried on later passes, up to the attempt limit
            sandbox.clock.set(start + timedelta(minutes=minute))  # type: ignore[attr-defined]
            await sandbox.run(sandbox.bot.run_scheduled())
    assert failures["summary"] == 3
    assert alerts(sandbox) == ["🔴 Daily job dar_summary failed"]
    text = sandbox.messages("general")[-1].embeds[0]["description"]
    assert "RuntimeError" in text and "reports channel is gone" not in text

    sandbox.bot.scheduler.add_daily("dar_summary", real.at, real.run)
    sandbox.clock.set(datetime(2026, 12, 2, 19, 1, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())
    assert alerts(sandbox) == [
        "🔴 Daily job dar_summary failed",
        "✅ Resolved: Daily job dar_summary failed",
    ]


async def test_a_slow_writer_alerts_at_most_once_an_hour(alerting: Sandbox) -> None:
    sandbox = alerting
    monitoring = sandbox.bot.monitoring
    assert monitoring is not None
    for _ in range(3):  # three slow minutes in a row: one message
        monitoring.metrics.write_waited(7.5)
        await monitoring.check_writer()
    assert alerts(sandbox) == ["🔴 Database writes are waiting"]
    assert "7.5 s" in sandbox.messages("general")[-1].embeds[0]["description"]
    await monitoring.check_writer()  # a quiet minute
    assert alerts(sandbox)[-1] == "✅ Resolved: Database writes are waiting"
    assert len(alerts(sandbox)) == 2


async def test_a_stale_backup_alerts_once_an_hour_then_resolves(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "nas"
    folder.mkdir()
    sandbox.extra_settings.update(alert_settings(sandbox), backup_dir=folder)
    await sandbox.restart()
    await sandbox.configure_office()
    bot = sandbox.bot
    bot.process_jobs.tz = ZoneInfo("UTC")
    monitoring = bot.monitoring
    assert monitoring is not None and isinstance(sandbox.clock, ManualClock)
    clock = sandbox.clock
    start = clock.now()

    async def night(day: int) -> None:
        """The scheduler's pass at 03:00 on ``day`` days from the start (the backup's slot)."""
        clock.set(datetime.combine(start.date() + timedelta(days=day), time(3, 1), UTC))
        await sandbox.run(bot.run_scheduled())
        await bot.wait_process_jobs()

    await night(1)  # a good backup
    last_good = datetime.combine(start.date() + timedelta(days=1), time(3, 1), UTC)
    await monitoring.check_backups()
    gauge = monitoring.metrics.registry.get_sample_value(
        "concord_backup_last_success_timestamp_seconds"
    )
    assert gauge == last_good.timestamp()
    folder.rename(tmp_path / "unmounted")  # the NAS is gone: the next backups fail
    with sandbox.expect_errors():
        await night(2)
        await monitoring.check_backups()  # 24 h old: still fresh
        assert alerts(sandbox) == []
        clock.set(last_good + timedelta(hours=36, minutes=1))
        await monitoring.check_backups()
        clock.set(last_good + timedelta(hours=36, minutes=31))
        await monitoring.check_backups()  # within the hour: nothing more
        await night(3)
        await monitoring.check_backups()
    assert alerts(sandbox) == ["🔴 Backups are stale", "🔴 Backups are stale"]
    text = sandbox.messages("general")[0].embeds[0]["description"]
    assert text.startswith(
        f"The last good backup was taken at {last_good:%Y-%m-%d %H:%M} UTC, 36 h"
    )
    assert "the last attempt failed at" in text and "(BackupError)" in text
    assert str(tmp_path) not in text  # the failure's text (a path) stays in the log

    (tmp_path / "unmounted").rename(folder)
    await night(4)
    await monitoring.check_backups()
    await monitoring.check_backups()
    assert alerts(sandbox) == [
        "🔴 Backups are stale",
        "🔴 Backups are stale",
        "✅ Resolved: Backups are stale",
    ]

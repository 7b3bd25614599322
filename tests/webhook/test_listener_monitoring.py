"""The listener's own monitoring: /metrics behind the secret (deploys, durations, refused
deliveries by reason) and the alerts only it can raise (a deploy rolled back or refused; the bot
down or unhealthy), posted to a loopback stand-in for a Discord incoming webhook."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from concord.alerts import Alerter, webhook_sender
from concord.clock import ManualClock
from concord.webhook.app import create_app
from concord.webhook.deployer import Deployer, DeployQueue
from concord.webhook.history import DEPLOYED, REFUSED, ROLLED_BACK, DeployHistory
from concord.webhook.monitor import BotWatcher, DeployAlerts, ListenerMonitoring, build_monitoring
from concord.webhook.settings import WebhookSettings
from tests.webhook.deploy_rig import FAKEBOT, SECRET, DeployRig, NotifyServer
from tests.webhook.test_webhook_app import (
    AUTH,
    CountingGit,
    Listener,
    make_listener,
    push_payload,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def scrape(listener: Listener) -> Samples:
    response = listener.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# -- /metrics -------------------------------------------------------------------------------------
@pytest.fixture
def listener(tmp_path: Path) -> Listener:
    """A listener whose repository does not exist: nothing here reaches git."""
    return make_listener(
        WebhookSettings(
            secret=SECRET,
            repo_dir=tmp_path / "no-repository",
            health_file=tmp_path / "health.json",
            deploy_db=tmp_path / "deploy.db",
        )
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET}, {"X-Token": SECRET}],
)
def test_metrics_need_the_webhook_secret(listener: Listener, headers: dict[str, str]) -> None:
    response = listener.client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"concord_" not in response.data


def test_refused_deliveries_are_counted_by_reason(listener: Listener) -> None:
    before = scrape(listener)
    body = json.dumps(push_payload(ref="refs/heads/feature")).encode()
    assert listener.deliver(body, signature="sha256=" + "0" * 64).status_code == 401
    assert listener.deliver(body, signature="").status_code == 401
    assert listener.deliver(b"x" * (2 * 1024 * 1024)).status_code == 413
    assert listener.deliver(body, delivery="").status_code == 400
    assert (
        listener.deliver(body, content_type="application/x-www-form-urlencoded").status_code == 415
    )
    assert listener.deliver(push_payload(after="not-a-sha")).status_code == 400
    assert listener.deliver(body, delivery="d-1").status_code == 202  # ignored: another branch
    assert listener.deliver(body, delivery="d-1").get_json()["status"] == "duplicate"
    assert listener.deliver({"zen": "hi"}, event="ping", delivery="d-2").status_code == 200
    after = scrape(listener)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    rejected = "concord_webhook_rejected_deliveries_total"
    assert moved(rejected, reason="bad_signature") == 2
    assert moved(rejected, reason="too_large") == 1
    assert moved(rejected, reason="no_delivery_id") == 1
    assert moved(rejected, reason="not_json") == 1
    assert moved(rejected, reason="bad_payload") == 1
    assert moved(rejected, reason="duplicate") == 1
    total = sum(v - before.get(k, 0.0) for k, v in after.items() if k[0] == rejected)
    assert total == 7
    accepted = "concord_webhook_deliveries_total"
    assert moved(accepted, outcome="ignored") == 1
    assert moved(accepted, outcome="pong") == 1
    # No deploy has finished: nothing to say about the last one; the bot has no health file.
    assert not any(k[0].startswith("concord_webhook_last_deploy") for k in after)
    assert value(after, "concord_webhook_bot_ready") == 0


# -- deploys: metrics and alerts, end to end through the rig --------------------------------------
def monitored_listener(
    rig: DeployRig, alert_url: str, health_timeout: float = 1.5
) -> tuple[Listener, ListenerMonitoring]:
    settings = rig.settings(alert_url=alert_url)
    history = DeployHistory(settings.deploy_db)
    history.create()
    deployer = Deployer(settings, history, health_timeout=health_timeout, poll_interval=0.02)
    queue = DeployQueue(deployer)
    monitoring = build_monitoring(settings, queue)
    app = create_app(settings, queue, metrics=monitoring.metrics)
    return Listener(app.test_client(), CountingGit(settings.repo_dir), deployer, queue), monitoring


def deliver_and_wait(listener: Listener, rig: DeployRig, before: str, after: str) -> str:
    response = listener.deliver(rig.push_payload(before, after), delivery=f"d-{after[:8]}")
    assert response.status_code == 202, response.get_json()
    assert listener.queue.wait_idle(60)
    record = listener.deployer.history.get(response.get_json()["deploy_id"])
    assert record is not None
    return record.status


def test_deploys_are_counted_timed_and_a_rollback_alerts_until_the_next_good_deploy(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    listener, _ = monitored_listener(rig, notify_server.url)
    good = rig.deployed()
    first = rig.commit("Add tasks")
    assert deliver_and_wait(listener, rig, good, first) == DEPLOYED
    samples = scrape(listener)
    assert value(samples, "concord_webhook_deploys_total", status=DEPLOYED) == 1
    assert value(samples, "concord_webhook_deploy_seconds_count", status=DEPLOYED) == 1
    assert value(samples, "concord_webhook_deploy_step_seconds_count", step="restart") == 1
    assert value(samples, "concord_webhook_last_deploy_ok", status=DEPLOYED) == 1
    assert value(samples, "concord_webhook_bot_ready") == 1
    assert notify_server.messages == []  # a good deploy with nothing to resolve says nothing

    bad = rig.broken_commit()
    assert deliver_and_wait(listener, rig, first, bad) == ROLLED_BACK
    samples = scrape(listener)
    assert value(samples, "concord_webhook_deploys_total", status=ROLLED_BACK) == 1
    assert value(samples, "concord_webhook_last_deploy_ok", status=ROLLED_BACK) == 0
    assert notify_server.titles() == ["🔴 A deploy was rolled back"]
    description = notify_server.messages[0]["embeds"][0]["description"]
    assert bad[:7] in description and "did not come up" in description

    fixed = rig.commit("Fix the bot", {"fakebot.sh": FAKEBOT})
    assert deliver_and_wait(listener, rig, bad, fixed) == DEPLOYED
    assert notify_server.titles() == [
        "🔴 A deploy was rolled back",
        "✅ Resolved: A deploy was rolled back",
    ]
    samples = scrape(listener)
    assert value(samples, "concord_webhook_deploys_total", status=DEPLOYED) == 2
    assert value(samples, "concord_webhook_last_deploy_ok", status=DEPLOYED) == 1
    for message in notify_server.messages:
        text = json.dumps(message)
        assert SECRET not in text and "token-xyz" not in text


def test_refused_deploys_alert_once_an_hour(tmp_path: Path, notify_server: NotifyServer) -> None:
    history = DeployHistory(tmp_path / "deploy.db")
    history.create()
    clock = ManualClock(T0)
    alerts = DeployAlerts(Alerter(webhook_sender(notify_server.url), source="test"), clock)

    def finished(status: str, minute: int) -> None:
        clock.set(T0 + timedelta(minutes=minute))
        deploy_id = history.add(source="webhook", branch="main", target_sha="ab" * 20, now=T0)
        alerts.deploy_finished(history.finish(deploy_id, status, clock.now(), detail="dirty"))

    finished(REFUSED, 0)
    finished(REFUSED, 20)  # the same kind within the hour: nothing more
    finished(ROLLED_BACK, 40)
    finished(REFUSED, 61)  # an hour after the first message: said again
    finished(DEPLOYED, 70)
    finished(DEPLOYED, 80)
    assert notify_server.titles() == [
        "🔴 A deploy was refused",
        "🔴 A deploy was refused",
        "✅ Resolved: A deploy was refused",
    ]


# -- the bot's health, watched from the listener --------------------------------------------------
def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class Bot:
    """Writes the health file the way the bot does, on the watcher's clock."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        self.path = path
        self.clock = clock

    def write(self, *, pid: int, ready: bool = True, beat: datetime | None = None) -> None:
        health: dict[str, Any] = {
            "pid": pid,
            "commit": "c0ffee" + "0" * 34,
            "ready": ready,
            "heartbeat_at": (beat or self.clock.now()).isoformat(),
            "heartbeat_seconds": 30,
        }
        self.path.write_text(json.dumps(health), encoding="utf-8")


@pytest.fixture
def watched(tmp_path: Path, notify_server: NotifyServer) -> tuple[BotWatcher, Bot, ManualClock]:
    clock = ManualClock(T0)
    alerter = Alerter(webhook_sender(notify_server.url), source="concord webhook")
    watcher = BotWatcher(alerter, tmp_path / "health.json", clock=clock)
    return watcher, Bot(tmp_path / "health.json", clock), clock


def look_every_30s(
    watcher: BotWatcher, clock: ManualClock, until: datetime, *, beating: Bot | None = None
) -> None:
    """The watcher's thread, on the test's clock; a ``beating`` bot rewrites its heartbeat."""
    while clock.now() < until:
        clock.set(clock.now() + timedelta(seconds=30))
        if beating is not None:
            beating.write(pid=os.getpid())
        watcher.check()


def test_a_dead_bot_alerts_once_an_hour_and_its_recovery_resolves(
    watched: tuple[BotWatcher, Bot, ManualClock], notify_server: NotifyServer
) -> None:
    watcher, bot, clock = watched
    bot.write(pid=os.getpid())
    watcher.check()
    assert notify_server.messages == []

    bot.write(pid=dead_pid())  # it crashed: its file stays, its process is gone
    look_every_30s(watcher, clock, T0 + timedelta(seconds=60))
    assert notify_server.messages == []  # within the grace a restart takes
    look_every_30s(watcher, clock, T0 + timedelta(minutes=59))
    assert notify_server.titles() == ["🔴 The bot is down"]
    description = notify_server.messages[0]["embeds"][0]["description"]
    assert "No bot process has been running for 1 min" in description
    look_every_30s(watcher, clock, T0 + timedelta(minutes=62))  # an hour since: said again
    assert notify_server.titles() == ["🔴 The bot is down", "🔴 The bot is down"]

    bot.write(pid=os.getpid())  # back
    look_every_30s(watcher, clock, T0 + timedelta(minutes=62, seconds=30))
    look_every_30s(watcher, clock, T0 + timedelta(minutes=90), beating=bot)
    assert notify_server.titles() == [
        "🔴 The bot is down",
        "🔴 The bot is down",
        "✅ Resolved: The bot is down",
    ]
    resolved = notify_server.messages[-1]["embeds"][0]["description"]
    assert resolved == "The bot is ready again on `c0ffee0` after 62 min."


def test_a_hung_bot_alerts_after_five_minutes(
    watched: tuple[BotWatcher, Bot, ManualClock], notify_server: NotifyServer
) -> None:
    watcher, bot, clock = watched
    bot.write(pid=os.getpid(), beat=T0)  # alive, but its heartbeat stops
    look_every_30s(watcher, clock, T0 + timedelta(minutes=7))
    # Not ready from 2:00 (over three missed beats); unhealthy for over 5 minutes at 7:30.
    assert notify_server.messages == []
    look_every_30s(watcher, clock, T0 + timedelta(minutes=7, seconds=30))
    assert notify_server.titles() == ["🔴 The bot is unhealthy"]
    bot.write(pid=os.getpid())
    watcher.check()
    watcher.check()
    assert notify_server.titles() == [
        "🔴 The bot is unhealthy",
        "✅ Resolved: The bot is unhealthy",
    ]


def test_no_bot_alert_while_a_deploy_restarts_it(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    clock = ManualClock(T0)
    deploying = [True]
    alerter = Alerter(webhook_sender(notify_server.url), source="concord webhook")
    watcher = BotWatcher(
        alerter, tmp_path / "health.json", clock=clock, deploying=lambda: deploying[0]
    )
    look_every_30s(watcher, clock, T0 + timedelta(minutes=10))  # no health file at all
    assert notify_server.messages == []
    deploying[0] = False
    watcher.check()
    assert notify_server.titles() == ["🔴 The bot is down"]


def test_the_watcher_thread_looks_on_its_own(tmp_path: Path, notify_server: NotifyServer) -> None:
    alerter = Alerter(webhook_sender(notify_server.url), source="concord webhook")
    watcher = BotWatcher(
        alerter,
        tmp_path / "health.json",
        clock=ManualClock(T0),
        interval=0.01,
        down_after=timedelta(seconds=-1),
    )
    watcher.start()
    try:
        notify_server.wait_for(1)
    finally:
        watcher.stop()
    assert notify_server.titles() == ["🔴 The bot is down"]


def test_alerts_are_off_without_the_setting(rig: DeployRig) -> None:
    settings = rig.settings()
    history = DeployHistory(settings.deploy_db)
    history.create()
    monitoring = build_monitoring(settings, DeployQueue(Deployer(settings, history)))
    assert monitoring.watcher is None
    assert len(monitoring.metrics.registry._names_to_collectors) > 0  # metrics are always on


def test_the_alert_url_is_read_and_never_shown(tmp_path: Path) -> None:
    from concord.webhook.settings import load_webhook_settings

    url = "https://discord.com/api/webhooks/1/very-secret-token"
    settings = load_webhook_settings({"CONCORD_ALERT_WEBHOOK_URL": url})
    assert settings.alert_url == url
    assert "very-secret-token" not in repr(settings)

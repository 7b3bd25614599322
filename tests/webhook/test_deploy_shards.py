"""A bot run as several shard processes (issue 14): each writes health-<ids>.json beside
CONCORD_HEALTH_FILE; the deployer waits for every one of them after a restart, and the
listener's watcher alerts when any one is down, naming it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord.alerts import Alerter, webhook_sender
from concord.clock import ManualClock
from concord.config import SettingsError
from concord.health import iso, write_json_atomic
from concord.webhook.deployer import Deployer, StepFailed
from concord.webhook.history import DeployHistory
from concord.webhook.monitor import BotWatcher
from concord.webhook.settings import WebhookSettings, load_webhook_settings
from tests.webhook.deploy_rig import NotifyServer

COMMIT = "c" * 40


def write(
    path: Path,
    *,
    ready: bool = True,
    commit: str = COMMIT,
    pid: int | None = None,
    now: datetime | None = None,
) -> None:
    now = now or datetime.now(UTC)
    write_json_atomic(
        path,
        {
            "pid": pid or os.getpid(),
            "commit": commit,
            "ready": ready,
            "started_at": iso(now + timedelta(seconds=1)),
            "heartbeat_at": iso(now),
            "heartbeat_seconds": 30,
        },
    )


def test_shard_groups_name_one_health_file_each(tmp_path: Path) -> None:
    env = {"CONCORD_HEALTH_FILE": str(tmp_path / "health.json"), "CONCORD_SHARD_GROUPS": "0_1 2,3"}
    settings = load_webhook_settings(env)
    assert settings.shard_groups == ((0, 1), (2, 3))
    assert settings.health_files == [tmp_path / "health-0-1.json", tmp_path / "health-2-3.json"]
    assert load_webhook_settings({}).health_files == [Path("data/health.json")]
    with pytest.raises(SettingsError, match="two groups"):
        load_webhook_settings({"CONCORD_SHARD_GROUPS": "0_1 1_2"})


def test_the_deployer_waits_for_every_shard_process(tmp_path: Path) -> None:
    settings = WebhookSettings(
        health_file=tmp_path / "health.json", shard_groups=((0, 1), (2, 3)), repo_dir=tmp_path
    )
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    deployer = Deployer(
        settings,
        DeployHistory(tmp_path / "deploy.db"),
        health_timeout=5.0,
        poll_interval=0.5,
        monotonic=lambda: now[0],
        sleep=sleep,
    )
    since = datetime.now(UTC)
    write(tmp_path / "health-0-1.json")
    write(tmp_path / "health-2-3.json", commit="d" * 40)  # still the old commit
    with pytest.raises(StepFailed) as failure:
        deployer._wait_for_health(COMMIT, since, previous_pid={})
    assert "health-2-3.json" in str(failure.value)
    assert "1 of 2 processes not ready" in str(failure.value)
    write(tmp_path / "health-2-3.json")
    deployer._wait_for_health(COMMIT, since, previous_pid={})


def test_the_watcher_alerts_when_one_shard_process_is_down(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    clock = ManualClock(datetime.now(UTC))
    files = [tmp_path / "health-0.json", tmp_path / "health-1.json"]
    alerter = Alerter(webhook_sender(notify_server.url), source="concord webhook")
    watcher = BotWatcher(alerter, files, clock=clock, down_after=timedelta(minutes=1))
    write(files[0])
    write(files[1])
    watcher.check()
    assert notify_server.messages == []
    write(files[1], ready=False, pid=2**22 + 12345)  # no such process: that shard is down
    watcher.check()
    clock.set(clock.now() + timedelta(minutes=2))
    write(files[0], now=clock.now())
    watcher.check()
    assert notify_server.titles() == ["🔴 The bot is down"]
    assert "health-1.json" in str(notify_server.messages[0])

"""The listener under attack: replays, idle connections, secrets in logs, what /health tells."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from concord.cli import main
from concord.config import SettingsError
from concord.health import bot_ready, write_json_atomic
from concord.webhook.cli import build_server
from concord.webhook.deployer import Deployer, DeployQueue
from concord.webhook.history import DEPLOYED, DeployHistory, DeployRecord
from concord.webhook.notify import DiscordNotifier
from concord.webhook.settings import load_webhook_settings
from tests.webhook.deploy_rig import SECRET, DeployRig
from tests.webhook.test_webhook_app import AUTH, Listener, make_listener

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def live(rig: DeployRig) -> Iterator[Listener]:
    """A listener in front of the deploy rig."""
    listener = make_listener(rig.settings())
    yield listener
    assert listener.queue.wait_idle(30)


# -- 6. replays ---------------------------------------------------------------------------------
def test_a_replayed_body_under_a_fresh_delivery_id_does_not_redeploy(
    live: Listener, rig: DeployRig
) -> None:
    new = rig.commit("Ship")
    payload = rig.push_payload(rig.deployed(), new)
    assert live.deliver(payload, delivery="original").status_code == 202
    assert live.queue.wait_idle(30)
    rig.git(rig.app, "checkout", "--quiet", "--detach", "HEAD~1")  # as if rolled back since

    replay = live.deliver(payload, delivery="attacker-chose-this-id")

    assert replay.status_code == 200 and replay.get_json()["status"] == "duplicate"
    assert live.queue.wait_idle(30)
    assert [r.status for r in live.deployer.history.recent()] == [DEPLOYED]
    assert rig.deployed() != new


# -- 7. connection exhaustion -------------------------------------------------------------------
def test_idle_connections_do_not_silence_the_listener(rig: DeployRig) -> None:
    history = DeployHistory(rig.deploy_db)
    history.create()
    queue = DeployQueue(Deployer(rig.settings(), history, poll_interval=0.02))
    server = build_server(rig.settings(host="127.0.0.1"), queue, port=0)
    port = server.effective_port  # type: ignore[union-attr]
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    idle: list[socket.socket] = []
    try:
        for n in range(200):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n % 2:
                conn.sendall(b"POST /github HTTP/1.1\r\nHost: x\r\n")  # a slow, unfinished request
            idle.append(conn)
        new = rig.commit("Ship")
        request = rig.push_request(port, rig.deployed(), new, "after-the-flood")
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=2) as response:
            assert response.status == 202
        assert time.monotonic() - started < 2.0
        assert queue.wait_idle(30)
    finally:
        for conn in idle:
            conn.close()
        server.trigger.pull_trigger(server.close)  # type: ignore[union-attr]
        serving.join(5)
        server.task_dispatcher.shutdown()  # type: ignore[union-attr]


# -- 8. secrets never logged --------------------------------------------------------------------
TOKENED = "https://discord.com/api/webhooks/123/s3cr3t-t0ken"


@pytest.mark.parametrize(
    "url",
    [
        TOKENED.replace("t0ken", "t0 ken"),
        TOKENED + "\tx",
        "https://:99999/api/webhooks/1/s3cr3t-t0ken",
        "https://user:s3cr3t-t0ken@discord.com/api/webhooks/1/x",
        "discord.com/api/webhooks/1/s3cr3t-t0ken",
    ],
)
def test_a_malformed_notify_url_is_refused_without_printing_it(url: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_webhook_settings({"CONCORD_DEPLOY_NOTIFY_URL": url})
    assert "s3cr3t" not in str(error.value) and "t0" not in str(error.value)
    assert str(error.value).startswith("CONCORD_DEPLOY_NOTIFY_URL: ")


def test_concord_webhook_exits_2_on_a_notify_url_with_a_space(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONCORD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CONCORD_DEPLOY_NOTIFY_URL", TOKENED.replace("t0ken", "t0 ken"))
    assert main(["webhook"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("concord: CONCORD_DEPLOY_NOTIFY_URL: ")
    assert "s3cr3t" not in err


def record() -> DeployRecord:
    return DeployRecord(
        id=7,
        source="webhook",
        delivery_id="d",
        branch="main",
        before_sha=None,
        target_sha="a" * 40,
        previous_sha="b" * 40,
        commits=(),
        commit_count=0,
        status=DEPLOYED,
        detail=None,
        error_tail=None,
        reinstalled=False,
        queued_at=NOW,
        started_at=NOW,
        finished_at=NOW,
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/api/webhooks/1/s3cr3t-t0 ken",  # http.client quotes the path
        "http://no-such-host.invalid/api/webhooks/1/s3cr3t-t0ken",
    ],
)
def test_a_failed_notification_logs_no_part_of_the_url(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    DiscordNotifier(url, timeout=2).send(record())
    assert "could not send the notification" in caplog.text
    assert "s3cr3t" not in caplog.text and "webhooks" not in caplog.text


# -- 9. /health ---------------------------------------------------------------------------------
def test_health_tells_an_unauthenticated_caller_only_ok(live: Listener) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-secret-xxxxxxxx"},
        {"Authorization": SECRET},
    ):
        body = live.client.get("/health", headers=headers).get_json()
        assert body == {"ok": True}
    detail = live.client.get("/health", headers=AUTH).get_json()
    assert detail["ok"] is True and detail["bot"]["pid"] and detail["deployed_commit"]


def bot_health(**change: Any) -> dict[str, Any]:
    health: dict[str, Any] = {
        "pid": os.getpid(),
        "commit": "a" * 40,
        "ready": True,
        "heartbeat_at": NOW.isoformat(),
        "heartbeat_seconds": 30,
    }
    health.update(change)
    return health


def dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_bot_ready_needs_a_live_pid_and_a_recent_heartbeat() -> None:
    assert bot_ready(bot_health(), NOW + timedelta(seconds=90))
    assert not bot_ready(bot_health(), NOW + timedelta(seconds=91))  # three beats missed
    assert bot_ready(bot_health(heartbeat_seconds=5), NOW + timedelta(seconds=15))
    assert not bot_ready(bot_health(heartbeat_seconds=5), NOW + timedelta(seconds=16))
    assert not bot_ready(bot_health(pid=dead_pid()), NOW)
    assert not bot_ready(bot_health(ready=False), NOW)
    assert not bot_ready(bot_health(heartbeat_at="yesterday"), NOW)
    assert not bot_ready(None, NOW)


def test_health_says_not_ok_when_the_bot_stopped_beating(live: Listener, rig: DeployRig) -> None:
    stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    write_json_atomic(rig.health_file, {**(rig.health() or {}), "heartbeat_at": stale})
    assert live.client.get("/health").get_json() == {"ok": False}
    assert live.client.get("/health", headers=AUTH).get_json()["bot_ready"] is False


# -- also: the deploy history is not the bot's database -----------------------------------------
def test_the_deploy_history_cannot_be_the_bots_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONCORD_DB_PATH", "data/concord.db")
    monkeypatch.setenv("CONCORD_DEPLOY_DB", str(tmp_path / "data" / "concord.db"))
    assert main(["deploy", "history"]) == 2
    err = capsys.readouterr().err
    assert "CONCORD_DEPLOY_DB" in err and "the bot's own database" in err
    assert "newer" not in err

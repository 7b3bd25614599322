"""``concord deploy now|rollback|history`` end to end, through ``concord.cli.main``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from concord.cli import main
from tests.webhook.deploy_rig import SECRET, DeployRig, NotifyServer


@pytest.fixture
def env(rig: DeployRig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> DeployRig:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # no .env to pick up
    for name, value in {
        "CONCORD_REPO_DIR": str(rig.app),
        "CONCORD_RESTART_CMD": f"sh {rig.restart_script}",
        "CONCORD_REINSTALL_CMD": f"sh {rig.reinstall_script}",
        "CONCORD_HEALTH_FILE": str(rig.health_file),
        "CONCORD_HEALTH_TIMEOUT": "5",
        "CONCORD_DEPLOY_DB": str(rig.deploy_db),
        "CONCORD_DB_PATH": str(rig.db_path),
        "CONCORD_STOP_CMD": f"sh {rig.stop_script}",
        "CONCORD_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("CONCORD_DEPLOY_NOTIFY_URL", "CONCORD_DEPLOY_BRANCH", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return rig


def test_history_before_any_deploy(env: DeployRig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "history"]) == 0
    assert "no deploys yet" in capsys.readouterr().out


def test_deploy_now_history_and_rollback(
    env: DeployRig,
    capsys: pytest.CaptureFixture[str],
    notify_server: NotifyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONCORD_DEPLOY_NOTIFY_URL", notify_server.url)
    first = env.deployed()
    second = env.commit("Add the DAR cog")

    assert main(["deploy", "now"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"deploy #1 deployed: {second[:7]} in ")
    assert env.deployed() == second
    assert env.wait_for_bot(second)

    assert main(["deploy", "now"]) == 0  # nothing new: skipped, still success
    out = capsys.readouterr().out
    assert f"skipped: {second[:7]}" in out and "is already deployed" in out

    assert main(["deploy", "rollback"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"deploy #3 deployed: {first[:7]}")
    assert env.deployed() == first
    assert env.wait_for_bot(first)

    assert main(["deploy", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("#3") and "rollback" in lines[0] and "deployed" in lines[0]
    assert f"{second[:7]}→{first[:7]}" in lines[0]
    assert lines[1].startswith("#2") and "skipped" in lines[1]
    assert lines[2].startswith("#1") and f"{first[:7]}→{second[:7]}" in lines[2]

    assert main(["deploy", "history", "1"]) == 0
    shown = capsys.readouterr().out
    assert f"target    {second}" in shown
    assert "Add the DAR cog — Ada Lovelace" in shown
    assert "timings   fetch" in shown

    assert main(["deploy", "history", "--json", "-n", "1"]) == 0
    [latest] = json.loads(capsys.readouterr().out)
    assert latest["source"] == "rollback" and latest["target"] == first

    # Deployed, then rolled back by hand: two announcements (skips are not announced).
    titles = [m["embeds"][0]["title"] for m in notify_server.wait_for(2)]
    assert titles == [f"✅ Deployed {second[:7]} (main)", f"✅ Deployed {first[:7]} (main)"]


def test_deploy_now_reports_a_rollback_with_exit_1(
    env: DeployRig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCORD_HEALTH_TIMEOUT", "1.5")
    good = env.deployed()
    bad = env.broken_commit()
    assert main(["deploy", "now", bad[:10]]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"deploy #1 rolled_back: {bad[:7]}")
    assert "health failed: the bot did not report ready" in out
    assert env.deployed() == good


def test_deploy_errors_are_one_line(env: DeployRig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "rollback"]) == 1
    assert capsys.readouterr().err.startswith("concord: no earlier deploy of an ancestor")
    assert main(["deploy", "now", "nothex!"]) == 1
    assert "is not a commit id" in capsys.readouterr().err
    assert main(["deploy", "history", "7"]) == 1
    assert capsys.readouterr().err == "concord: there is no deploy #7\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_concord_webhook_serves_until_sigterm(env: DeployRig) -> None:
    """The production path: a real `concord webhook` process, waitress, a signed push, SIGTERM."""
    port = free_port()
    environment = {
        **os.environ,
        "CONCORD_WEBHOOK_SECRET": SECRET,
        "CONCORD_WEBHOOK_PORT": str(port),
        "CONCORD_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "concord", "webhook"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_listener(port, process)
        assert health["deployed_commit"] == env.deployed()
        new = env.commit("Ship it")
        request = env.push_request(port, env.deployed(), new, "real-process-1")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        process.send_signal(signal.SIGTERM)  # arrives while the deploy may still be running
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "listening on http://127.0.0.1:" in output
    assert SECRET not in output
    assert env.deployed() == new  # the deploy in progress was allowed to finish
    assert env.wait_for_bot(new)


def wait_for_listener(port: int, process: subprocess.Popen[str]) -> dict[str, object]:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"concord webhook exited: {process.communicate()[0]}")
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/health", headers={"Authorization": f"Bearer {SECRET}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                health: dict[str, object] = json.loads(response.read())
                return health
        except OSError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)  # returns early if the listener died
    raise AssertionError("concord webhook never answered /health")


def test_concord_webhook_checks_the_checkout_and_the_restart_command(
    env: DeployRig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CONCORD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CONCORD_RESTART_CMD", "no-such-restart-program --now")
    assert main(["webhook"]) == 2
    assert capsys.readouterr().err == (
        "concord: CONCORD_RESTART_CMD: 'no-such-restart-program' is not a program on PATH\n"
    )
    monkeypatch.setenv("CONCORD_RESTART_CMD", f"sh {env.restart_script}")
    monkeypatch.setenv("CONCORD_REPO_DIR", str(tmp_path))
    assert main(["webhook"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("concord: CONCORD_REPO_DIR: ") and "is not a git checkout" in err

"""The deployer never touches files it does not own, recovers from being killed, follows a
force-push back, and keeps a manual rollback in place (real git, the fake bot)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from concord.webhook.history import DEPLOYED, INTERRUPTED, REFUSED, ROLLED_BACK, SKIPPED
from concord.webhook.notify import DiscordNotifier
from tests.webhook.deploy_rig import BROKEN_FAKEBOT, DeployRig, NotifyServer
from tests.webhook.test_deployer import push, run_push


# -- 2. files the deploy does not own ------------------------------------------------------------
def test_a_commit_that_would_overwrite_an_ignored_file_is_refused(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url))
    first = rig.deployed()
    ignore = rig.commit("Ignore local files", {".gitignore": "local/\n"})
    run_push(deployer, push(rig, first, ignore, "d-1"))
    live = rig.app / "local" / "office.db"
    live.parent.mkdir()
    live.write_bytes(b"the office's data")
    (rig.dev / "local").mkdir()
    (rig.dev / "local" / "office.db").write_bytes(b"a developer's copy")
    rig.git(rig.dev, "add", "-f", "local/office.db")
    tracked = rig.commit("Oops, track the local database")
    bot_pid = rig.health()["pid"]  # type: ignore[index]

    deploy_id = run_push(deployer, push(rig, ignore, tracked, "d-2"))

    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == REFUSED
    assert "local/office.db" in str(record.detail) and "untracked or ignored" in str(record.detail)
    assert live.read_bytes() == b"the office's data"
    assert rig.deployed() == ignore
    assert rig.health()["pid"] == bot_pid  # type: ignore[index]  # nothing moved
    titles = notify_server.wait_for(1) and notify_server.titles()
    assert titles[-1].startswith("⛔ Deploy refused")


@pytest.mark.parametrize("which", [".env", "health", "database", "deploy_db"])
def test_a_commit_that_tracks_what_the_bot_owns_is_refused(rig: DeployRig, which: str) -> None:
    data = rig.app / "data"
    settings = rig.settings(
        health_file=data / "health.json", db_path=data / "concord.db", deploy_db=rig.deploy_db
    )
    if which == "deploy_db":
        settings = rig.settings(deploy_db=data / "deploy.db")
    deployer = rig.deployer(settings=settings)
    path = {
        ".env": ".env",
        "health": "data/health.json",
        "database": "data/concord.db",
        "deploy_db": "data/deploy.db",
    }[which]
    (rig.dev / "data").mkdir(exist_ok=True)
    first = rig.deployed()
    target = rig.commit(f"Track {path}", {path: "not yours\n"})

    deploy_id = run_push(deployer, push(rig, first, target, "d-1"))

    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == REFUSED, record.detail
    assert f"tracks {path}" in str(record.detail)
    assert rig.deployed() == first
    assert not (rig.app / path).exists()


# -- 3. a deployer killed mid-deploy -----------------------------------------------------------
BLOCKING = """#!/bin/sh
# Do the real step (if any), then say so and hang until killed.
{real}
echo $$ >"{pid}"
touch "{marker}"
exec sleep 60
"""


@pytest.fixture
def cli_env(rig: DeployRig, tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {
        **os.environ,
        "CONCORD_REPO_DIR": str(rig.app),
        "CONCORD_RESTART_CMD": f"sh {rig.restart_script}",
        "CONCORD_STOP_CMD": f"sh {rig.stop_script}",
        "CONCORD_REINSTALL_CMD": f"sh {rig.reinstall_script}",
        "CONCORD_HEALTH_FILE": str(rig.health_file),
        "CONCORD_HEALTH_TIMEOUT": "20",
        "CONCORD_DEPLOY_DB": str(rig.deploy_db),
        "CONCORD_DB_PATH": str(rig.db_path),
        "CONCORD_LOG_LEVEL": "WARNING",
    }
    for name in ("CONCORD_DEPLOY_NOTIFY_URL", "CONCORD_DEPLOY_BRANCH", "DISCORD_TOKEN"):
        environment.pop(name, None)
    blocker_pid = tmp_path / "blocker.pid"
    yield environment
    if blocker_pid.exists():
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(blocker_pid.read_text()), signal.SIGKILL)


def blocking_script(tmp_path: Path, real: str) -> tuple[Path, Path]:
    marker = tmp_path / "reached"
    script = tmp_path / "blocking.sh"
    script.write_text(BLOCKING.format(real=real, pid=tmp_path / "blocker.pid", marker=marker))
    return script, marker


def kill_deploy_when(environment: dict[str, str], cwd: Path, reached: object) -> None:
    """Run `concord deploy now`, SIGKILL it once ``reached()`` is true."""
    process = subprocess.Popen(
        [sys.executable, "-m", "concord", "deploy", "now"],
        env=environment,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not reached():  # type: ignore[operator]
            assert process.poll() is None, "the deploy finished before the step was reached"
            assert time.monotonic() < deadline, "the step was never reached"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_killed_after_checkout_the_previous_commit_is_put_back(
    rig: DeployRig, cli_env: dict[str, str], tmp_path: Path
) -> None:
    good = rig.deployed()
    bot_pid = rig.health()["pid"]  # type: ignore[index]
    target = rig.commit("New dependency", {"pyproject.toml": '[project]\nname = "demo2"\n'})
    script, marker = blocking_script(tmp_path, "")  # the reinstall hangs
    cli_env["CONCORD_REINSTALL_CMD"] = f"sh {script}"
    kill_deploy_when(cli_env, tmp_path, marker.exists)
    assert rig.deployed() == target  # killed between the checkout and the restart

    [record] = rig.deployer(health_timeout=1.0).recover_interrupted()

    assert record.status == ROLLED_BACK, (record.detail, record.error_tail)
    assert rig.deployed() == good
    health = rig.wait_for_bot(good)
    assert health["pid"] != bot_pid and rig.bot_alive()  # restarted and verified
    assert rig.reinstalls() == [good]  # the environment matches the checkout again


def test_killed_after_restart_the_new_commit_is_verified_before_the_next_deploy(
    rig: DeployRig, cli_env: dict[str, str], tmp_path: Path
) -> None:
    target = rig.commit("Change")
    script, marker = blocking_script(tmp_path, f"sh {rig.restart_script}")
    cli_env["CONCORD_RESTART_CMD"] = f"sh {script}"
    kill_deploy_when(cli_env, tmp_path, marker.exists)
    assert rig.deployed() == target

    # The next `concord deploy now` first finishes the interrupted deploy.
    cli_env["CONCORD_RESTART_CMD"] = f"sh {rig.restart_script}"
    result = subprocess.run(
        [sys.executable, "-m", "concord", "deploy", "now"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already deployed" in result.stdout
    [first, second] = rig.deployer().history.recent(2)[::-1]
    assert first.status == DEPLOYED and "passed the health check" in str(first.detail)
    assert second.status == SKIPPED
    assert rig.wait_for_bot(target) and rig.bot_alive()


def test_killed_while_waiting_for_health_the_new_commit_is_verified(
    rig: DeployRig, cli_env: dict[str, str], tmp_path: Path
) -> None:
    target = rig.commit("Change")
    cli_env["FAKEBOT_DELAY"] = "2"  # the new bot takes two seconds to report ready
    starts = len(rig.all_pids.read_text().split())
    kill_deploy_when(cli_env, tmp_path, lambda: len(rig.all_pids.read_text().split()) > starts)
    assert rig.deployed() == target

    [record] = rig.deployer(health_timeout=10.0).recover_interrupted()

    assert record.status == DEPLOYED, (record.detail, record.error_tail)
    assert rig.health()["commit"] == target and rig.bot_alive()  # type: ignore[index]


def test_killed_before_anything_moved_the_bot_is_left_alone(rig: DeployRig) -> None:
    deployer = rig.deployer()
    good = rig.deployed()
    bot_pid = rig.health()["pid"]  # type: ignore[index]
    deploy_id = deployer.history.add(
        source="cli", branch="main", target_sha=rig.commit("Later"), now=deployer.clock.now()
    )
    deployer.history.start(deploy_id, good, deployer.clock.now())

    [record] = deployer.recover_interrupted()

    assert record.status == INTERRUPTED and "still runs" in str(record.detail)
    assert rig.deployed() == good and rig.health()["pid"] == bot_pid  # type: ignore[index]


# -- 4. a force-push back ----------------------------------------------------------------------
def test_a_force_push_back_deploys_the_branch_tip_and_says_so(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url), health_timeout=1.5)
    first = rig.deployed()
    ahead = rig.commit("A change the team regrets")
    run_push(deployer, push(rig, first, ahead, "d-1"))
    assert rig.deployed() == ahead
    rig.git(rig.dev, "push", "--quiet", "--force", "origin", f"{first}:refs/heads/main")

    deploy_id = run_push(deployer, push(rig, ahead, first, "d-force"))

    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == DEPLOYED, record.detail
    assert rig.deployed() == first and rig.wait_for_bot(first)
    assert "force-pushed" in str(record.detail)
    [message] = [m for m in notify_server.wait_for(2) if "force-pushed" in str(m)]
    assert message["embeds"][0]["title"].startswith("✅ Deployed")


def test_a_skip_that_leaves_the_bot_off_the_branch_is_announced(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url), health_timeout=1.5)
    first = rig.deployed()
    ahead = rig.commit("Fine")
    run_push(deployer, push(rig, first, ahead, "d-1"))
    # main is force-pushed to a broken commit that does not contain the running one.
    rig.git(rig.dev, "reset", "--quiet", "--hard", first)
    rig.git(rig.dev, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/main")
    broken = rig.broken_commit()
    failed = run_push(deployer, push(rig, ahead, broken, "d-2"))
    assert deployer.history.get(failed).status == ROLLED_BACK  # type: ignore[union-attr]
    assert rig.deployed() == ahead  # running, but no longer on main
    sent = len(notify_server.wait_for(2))

    late = run_push(deployer, push(rig, ahead, broken, "d-3"))

    record = deployer.history.get(late)
    assert record is not None and record.status == SKIPPED
    messages = notify_server.wait_for(sent + 1)
    assert messages[-1]["embeds"][0]["title"].startswith("⏭️ Deploy skipped")


# -- 5. a manual rollback pins -----------------------------------------------------------------
def test_a_manual_rollback_is_not_undone_by_a_late_delivery(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    second = rig.commit("Two")
    run_push(deployer, push(rig, first, second, "d-1"))
    back = deployer.rollback()
    assert back.status == DEPLOYED and rig.deployed() == first

    replay = run_push(deployer, push(rig, first, second, "d-1-replayed"))

    record = deployer.history.get(replay)
    assert record is not None and record.status == SKIPPED
    assert "concord deploy unpin" in str(record.detail)
    assert rig.deployed() == first

    pin = deployer.unpin()
    assert pin is not None and pin.sha == second
    again = run_push(deployer, push(rig, first, second, "d-1-after-unpin"))
    assert deployer.history.get(again).status == DEPLOYED  # type: ignore[union-attr]
    assert rig.deployed() == second


def test_a_newer_push_lifts_the_pin(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    second = rig.commit("Two")
    run_push(deployer, push(rig, first, second, "d-1"))
    deployer.rollback()
    third = rig.commit("Three", {"fakebot.sh": rig.dev.joinpath("fakebot.sh").read_text()})
    newer = run_push(deployer, push(rig, second, third, "d-2"))
    assert deployer.history.get(newer).status == DEPLOYED  # type: ignore[union-attr]
    assert deployer.history.active_pin() is None
    assert BROKEN_FAKEBOT not in rig.app.joinpath("fakebot.sh").read_text()

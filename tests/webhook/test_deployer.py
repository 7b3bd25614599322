"""The deployer against real git repositories and a fake bot started by a real restart script."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord.health import write_json_atomic
from concord.webhook.deployer import (
    Deployer,
    DeployLock,
    DeployQueue,
    DeployRequestError,
    PushRequest,
    StepFailed,
    health_matches,
)
from concord.webhook.history import (
    DEPLOYED,
    FAILED,
    INTERRUPTED,
    REFUSED,
    ROLLED_BACK,
    SKIPPED,
    SUPERSEDED,
    DeployHistory,
)
from concord.webhook.notify import DiscordNotifier
from tests.webhook.deploy_rig import BROKEN_FAKEBOT, FAKEBOT, DeployRig, NotifyServer

T0 = datetime(2026, 3, 2, 9, 0, 30, 400_000, tzinfo=UTC)


def push(rig: DeployRig, before: str, after: str, delivery: str) -> PushRequest:
    return PushRequest(delivery_id=delivery, before=before, after=after)


def deploy_one(deployer: Deployer, request: PushRequest) -> int:
    deployer.history.record_delivery(request.delivery_id, "push", "test", T0)
    return deployer.history.add(
        source="webhook",
        branch="main",
        target_sha=request.after,
        now=T0,
        delivery_id=request.delivery_id,
        before_sha=request.before,
    )


def run_push(deployer: Deployer, request: PushRequest) -> int:
    deploy_id = deploy_one(deployer, request)
    deployer.deploy_pushes([(deploy_id, request)])
    return deploy_id


# -- health_matches -----------------------------------------------------------------------------
def health(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "pid": 200,
        "commit": "a" * 40,
        "started_at": "2026-03-02T09:00:30+00:00",
        "ready": True,
    }
    base.update(values)
    return base


def test_health_matches_a_ready_bot_on_the_commit_started_in_the_restart_second() -> None:
    # The bot writes seconds only: 09:00:30 counts for a restart at 09:00:30.4.
    assert health_matches(health(), "a" * 40, T0, previous_pid=100)


@pytest.mark.parametrize(
    ("values", "previous_pid"),
    [
        ({"ready": False}, 100),
        ({"ready": "true"}, 100),
        ({"commit": "b" * 40}, 100),
        ({"started_at": "2026-03-02T09:00:29+00:00"}, 100),
        ({"started_at": "yesterday"}, 100),
        ({"started_at": None}, 100),
        ({}, 200),  # the process that was running before the restart
    ],
)
def test_health_does_not_match(values: dict[str, object], previous_pid: int) -> None:
    assert not health_matches(health(**values), "a" * 40, T0, previous_pid=previous_pid)


def test_health_missing_file_does_not_match() -> None:
    assert not health_matches(None, "a" * 40, T0, previous_pid=None)


def test_health_wait_times_out_on_an_injected_clock(rig: DeployRig) -> None:
    """No real sleeping: the injected sleep moves the injected monotonic clock."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    deployer = Deployer(
        rig.settings(),
        DeployHistory(rig.deploy_db),
        health_timeout=30.0,
        poll_interval=0.5,
        monotonic=lambda: now[0],
        sleep=sleep,
    )
    with pytest.raises(StepFailed) as failure:
        deployer._wait_for_health("c" * 40, datetime.now(UTC), previous_pid=None)
    assert failure.value.step == "health"
    assert "within 30 s" in str(failure.value)
    assert f"commit {rig.deployed()[:7]}" in str(failure.value)  # what the file did show
    assert len(sleeps) == 60 and now[0] == 30.0


def test_health_wait_returns_as_soon_as_the_bot_is_ready(rig: DeployRig) -> None:
    now = [0.0]
    target = "d" * 40
    since = datetime.now(UTC)

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 2.0:  # the new bot comes up two (fake) seconds after the restart
            write_json_atomic(
                rig.health_file, health(commit=target, pid=999, started_at=since.isoformat())
            )

    deployer = Deployer(
        rig.settings(),
        DeployHistory(rig.deploy_db),
        poll_interval=0.25,
        monotonic=lambda: now[0],
        sleep=sleep,
    )
    deployer._wait_for_health(target, since, previous_pid=None)
    assert now[0] == 2.0


# -- deploying ----------------------------------------------------------------------------------
def test_a_push_is_deployed_and_the_new_commit_reports_healthy(rig: DeployRig) -> None:
    first = rig.deployed()
    new = rig.commit("Add the leave cog")
    deployer = rig.deployer()
    deploy_id = run_push(deployer, push(rig, first, new, "d-1"))

    record = deployer.history.get(deploy_id)
    assert record is not None
    assert record.status == DEPLOYED, record.error_tail
    assert (record.previous_sha, record.target_sha) == (first, new)
    assert rig.deployed() == new
    bot = rig.health()
    assert bot is not None and bot["commit"] == new and bot["ready"] is True
    assert rig.bot_alive()
    assert [c.title for c in record.commits] == ["Add the leave cog"]
    assert record.commits[0].author == "Ada Lovelace"
    assert set(record.durations) >= {"fetch", "checkout", "restart", "health", "total"}
    assert "reinstall" not in record.durations and not record.reinstalled
    assert rig.reinstalls() == []
    assert record.detail is None


def test_a_deploy_that_changes_the_listener_says_to_restart_it(rig: DeployRig) -> None:
    (rig.dev / "concord" / "webhook").mkdir(parents=True)
    new = rig.commit("Change the listener", {"concord/webhook/app.py": "# new\n"})
    record = rig.deployer().deploy_commit()
    assert record.status == DEPLOYED and record.target_sha == new
    assert "restart concord-webhook" in str(record.detail)


def test_reinstall_runs_only_when_pyproject_changed(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    plain = rig.commit("Touch the docs", {"README.md": "docs\n"})
    run_push(deployer, push(rig, first, plain, "d-1"))
    assert rig.reinstalls() == []

    deps = rig.commit(
        "Add a dependency",
        {"pyproject.toml": '[project]\nname = "demo"\nversion = "0.2.0"\ndependencies = ["x"]\n'},
    )
    deploy_id = run_push(deployer, push(rig, plain, deps, "d-2"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == DEPLOYED and record.reinstalled
    assert rig.reinstalls() == [deps]  # run once, in the new checkout

    later = rig.commit("Another docs change", {"README.md": "more docs\n"})
    run_push(deployer, push(rig, deps, later, "d-3"))
    assert rig.reinstalls() == [deps]


def test_an_older_push_delivered_late_never_moves_the_bot_back(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    older = rig.commit("One")
    newer = rig.commit("Two")
    run_push(deployer, push(rig, older, newer, "d-new"))
    bot_pid = rig.health()["pid"]  # type: ignore[index]

    late_id = run_push(deployer, push(rig, first, older, "d-old"))
    late = deployer.history.get(late_id)
    assert late is not None and late.status == SKIPPED
    assert late.detail == f"{older[:7]} is older than the deployed {newer[:7]}"
    assert rig.deployed() == newer
    assert rig.health()["pid"] == bot_pid  # type: ignore[index]  # not even restarted

    again_id = run_push(deployer, push(rig, older, newer, "d-again"))
    again = deployer.history.get(again_id)
    assert again is not None and again.status == SKIPPED and "already deployed" in str(again.detail)


def test_a_dirty_checkout_is_refused_and_reported(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url))
    first = rig.deployed()
    (rig.app / "README.md").write_text("edited on the server\n")
    new = rig.commit("Change")
    bot_pid = rig.health()["pid"]  # type: ignore[index]

    deploy_id = run_push(deployer, push(rig, first, new, "d-1"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == REFUSED
    assert "local modifications (README.md)" in str(record.detail)
    assert rig.deployed() == first
    assert rig.health()["pid"] == bot_pid  # type: ignore[index]
    [message] = notify_server.wait_for(1)
    assert message["embeds"][0]["title"].startswith("⛔ Deploy refused")
    assert "README.md" in message["embeds"][0]["description"]


def test_untracked_files_do_not_block_a_deploy(rig: DeployRig) -> None:
    deployer = rig.deployer()
    (rig.app / "notes.txt").write_text("operator's scratch file\n")
    new = rig.commit("Change")
    deploy_id = run_push(deployer, push(rig, rig.deployed(), new, "d-1"))
    assert deployer.history.get(deploy_id).status == DEPLOYED  # type: ignore[union-attr]


def test_a_broken_commit_is_rolled_back_and_the_previous_commit_is_healthy(
    rig: DeployRig, notify_server: NotifyServer
) -> None:
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url), health_timeout=1.5)
    good = rig.deployed()
    bad = rig.broken_commit()

    deploy_id = run_push(deployer, push(rig, good, bad, "d-bad"))

    record = deployer.history.get(deploy_id)
    assert record is not None
    assert record.status == ROLLED_BACK
    assert rig.deployed() == good
    bot = rig.health()
    assert bot is not None and bot["commit"] == good and bot["ready"] is True
    assert rig.bot_alive()
    assert "did not report ready" in str(record.error_tail)
    assert record.detail == f"{bad[:7]} did not come up; {good[:7]} is running again"
    assert "rollback" in record.durations
    [message] = notify_server.wait_for(1)
    embed = message["embeds"][0]
    assert embed["title"].startswith("↩️ Rolled back")
    assert "Break the bot" in embed["description"]

    # The same commit pushed again (a redelivery under a new id) is not retried...
    retry_id = run_push(deployer, push(rig, good, bad, "d-bad-again"))
    retry = deployer.history.get(retry_id)
    assert retry is not None and retry.status == SKIPPED
    assert f"rolled back by deploy #{deploy_id}" in str(retry.detail)
    # ...but a fix on top of it is deployed.
    fixed = rig.commit("Fix the bot", {"fakebot.sh": FAKEBOT})
    fixed_id = run_push(deployer, push(rig, bad, fixed, "d-fix"))
    assert deployer.history.get(fixed_id).status == DEPLOYED  # type: ignore[union-attr]
    assert rig.wait_for_bot(fixed)


def test_rollback_reinstalls_when_the_broken_commit_changed_pyproject(rig: DeployRig) -> None:
    deployer = rig.deployer(health_timeout=1.5)
    good = rig.deployed()
    bad = rig.commit(
        "Upgrade and break",
        {"fakebot.sh": BROKEN_FAKEBOT, "pyproject.toml": '[project]\nname = "demo"\n'},
    )
    deploy_id = run_push(deployer, push(rig, good, bad, "d-1"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == ROLLED_BACK and record.reinstalled
    assert rig.reinstalls() == [bad, good]  # forward, then back
    assert rig.wait_for_bot(good)


def test_a_failing_restart_command_is_rolled_back_at_once(rig: DeployRig, tmp_path: Path) -> None:
    # The restart command fails only for the new commit (like a unit that refuses to start).
    script = tmp_path / "restart-picky.sh"
    bad_marker = "restart refuses"
    script.write_text(
        f'if grep -q "{bad_marker}" "{rig.app}/CHANGES.md" 2>/dev/null; then\n'
        '  echo "Job for concord-bot.service failed" >&2; exit 1\nfi\n'
        f'exec sh "{rig.restart_script}"\n'
    )
    deployer = rig.deployer(
        settings=rig.settings(restart_cmd=("sh", str(script))), health_timeout=5.0
    )
    good = rig.deployed()
    bad = rig.commit(bad_marker)
    deploy_id = run_push(deployer, push(rig, good, bad, "d-1"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == ROLLED_BACK
    assert "restart failed: sh exited with status 1" in str(record.error_tail)
    assert "Job for concord-bot.service failed" in str(record.error_tail)
    assert record.durations["total"] < 4.0  # no health wait for a restart that failed
    assert rig.deployed() == good
    assert rig.wait_for_bot(good)


def test_a_commit_not_on_the_branch_is_refused(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    side = rig.commit("Experiment", branch="feature")
    deploy_id = run_push(deployer, push(rig, first, side, "d-1"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == REFUSED
    assert "is not on origin/main" in str(record.detail)
    unknown_id = run_push(deployer, push(rig, first, "e" * 40, "d-2"))
    assert deployer.history.get(unknown_id).status == REFUSED  # type: ignore[union-attr]
    assert rig.deployed() == first


def test_a_failed_fetch_leaves_the_bot_untouched(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    new = rig.commit("Change")
    rig.git(rig.app, "remote", "set-url", "origin", str(rig.root / "gone.git"))
    deploy_id = run_push(deployer, push(rig, first, new, "d-1"))
    record = deployer.history.get(deploy_id)
    assert record is not None and record.status == FAILED
    assert record.detail == "could not fetch; the bot is untouched"
    assert "fetch failed: git exited with status" in str(record.error_tail)
    assert rig.deployed() == first


def test_coalescing_deploys_only_the_newest_of_a_batch(rig: DeployRig) -> None:
    deployer = rig.deployer()
    shas = [rig.deployed()]
    for n in range(4):
        shas.append(rig.commit(f"Change {n}"))
    # Queued in a shuffled order: the newest commit wins, not the latest arrival.
    order = [3, 1, 4, 2]
    batch = [(deploy_one(deployer, push(rig, shas[i - 1], shas[i], f"d-{i}")), None) for i in order]
    requests = [
        (deploy_id, push(rig, shas[i - 1], shas[i], f"d-{i}"))
        for (deploy_id, _), i in zip(batch, order, strict=True)
    ]
    deployer.deploy_pushes(requests)
    statuses = {
        i: deployer.history.get(deploy_id).status  # type: ignore[union-attr]
        for (deploy_id, _), i in zip(requests, order, strict=True)
    }
    assert statuses == {3: SUPERSEDED, 1: SUPERSEDED, 4: DEPLOYED, 2: SUPERSEDED}
    assert rig.deployed() == shas[4]


def test_the_deploy_lock_excludes_other_processes_and_threads(rig: DeployRig) -> None:
    deployer = rig.deployer()
    new = rig.commit("Change")
    held = DeployLock(deployer.settings.lock_file)
    assert held.acquire()
    assert not DeployLock(deployer.settings.lock_file).acquire(blocking=False)
    waited = threading.Event()

    def on_wait() -> None:
        waited.set()
        threading.Timer(0.2, held.release).start()

    record = deployer.deploy_commit(wait=on_wait)
    assert waited.is_set()
    assert record.status == DEPLOYED and rig.deployed() == new


def test_deploy_commit_checks_its_argument(rig: DeployRig) -> None:
    deployer = rig.deployer()
    with pytest.raises(DeployRequestError, match="not a commit id"):
        deployer.deploy_commit("--upload-pack=evil")
    with pytest.raises(DeployRequestError, match="is not a commit in"):
        deployer.deploy_commit("abcdef12")


def test_deploy_commit_can_go_back_only_when_asked(rig: DeployRig) -> None:
    deployer = rig.deployer()
    first = rig.deployed()
    rig.commit("Change")
    assert deployer.deploy_commit().status == DEPLOYED
    assert deployer.deploy_commit(first[:8]).status == SKIPPED
    record = deployer.deploy_commit(first[:8], allow_older=True)
    assert record.status == DEPLOYED and rig.deployed() == first
    assert rig.wait_for_bot(first)


def test_manual_rollback_walks_back_through_deployed_commits(rig: DeployRig) -> None:
    deployer = rig.deployer()
    with pytest.raises(DeployRequestError, match="no earlier deploy"):
        deployer.rollback()
    first = rig.deployed()
    second = rig.commit("Two")
    deployer.deploy_commit()
    third = rig.commit("Three")
    deployer.deploy_commit()
    assert rig.deployed() == third

    record = deployer.rollback()
    assert (record.source, record.status, record.target_sha) == ("rollback", DEPLOYED, second)
    assert rig.wait_for_bot(second)
    assert deployer.rollback().target_sha == first
    assert rig.deployed() == first


def test_a_notification_failure_never_fails_the_deploy(rig: DeployRig) -> None:
    # Nothing listens on port 9 of loopback (discard): the POST fails at once.
    deployer = rig.deployer(notifier=DiscordNotifier("http://127.0.0.1:9/api/webhooks/1/x"))
    new = rig.commit("Change")
    assert deployer.deploy_commit().status == DEPLOYED
    assert rig.deployed() == new


def test_deploys_left_running_by_a_dead_process_are_closed_on_start(rig: DeployRig) -> None:
    deployer = rig.deployer()
    deploy_id = deployer.history.add(source="cli", branch="main", target_sha="f" * 40, now=T0)
    deployer.history.start(deploy_id, rig.deployed(), T0 + timedelta(seconds=1))
    lock = DeployLock(deployer.settings.lock_file)
    lock.acquire()
    assert deployer.recover_interrupted() == []  # someone is deploying: leave it alone
    lock.release()
    assert [r.id for r in deployer.recover_interrupted()] == [deploy_id]
    assert deployer.history.get(deploy_id).status == INTERRUPTED  # type: ignore[union-attr]


def test_the_queue_runs_one_deploy_at_a_time_and_ends_on_the_newest(rig: DeployRig) -> None:
    deployer = rig.deployer()
    queue = DeployQueue(deployer)
    shas = [rig.deployed()]
    for n in range(5):
        shas.append(rig.commit(f"Change {n}"))
    ids = []
    # Another deploy (say `concord deploy now`) holds the lock while the pushes arrive.
    with DeployLock(deployer.settings.lock_file):
        for i in range(1, 6):
            deployer.history.record_delivery(f"d-{i}", "push", "test", T0)
            ids.append(queue.submit(push(rig, shas[i - 1], shas[i], f"d-{i}")))
        assert queue.busy
    assert queue.wait_idle(30)
    assert rig.deployed() == shas[5]
    assert rig.wait_for_bot(shas[5])
    records = [deployer.history.get(i) for i in ids]
    statuses = [r.status for r in records]  # type: ignore[union-attr]
    assert statuses.count(DEPLOYED) <= 2  # the worker's first batch, then the rest coalesced
    assert statuses[-1] == DEPLOYED
    assert set(statuses) <= {DEPLOYED, SUPERSEDED, SKIPPED}
    ran = sorted(
        (r.started_at, r.finished_at)  # type: ignore[union-attr]
        for r in records
        if r.status == DEPLOYED  # type: ignore[union-attr]
    )
    for (_, end), (start, _) in itertools.pairwise(ran):
        assert end <= start  # one deploy at a time

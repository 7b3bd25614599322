"""Auto-deploy timings with the fake bot: push delivery -> new commit healthy, and a broken push ->
the previous commit healthy again.

Everything is local: a bare repository as origin, the deployed checkout, the listener served by
waitress on a loopback port, and the tests' fake bot (a shell script that reports ready in the
health file ~100 ms after it starts, like `concord run` does after its gateway READY). Each
delivery is a signed HTTP POST like GitHub's; the clock runs from sending it until the health
file shows what we wait for. The broken push's figure is the health timeout plus the time to put
the previous commit back, so the timeout is printed with it.

With a migration, the bot is the real concord package (tests/webhook/concord_rig.py: it opens
and migrates the database, snapshotting it first, and imports every cog, without connecting to
Discord): a push adding a migration -> healthy, and a push adding a migration with a cog that
fails to import -> the previous commit healthy on the restored database.

Prints a table, a MET/MISSED line per target (a push healthy < 2 s; a broken push back on the
previous commit < 2 s beyond the health timeout; with a migration < 10 s and < 10 s beyond)
and one JSON line.

Usage: python bench/bench_deploy.py [deploys] [broken_pushes] [health_timeout_seconds]
                                    [migrating_runs] [migrating_health_timeout_seconds]
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake bot rig lives with the tests

import benchlib  # noqa: E402

from concord.webhook.cli import build_server  # noqa: E402
from concord.webhook.deployer import Deployer, DeployQueue  # noqa: E402
from concord.webhook.history import DeployHistory, DeployRecord  # noqa: E402
from tests.webhook.concord_rig import ConcordRig  # noqa: E402
from tests.webhook.deploy_rig import FAKEBOT, DeployRig  # noqa: E402

POLL = 0.005


def deliver(port: int, rig: DeployRig, before: str, after: str, delivery: str) -> None:
    request = rig.push_request(port, before, after, delivery)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.status


def wait_until(rig: DeployRig, commit: str, not_pid: object, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = rig.health()
        if (
            health
            and health.get("ready")
            and health.get("commit") == commit
            and health.get("pid") != not_pid
        ):
            return time.monotonic()
        time.sleep(POLL)
    raise SystemExit(f"timed out waiting for {commit[:7]}: {rig.health()}")


def figures(seconds: list[float], timeout: float | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "median_s": round(statistics.median(seconds), 2),
        "min_s": round(min(seconds), 2),
        "max_s": round(max(seconds), 2),
        "runs": len(seconds),
    }
    if timeout is not None:
        out["health_timeout_s"] = timeout
        out["beyond_timeout_median_s"] = round(statistics.median(seconds) - timeout, 2)
    return out


def step_medians(records: list[DeployRecord]) -> dict[str, float]:
    names = ("fetch", "checkout", "restart", "health", "rollback", "total")
    medians: dict[str, float] = {}
    for name in names:
        values = [r.durations[name] for r in records if name in r.durations]
        if values:
            medians[name] = round(statistics.median(values), 2)
    return medians


class Listening:
    """The listener served by waitress on a loopback port, in front of ``rig``."""

    def __init__(self, rig: DeployRig, health_timeout: float) -> None:
        self.history = DeployHistory(rig.deploy_db)
        self.history.create()
        settings = rig.settings(health_timeout=health_timeout)
        self.queue = DeployQueue(Deployer(settings, self.history, poll_interval=0.05))
        self.server = build_server(settings, self.queue, port=0)
        self.port: int = self.server.effective_port  # type: ignore[union-attr]
        self.serving = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Listening:
        self.serving.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.trigger.pull_trigger(self.server.close)  # type: ignore[union-attr]
        self.serving.join(5)
        self.server.task_dispatcher.shutdown()  # type: ignore[union-attr]

    def timed(
        self, rig: DeployRig, after: str, wait_for: str, delivery: str, limit: float
    ) -> float:
        """Seconds from delivering the push of ``after`` until ``wait_for`` is healthy."""
        before = rig.deployed()
        pid = (rig.health() or {}).get("pid")
        started = time.monotonic()
        deliver(self.port, rig, before, after, delivery)
        seconds = wait_until(rig, wait_for, pid, limit) - started
        self.queue.wait_idle(limit)
        return seconds


def run_plain(deploys: int, broken: int, timeout: float) -> dict[str, object]:
    """The fake bot (a shell script): the deployer's own cost."""
    with tempfile.TemporaryDirectory() as tmp:
        rig = DeployRig(Path(tmp))
        rig.create()
        ok: list[float] = []
        back: list[float] = []
        try:
            with Listening(rig, timeout) as listener:
                for n in range(deploys):
                    after = rig.commit(f"Change {n}")
                    ok.append(listener.timed(rig, after, after, f"ok-{n}", 60))
                ok_records = listener.history.recent(deploys)
                for n in range(broken):
                    good = rig.deployed()
                    bad = rig.broken_commit(f"Break {n}")
                    back.append(listener.timed(rig, bad, good, f"bad-{n}", timeout * 3 + 30))
                    assert listener.history.recent(1)[0].status == "rolled_back"
                    fixed = rig.commit(f"Fix {n}", {"fakebot.sh": FAKEBOT})
                    listener.timed(rig, fixed, fixed, f"fix-{n}", 60)
        finally:
            rig.stop()
    return {
        "push_to_healthy": figures(ok),
        "push_steps": step_medians(ok_records),
        "broken_push_to_previous_healthy": figures(back, timeout),
    }


def run_migrating(runs: int, timeout: float) -> dict[str, object]:
    """The real concord package (tests/webhook/concord_rig.py): each good push adds a migration
    (pre-migration snapshot at start), each broken one adds a migration and breaks a cog (the
    rollback restores the snapshot)."""
    with tempfile.TemporaryDirectory() as tmp:
        rig = ConcordRig(Path(tmp))
        rig.create()
        ok: list[float] = []
        back: list[float] = []
        version = rig.latest_version()
        try:
            with Listening(rig, timeout) as listener:
                for n in range(runs):
                    version += 1
                    good = rig.commit(
                        f"Add table {n}",
                        {
                            f"concord/db/migrations/{version:04d}_bench_{n}.sql": (
                                f"CREATE TABLE bench_{n} (id INTEGER PRIMARY KEY);\n"
                            )
                        },
                    )
                    ok.append(listener.timed(rig, good, good, f"mig-ok-{n}", 120))
                    bad = migrating_broken(rig, version + 1, n)
                    back.append(listener.timed(rig, bad, good, f"mig-bad-{n}", timeout * 3 + 60))
                    record = listener.history.recent(1)[0]
                    assert record.status == "rolled_back", record
                    assert "restored the database" in str(record.detail), record.detail
                    rig.git(rig.dev, "revert", "--no-edit", "--quiet", "HEAD")
                    rig.git(rig.dev, "push", "--quiet", "origin", "HEAD:refs/heads/main")
                    fixed = rig.git(rig.dev, "rev-parse", "HEAD")
                    listener.timed(rig, fixed, fixed, f"mig-fix-{n}", 120)
                back_records = [r for r in listener.history.recent(50) if r.status == "rolled_back"]
        finally:
            rig.stop()
    return {
        "migrating_push_to_healthy": figures(ok),
        "migrating_broken_push_to_previous_healthy": figures(back, timeout),
        "migrating_rollback_steps": step_medians(back_records),
    }


def migrating_broken(rig: ConcordRig, version: int, n: int) -> str:
    admin = (rig.dev / "concord" / "cogs" / "admin.py").read_text()
    return rig.commit(
        f"Add table and break a cog {n}",
        {
            f"concord/db/migrations/{version:04d}_bench_broken_{n}.sql": (
                f"CREATE TABLE bench_broken_{n} (id INTEGER PRIMARY KEY);\n"
            ),
            "concord/cogs/admin.py": "from concord.no_such_module import Thing  # noqa\n" + admin,
        },
    )


def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)  # the rollback warnings are expected here
    deploys = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    broken = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    migrating = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    migrating_timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 15.0
    benchlib.header("Auto-deploy on loopback: delivery -> healthy, broken push -> previous healthy")
    result: dict[str, Any] = run_plain(deploys, broken, timeout)
    if migrating:
        result.update(run_migrating(migrating, migrating_timeout))
    rows: list[list[object]] = []
    for name, value in result.items():
        if isinstance(value, dict) and "median_s" in value:
            rows.append([name, value["runs"], value["median_s"], value["max_s"]])
    print(benchlib.table(["from the delivery until", "runs", "median s", "max s"], rows))
    targets = benchlib.Targets()
    plain = result["push_to_healthy"]
    targets.below("push healthy, median", float(plain["median_s"]), 2.0, " s")
    back = result["broken_push_to_previous_healthy"]
    targets.below(
        "broken push back, beyond the health timeout",
        float(back["beyond_timeout_median_s"]),
        2.0,
        " s",
    )
    if migrating:
        ok = result["migrating_push_to_healthy"]
        targets.below("migrating push healthy, median", float(ok["median_s"]), 10.0, " s")
        bad = result["migrating_broken_push_to_previous_healthy"]
        targets.below(
            "migrating broken push back, beyond the health timeout",
            float(bad["beyond_timeout_median_s"]),
            10.0,
            " s",
        )
    targets.report()
    benchlib.emit("deploy", result, targets)


if __name__ == "__main__":
    main()

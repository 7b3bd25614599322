"""Auto-deploy timings with the fake bot: push delivery -> new commit healthy, and a broken push ->
the previous commit healthy again.

Everything is local: a bare repository as origin, the deployed checkout, the listener served by
waitress on a loopback port, and the tests' fake bot (a shell script that reports ready in the
health file ~100 ms after it starts, like `concord run` does after its gateway READY). Each
delivery is a signed HTTP POST like GitHub's; the clock runs from sending it until the health
file shows what we wait for. The broken push's figure is the health timeout plus the time to put
the previous commit back, so the timeout is printed with it.

Usage: python bench/bench_deploy.py [deploys] [broken_pushes] [health_timeout_seconds]
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake bot rig lives with the tests

from concord.webhook.app import sign  # noqa: E402
from concord.webhook.cli import build_server  # noqa: E402
from concord.webhook.deployer import Deployer, DeployQueue  # noqa: E402
from concord.webhook.history import DeployHistory, DeployRecord  # noqa: E402
from tests.webhook.deploy_rig import FAKEBOT, SECRET, DeployRig  # noqa: E402

POLL = 0.005


def deliver(port: int, rig: DeployRig, before: str, after: str, delivery: str) -> None:
    body = json.dumps(rig.push_payload(before, after)).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/github",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(SECRET, body),
        },
    )
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


def summary(name: str, seconds: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(seconds):.2f} s, min {min(seconds):.2f} s, "
        f"max {max(seconds):.2f} s over {len(seconds)} run(s)"
    )


def steps(records: list[DeployRecord]) -> str:
    names = ("fetch", "checkout", "restart", "health", "rollback", "total")
    parts = []
    for name in names:
        values = [r.durations[name] for r in records if name in r.durations]
        if values:
            parts.append(f"{name} {statistics.median(values):.2f}")
    return "  deployer's own step medians (s): " + ", ".join(parts)


def run(deploys: int, broken: int, health_timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rig = DeployRig(Path(tmp))
        rig.create()
        history = DeployHistory(rig.deploy_db)
        history.create()
        settings = rig.settings(health_timeout=health_timeout)
        deployer = Deployer(settings, history, poll_interval=0.05)
        queue = DeployQueue(deployer)
        server = build_server(settings, queue, port=0)
        port: int = server.effective_port  # type: ignore[union-attr]
        serving = threading.Thread(target=server.run, daemon=True)
        serving.start()
        try:
            ok, ok_records = [], []
            for n in range(deploys):
                before = rig.deployed()
                pid = (rig.health() or {}).get("pid")
                after = rig.commit(f"Change {n}")
                started = time.monotonic()
                deliver(port, rig, before, after, f"ok-{n}")
                ok.append(wait_until(rig, after, pid, 60) - started)
                queue.wait_idle(60)
                ok_records.append(history.recent(1)[0])
            back, back_records = [], []
            for n in range(broken):
                good = rig.deployed()
                pid = (rig.health() or {}).get("pid")
                bad = rig.broken_commit(f"Break {n}")
                started = time.monotonic()
                deliver(port, rig, good, bad, f"bad-{n}")
                back.append(wait_until(rig, good, pid, health_timeout * 3 + 30) - started)
                queue.wait_idle(60)
                record = history.recent(1)[0]
                assert record.status == "rolled_back", record
                back_records.append(record)
                fixed = rig.commit(f"Fix {n}", {"fakebot.sh": FAKEBOT})
                deliver(port, rig, bad, fixed, f"fix-{n}")
                wait_until(rig, fixed, None, 60)
                queue.wait_idle(60)
        finally:
            server.trigger.pull_trigger(server.close)  # type: ignore[union-attr]
            serving.join(5)
            server.task_dispatcher.shutdown()
            rig.stop()
    print(summary("push delivered -> new commit healthy", ok))
    print(steps(ok_records))
    if back:
        print(
            summary(f"broken push -> previous commit healthy (timeout {health_timeout:g} s)", back)
        )
        overhead = [s - health_timeout for s in back]
        print(f"  beyond the health timeout: median {statistics.median(overhead):.2f} s")
        print(steps(back_records))


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the deployer's rollback warnings are expected here
    deploys = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    broken = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    run(deploys, broken, timeout)


if __name__ == "__main__":
    main()

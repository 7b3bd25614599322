from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from concord.db.database import connect_sync, load_migrations


def concord(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_then_check_on_a_new_path(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "c.db"
    result = concord("db", "migrate", "--db", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"schema version {len(load_migrations())}" in result.stdout
    result = concord("db", "check", "--db", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok" in result.stdout
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_check_reports_a_stale_schema(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    conn = connect_sync(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    result = concord("db", "check", "--db", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert "schema version 0" in result.stdout


def test_check_on_missing_file_fails(tmp_path: Path) -> None:
    result = concord("db", "check", "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stdout


def test_backup_and_stats(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    assert concord("db", "migrate", "--db", str(path), cwd=tmp_path).returncode == 0
    conn = connect_sync(path)
    conn.execute("INSERT INTO guild_settings (guild_id) VALUES (42)")
    conn.close()
    target = tmp_path / "backups" / "copy.db"
    result = concord("db", "backup", "--db", str(path), str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert concord("db", "check", "--db", str(target), cwd=tmp_path).returncode == 0
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT guild_id FROM guild_settings").fetchall() == [(42,)]
    copy.close()
    stats = concord("db", "stats", "--db", str(target), cwd=tmp_path)
    assert stats.returncode == 0
    assert any(line.split() == ["guild_settings", "1"] for line in stats.stdout.splitlines())


def test_backup_refuses_to_overwrite_the_live_file(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    concord("db", "migrate", "--db", str(path), cwd=tmp_path)
    result = concord("db", "backup", "--db", str(path), str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "live database" in result.stderr

"""Verified online copies and pre-migration snapshots (concord/db/snapshots.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord.cli import main
from concord.db.database import (
    Database,
    connect_sync,
    load_migrations,
    run_script,
    set_schema_version,
    transaction,
)
from concord.db.snapshots import (
    KEEP_SNAPSHOTS,
    SnapshotError,
    list_snapshots,
    take_snapshot,
    verified_copy,
)
from concord.health import git_commit

T0 = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)


def older_database(path: Path) -> int:
    """A database one migration behind this code; returns its version."""
    migrations = load_migrations()
    conn = connect_sync(path)
    try:
        for migration in migrations[:-1]:
            with transaction(conn):
                run_script(conn, migration.sql)
                set_schema_version(conn, migration.version)
        conn.execute(
            "INSERT INTO audit_log (guild_id, actor_id, action, subject, at) "
            "VALUES (1, 2, 'seed', 'before', '2026-03-02T09:00:00+00:00')"
        )
    finally:
        conn.close()
    return migrations[-2].version


def test_a_verified_copy_of_a_live_file_holds_the_commits_still_in_its_wal(
    tmp_path: Path,
) -> None:
    live = connect_sync(tmp_path / "live.db")
    live.execute("PRAGMA wal_autocheckpoint=0")
    live.execute("CREATE TABLE t (n INTEGER)")
    live.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(500)])
    target = tmp_path / "copies" / "copy.db"
    verified_copy(tmp_path / "live.db", target)
    live.close()
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == 500
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]


def test_a_copy_that_cannot_be_made_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError):
        verified_copy(tmp_path / "missing.db", tmp_path / "copy.db")
    (tmp_path / "garbage.db").write_bytes(b"not a database" * 100)
    with pytest.raises(SnapshotError):
        verified_copy(tmp_path / "garbage.db", tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.db"]


def test_only_the_newest_snapshots_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "concord.db"
    older_database(db)
    for n in range(KEEP_SNAPSHOTS + 2):
        take_snapshot(
            db,
            from_version=4,
            to_version=5,
            from_commit="a" * 40,
            to_commit="b" * 40,
            now=T0 + timedelta(minutes=n),
        )
    other = tmp_path / "concord-sandbox.db"
    older_database(other)
    take_snapshot(other, from_version=4, to_version=5, from_commit=None, to_commit=None, now=T0)
    kept = list_snapshots(db)
    assert len(kept) == KEEP_SNAPSHOTS
    assert kept[0].path.name == "concord-20260302T090630Z-v4-aaaaaaa-to-v5-bbbbbbb.db"
    assert kept[-1].taken_at == T0 + timedelta(minutes=2)
    [theirs] = list_snapshots(other)  # another database's snapshots are its own
    assert theirs.path.name == "concord-sandbox-20260302T090030Z-v4-unknown-to-v5-unknown.db"


def test_concord_db_migrate_snapshots_the_database_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "data" / "concord.db"
    db.parent.mkdir()
    version = older_database(db)
    assert main(["db", "migrate", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "applied 1 migration," in out
    [snapshot] = list_snapshots(db)
    assert f"snapshot before migrating: {snapshot.path}" in out
    assert snapshot.path.parent == tmp_path / "data" / "snapshots"
    assert (snapshot.from_version, snapshot.to_version) == (version, version + 1)
    commit = git_commit()
    assert snapshot.to_commit == (commit[:7] if commit else "unknown")
    conn = sqlite3.connect(snapshot.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    assert conn.execute("SELECT subject FROM audit_log").fetchall() == [("before",)]
    conn.close()
    # Up to date now: migrating again copies nothing.
    assert main(["db", "migrate", "--db", str(db)]) == 0
    assert len(list_snapshots(db)) == 1


async def test_the_bot_start_snapshots_before_migrating(tmp_path: Path) -> None:
    db_path = tmp_path / "concord.db"
    version = older_database(db_path)
    db = await Database.open(db_path, previous_commit="c" * 40)
    await db.close()
    [snapshot] = list_snapshots(db_path)
    assert (snapshot.from_version, snapshot.from_commit) == (version, "ccccccc")
    # A new database has nothing to keep.
    fresh = await Database.open(tmp_path / "fresh.db")
    await fresh.close()
    assert list_snapshots(tmp_path / "fresh.db") == []

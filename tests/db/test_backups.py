"""Backups and restores against real files and a real S3 API on loopback (moto's server):
verification, the manifest, retention, a full disk and an unmounted NAS, the refusals of a
restore, and the restore drill (data written through the managers, backed up to a folder and
to S3, the database destroyed, restored from each, every table compared row for row)."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from concord.core.backup_policy import Retention, backups_to_keep, parse_backup_name
from concord.core.dar import validate_report
from concord.core.tasks import Actor, TaskDraft
from concord.db import backups as backups_module
from concord.db.backups import (
    MANIFEST,
    BackupError,
    BackupTargets,
    list_folder,
    list_s3,
    read_manifest,
    resolve_source,
    restore,
    take_backup,
)
from concord.db.dar import DarManager
from concord.db.database import Database, connect_sync, load_migrations
from concord.db.guilds import GuildSettings
from concord.db.leave import LeaveManager
from concord.db.s3store import S3Error, S3Store
from concord.db.tasks import TaskManager
from concord.health import iso, write_json_atomic
from tests.s3_server import s3_client

GUILD = 1
ALICE, BOB = 10, 20
STAFF = 77
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
LATEST = len(load_migrations())


# -- helpers ---------------------------------------------------------------------------------
async def office_data(db: Database) -> None:
    """A little of everything, written through the managers as the bot writes it."""
    settings = GuildSettings(db)
    await settings.update(GUILD, ALICE, {"staff_role_id": STAFF, "timezone": "Europe/London"})
    leave = LeaveManager(db)
    tasks = TaskManager(db)
    applied = await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type="Annual",
        start=date(2026, 12, 3),
        end=date(2026, 12, 4),
        portion=leave_portion(),
        from_time=None,
        to_time=None,
        reason="Family visit",
        now=NOW,
    )
    await leave.approve(GUILD, applied.request.id, actor=Actor(ALICE, True), now=NOW)
    task = await tasks.create(
        GUILD, Actor(ALICE), TaskDraft(title="Fix the printer", assignee_id=BOB), NOW
    )
    await tasks.comment(GUILD, task.id, Actor(BOB), "Toner ordered", NOW)
    await tasks.set_status(GUILD, task.id, Actor(BOB), "done", NOW)
    dar = DarManager(db, settings, leave, tasks)
    await dar.submit(
        GUILD, BOB, validate_report("fixed the printer", "order toner", None, "7.5"), NOW
    )


def leave_portion() -> Any:
    from concord.core.leave import Portion

    return Portion.FULL_DAY


def every_row(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }
    finally:
        conn.close()


async def new_database(path: Path, *, data: bool = True) -> Path:
    db = await Database.open(path)
    try:
        if data:
            await office_data(db)
    finally:
        await db.close()
    return path


def destroy(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def blob_database(path: Path, size: int) -> Path:
    """A migrated database with ``size`` bytes of incompressible data in it."""
    conn = connect_sync(path)
    from concord.db.database import apply_migrations

    apply_migrations(conn)
    conn.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, subject, after, at)"
        " VALUES (1, 1, 'blob', 'x', ?, '2026-12-01T00:00:00+00:00')",
        (os.urandom(size).hex(),),
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
async def live_db(tmp_path: Path) -> Path:
    return await new_database(tmp_path / "data" / "concord.db")


@pytest.fixture
def nas(tmp_path: Path) -> Path:
    folder = tmp_path / "nas" / "concord"
    folder.mkdir(parents=True)
    return folder


# -- folder backups --------------------------------------------------------------------------
def test_folder_backup_is_verified_compressed_and_in_the_manifest(live_db: Path, nas: Path) -> None:
    record = take_backup(live_db, BackupTargets(directory=nas), NOW)
    assert record.file == f"concord-20261201T030000Z-v{LATEST}.db.gz"
    path = nas / record.file
    packed = path.read_bytes()
    assert record.bytes == len(packed)
    assert record.sha256 == hashlib.sha256(packed).hexdigest()
    assert record.schema == LATEST and record.integrity == "ok"
    assert record.rows["tasks"] == 1 and record.rows["leave_requests"] == 1
    assert record.rows["dar_reports"] == 1
    (line,) = (nas / MANIFEST).read_text().splitlines()
    assert json.loads(line)["sha256"] == record.sha256
    assert read_manifest(nas)[record.file] == record
    # The gzip holds the database itself, byte-identical in content to the live one.
    restored = nas.parent / "unpacked.db"
    restored.write_bytes(gzip.decompress(packed))
    assert every_row(restored) == every_row(live_db)
    # Nothing else is left behind: no staging copy by the database, no partial file.
    assert sorted(p.name for p in nas.iterdir()) == sorted([record.file, MANIFEST])
    assert sorted(p.name for p in live_db.parent.iterdir() if "backup" in p.name) == []
    (listed,) = list_folder(nas, verify=True)
    assert (listed.name, listed.state, listed.schema) == (record.file, "sha256 ok", LATEST)


def test_listing_flags_a_tampered_backup(live_db: Path, nas: Path) -> None:
    record = take_backup(live_db, BackupTargets(directory=nas), NOW)
    path = nas / record.file
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    (listed,) = list_folder(nas, verify=True)
    assert listed.state == "SHA256 MISMATCH"
    (quick,) = list_folder(nas)
    assert quick.state == "verified"  # same size: only --verify re-hashes


def test_retention_keeps_7d_4w_12m_and_prunes_only_its_own_files(live_db: Path, nas: Path) -> None:
    stranger = nas / "concord-20250101T030000Z-v1.db.gz"  # our pattern, not in our manifest
    stranger.write_bytes(b"someone else's")
    notes = nas / "notes.txt"
    notes.write_text("the operator's file")
    start = datetime(2025, 11, 1, 3, 0, tzinfo=UTC)
    days = range(0, 420, 3)  # every third day for 14 months (fewer backups, a quicker test)
    for day in days:
        take_backup(
            live_db, BackupTargets(directory=nas, keep=Retention()), start + timedelta(days=day)
        )
    last = start + timedelta(days=days[-1])
    ours = sorted(p.name for p in nas.iterdir() if p.name.endswith(".db.gz") and p != stranger)
    all_names = [
        parse_backup_name(
            f"concord-{(start + timedelta(days=d)).strftime('%Y%m%dT%H%M%SZ')}-v{LATEST}.db.gz"
        )
        for d in days
    ]
    expected = backups_to_keep([n for n in all_names if n], Retention(), last)
    assert set(ours) == expected
    # 7 daily + the newest of 4 weeks and 12 months, overlapping: at most 23, at least 12.
    assert 12 <= len(ours) <= 23
    newest = f"concord-{last.strftime('%Y%m%dT%H%M%SZ')}-v{LATEST}.db.gz"
    assert newest in ours
    assert stranger.exists() and notes.exists()


# -- failures: an unmounted NAS, a full disk -------------------------------------------------
def test_an_unmounted_nas_fails_loudly_and_creates_nothing(live_db: Path, tmp_path: Path) -> None:
    mount_point = tmp_path / "mnt" / "nas"
    mount_point.mkdir(parents=True)  # the empty mount point of an unmounted share
    target = mount_point / "concord"  # the setting points inside the share
    with pytest.raises(BackupError, match=r"does not exist.*NAS mounted"):
        take_backup(live_db, BackupTargets(directory=target), NOW)
    assert not target.exists()
    assert list(mount_point.iterdir()) == []


@pytest.fixture(params=["tmpfs", "enospc"])
def full_folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A backup folder without room: a 256 KiB tmpfs where the machine lets us mount one (as
    root), and everywhere a write that fails with ENOSPC part-way through."""
    folder = tmp_path / "full"
    folder.mkdir()
    if request.param == "tmpfs":
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    real = backups_module._compress_into

    def compress_then_fill_up(source: Path, target: Path) -> tuple[int, str]:
        with target.open("xb") as handle:
            handle.write(b"\x1f\x8b" + b"\0" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(backups_module, "_compress_into", compress_then_fill_up)
    yield folder
    monkeypatch.setattr(backups_module, "_compress_into", real)


def test_a_full_disk_fails_loudly_and_leaves_nothing_half_written(
    tmp_path: Path, full_folder: Path
) -> None:
    live = blob_database(tmp_path / "big.db", 1024 * 1024)
    before = every_row(live)
    with pytest.raises(BackupError, match="no space left on the device"):
        take_backup(live, BackupTargets(directory=full_folder), NOW)
    assert list(full_folder.iterdir()) == []  # no partial file, no manifest line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".big")) == []
    assert every_row(live) == before


# -- S3 --------------------------------------------------------------------------------------
def test_s3_upload_is_multipart_past_the_threshold_and_verified(
    tmp_path: Path, s3_url: str, s3_endpoint: str
) -> None:
    five_mib = 5 * 1024 * 1024  # S3's smallest part
    store = S3Store(
        s3_url, endpoint=s3_endpoint, multipart_threshold=five_mib, multipart_chunk=five_mib
    )
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 * five_mib + 1000))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    stored = store.upload(big, "big.bin", {"sha256": digest, "bytes": str(big.stat().st_size)})
    assert stored.size == big.stat().st_size and stored.metadata["sha256"] == digest
    head = s3_client(s3_endpoint).head_object(Bucket=store.bucket, Key=stored.key)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: a multipart upload
    with pytest.raises(S3Error, match="did not verify"):
        store.upload(big, "again.bin", {"sha256": digest, "bytes": "1"})


def test_backups_go_to_the_folder_and_to_s3_with_retention_in_both(
    live_db: Path, nas: Path, s3_url: str, s3_endpoint: str
) -> None:
    store = S3Store(s3_url, endpoint=s3_endpoint)
    keep = Retention(daily=3, weekly=0, monthly=0)
    for day in range(6):
        record = take_backup(
            live_db, BackupTargets(directory=nas, s3=store, keep=keep), NOW + timedelta(days=day)
        )
        assert record.s3_key == store.key_for(record.file)
    folder = list_folder(nas)
    bucket = list_s3(store)
    assert [b.name for b in folder] == [b.name for b in bucket]
    assert len(folder) == 3 and all(b.state == "verified" for b in folder + bucket)
    head = s3_client(s3_endpoint).head_object(Bucket=store.bucket, Key=record.s3_key)
    assert head["Metadata"]["sha256"] == record.sha256
    assert head["Metadata"]["schema"] == str(LATEST)


def test_an_unreachable_bucket_fails_the_backup_but_keeps_the_folder_copy(
    live_db: Path, nas: Path, s3_endpoint: str, s3_env: None
) -> None:
    store = S3Store("s3://no-such-bucket/x", endpoint=s3_endpoint)
    with pytest.raises(BackupError, match=r"is in .* but the S3 copy failed"):
        take_backup(live_db, BackupTargets(directory=nas, s3=store), NOW)
    (listed,) = list_folder(nas)
    assert listed.state == "verified"
    assert read_manifest(nas)[listed.name].s3_key is None


# -- restore ---------------------------------------------------------------------------------
async def test_restore_drill_from_the_folder_and_from_s3_row_for_row(
    tmp_path: Path, nas: Path, s3_url: str, s3_endpoint: str
) -> None:
    live = await new_database(tmp_path / "data" / "concord.db")
    expected = every_row(live)
    assert expected["leave_ledger"] and expected["task_events"] and expected["dar_reports"]
    store = S3Store(s3_url, endpoint=s3_endpoint)
    record = take_backup(live, BackupTargets(directory=nas, s3=store), NOW)
    health = tmp_path / "data" / "health.json"
    for label, source in (
        ("folder", resolve_source(str(nas / record.file), nas, store)),
        ("s3 key", resolve_source(f"s3://{store.bucket}/{record.s3_key}", None, store)),
        ("s3 name", resolve_source(record.file, None, store)),
        ("latest", resolve_source("latest", nas, store)),
        ("latest, NAS down", resolve_source("latest", tmp_path / "unmounted", store)),
    ):
        destroy(live)  # the disaster
        report = restore(source, live, health_file=health, now=NOW)
        assert every_row(live) == expected, label
        assert report.schema == LATEST and report.checksum == "matched", label
        assert report.taken_at == NOW and report.rows["tasks"] == 1
        assert report.set_aside is None  # nothing was there to keep
        from_s3 = label not in ("folder", "latest")  # `latest` prefers the folder's copy
        assert report.source.startswith("s3://") == from_s3, label
        db = await Database.open(live)  # the bot starts on it
        assert (await TaskManager(db).get(1)).status == "done"
        await db.close()


async def test_restore_keeps_the_current_file_and_its_wal_aside(tmp_path: Path, nas: Path) -> None:
    live = await new_database(tmp_path / "data" / "concord.db")
    record = take_backup(live, BackupTargets(directory=nas), NOW)
    # A later write sits in the live WAL (a reader keeps it from being checkpointed away).
    keeper = sqlite3.connect(live)
    keeper.execute("PRAGMA wal_autocheckpoint=0")
    keeper.execute("INSERT INTO member_settings (guild_id, user_id, timezone) VALUES (1, 5, 'UTC')")
    keeper.commit()
    later = every_row(live)
    keeper.close()
    report = restore(
        resolve_source(str(nas / record.file), nas, None),
        live,
        health_file=tmp_path / "health.json",
        now=NOW + timedelta(hours=1),
    )
    assert report.set_aside == live.with_name("concord.db.before-restore-20261201T040000Z")
    assert every_row(live)["member_settings"] == []  # the old WAL was not replayed onto it
    assert every_row(report.set_aside) == later


async def test_dry_run_verifies_and_changes_nothing(tmp_path: Path, nas: Path) -> None:
    live = await new_database(tmp_path / "data" / "concord.db")
    record = take_backup(live, BackupTargets(directory=nas), NOW)
    conn = connect_sync(live)
    conn.execute("DELETE FROM member_settings")
    conn.execute("INSERT INTO member_settings (guild_id, user_id, timezone) VALUES (1, 9, 'UTC')")
    conn.commit()
    conn.close()
    before = every_row(live)
    names_before = sorted(p.name for p in live.parent.iterdir())
    # A running bot does not stop a dry run.
    health = tmp_path / "health.json"
    write_json_atomic(health, {"pid": os.getpid(), "ready": True, "heartbeat_at": iso(NOW)})
    report = restore(
        resolve_source("latest", nas, None), live, health_file=health, now=NOW, dry_run=True
    )
    assert report.checksum == "matched" and report.set_aside is None
    assert report.rows == record.rows
    assert every_row(live) == before
    assert sorted(p.name for p in live.parent.iterdir()) == names_before


def test_restore_refuses_while_a_bot_holds_the_database(
    live_db: Path, nas: Path, tmp_path: Path
) -> None:
    record = take_backup(live_db, BackupTargets(directory=nas), NOW)
    health = tmp_path / "health.json"
    write_json_atomic(health, {"pid": os.getpid(), "ready": True, "heartbeat_at": iso(NOW)})
    before = every_row(live_db)
    source = resolve_source(str(nas / record.file), nas, None)
    with pytest.raises(BackupError, match=r"a bot \(pid \d+\) is running"):
        restore(source, live_db, health_file=health, now=NOW)
    assert every_row(live_db) == before
    # A hung bot (three heartbeats missed, the listener's /health rule) does not block...
    beating = {"pid": os.getpid(), "ready": True, "heartbeat_seconds": 5}
    write_json_atomic(health, {**beating, "heartbeat_at": iso(NOW - timedelta(seconds=15))})
    with pytest.raises(BackupError, match=r"a bot \(pid \d+\) is running"):
        restore(source, live_db, health_file=health, now=NOW)
    write_json_atomic(health, {**beating, "heartbeat_at": iso(NOW - timedelta(seconds=16))})
    restore(source, live_db, health_file=health, now=NOW)
    # ...nor does a health file left by a bot that stopped (not ready).
    write_json_atomic(health, {"pid": os.getpid(), "ready": False, "heartbeat_at": iso(NOW)})
    restore(source, live_db, health_file=health, now=NOW + timedelta(seconds=1))


def test_restore_refuses_a_checksum_mismatch(live_db: Path, nas: Path, tmp_path: Path) -> None:
    record = take_backup(live_db, BackupTargets(directory=nas), NOW)
    path = nas / record.file
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    before = every_row(live_db)
    with pytest.raises(BackupError, match="SHA-256 does not match"):
        restore(
            resolve_source(str(path), nas, None),
            live_db,
            health_file=tmp_path / "h.json",
            now=NOW,
            dry_run=True,
        )
    with pytest.raises(BackupError, match="SHA-256 does not match"):
        restore(
            resolve_source(str(path), nas, None), live_db, health_file=tmp_path / "h.json", now=NOW
        )
    assert every_row(live_db) == before


def test_restore_refuses_an_s3_object_that_does_not_match_its_metadata(
    live_db: Path, nas: Path, tmp_path: Path, s3_url: str, s3_endpoint: str
) -> None:
    store = S3Store(s3_url, endpoint=s3_endpoint)
    record = take_backup(live_db, BackupTargets(directory=nas, s3=store), NOW)
    # Someone overwrites the object's bytes but keeps the old metadata.
    s3_client(s3_endpoint).put_object(
        Bucket=store.bucket,
        Key=record.s3_key,
        Body=b"x" * record.bytes,
        Metadata={"sha256": record.sha256, "bytes": str(record.bytes)},
    )
    with pytest.raises(BackupError, match="SHA-256 does not match"):
        restore(
            resolve_source(record.file, None, store),
            live_db,
            health_file=tmp_path / "h.json",
            now=NOW,
        )


def test_restore_refuses_a_schema_newer_than_the_code(tmp_path: Path, nas: Path) -> None:
    future = blob_database(tmp_path / "future.db", 10)
    conn = sqlite3.connect(future)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    record = take_backup(future, BackupTargets(directory=nas), NOW)
    assert record.file.endswith(f"-v{LATEST + 1}.db.gz")
    live = tmp_path / "live.db"
    with pytest.raises(BackupError, match=f"schema version {LATEST + 1}, newer than this code"):
        restore(
            resolve_source(str(nas / record.file), nas, None),
            live,
            health_file=tmp_path / "h.json",
            now=NOW,
        )
    assert not live.exists()


def test_latest_with_nothing_verified_is_refused(tmp_path: Path, nas: Path) -> None:
    with pytest.raises(BackupError, match="no verified backup"):
        resolve_source("latest", nas, None)
    with pytest.raises(BackupError, match="no such file"):
        resolve_source(str(tmp_path / "missing.db.gz"), nas, None)


def test_latest_says_where_it_looked(tmp_path: Path) -> None:
    """Not "no verified backup" when there was nowhere to look, or the folder is missing."""
    with pytest.raises(BackupError, match=r"set CONCORD_BACKUP_DIR or pass --dir"):
        resolve_source("latest", None, None)
    with pytest.raises(BackupError, match=r"does not exist.*NAS mounted"):
        resolve_source("latest", tmp_path / "unmounted" / "concord", None)

"""`concord db backup --to-dir/--to-s3`, `concord db backups` and `concord db restore` as an
operator runs them: real processes, a real folder, moto's S3 server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from concord.db.database import Database, load_migrations
from concord.db.guilds import GuildSettings
from concord.health import iso, write_json_atomic
from tests.s3_server import S3_ENV

LATEST = len(load_migrations())


@pytest.fixture
async def office(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "concord.db"
    db = await Database.open(path)
    await GuildSettings(db).update(1, 10, {"timezone": "Europe/London"})
    await db.close()
    return path


def concord(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def operator_env(tmp_path: Path, db_path: Path, **extra: str) -> dict[str, str]:
    nas = tmp_path / "nas"
    nas.mkdir(exist_ok=True)
    return {
        "CONCORD_DB_PATH": str(db_path),
        "CONCORD_HEALTH_FILE": str(tmp_path / "data" / "health.json"),
        "CONCORD_BACKUP_DIR": str(nas),
        **extra,
    }


def test_backup_list_and_restore_from_the_folder_and_s3(
    tmp_path: Path, office: Path, s3_url: str, s3_endpoint: str
) -> None:
    env = operator_env(
        tmp_path,
        office,
        CONCORD_BACKUP_S3_URL=s3_url,
        CONCORD_BACKUP_S3_ENDPOINT=s3_endpoint,
        **S3_ENV,
    )
    made = concord("db", "backup", "--to-dir", "--to-s3", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert f"backed up {office} (schema {LATEST}" in made.stdout
    (name,) = [p.name for p in (tmp_path / "nas").glob("concord-*.db.gz")]
    assert f"s3://{s3_url[5:].split('/')[0]}/backups/{name}" in made.stdout

    listed = concord("db", "backups", "--verify", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if name in line]
    assert len(lines) == 2 and "sha256 ok" in lines[0] and lines[1].endswith("verified")
    assert f"schema {LATEST}" in lines[0]

    dry = concord("db", "restore", "latest", "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would restore" in dry.stdout and "checksum matched" in dry.stdout

    for suffix in ("", "-wal", "-shm"):
        Path(f"{office}{suffix}").unlink(missing_ok=True)
    restored = concord("db", "restore", name, "--dir", "/nonexistent", env=env, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[1].startswith(f"restored s3://{s3_url[5:].split('/')[0]}/")
    assert "guild_settings                   1" in restored.stdout
    assert "db check ok" in restored.stdout
    checked = concord("db", "check", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout


def test_backup_to_s3_alone_stages_nothing_on_disk(
    tmp_path: Path, office: Path, s3_url: str, s3_endpoint: str
) -> None:
    env = operator_env(tmp_path, office, CONCORD_BACKUP_S3_ENDPOINT=s3_endpoint, **S3_ENV)
    made = concord("db", "backup", "--to-s3", s3_url, env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert list((tmp_path / "nas").iterdir()) == []
    assert sorted(p.name for p in office.parent.iterdir() if p.name.startswith(".")) == []
    listed = concord("db", "backups", "--s3", s3_url, env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "verified" in listed.stdout


def test_restore_refusals_exit_1_and_change_nothing(tmp_path: Path, office: Path) -> None:
    env = operator_env(tmp_path, office)
    assert concord("db", "backup", "--to-dir", env=env, cwd=tmp_path).returncode == 0
    (backup,) = (tmp_path / "nas").glob("concord-*.db.gz")
    before = office.read_bytes()
    # A bot is running: its health file says ready, its pid (this test process) is alive.
    write_json_atomic(
        Path(env["CONCORD_HEALTH_FILE"]),
        {"pid": os.getpid(), "ready": True, "heartbeat_at": iso(datetime.now(UTC))},
    )
    refused = concord("db", "restore", "latest", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("concord: restore refused: a bot (pid ")
    Path(env["CONCORD_HEALTH_FILE"]).unlink()
    data = bytearray(backup.read_bytes())
    data[-20] ^= 0xFF
    backup.write_bytes(bytes(data))
    refused = concord("db", "restore", str(backup), env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "SHA-256 does not match" in refused.stderr
    refused = concord("db", "restore", "latest", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "SHA-256 does not match" in refused.stderr
    assert office.read_bytes() == before
    assert not list(office.parent.glob("*.before-restore-*"))


def test_unmounted_folder_and_bad_settings(tmp_path: Path, office: Path) -> None:
    env = operator_env(tmp_path, office, CONCORD_BACKUP_DIR=str(tmp_path / "mnt" / "concord"))
    failed = concord("db", "backup", "--to-dir", env=env, cwd=tmp_path)
    assert failed.returncode == 1
    assert "backup failed: backup folder" in failed.stderr and "NAS mounted" in failed.stderr
    for name, value in (
        ("CONCORD_BACKUP_KEEP", "weekly"),
        ("CONCORD_BACKUP_SCHEDULE", "3am"),
        ("CONCORD_BACKUP_S3_URL", "https://bucket/x"),
    ):
        bad = concord("db", "backups", env={**env, name: value}, cwd=tmp_path)
        assert bad.returncode == 2, (name, bad.stderr)
        (line,) = bad.stderr.splitlines()
        assert line.startswith(f"concord: {name}: ")

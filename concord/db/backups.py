"""Verified backups to a folder (a NAS mount) and to S3, their retention, listing and restore.

A backup: SQLite's online backup API copies the live database into a staging file next to it
(same disk as the database, where WAL works; a NAS share may not support it), ``PRAGMA
integrity_check`` runs on the copy, the copy is gzipped into a temporary file in the backup
folder (hashed while written), fsynced, and renamed atomically to
``concord-<UTC timestamp>-v<schema>.db.gz``; then one JSON line is appended to the folder's
``manifest.jsonl``. With S3 configured the file is uploaded (multipart past a threshold) with
its size and SHA-256 as object metadata, which are read back and compared. Retention then
prunes, in the folder and in the bucket, only backups this code wrote (the name pattern, and a
manifest line or our metadata).

Everything here is blocking; the bot runs it with ``asyncio.to_thread``. A missing folder (an
unmounted NAS: point the setting at a folder *inside* the mount) or a full disk raises
:class:`BackupError` with one readable line; nothing half-written is left behind.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from concord.config import Settings
from concord.core.backup_policy import (
    Retention,
    backup_file_name,
    backups_to_keep,
    parse_backup_name,
)
from concord.core.text import plural
from concord.db.database import connect_sync, load_migrations, schema_version
from concord.db.maintenance import check, table_counts
from concord.db.s3store import S3Error, S3Store
from concord.db.snapshots import SnapshotError, integrity_problems, verified_copy
from concord.health import bot_ready, health_files_beside, read_health

log: logging.Logger = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
CHUNK = 1024 * 1024
COMPRESS_LEVEL = 6  # gzip's default: most of level 9's ratio at a fraction of its time
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore could not be made; ``str()`` is the one line for the operator."""


@dataclass(frozen=True)
class BackupRecord:
    """One manifest line."""

    file: str
    taken_at: str
    bytes: int
    sha256: str
    schema: int
    rows: dict[str, int]
    db_bytes: int
    duration_s: float
    integrity: str = "ok"
    s3_key: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> BackupRecord:
        data = json.loads(line)
        return cls(
            file=str(data["file"]),
            taken_at=str(data["taken_at"]),
            bytes=int(data["bytes"]),
            sha256=str(data["sha256"]),
            schema=int(data["schema"]),
            rows={str(k): int(v) for k, v in dict(data.get("rows", {})).items()},
            db_bytes=int(data.get("db_bytes", 0)),
            duration_s=float(data.get("duration_s", 0.0)),
            integrity=str(data.get("integrity", "ok")),
            s3_key=data.get("s3_key"),
        )


@dataclass(frozen=True)
class BackupTargets:
    """Where backups go: a folder, and optionally a bucket too."""

    directory: Path | None
    s3: S3Store | None = None
    keep: Retention = field(default_factory=Retention)

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupTargets | None:
        if settings.backup_dir is None:
            return None
        s3 = (
            S3Store(settings.backup_s3_url, endpoint=settings.backup_s3_endpoint)
            if settings.backup_s3_url
            else None
        )
        return cls(directory=settings.backup_dir, s3=s3, keep=settings.backup_keep)


# -- small file helpers ----------------------------------------------------------------------
class _HashingWriter:
    """A write-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256: Any = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_directory(directory: Path) -> None:
    """Make a rename durable; some network filesystems refuse fsync on a folder (ignored)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _describe_os_error(exc: OSError, where: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device of {where}"
    return f"{where}: {exc.strerror or exc}"


def check_folder(directory: Path, *, writable: bool = True) -> None:
    """The backup folder must already exist: a NAS that is not mounted shows up as a missing
    folder inside the mount point, and we must not fill the local disk in its place."""
    if not directory.is_dir():
        raise BackupError(
            f"backup folder {directory} does not exist or is not a folder "
            "(is the NAS mounted? the bot never creates it)"
        )
    if writable and not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"backup folder {directory} is not writable by this user")


# -- manifest --------------------------------------------------------------------------------
def read_manifest(directory: Path) -> dict[str, BackupRecord]:
    """Manifest records by file name (the last line wins); unreadable lines are skipped."""
    path = directory / MANIFEST
    records: dict[str, BackupRecord] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return records
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = BackupRecord.from_json(line)
        except (ValueError, KeyError, TypeError):
            log.warning("%s line %d is not a backup record; skipped", path, number)
            continue
        records[record.file] = record
    return records


def append_manifest(directory: Path, record: BackupRecord) -> None:
    with (directory / MANIFEST).open("a", encoding="utf-8") as handle:
        handle.write(record.to_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


# -- taking a backup -------------------------------------------------------------------------
def _stage_copy(db_path: Path, staging: Path) -> tuple[int, dict[str, int]]:
    """The snapshots' verified copy (online backup API + ``PRAGMA integrity_check``) of the live
    database into ``staging``: (schema, row counts)."""
    try:
        verified_copy(db_path, staging)
    except SnapshotError as exc:
        raise BackupError(f"copying the database failed: {exc}") from exc
    conn = sqlite3.connect(f"file:{staging}?mode=ro", uri=True)
    try:
        return schema_version(conn), table_counts(conn)
    finally:
        conn.close()


def _compress_into(source: Path, target: Path) -> tuple[int, str]:
    """gzip ``source`` into ``target`` (fsynced); returns (bytes written, their SHA-256)."""
    with target.open("xb") as raw:
        writer = _HashingWriter(raw)
        # mtime=0: the same database gives the same bytes (and checksum) every time.
        with (
            gzip.GzipFile(
                filename="", mode="wb", fileobj=writer, compresslevel=COMPRESS_LEVEL, mtime=0
            ) as packed,  # type: ignore[arg-type]
            source.open("rb") as plain,
        ):
            shutil.copyfileobj(plain, packed, CHUNK)
        raw.flush()
        os.fsync(raw.fileno())
    return writer.size, writer.sha256.hexdigest()


def write_folder_backup(db_path: Path, directory: Path, now: datetime) -> tuple[Path, BackupRecord]:
    """The verified, compressed backup file in ``directory`` and its manifest record (not yet
    appended: the caller adds the S3 key first)."""
    check_folder(directory)
    if not db_path.exists():
        raise BackupError(f"database {db_path} does not exist")
    started = time.perf_counter()
    stamp = _utc_stamp(now)
    staging = db_path.with_name(f".{db_path.name}.backup-{stamp}-{os.getpid()}")
    partial = directory / f".concord-backup-{stamp}-{os.getpid()}.partial"
    try:
        try:
            schema, rows = _stage_copy(db_path, staging)
        except OSError as exc:
            raise BackupError(
                f"copying the database failed: {_describe_os_error(exc, staging.parent)}"
            ) from exc
        except sqlite3.Error as exc:
            raise BackupError(f"copying the database failed: {exc}") from exc
        final = directory / backup_file_name(now, schema)
        if final.exists():
            raise BackupError(f"{final} already exists (two backups in one second?)")
        try:
            size, digest = _compress_into(staging, partial)
            os.replace(partial, final)
            fsync_directory(directory)
        except OSError as exc:
            raise BackupError(
                f"writing the backup failed: {_describe_os_error(exc, directory)}"
            ) from exc
        record = BackupRecord(
            file=final.name,
            taken_at=now.astimezone(UTC).isoformat(timespec="seconds"),
            bytes=size,
            sha256=digest,
            schema=schema,
            rows=rows,
            db_bytes=staging.stat().st_size,
            duration_s=round(time.perf_counter() - started, 3),
        )
        return final, record
    finally:
        for leftover in (staging, Path(f"{staging}-wal"), Path(f"{staging}-shm"), partial):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove %s", leftover)


def s3_metadata(record: BackupRecord) -> dict[str, str]:
    return {
        "sha256": record.sha256,
        "bytes": str(record.bytes),
        "schema": str(record.schema),
        "taken-at": record.taken_at,
    }


def take_backup(
    db_path: Path, targets: BackupTargets, now: datetime, *, prune: bool = True
) -> BackupRecord:
    """One scheduled-style backup: folder (or a temporary folder when only S3 is given), S3,
    manifest, retention. Raises BackupError; a failed upload still leaves the folder backup."""
    if targets.directory is None:
        if targets.s3 is None:
            raise BackupError("no backup target: give a folder or an S3 URL")
        return _backup_to_s3_only(db_path, targets.s3, targets.keep, now, prune=prune)
    directory = targets.directory
    path, record = write_folder_backup(db_path, directory, now)
    upload_error: str | None = None
    if targets.s3 is not None:
        try:
            stored = targets.s3.upload(path, record.file, s3_metadata(record))
            record = replace(record, s3_key=stored.key)
        except S3Error as exc:
            upload_error = str(exc)
    try:
        append_manifest(directory, record)
    except OSError as exc:
        # Without its manifest line the file would be neither verifiable nor pruned.
        path.unlink(missing_ok=True)
        raise BackupError(
            f"writing the manifest failed: {_describe_os_error(exc, directory)}"
        ) from exc
    if prune:
        try:
            prune_folder(directory, targets.keep, now)
            if targets.s3 is not None and upload_error is None:
                prune_s3(targets.s3, targets.keep, now)
        except (OSError, S3Error) as exc:
            raise BackupError(f"{record.file} is saved, but retention failed: {exc}") from exc
    if upload_error is not None:
        raise BackupError(f"{record.file} is in {directory} but the S3 copy failed: {upload_error}")
    return record


def _backup_to_s3_only(
    db_path: Path, s3: S3Store, keep: Retention, now: datetime, *, prune: bool
) -> BackupRecord:
    staging_dir = db_path.parent / f".concord-s3-backup-{os.getpid()}"
    staging_dir.mkdir(exist_ok=True)
    try:
        path, record = write_folder_backup(db_path, staging_dir, now)
        stored = s3.upload(path, record.file, s3_metadata(record))
    except S3Error as exc:
        raise BackupError(str(exc)) from exc
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    if prune:
        try:
            prune_s3(s3, keep, now)
        except S3Error as exc:
            raise BackupError(f"{record.file} is saved, but retention failed: {exc}") from exc
    return replace(record, s3_key=stored.key)


# -- retention -------------------------------------------------------------------------------
def prune_folder(directory: Path, keep: Retention, now: datetime) -> list[str]:
    """Delete the backups retention no longer keeps: only files named like ours *and* listed
    in our manifest, so nothing an operator put there is ever touched."""
    manifest = read_manifest(directory)
    ours = [
        parsed
        for entry in directory.iterdir()
        if (parsed := parse_backup_name(entry.name)) is not None and entry.name in manifest
    ]
    kept = backups_to_keep(ours, keep, now)
    removed: list[str] = []
    for backup in ours:
        if backup.name not in kept:
            try:
                (directory / backup.name).unlink()
                removed.append(backup.name)
            except OSError as exc:
                log.warning("retention could not delete %s: %s", backup.name, exc)
    if removed:
        log.info("retention removed %s from %s", plural(len(removed), "backup"), directory)
    return removed


def prune_s3(s3: S3Store, keep: Retention, now: datetime) -> list[str]:
    """The same rule in the bucket: our name pattern and our ``sha256`` metadata."""
    ours = [parsed for name, _ in s3.list_names() if (parsed := parse_backup_name(name))]
    kept = backups_to_keep(ours, keep, now)
    removed: list[str] = []
    for backup in ours:
        if backup.name in kept:
            continue
        key = s3.key_for(backup.name)
        if "sha256" not in s3.head(key).metadata:
            continue
        s3.delete(key)
        removed.append(backup.name)
    if removed:
        log.info("retention removed %s from %s", plural(len(removed), "backup"), s3.url)
    return removed


# -- listing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListedBackup:
    where: str  # the folder path or the s3:// URL
    name: str
    taken_at: datetime
    bytes: int
    schema: int
    state: str  # "verified", "sha256 ok", or what is wrong


def list_folder(directory: Path, *, verify: bool = False) -> list[ListedBackup]:
    check_folder(directory, writable=False)
    manifest = read_manifest(directory)
    found: list[ListedBackup] = []
    for entry in directory.iterdir():
        parsed = parse_backup_name(entry.name)
        if parsed is None:
            continue
        size = entry.stat().st_size
        record = manifest.get(entry.name)
        if record is None:
            state = "no manifest entry"
        elif record.bytes != size:
            state = f"SIZE MISMATCH (manifest {record.bytes})"
        elif verify:
            state = "sha256 ok" if sha256_of(entry) == record.sha256 else "SHA256 MISMATCH"
        else:
            state = "verified"
        found.append(
            ListedBackup(str(directory), entry.name, parsed.taken_at, size, parsed.schema, state)
        )
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def list_s3(s3: S3Store) -> list[ListedBackup]:
    found: list[ListedBackup] = []
    for name, size in s3.list_names():
        parsed = parse_backup_name(name)
        if parsed is None:
            continue
        metadata = s3.head(s3.key_for(name)).metadata
        if "sha256" not in metadata:
            state = "no checksum metadata"
        elif metadata.get("bytes") != str(size):
            state = f"SIZE MISMATCH (metadata {metadata.get('bytes')})"
        else:
            state = "verified"
        found.append(ListedBackup(s3.url, name, parsed.taken_at, size, parsed.schema, state))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


# -- restore ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreSource:
    """A backup to restore: a local file, or an object in the bucket."""

    label: str
    path: Path | None = None
    s3: S3Store | None = None  # the bucket holding s3_key
    s3_key: str | None = None
    expected_sha256: str | None = None
    expected_bytes: int | None = None


@dataclass(frozen=True)
class RestoreReport:
    source: str
    taken_at: datetime | None
    schema: int
    rows: dict[str, int]
    seconds: float
    set_aside: Path | None
    checksum: str  # "matched", or "none recorded"
    notes: list[str]


def resolve_source(source: str, directory: Path | None, s3: S3Store | None) -> RestoreSource:
    """``latest`` (the newest verified backup, folder first, then S3), ``s3://bucket/key``, a
    backup name in the bucket, or a file path."""
    if source == "latest":
        if directory is None and s3 is None:
            raise BackupError(
                "`latest` needs a backup folder or bucket: set CONCORD_BACKUP_DIR or pass --dir"
                " (or --s3)"
            )
        candidates: list[ListedBackup] = []
        # A missing folder (an unmounted NAS) says so, unless the bucket can still answer.
        if directory is not None and (directory.is_dir() or s3 is None):
            candidates += [b for b in list_folder(directory) if b.state == "verified"]
        if s3 is not None:
            candidates += [b for b in list_s3(s3) if b.state == "verified"]
        if not candidates:
            places = [str(p) for p in (directory, s3.url if s3 else None) if p is not None]
            raise BackupError(f"no verified backup found for `latest` in {' or '.join(places)}")
        # The newest; on a tie the folder's copy (no download).
        in_folder = str(directory)
        newest = max(candidates, key=lambda b: (b.taken_at, b.where == in_folder))
        if s3 is not None and newest.where != in_folder:
            return _s3_source(s3, s3.key_for(newest.name))
        return _file_source(Path(newest.where) / newest.name)
    if source.startswith("s3://"):
        rest = source[len("s3://") :]
        bucket, _, key = rest.partition("/")
        store = s3 if s3 is not None and s3.bucket == bucket else None
        if store is None:
            store = S3Store(f"s3://{bucket}", endpoint=s3.endpoint if s3 else None)
        return _s3_source(store, key)
    path = Path(source)
    if path.exists():
        return _file_source(path)
    if s3 is not None and parse_backup_name(source) is not None:
        return _s3_source(s3, s3.key_for(source))
    raise BackupError(f"{source}: no such file (nor `latest`, nor an S3 key)")


def _file_source(path: Path) -> RestoreSource:
    record = read_manifest(path.parent).get(path.name)
    return RestoreSource(
        label=str(path),
        path=path,
        expected_sha256=record.sha256 if record else None,
        expected_bytes=record.bytes if record else None,
    )


def _s3_source(s3: S3Store, key: str) -> RestoreSource:
    try:
        stored = s3.head(key)
    except S3Error as exc:
        raise BackupError(str(exc)) from exc
    expected = stored.metadata.get("bytes")
    return RestoreSource(
        label=f"s3://{s3.bucket}/{key}",
        s3=s3,
        s3_key=key,
        expected_sha256=stored.metadata.get("sha256"),
        expected_bytes=int(expected) if expected and expected.isdigit() else None,
    )


def bot_holding(health_file: Path, now: datetime) -> str | None:
    """Why a running bot holds the database (the same test as the listener's ``/health``: ready,
    process alive, heartbeat recent), or None."""
    for path in health_files_beside(health_file):  # a shard process's health-<ids>.json too
        health = read_health(path)
        if health is not None and bot_ready(health, now):
            return (
                f"a bot (pid {health.get('pid')}) is running on this database ({path}); "
                "stop it first"
            )
    return None


def _fetch(source: RestoreSource, work: Path) -> Path:
    """The backup as a local file (downloaded into ``work`` from S3), checksum verified."""
    if source.s3 is not None and source.s3_key is not None:
        local = work / Path(source.s3_key).name
        try:
            source.s3.download(source.s3_key, local)
        except S3Error as exc:
            raise BackupError(str(exc)) from exc
    else:
        assert source.path is not None
        local = source.path
    if source.expected_bytes is not None and local.stat().st_size != source.expected_bytes:
        raise BackupError(
            f"{source.label}: {local.stat().st_size} bytes, the record says "
            f"{source.expected_bytes}; refusing to restore it"
        )
    if source.expected_sha256 is not None and sha256_of(local) != source.expected_sha256:
        raise BackupError(
            f"{source.label}: SHA-256 does not match its record; refusing to restore it"
        )
    return local


def _unpack(packed: Path, target: Path) -> None:
    with packed.open("rb") as handle:
        is_gzip = handle.read(2) == b"\x1f\x8b"
    try:
        with (
            gzip.open(packed, "rb") if is_gzip else packed.open("rb") as plain,
            target.open("xb") as out,
        ):
            shutil.copyfileobj(plain, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BackupError(f"{packed.name} could not be unpacked: {exc}") from exc
    with target.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{packed.name} is not an SQLite database")


def _inspect(candidate: Path) -> tuple[int, dict[str, int]]:
    problems = integrity_problems(candidate)
    if problems:
        raise BackupError(f"the backup fails PRAGMA integrity_check: {problems[:3]}")
    conn = connect_sync(candidate)
    try:
        return schema_version(conn), table_counts(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup is not a readable database: {exc}") from exc
    finally:
        conn.close()


def restore(
    source: RestoreSource,
    db_path: Path,
    *,
    health_file: Path,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RestoreReport:
    """Verify ``source`` (checksum, integrity, schema no newer than this code) and, unless
    ``dry_run``, put it in place of ``db_path``; the current file is kept aside."""
    say = progress or (lambda _text: None)
    started = time.perf_counter()
    if not dry_run:
        holder = bot_holding(health_file, now)
        if holder:
            raise BackupError(holder)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    work = db_path.parent / f".concord-restore-{_utc_stamp(now)}-{os.getpid()}"
    work.mkdir()
    try:
        say(f"fetching {source.label}")
        packed = _fetch(source, work)
        candidate = work / "restored.db"
        _unpack(packed, candidate)
        schema, rows = _inspect(candidate)
        latest = len(load_migrations())
        if schema > latest:
            raise BackupError(
                f"{source.label} has schema version {schema}, newer than this code's {latest}; "
                "upgrade Concord Desk first"
            )
        notes: list[str] = []
        if schema < latest:
            notes.append(f"schema version {schema}: the bot migrates it to {latest} at start")
        checksum = "matched" if source.expected_sha256 else "none recorded"
        parsed = parse_backup_name(Path(source.label).name)
        aside: Path | None = None
        if not dry_run:
            aside = _swap_in(candidate, db_path, now)
            problems = [p for p in check(db_path) if not p.startswith("schema version")]
            if problems:
                raise BackupError(f"restored, but `db check` found: {'; '.join(problems[:5])}")
        return RestoreReport(
            source=source.label,
            taken_at=parsed.taken_at if parsed else None,
            schema=schema,
            rows=rows,
            seconds=round(time.perf_counter() - started, 3),
            set_aside=aside,
            checksum=checksum,
            notes=notes,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swap_in(candidate: Path, db_path: Path, now: datetime) -> Path | None:
    """Move the current database (with its WAL, which belongs to it and must never be
    replayed onto the restored file) aside, then rename the restored file into place."""
    aside = db_path.with_name(f"{db_path.name}.before-restore-{_utc_stamp(now)}")
    moved: Path | None = None
    if db_path.exists():
        os.replace(db_path, aside)
        moved = aside
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(f"{db_path}{suffix}")
        if companion.exists():
            os.replace(companion, Path(f"{aside}{suffix}"))
    os.replace(candidate, db_path)
    fsync_directory(db_path.parent)
    return moved

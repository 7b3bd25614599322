"""Verified online copies of a SQLite file, and the pre-migration snapshots built on them.

Before a migration changes the schema, the database is copied to ``snapshots/`` beside it
(``data/snapshots/`` for ``data/concord.db``), so a deploy that migrates and then fails can put
back exactly the file the older code knew. Everything here uses only :mod:`sqlite3`, so it can be
used by the bot, ``concord db migrate``, the deployer and the backup tools alike:

- :func:`verified_copy` copies a live file with SQLite's online backup API (never ``cp``: a copy
  of the file without its WAL misses recent commits), checks the copy with
  ``PRAGMA integrity_check`` and only then renames it into place;
- :func:`take_snapshot` names the copy with the time, the schema versions and the commits
  (``concord-20260302T090030Z-v5-abc1234-to-v6-def5678.db``) and keeps the newest few;
- :func:`restore_snapshot` sets the current file aside beside the snapshot (after counting the
  audit-log entries written since the snapshot) and copies the snapshot back over it.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from concord.core.text import plural

log: logging.Logger = logging.getLogger(__name__)

SNAPSHOT_DIR = "snapshots"
KEEP_SNAPSHOTS = 5
BUSY_TIMEOUT_SECONDS = 10.0
PAGES_PER_STEP = 1024
UNKNOWN_COMMIT = "unknown"
_STAMP = "%Y%m%dT%H%M%SZ"
_COMMIT = r"[0-9a-f]{7}|unknown"
_NAME: re.Pattern[str] = re.compile(
    rf"^(?P<stem>.+)-(?P<stamp>\d{{8}}T\d{{6}}Z)-v(?P<from_version>\d+)-(?P<from_commit>{_COMMIT})"
    rf"-to-v(?P<to_version>\d+)-(?P<to_commit>{_COMMIT})\.db$"
)


class SnapshotError(Exception):
    """A copy could not be made or did not verify; the source is untouched."""


@dataclass(frozen=True)
class Snapshot:
    """A pre-migration copy: the database as schema ``from_version`` left it, before the code at
    ``to_commit`` migrated it to ``to_version``."""

    path: Path
    taken_at: datetime
    from_version: int
    to_version: int
    from_commit: str
    to_commit: str


@dataclass(frozen=True)
class Restored:
    """What :func:`restore_snapshot` did: the file it set aside and how many audit-log entries
    (changes) it holds that the restored database does not."""

    snapshot: Snapshot
    set_aside: Path
    changes_set_aside: int
    set_aside_by: str  # the short commit whose writes were set aside ("unknown" if not known)


def integrity_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of a file (empty when it is sound)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        return [f"cannot open {path}: {exc}"]
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows[:20]


def _copy_pages(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    progress: Callable[[int, int], None] | None,
) -> None:
    def report(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    # One read transaction across every step: the copy is one snapshot, and commits made
    # meanwhile by another process (a WAL reader never blocks a writer) do not restart it.
    src.execute("BEGIN")
    try:
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        src.backup(dst, pages=PAGES_PER_STEP, progress=report)
    finally:
        src.execute("COMMIT")


def verified_copy(
    source: Path, target: Path, progress: Callable[[int, int], None] | None = None
) -> None:
    """Copy the SQLite file ``source`` (live or not) to ``target`` with the online backup API,
    check the copy with ``PRAGMA integrity_check``, then rename it into place. Raises
    :class:`SnapshotError` and leaves no partial ``target`` when anything goes wrong."""
    if not source.exists():
        raise SnapshotError(f"{source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(str(source), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            dst = sqlite3.connect(str(partial), isolation_level=None)
            try:
                _copy_pages(src, dst, progress)
                # A self-contained file: rollback journal, no -wal beside it to lose.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        problems = integrity_problems(partial)
        if problems:
            raise SnapshotError(f"the copy of {source} failed its integrity check: {problems[0]}")
        _fsync(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise SnapshotError(f"could not copy {source}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshot_dir(db_path: Path) -> Path:
    return db_path.parent / SNAPSHOT_DIR


def _short(commit: str | None) -> str:
    if commit and re.fullmatch(r"[0-9a-fA-F]{7,64}", commit):
        return commit[:7].lower()
    return UNKNOWN_COMMIT


def snapshot_path(
    db_path: Path,
    *,
    taken_at: datetime,
    from_version: int,
    to_version: int,
    from_commit: str | None,
    to_commit: str | None,
) -> Path:
    stamp = taken_at.astimezone(UTC).strftime(_STAMP)
    name = (
        f"{db_path.stem}-{stamp}-v{from_version}-{_short(from_commit)}"
        f"-to-v{to_version}-{_short(to_commit)}.db"
    )
    return snapshot_dir(db_path) / name


def parse_snapshot(path: Path) -> Snapshot | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    taken_at = datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)
    return Snapshot(
        path=path,
        taken_at=taken_at,
        from_version=int(match["from_version"]),
        to_version=int(match["to_version"]),
        from_commit=match["from_commit"],
        to_commit=match["to_commit"],
    )


def list_snapshots(db_path: Path) -> list[Snapshot]:
    """The pre-migration snapshots of ``db_path``, newest first."""
    folder = snapshot_dir(db_path)
    if not folder.is_dir():
        return []
    found = [
        snapshot
        for entry in folder.iterdir()
        if (match := _NAME.match(entry.name)) is not None
        and match["stem"] == db_path.stem
        and (snapshot := parse_snapshot(entry)) is not None
    ]
    found.sort(key=lambda s: (s.taken_at, s.path.stat().st_mtime), reverse=True)
    return found


def take_snapshot(
    db_path: Path,
    *,
    from_version: int,
    to_version: int,
    from_commit: str | None,
    to_commit: str | None,
    now: datetime | None = None,
    keep: int = KEEP_SNAPSHOTS,
) -> Snapshot:
    """A verified copy of ``db_path`` taken before migrating it; keeps the newest ``keep``."""
    taken_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    target = snapshot_path(
        db_path,
        taken_at=taken_at,
        from_version=from_version,
        to_version=to_version,
        from_commit=from_commit,
        to_commit=to_commit,
    )
    verified_copy(db_path, target)
    log.info("snapshot of %s before migrating to version %d: %s", db_path, to_version, target)
    for old in list_snapshots(db_path)[keep:]:
        old.path.unlink(missing_ok=True)
        log.info("removed old snapshot %s", old.path)
    return parse_snapshot(target) or Snapshot(
        target, taken_at, from_version, to_version, _short(from_commit), _short(to_commit)
    )


def find_snapshot(db_path: Path, *, max_version: int, migrated_by: str | None) -> Snapshot | None:
    """The newest snapshot taken at a schema version ``max_version`` or older, before the code at
    ``migrated_by`` (when given) migrated past it."""
    short = _short(migrated_by) if migrated_by else None
    for snapshot in list_snapshots(db_path):
        if snapshot.from_version > max_version or snapshot.to_version <= max_version:
            continue
        if short is None or snapshot.to_commit == short:
            return snapshot
    return None


def schema_version_of(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _audit_count(path: Path, sql: str, args: tuple[int, ...] = ()) -> int:
    """One number from ``audit_log`` of a file opened read-only (0 before the table exists)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"
        ).fetchone():
            return 0
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


def changes_since(snapshot: Path, current: Path) -> int:
    """Audit-log entries (every decision is audited) in ``current`` that ``snapshot`` lacks."""
    since = _audit_count(snapshot, "SELECT coalesce(max(id), 0) FROM audit_log")
    return _audit_count(current, "SELECT count(*) FROM audit_log WHERE id > ?", (since,))


def restore_snapshot(
    snapshot: Snapshot, db_path: Path, *, set_aside_by: str | None, now: datetime | None = None
) -> Restored:
    """Put ``snapshot`` back as ``db_path``; only while nothing else has the database open.

    The current file is first copied (verified) beside the snapshot as
    ``<snapshot>.set-aside-<commit>-<time>.db``, with the number of audit-log entries it holds
    beyond the snapshot, so the writes made since are kept for the operator. The snapshot is
    then copied back page by page through SQLite, which keeps the live file's WAL consistent."""
    problems = integrity_problems(snapshot.path)
    if problems:
        raise SnapshotError(f"{snapshot.path} failed its integrity check: {problems[0]}")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP)
    aside = snapshot.path.with_name(
        f"{snapshot.path.stem}.set-aside-{_short(set_aside_by)}-{stamp}.db"
    )
    changes = changes_since(snapshot.path, db_path) if db_path.exists() else 0
    if db_path.exists():
        verified_copy(db_path, aside)
    try:
        src = sqlite3.connect(f"file:{snapshot.path}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(str(db_path), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
            try:
                src.backup(dst, pages=PAGES_PER_STEP)
                dst.execute("PRAGMA journal_mode=WAL")
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"could not restore {snapshot.path} over {db_path}: {exc}") from None
    problems = integrity_problems(db_path)
    if problems:
        raise SnapshotError(
            f"{db_path} failed its integrity check after the restore: {problems[0]}"
        )
    log.warning(
        "restored %s from %s; %s set aside in %s",
        db_path,
        snapshot.path,
        plural(changes, "change"),
        aside,
    )
    return Restored(
        snapshot=snapshot,
        set_aside=aside,
        changes_set_aside=changes,
        set_aside_by=_short(set_aside_by),
    )

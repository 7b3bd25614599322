"""The webhook's own small SQLite database: deliveries seen (for redelivery detection) and deploys.

It is separate from the bot's database on purpose: the deployer must keep working, and keep its
record, while the bot (and its schema) is being replaced. Each call opens a short-lived
connection, so the history is safe to use from the listener's threads and from the
``concord deploy`` commands in another process at the same time (WAL, busy timeout).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from concord.db.database import (
    DatabaseError,
    connect_sync,
    run_script,
    schema_version,
    set_schema_version,
    transaction,
)

log: logging.Logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
# Statuses a deploy passes through; the last five are final and the only ones announced.
QUEUED = "queued"
RUNNING = "running"
SUPERSEDED = "superseded"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"
DEPLOYED = "deployed"
REFUSED = "refused"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
ROLLBACK_FAILED = "rollback_failed"
FINAL_STATUSES: frozenset[str] = frozenset(
    {SUPERSEDED, SKIPPED, INTERRUPTED, DEPLOYED, REFUSED, FAILED, ROLLED_BACK, ROLLBACK_FAILED}
)
SOURCES: tuple[str, ...] = ("webhook", "cli", "rollback")

_SCHEMA = """
CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    outcome     TEXT NOT NULL
);
CREATE TABLE deploys (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL CHECK (source IN ('webhook', 'cli', 'rollback')),
    delivery_id  TEXT REFERENCES deliveries (delivery_id),
    branch       TEXT NOT NULL,
    before_sha   TEXT,
    target_sha   TEXT NOT NULL,
    previous_sha TEXT,
    commits      TEXT NOT NULL DEFAULT '[]',
    commit_count INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    detail       TEXT,
    error_tail   TEXT,
    reinstalled  INTEGER NOT NULL DEFAULT 0,
    durations    TEXT NOT NULL DEFAULT '{}',
    queued_at    TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX deploys_by_status ON deploys (status, id);
CREATE INDEX deploys_by_target ON deploys (target_sha, status);
"""
# Later versions, each applied once in order (the history database is never recreated).
_UPGRADES: dict[int, str] = {
    # Replays: a captured body resent under a fresh delivery id is still the same body.
    # Pins: a manual rollback keeps the commits it undid from coming back on a late delivery.
    2: """
ALTER TABLE deliveries ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX deliveries_by_body ON deliveries (body_sha256);
CREATE TABLE pins (
    id         INTEGER PRIMARY KEY,
    sha        TEXT NOT NULL,
    deploy_id  INTEGER NOT NULL REFERENCES deploys (id),
    pinned_at  TEXT NOT NULL,
    lifted_at  TEXT,
    lifted_by  TEXT
);
""",
}


@dataclass(frozen=True)
class Pin:
    """Commits up to ``sha`` were rolled back by hand (deploy ``deploy_id``): deliveries of them
    are not deployed again until a newer push or `concord deploy unpin`."""

    id: int
    sha: str
    deploy_id: int
    pinned_at: datetime


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    title: str

    @property
    def short(self) -> str:
        return self.sha[:7]


@dataclass(frozen=True)
class DeployRecord:
    id: int
    source: str
    delivery_id: str | None
    branch: str
    before_sha: str | None
    target_sha: str
    previous_sha: str | None
    commits: tuple[CommitInfo, ...]
    commit_count: int
    status: str
    detail: str | None
    error_tail: str | None
    reinstalled: bool
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float | None:
        return self.durations.get("total")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _commits_json(commits: Sequence[CommitInfo]) -> str:
    return json.dumps([{"sha": c.sha, "author": c.author, "title": c.title} for c in commits])


def _commits_from_json(text: str) -> tuple[CommitInfo, ...]:
    items: list[dict[str, str]] = json.loads(text)
    return tuple(CommitInfo(i["sha"], i["author"], i["title"]) for i in items)


def _record(row: sqlite3.Row) -> DeployRecord:
    queued_at = _moment(row["queued_at"])
    assert queued_at is not None  # NOT NULL column
    durations: dict[str, float] = json.loads(row["durations"])
    return DeployRecord(
        id=row["id"],
        source=row["source"],
        delivery_id=row["delivery_id"],
        branch=row["branch"],
        before_sha=row["before_sha"],
        target_sha=row["target_sha"],
        previous_sha=row["previous_sha"],
        commits=_commits_from_json(row["commits"]),
        commit_count=row["commit_count"],
        status=row["status"],
        detail=row["detail"],
        error_tail=row["error_tail"],
        reinstalled=bool(row["reinstalled"]),
        queued_at=queued_at,
        started_at=_moment(row["started_at"]),
        finished_at=_moment(row["finished_at"]),
        durations=durations,
    )


class DeployHistory:
    """Deliveries and deploys, one short connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> None:
        """Create the database (and its folder) or check that an existing one is ours."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            if self._check_version(conn) == SCHEMA_VERSION:
                return
            # The listener and `concord deploy` may start together: read the version again
            # under the write lock, so only one of them creates the tables.
            with transaction(conn):
                version = self._check_version(conn)
                if version == 0:
                    run_script(conn, _SCHEMA)
                    version = 1
                for upgrade in range(version + 1, SCHEMA_VERSION + 1):
                    run_script(conn, _UPGRADES[upgrade])
                set_schema_version(conn, SCHEMA_VERSION)

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = schema_version(conn)
        if (
            version > SCHEMA_VERSION
            and conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"
            ).fetchone()
        ):
            raise DatabaseError(
                f"{self.path} is the bot's own database, not a deploy history; set "
                "CONCORD_DEPLOY_DB to a file of its own (default data/deploy.db)"
            )
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self.path} is at deploy-history version {version}, newer than this "
                f"Concord Desk knows ({SCHEMA_VERSION})"
            )
        return version

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(connect_sync(self.path)) as conn:
            yield conn

    # -- deliveries ---------------------------------------------------------------------------
    def record_delivery(
        self,
        delivery_id: str,
        event: str,
        outcome: str,
        now: datetime,
        body_sha256: str | None = None,
    ) -> bool:
        """Remember a delivery; False when this id, or this body (the signature covers the body,
        not the id), was seen before: a redelivery or a replay."""
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "INSERT OR IGNORE INTO deliveries "
                "(delivery_id, event, received_at, outcome, body_sha256) VALUES (?, ?, ?, ?, ?)",
                (delivery_id, event, _iso(now), outcome, body_sha256),
            )
            return cursor.rowcount == 1

    def delivery_count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    # -- deploys ------------------------------------------------------------------------------
    def add(
        self,
        *,
        source: str,
        branch: str,
        target_sha: str,
        now: datetime,
        delivery_id: str | None = None,
        before_sha: str | None = None,
        commits: Sequence[CommitInfo] = (),
    ) -> int:
        if source not in SOURCES:
            raise ValueError(f"unknown deploy source {source!r}")
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "INSERT INTO deploys (source, delivery_id, branch, before_sha, target_sha, "
                "commits, commit_count, status, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    delivery_id,
                    branch,
                    before_sha,
                    target_sha,
                    _commits_json(commits),
                    len(commits),
                    QUEUED,
                    _iso(now),
                ),
            )
            deploy_id = cursor.lastrowid
        assert deploy_id is not None
        return deploy_id

    def start(self, deploy_id: int, previous_sha: str | None, now: datetime) -> bool:
        """queued -> running; False when the deploy is no longer queued."""
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "UPDATE deploys SET status = ?, previous_sha = ?, started_at = ? "
                "WHERE id = ? AND status = ?",
                (RUNNING, previous_sha, _iso(now), deploy_id, QUEUED),
            )
            return cursor.rowcount == 1

    def set_commits(self, deploy_id: int, commits: Sequence[CommitInfo], count: int) -> None:
        with self._connect() as conn, transaction(conn):
            conn.execute(
                "UPDATE deploys SET commits = ?, commit_count = ? WHERE id = ?",
                (_commits_json(commits), count, deploy_id),
            )

    def finish(
        self,
        deploy_id: int,
        status: str,
        now: datetime,
        *,
        detail: str | None = None,
        error_tail: str | None = None,
        durations: dict[str, float] | None = None,
        reinstalled: bool = False,
    ) -> DeployRecord:
        """Close a queued or running deploy with a final status; returns the stored record."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status!r} is not a final deploy status")
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "UPDATE deploys SET status = ?, detail = ?, error_tail = ?, durations = ?, "
                "reinstalled = ?, finished_at = ?, started_at = coalesce(started_at, ?) "
                "WHERE id = ? AND status IN (?, ?)",
                (
                    status,
                    detail,
                    error_tail,
                    json.dumps(durations or {}),
                    int(reinstalled),
                    _iso(now),
                    _iso(now),
                    deploy_id,
                    QUEUED,
                    RUNNING,
                ),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"deploy #{deploy_id} is not queued or running")
            row = conn.execute("SELECT * FROM deploys WHERE id = ?", (deploy_id,)).fetchone()
        return _record(row)

    def mark_interrupted(self, now: datetime) -> int:
        """Close deploys left queued or running by a process that died (call under the lock)."""
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "UPDATE deploys SET status = ?, finished_at = ?, "
                "detail = 'the deployer stopped before this deploy finished' "
                "WHERE status IN (?, ?)",
                (INTERRUPTED, _iso(now), QUEUED, RUNNING),
            )
            return cursor.rowcount

    def running(self) -> list[DeployRecord]:
        """Deploys marked running, oldest first: under the deploy lock, only ones a dead
        process left behind."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM deploys WHERE status = ? ORDER BY id", (RUNNING,)
            ).fetchall()
        return [_record(row) for row in rows]

    def set_target(self, deploy_id: int, target_sha: str) -> None:
        with self._connect() as conn, transaction(conn):
            conn.execute(
                "UPDATE deploys SET target_sha = ? WHERE id = ? AND status IN (?, ?)",
                (target_sha, deploy_id, QUEUED, RUNNING),
            )

    # -- pins ---------------------------------------------------------------------------------
    def pin(self, sha: str, deploy_id: int, now: datetime) -> None:
        """Pin after a manual rollback; replaces an earlier pin."""
        with self._connect() as conn, transaction(conn):
            conn.execute(
                "UPDATE pins SET lifted_at = ?, lifted_by = 'a newer rollback' "
                "WHERE lifted_at IS NULL",
                (_iso(now),),
            )
            conn.execute(
                "INSERT INTO pins (sha, deploy_id, pinned_at) VALUES (?, ?, ?)",
                (sha, deploy_id, _iso(now)),
            )

    def active_pin(self) -> Pin | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM pins WHERE lifted_at IS NULL ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        pinned_at = _moment(row["pinned_at"])
        assert pinned_at is not None  # NOT NULL column
        return Pin(row["id"], row["sha"], row["deploy_id"], pinned_at)

    def unpin(self, now: datetime, by: str) -> Pin | None:
        """Lift the pin; returns it (None when nothing was pinned)."""
        pin = self.active_pin()
        if pin is None:
            return None
        with self._connect() as conn, transaction(conn):
            cursor = conn.execute(
                "UPDATE pins SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL",
                (_iso(now), by, pin.id),
            )
        return pin if cursor.rowcount == 1 else None

    def get(self, deploy_id: int) -> DeployRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM deploys WHERE id = ?", (deploy_id,)).fetchone()
        return _record(row) if row else None

    def recent(self, limit: int = 20) -> list[DeployRecord]:
        """The newest deploys first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM deploys ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_record(row) for row in rows]

    def deployed(self, limit: int = 200) -> list[DeployRecord]:
        """Successful deploys, newest first (where `concord deploy rollback` looks)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM deploys WHERE status = ? ORDER BY id DESC LIMIT ?",
                (DEPLOYED, limit),
            ).fetchall()
        return [_record(row) for row in rows]

    def was_rolled_back(self, target_sha: str) -> DeployRecord | None:
        """The latest automatic rollback of this commit, if it ever failed to come up."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM deploys WHERE target_sha = ? AND status IN (?, ?) "
                "ORDER BY id DESC LIMIT 1",
                (target_sha, ROLLED_BACK, ROLLBACK_FAILED),
            ).fetchone()
        return _record(row) if row else None

    def last_finished(self) -> DeployRecord | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM deploys WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return _record(row) if row else None


def record_as_dict(record: DeployRecord) -> dict[str, Any]:
    """A JSON-friendly view (the listener's ``/health`` shows the last deploy)."""
    return {
        "id": record.id,
        "source": record.source,
        "status": record.status,
        "target": record.target_sha,
        "previous": record.previous_sha,
        "detail": record.detail,
        "finished_at": _iso(record.finished_at) if record.finished_at else None,
        "seconds": record.total_seconds,
    }

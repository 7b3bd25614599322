"""The job ledger (``job_runs``) and the once-only notification ledger (``notifications_sent``)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from concord.core.jobs import notification_nonce
from concord.db.guilds import utcnow_iso
from concord.db.portable import POSTGRESQL, SQLITE, Conn, Db, DbRow, long_transaction

# A run still marked 'running' after this long died with its process; it may be taken again.
STALE_RUN = timedelta(minutes=10)
MAX_ATTEMPTS = 3
PROCESS_GUILD_ID = 0  # job_runs rows of process-level jobs (no Discord id is 0)
# A notification claimed for sending (claim_delivery) and not marked sent after this long lost
# its sender (killed, or its send hangs): it may be taken again and sent with the same nonce.
SEND_LEASE = timedelta(seconds=30)
# Discord checks an enforced nonce "for uniqueness in the past few minutes": we count on 2 from
# the first claim. Past that a re-send could make a second message, so the claim is marked
# 'unknown' (and logged) instead of sent again. See docs/ARCHITECTURE.md, "Shards".
NONCE_WINDOW = timedelta(minutes=2)

log: logging.Logger = logging.getLogger(__name__)


def claim_run(
    conn: Conn, guild_id: int, job: str, local_date: date, late: bool, now: datetime
) -> bool:
    """Take the run of ``job`` for ``local_date``; False when it ran, runs, or failed too often."""
    row = conn.execute(
        "SELECT status, attempts, started_at FROM job_runs WHERE guild_id = ? AND job = ? AND local_date = ?",
        (guild_id, job, local_date.isoformat()),
    ).fetchone()
    if row is None:
        # The write lock makes this the only claim in flight; ON CONFLICT keeps it once-only
        # even without it.
        inserted = conn.execute(
            "INSERT INTO job_runs (guild_id, job, local_date, status, late, started_at)"
            " VALUES (?, ?, ?, 'running', ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, job, local_date.isoformat(), int(late), utcnow_iso(now)),
        )
        return inserted.rowcount == 1
    if row["status"] == "done" or row["attempts"] >= MAX_ATTEMPTS:
        return False
    stale_before = utcnow_iso(now - STALE_RUN)
    if row["status"] == "running" and row["started_at"] > stale_before:
        return False
    # A failed run, or one whose process died: try again (its own once-ledgers prevent repeats).
    updated = conn.execute(
        "UPDATE job_runs SET status = 'running', attempts = attempts + 1, started_at = ?, late = ?"
        " WHERE guild_id = ? AND job = ? AND local_date = ? AND status = ? AND started_at = ?",
        (
            utcnow_iso(now),
            int(late),
            guild_id,
            job,
            local_date.isoformat(),
            row["status"],
            row["started_at"],
        ),
    )
    return updated.rowcount == 1


def finish_run(
    conn: Conn,
    guild_id: int,
    job: str,
    local_date: date,
    now: datetime,
    error: str | None,
) -> None:
    conn.execute(
        "UPDATE job_runs SET status = ?, finished_at = ?, error = ?"
        " WHERE guild_id = ? AND job = ? AND local_date = ? AND status = 'running'",
        (
            "failed" if error else "done",
            utcnow_iso(now),
            error,
            guild_id,
            job,
            local_date.isoformat(),
        ),
    )


def claim_notification(conn: Conn, guild_id: int, kind: str, key: str, now: datetime) -> bool:
    """Claim a one-off notification inside the caller's transaction; False if already claimed."""
    cur = conn.execute(
        "INSERT INTO notifications_sent (guild_id, kind, key, sent_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (guild_id, kind, key, utcnow_iso(now)),
    )
    return cur.rowcount == 1


def claim_delivery(conn: Conn, guild_id: int, kind: str, key: str, now: datetime) -> bool:
    """Claim a notification to send it (then :func:`mark_delivered`); True to send it now.

    A new claim is taken; a claim still 'claimed' whose lease ran out (its sender died before
    marking it sent) is taken again while Discord's nonce window since the first claim lasts,
    so the same nonce lets Discord return the first message if it got there. Past the window it
    is marked 'unknown' instead: sending again could show the message twice."""
    stamp = utcnow_iso(now)
    inserted = conn.execute(
        "INSERT INTO notifications_sent (guild_id, kind, key, sent_at, status, attempt_at)"
        " VALUES (?, ?, ?, ?, 'claimed', ?) ON CONFLICT DO NOTHING",
        (guild_id, kind, key, stamp, stamp),
    )
    if inserted.rowcount == 1:
        return True
    row = conn.execute(
        "SELECT status, sent_at, attempt_at FROM notifications_sent"
        " WHERE guild_id = ? AND kind = ? AND key = ?",
        (guild_id, kind, key),
    ).fetchone()
    if row is None or row["status"] != "claimed":
        return False
    attempt = str(row["attempt_at"] or row["sent_at"])
    if attempt > utcnow_iso(now - SEND_LEASE):
        return False  # its sender may still be at it
    if str(row["sent_at"]) <= utcnow_iso(now - NONCE_WINDOW):
        gave_up = conn.execute(
            "UPDATE notifications_sent SET status = 'unknown', attempt_at = ?"
            " WHERE guild_id = ? AND kind = ? AND key = ? AND status = 'claimed'",
            (stamp, guild_id, kind, key),
        )
        if gave_up.rowcount == 1:
            log.warning(
                "notification %s %s of guild %s was claimed at %s and never marked sent; past"
                " Discord's nonce window it is not sent again (marked unknown)",
                kind,
                key,
                guild_id,
                row["sent_at"],
            )
        return False
    retaken = conn.execute(
        "UPDATE notifications_sent SET attempt_at = ?"
        " WHERE guild_id = ? AND kind = ? AND key = ? AND status = 'claimed' AND attempt_at = ?",
        (stamp, guild_id, kind, key, attempt),
    )
    return retaken.rowcount == 1


def mark_delivered(conn: Conn, guild_id: int, kind: str, keys: Sequence[str]) -> int:
    """Claimed notifications reached Discord (or never can: DMs closed); several keys when one
    message carried them, all in this one transaction."""
    marked = 0
    for key in keys:
        cur = conn.execute(
            "UPDATE notifications_sent SET status = 'sent'"
            " WHERE guild_id = ? AND kind = ? AND key = ? AND status = 'claimed'",
            (guild_id, kind, key),
        )
        marked += cur.rowcount
    return marked


@long_transaction
def release_orphaned_runs(conn: Conn, guild_ids: Sequence[int], started_before: datetime) -> int:
    """Runs of ``guild_ids`` still 'running' from before this process started: their process
    died (this one owns their shards now). Marked failed so the pass retries them at once,
    within Discord's nonce window, instead of after STALE_RUN."""
    released = 0
    stamp = utcnow_iso(started_before)
    for guild_id in guild_ids:
        cur = conn.execute(
            "UPDATE job_runs SET status = 'failed', finished_at = ?, error = ?"
            " WHERE guild_id = ? AND status = 'running' AND started_at < ?",
            (stamp, "its process stopped while it ran", guild_id, stamp),
        )
        released += cur.rowcount
    return released


def release_notification(conn: Conn, guild_id: int, kind: str, key: str) -> None:
    conn.execute(
        "DELETE FROM notifications_sent WHERE guild_id = ? AND kind = ? AND key = ?",
        (guild_id, kind, key),
    )


def release_ahead(conn: Conn, guild_id: int, local_date: date, now: datetime) -> int:
    """Forget what was claimed ahead of the clock: daily runs for dates after ``local_date``
    and notifications sent after ``now`` (the clock had jumped ahead; the real day must still
    get them). Returns how many claims were released."""
    runs = conn.execute(
        "DELETE FROM job_runs WHERE guild_id = ? AND local_date > ?",
        (guild_id, local_date.isoformat()),
    )
    notes = conn.execute(
        "DELETE FROM notifications_sent WHERE guild_id = ? AND sent_at > ?",
        (guild_id, utcnow_iso(now)),
    )
    return runs.rowcount + notes.rowcount


def last_outcomes(conn: Conn, name: str) -> tuple[datetime | None, tuple[datetime, str] | None]:
    """For ``/concord status``: when ``name`` (any slot) last succeeded, and its last failure."""
    pattern = f"{name}@%"
    good = conn.execute(
        "SELECT max(finished_at) FROM job_runs WHERE guild_id = ? AND job LIKE ? AND status = 'done'",
        (PROCESS_GUILD_ID, pattern),
    ).fetchone()
    bad = conn.execute(
        "SELECT finished_at, error FROM job_runs WHERE guild_id = ? AND job LIKE ?"
        " AND status = 'failed' ORDER BY finished_at DESC LIMIT 1",
        (PROCESS_GUILD_ID, pattern),
    ).fetchone()
    last_good = datetime.fromisoformat(good[0]) if good and good[0] else None
    failure = (datetime.fromisoformat(bad[0]), str(bad[1] or "")) if bad and bad[0] else None
    return last_good, failure


class JobLedger:
    """Async face of the ledgers, for the scheduler and the cogs."""

    def __init__(self, db: Db) -> None:
        self.db = db
        # Told the kind of each notification claimed for sending (metrics), when set.
        self.on_claim: Callable[[str], None] | None = None

    async def claim_run(
        self, guild_id: int, job: str, local_date: date, late: bool, now: datetime
    ) -> bool:
        return await self.db.write(claim_run, guild_id, job, local_date, late, now)

    async def finish_run(
        self, guild_id: int, job: str, local_date: date, now: datetime, error: str | None = None
    ) -> None:
        await self.db.write(finish_run, guild_id, job, local_date, now, error)

    async def claim_notification(self, guild_id: int, kind: str, key: str, now: datetime) -> bool:
        """True exactly once per (guild, kind, key): send only when this returns True."""
        claimed = await self.db.write(claim_notification, guild_id, kind, key, now)
        if claimed and self.on_claim is not None:
            self.on_claim(kind)
        return claimed

    async def claim_delivery(self, guild_id: int, kind: str, key: str, now: datetime) -> str | None:
        """The Discord message nonce to send this notification with, when this caller is to
        send it now (:func:`claim_delivery`); None when it is sent, being sent or given up.
        Send with ``nonce=`` and then call :meth:`delivered`."""
        claimed = await self.db.write(claim_delivery, guild_id, kind, key, now)
        if not claimed:
            return None
        if self.on_claim is not None:
            self.on_claim(kind)
        return notification_nonce(guild_id, kind, key)

    async def delivered(self, guild_id: int, kind: str, *keys: str) -> None:
        """The claims of ``keys`` were sent (one message may carry several)."""
        await self.db.write(mark_delivered, guild_id, kind, list(keys))

    async def release_orphaned_runs(
        self, guild_ids: Sequence[int], started_before: datetime
    ) -> int:
        return await self.db.write(release_orphaned_runs, list(guild_ids), started_before)

    async def delivery_status(self, guild_id: int, kind: str, key: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT status FROM notifications_sent WHERE guild_id = ? AND kind = ? AND key = ?",
            (guild_id, kind, key),
        )
        return str(row["status"]) if row is not None else None

    async def attempts(self, guild_id: int, job: str, local_date: date) -> int:
        """How many times the run of ``job`` for ``local_date`` was taken (0: never)."""
        row = await self.db.fetchone(
            "SELECT attempts FROM job_runs WHERE guild_id = ? AND job = ? AND local_date = ?",
            (guild_id, job, local_date.isoformat()),
        )
        return int(row["attempts"]) if row is not None else 0

    async def release_notification(self, guild_id: int, kind: str, key: str) -> None:
        """Give a claim back when the notification could not be delivered (retried later)."""
        await self.db.write(release_notification, guild_id, kind, key)

    async def sent_at(self, guild_id: int, kind: str, key: str) -> datetime | None:
        """When a notification was claimed (None: never)."""
        row = await self.db.fetchone(
            "SELECT sent_at FROM notifications_sent WHERE guild_id = ? AND kind = ? AND key = ?",
            (guild_id, kind, key),
        )
        return datetime.fromisoformat(row["sent_at"]) if row else None

    async def release_ahead(self, guild_id: int, local_date: date, now: datetime) -> int:
        return await self.db.write(release_ahead, guild_id, local_date, now)

    async def last_outcomes(self, name: str) -> tuple[datetime | None, tuple[datetime, str] | None]:
        """A process job's last success and last failure, read off the writer's thread."""
        return await self.db.read_in_thread(last_outcomes, name)

    async def run_status(self, guild_id: int, job: str, local_date: date) -> str | None:
        """The status of ``job``'s run for ``local_date`` (None: not taken)."""
        row = await self.db.fetchone(
            "SELECT status FROM job_runs WHERE guild_id = ? AND job = ? AND local_date = ?",
            (guild_id, job, local_date.isoformat()),
        )
        return str(row["status"]) if row is not None else None

    async def runs(self, guild_id: int, job: str) -> list[DbRow]:
        return await self.db.fetchall(
            "SELECT * FROM job_runs WHERE guild_id = ? AND job = ? ORDER BY local_date",
            (guild_id, job),
        )


# -- the next due instant of each guild's daily jobs (job_due, migration 0014) -----------------
# A pass reads what is due and not taken by a live run, for the shards this process owns, in one
# indexed query (job_due_at); the claim rows of job_runs stay what makes a run happen once.
DIRTY = ""  # due_at of a row to work out again at the next pass (sorts before every instant)


@dataclass(frozen=True)
class ShardFilter:
    """The guilds a process owns: ``(guild_id >> 22) % count in ids``, as Discord routes them."""

    count: int = 1
    ids: tuple[int, ...] = (0,)

    def owns(self, guild_id: int) -> bool:
        return self.count <= 1 or (guild_id >> 22) % self.count in self.ids

    def sql(self, column: str) -> tuple[str, tuple[int, ...]]:
        """An ``AND ...`` condition on ``column`` with its parameters ('' when it owns all)."""
        if self.count <= 1:
            return "", ()
        marks = ", ".join("?" for _ in self.ids)
        return f" AND (({column} >> 22) % ?) IN ({marks})", (self.count, *self.ids)


@dataclass(frozen=True)
class DueRow:
    guild_id: int
    job: str
    due_at: str | None
    local_date: str | None
    version: int


@dataclass(frozen=True)
class Settle:
    """How a pass leaves a job_due row: today's run (its date and instant) when it is not
    finished, else tomorrow's; None instants for a job that is off for the guild."""

    guild_id: int
    job: str
    version: int
    today: str | None
    today_at: str | None
    tomorrow: str | None
    tomorrow_at: str | None


class Dialect:
    """The SQL that differs between SQLite and PostgreSQL for the scheduler and the settings
    watch (chosen by the database's ``dialect``; SQLite's spelling is the default)."""

    name = "sqlite"

    def due_sql(self, shard: ShardFilter) -> tuple[str, tuple[Any, ...]]:
        where, params = shard.sql("d.guild_id")
        return (
            "SELECT d.guild_id, d.job, d.due_at, d.local_date, d.version FROM job_due d"  # noqa: S608 (placeholders only)
            " WHERE d.due_at <= ?" + where + " AND NOT EXISTS (SELECT 1 FROM job_runs r"
            " WHERE r.guild_id = d.guild_id AND r.job = d.job AND r.local_date = d.local_date"
            " AND r.status = 'running' AND r.started_at > ?)"
            " ORDER BY d.due_at",
            params,
        )


class PostgresDialect(Dialect):
    """PostgreSQL: the same due query, read like SQLite's in a snapshot (a read-only
    transaction on a reader thread) — never under the write lock. It was ``FOR UPDATE OF d SKIP
    LOCKED`` in a write transaction; that needed the database-wide advisory write lock, so every
    pass of every process waited for every guild's writers and for the other processes' passes
    (idle pass p50 3.7 ms on one process, 10.8 ms on four at 5,000 guilds), and its row locks
    ended with the statement, so they kept nothing from anyone. What makes a run happen once
    is its claim row in job_runs, taken under the guild's advisory lock (:func:`claim_run`);
    a settle from a row read before a reset is refused by ``version``, as on SQLite."""

    name = "postgresql"


def dialect_of(db: object) -> Dialect:
    return PostgresDialect() if getattr(db, "dialect", SQLITE) == POSTGRESQL else Dialect()


# Rows (or guild ids) per statement in the batched writes below: far under SQLite's 32,766
# parameters, and one round trip on PostgreSQL for what was one per row (a first pass at
# 5,000 guilds made 25,000 statements: bench/bench_many_guilds.py --backend postgres).
CHUNK = 250


def _chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _marks(count: int, width: int = 1) -> str:
    one = "?" if width == 1 else "(" + ", ".join("?" for _ in range(width)) + ")"
    return ", ".join(one for _ in range(count))


@long_transaction
def ensure_due_rows(conn: Conn, guild_ids: Iterable[int], jobs: Iterable[str], dirty: bool) -> None:
    """A job_due row for each guild × job; with ``dirty`` every one of them is worked out again
    at the next pass (a process start, a clock jump, jobs added)."""
    names = list(jobs)
    rows = [(guild_id, name, DIRTY) for guild_id in guild_ids for name in names]
    conflict = (
        " ON CONFLICT (guild_id, job) DO UPDATE SET due_at = excluded.due_at,"
        " local_date = NULL, version = job_due.version + 1"
        if dirty
        else " ON CONFLICT (guild_id, job) DO NOTHING"
    )
    for chunk in _chunks(rows):
        conn.execute(
            f"INSERT INTO job_due (guild_id, job, due_at) VALUES {_marks(len(chunk), 3)}"  # noqa: S608 (placeholders only)
            + conflict,
            tuple(value for row in chunk for value in row),
        )


def mark_due_dirty(conn: Conn, guild_id: int) -> None:
    """Inside a settings change: the guild's jobs are worked out again at the next pass."""
    conn.execute(
        "UPDATE job_due SET due_at = ?, local_date = NULL, version = version + 1"
        " WHERE guild_id = ?",
        (DIRTY, guild_id),
    )


@long_transaction
def settle_due(conn: Conn, items: Sequence[Settle]) -> int:
    """Leave each row at its next run: today's while today's run is not finished (done, or
    failed ``MAX_ATTEMPTS`` times), else tomorrow's. A row reset since it was read (its version
    moved) is left alone. Returns the rows updated. Batched: the runs' statuses are read, and
    the rows updated, a chunk at a time (``UPDATE ... FROM (VALUES ...)``, SQLite 3.33+)."""
    finished: set[tuple[int, str, str]] = set()
    asked = [item for item in items if item.today is not None]
    for chunk in _chunks(asked):
        guilds = sorted({item.guild_id for item in chunk})
        days = sorted({str(item.today) for item in chunk})
        rows = conn.execute(
            "SELECT guild_id, job, local_date, status, attempts FROM job_runs"  # noqa: S608 (placeholders only)
            f" WHERE guild_id IN ({_marks(len(guilds))}) AND local_date IN ({_marks(len(days))})",
            tuple(guilds) + tuple(days),
        ).fetchall()
        for row in rows:
            if row["status"] == "done" or (
                row["status"] == "failed" and row["attempts"] >= MAX_ATTEMPTS
            ):
                finished.add((int(row["guild_id"]), str(row["job"]), str(row["local_date"])))
    values: list[tuple[int, str, int, str | None, str | None]] = []
    for item in items:
        due_at, local_date = item.today_at, item.today
        if item.today is not None and (item.guild_id, item.job, item.today) in finished:
            due_at, local_date = item.tomorrow_at, item.tomorrow
        values.append((item.guild_id, item.job, item.version, due_at, local_date))
    updated = 0
    for chunk in _chunks(values):
        cur = conn.execute(
            "UPDATE job_due SET due_at = v.column4, local_date = v.column5"  # noqa: S608 (placeholders only)
            f" FROM (VALUES {_marks(len(chunk), 5)}) AS v"
            " WHERE job_due.guild_id = v.column1 AND job_due.job = v.column2"
            " AND job_due.version = v.column3",
            tuple(value for row in chunk for value in row),
        )
        updated += cur.rowcount
    return updated


@long_transaction
def release_ahead_many(
    conn: Conn, today_by_guild: Sequence[tuple[int, date]], now: datetime
) -> dict[int, int]:
    """:func:`release_ahead` for many guilds in one transaction, a chunk of guilds per
    statement; the claims released by guild (only guilds where some were)."""
    released: Counter[int] = Counter()
    by_day: dict[date, list[int]] = {}
    for guild_id, today in today_by_guild:
        by_day.setdefault(today, []).append(guild_id)
    for today, guild_ids in by_day.items():
        for chunk in _chunks(guild_ids):
            rows = conn.execute(
                f"DELETE FROM job_runs WHERE guild_id IN ({_marks(len(chunk))})"  # noqa: S608 (placeholders only)
                " AND local_date > ? RETURNING guild_id",
                (*chunk, today.isoformat()),
            ).fetchall()
            released.update(int(row[0]) for row in rows)
    for chunk in _chunks([guild_id for guild_id, _ in today_by_guild]):
        rows = conn.execute(
            f"DELETE FROM notifications_sent WHERE guild_id IN ({_marks(len(chunk))})"  # noqa: S608 (placeholders only)
            " AND sent_at > ? RETURNING guild_id",
            (*chunk, utcnow_iso(now)),
        ).fetchall()
        released.update(int(row[0]) for row in rows)
    return dict(released)


class DueTable:
    """Async face of job_due for the scheduler."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.dialect: Dialect = dialect_of(db)

    async def due(self, now: datetime, shard: ShardFilter) -> list[DueRow]:
        """What is due at ``now`` (or to be worked out again) and not taken by a live run."""
        sql, shard_params = self.dialect.due_sql(shard)
        params = (utcnow_iso(now), *shard_params, utcnow_iso(now - STALE_RUN))
        rows = await self.db.fetchall(sql, params)
        return [
            DueRow(r["guild_id"], r["job"], r["due_at"], r["local_date"], r["version"])
            for r in rows
        ]

    async def ensure(self, guild_ids: Iterable[int], jobs: Iterable[str], *, dirty: bool) -> None:
        await self.db.write(ensure_due_rows, list(guild_ids), list(jobs), dirty)

    async def settle(self, items: Sequence[Settle]) -> int:
        if not items:
            return 0
        return await self.db.write(settle_due, list(items))

    async def release_ahead(
        self, today_by_guild: Sequence[tuple[int, date]], now: datetime
    ) -> dict[int, int]:
        return await self.db.write(release_ahead_many, list(today_by_guild), now)

    async def rows(self, guild_id: int) -> list[DueRow]:
        """The guild's rows (tests, the sandbox)."""
        rows = await self.db.fetchall(
            "SELECT guild_id, job, due_at, local_date, version FROM job_due WHERE guild_id = ?"
            " ORDER BY job",
            (guild_id,),
        )
        return [
            DueRow(r["guild_id"], r["job"], r["due_at"], r["local_date"], r["version"])
            for r in rows
        ]

"""The job ledger (``job_runs``) and the once-only notification ledger (``notifications_sent``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from concord.db.guilds import utcnow_iso
from concord.db.portable import Conn, Db, DbRow

# A run still marked 'running' after this long died with its process; it may be taken again.
STALE_RUN = timedelta(minutes=10)
MAX_ATTEMPTS = 3
PROCESS_GUILD_ID = 0  # job_runs rows of process-level jobs (no Discord id is 0)


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

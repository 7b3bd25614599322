"""PostgreSQL across processes: what a second bot process on the same database must not break.

Two database objects (two sets of connections, as two processes have) deciding the same request decide it
once; three OS processes running the same scheduler pass over the same guilds run each daily
job exactly once between them, with no errors. (One process, many callers:
test_leave_concurrency.py runs on both backends.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from concord.core.actor import Actor
from concord.core.leave import AlreadyDecided
from concord.db.leave import LeaveManager
from tests.db.conftest import drop_postgres, fresh_postgres
from tests.pg_server import ThrowawayPostgres

GUILD = 7
ALICE, BOB, DAVE = 1, 2, 4
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_db_url(pg_server: ThrowawayPostgres, pg_template: str) -> Iterator[str]:
    name = fresh_postgres(pg_server, pg_template)
    yield pg_server.url(name)
    drop_postgres(pg_server, name)


async def test_two_databases_deciding_at_once_decide_once(pg_db_url: str) -> None:
    from concord.db.postgres import PostgresDatabase

    first, second = await PostgresDatabase.open(pg_db_url), await PostgresDatabase.open(pg_db_url)
    try:
        request = (
            await LeaveManager(first).apply(
                GUILD,
                actor=Actor(BOB, False),
                user_id=BOB,
                leave_type="Annual",
                start=date(2026, 12, 3),
                now=NOW,
            )
        ).request

        async def approve(db: PostgresDatabase, manager: int) -> str:
            try:
                await LeaveManager(db).approve(
                    GUILD, request.id, actor=Actor(manager, True), now=NOW
                )
            except AlreadyDecided:
                return "second"
            return "first"

        outcomes = await asyncio.gather(
            *(approve(db, manager) for db in (first, second) for manager in (ALICE, DAVE) * 3)
        )
        assert sorted(outcomes) == ["first"] + ["second"] * 11
        decisions = await second.fetchall(
            "SELECT * FROM audit_log WHERE action = 'leave.approve' AND subject = ?",
            (f"leave:{request.id}",),
        )
        debits = await first.fetchall(
            "SELECT * FROM leave_ledger WHERE request_id = ? AND kind = 'debit'", (request.id,)
        )
        assert (len(decisions), len(debits)) == (1, 1)
    finally:
        await first.close()
        await second.close()


# One process: the bot's scheduler over 20 guilds, 3 daily jobs at 09:00 UTC, a pass at 09:30;
# each run records itself (guild, job, date, pid) in its own transaction.
SCHEDULER_PROCESS = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from datetime import UTC, datetime, time

    from concord.db.guilds import GuildSettings
    from concord.db.jobs import JobLedger
    from concord.db.postgres import PostgresDatabase
    from concord.scheduler import Scheduler

    def record(conn, guild_id, job, day):
        conn.execute(
            "INSERT INTO job_proof (guild_id, job, day, pid) VALUES (?, ?, ?, ?)",
            (guild_id, job, day.isoformat(), os.getpid()),
        )

    async def main(url, start_at):
        db = await PostgresDatabase.open(url)
        try:
            scheduler = Scheduler(GuildSettings(db), JobLedger(db))
            for name in ("digest", "reminder", "summary"):
                async def run(config, day, late, name=name):
                    await db.write(record, config.guild_id, name, day)
                scheduler.add_daily(name, lambda config: time(9, 0), run)
            while datetime.now().timestamp() < start_at:  # start together
                await asyncio.sleep(0.005)
            now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
            ran = await scheduler.run_due(now, range(1, 21))
            print(json.dumps(len(ran)))
        finally:
            await db.close()

    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
    """
)


def test_three_processes_run_each_daily_job_once(pg_db_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE job_proof (guild_id bigint, job text, day text, pid integer)")
    start_at = datetime.now().timestamp() + 3.0  # after the three have started Python
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_PROCESS, pg_db_url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err and "ERROR" not in err, err
    ran_per_process = [json.loads(out) for out, _ in results]
    with psycopg.connect(pg_db_url) as conn:
        proof = conn.execute("SELECT guild_id, job, day, pid FROM job_proof").fetchall()
        statuses = conn.execute("SELECT status, count(*) FROM job_runs GROUP BY status").fetchall()
    runs = [(guild, job, day) for guild, job, day, _ in proof]
    assert len(runs) == len(set(runs)) == 20 * 3  # every job of every guild, each once
    assert sum(ran_per_process) == 60
    assert statuses == [("done", 60)]

"""Kill a writing process with SIGKILL at random moments: nothing it was told is ever lost.

The worker applies for and approves leave through LeaveManager and logs each request id only
after the approval's commit returned. After every kill the file must pass integrity_check and
every logged id must be there, approved, with its debit in the ledger.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from concord.db.database import apply_migrations, connect_sync

WORKER = r"""
import asyncio, os, sys
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from concord.db.database import Database
from concord.core.actor import Actor
from concord.db.leave import LeaveManager, PolicyChange

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

async def main(path, log_path, first_member):
    db = await Database.open(path)
    leave = LeaveManager(db)
    await leave.set_policy(1, "Annual", PolicyChange(allowance=Fraction(100000)),
                           actor=Actor(1, True), now=NOW)
    log = open(log_path, "a", buffering=1)
    member = first_member
    day = date(2027, 1, 4)
    while True:
        if day.weekday() >= 5:
            day += timedelta(days=1)
            continue
        result = await leave.apply(1, actor=Actor(member, False), user_id=member,
                                   leave_type="Annual", start=day, now=NOW)
        await leave.approve(1, result.request.id, actor=Actor(1, True), now=NOW)
        log.write(f"{result.request.id}\n")  # only after the commit returned
        os.fsync(log.fileno())
        day += timedelta(days=1)
        if day.year > 2027:
            member, day = member + 1, date(2027, 1, 4)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def exited_within(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def logged_ids(log_path: Path) -> list[int]:
    if not log_path.exists():
        return []
    return [int(line) for line in log_path.read_text().split() if line.strip()]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_committed(tmp_path: Path) -> None:
    path, log_path = tmp_path / "crash.db", tmp_path / "committed.log"
    conn = connect_sync(path)
    apply_migrations(conn)
    conn.close()
    rng = random.Random(20261126)
    for round_no in range(20):
        before = len(logged_ids(log_path))
        proc = subprocess.Popen(
            # Members of their own per round: a worker moves to the next member after a year
            # of leave (250 pairs), which a fast one reaches before its kill.
            [
                sys.executable,
                "-c",
                WORKER,
                str(path),
                str(log_path),
                str(10_000 + 1_000 * round_no),
            ],
            stderr=subprocess.PIPE,
        )
        try:
            # Let it get going (imports, first commits), then kill at a random moment.
            deadline = time.monotonic() + 30
            while len(logged_ids(log_path)) == before:
                assert time.monotonic() < deadline, "worker made no progress"
                assert not exited_within(proc, 0.01), proc.stderr.read() if proc.stderr else ""
            assert not exited_within(proc, rng.uniform(0.0, 0.3)), "worker died by itself"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stderr:
                proc.stderr.close()
        check = sqlite3.connect(path)
        try:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            ids = logged_ids(log_path)
            assert len(ids) > before
            rows = dict(
                check.execute(
                    "SELECT r.id, r.status FROM leave_requests r WHERE r.id IN (SELECT value FROM json_each(?))",
                    (str(ids).replace(" ", ""),),
                ).fetchall()
            )
            missing = [i for i in ids if i not in rows]
            assert missing == [], f"round {round_no}: committed requests lost: {missing[:5]}"
            assert set(rows.values()) == {"approved"}
            debited = {
                r[0]
                for r in check.execute(
                    "SELECT request_id FROM leave_ledger WHERE kind = 'debit' AND request_id IS NOT NULL"
                )
            }
            assert set(ids) <= debited, f"round {round_no}: approvals without their debit"
        finally:
            check.close()

"""Nothing blocks the event loop: every export (leave CSV and iCalendar, DAR CSV and Excel, the
DAR chart) is built off the loop, so while a manager exports 2,000 requests over three years
another member's `/leave balance` is answered at once. (The reliability suite also fails any
test during which one callback held the loop for a second: see conftest.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from concord.sandbox.driver import Sandbox

pytestmark = pytest.mark.slow

REQUESTS = 2000
FIRST_DAY = date(2026, 1, 1)


def seed_requests(conn: sqlite3.Connection, guild_id: int, user_ids: list[int]) -> None:
    """2,000 requests over three years (full days, half days; approved and pending), in one
    transaction."""
    (type_id,) = conn.execute(
        "SELECT id FROM leave_types WHERE guild_id = ? AND name = 'Annual'", (guild_id,)
    ).fetchone()
    created = datetime(2025, 12, 1, tzinfo=UTC).isoformat()
    portions = (("full_day", "1"), ("half_day_am", "0.5"), ("half_day_pm", "0.5"))
    rows = []
    for n in range(REQUESTS):
        user = user_ids[n % len(user_ids)]
        day = FIRST_DAY + timedelta(days=n * 3 * 365 // REQUESTS)
        portion, amount = portions[n % len(portions)]
        status = "pending" if n % 7 == 0 else "approved"
        reason = f"Family visit #{n}: flights, the dentist and a long weekend by the sea"
        rows.append(
            (
                guild_id,
                user,
                type_id,
                day.isoformat(),
                portion,
                amount,
                reason,
                status,
                user,
                created,
            )
        )
    conn.executemany(
        "INSERT INTO leave_requests (guild_id, user_id, type_id, type_name, start_date,"
        " end_date, portion, amount, deducts, reason, status, filed_by, created_at)"
        " VALUES (?1, ?2, ?3, 'Annual', ?4, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10)",
        rows,
    )


async def test_a_member_is_answered_while_a_manager_exports_2000_requests(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("bob", "leave balance")  # the office's leave types come into being
    staff = [sandbox.member(name).id for name in ("bob", "carol", "dave")]
    await sandbox.db.write(seed_requests, sandbox.guild.id, staff)
    alice = sandbox.member("alice").id
    for kind in ("ics", "csv"):
        before = set(sandbox.emulator.interactions)
        export = asyncio.ensure_future(
            sandbox.slash(
                "alice", "leave export", format=kind, start="2026-01-01", end="2028-12-31"
            )
        )
        while not any(  # noqa: ASYNC110 - the emulator's records have no event to wait on
            record.acknowledged and record.user_id == alice
            for key, record in sandbox.emulator.interactions.items()
            if key not in before
        ):
            await asyncio.sleep(0.001)
        waits = []
        while not export.done():  # bob asks again and again while the export runs
            started = time.perf_counter()
            balance = await sandbox.slash("bob", "leave balance")
            waits.append(time.perf_counter() - started)
            assert "available" in balance.text
        reply = await export
        print(kind, len(waits), max(waits), reply.text[:80])
        assert f"{REQUESTS} requests" in reply.text, reply.text
        assert max(waits) < 1.0, f"/leave balance waited {max(waits):.2f} s behind a {kind} export"

"""Nothing blocks the event loop: every export (leave CSV and iCalendar, DAR CSV and Excel, the
DAR chart) is built off the loop, so while a manager exports 2,000 requests over three years
another member's `/leave balance` is answered at once. (The reliability suite also fails any
test during which one callback held the loop for a second: see conftest.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
        # Reasons as people write them, a few sentences (the limit is 500 characters).
        reason = (
            f"Family visit #{n}: my parents' anniversary, flights on Thursday evening, the "
            "dentist on Friday morning and a long weekend by the sea with the children; "
            "handover notes for the week are in the shared drive, and Carol covers the "
            "supplier calls while I am away. Reachable by phone for anything urgent."
        )
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


def on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_every_export_is_built_off_the_loop(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How long a build takes depends on the machine; where it runs does not."""
    builds: list[tuple[str, bool]] = []

    def watched(module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def build(*args: Any, **kwargs: Any) -> Any:
            builds.append((name, on_the_loop()))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, build)

    # The modules the running bot loaded (discord.py loads extensions afresh for each bot).
    leave_cog = sys.modules[type(sandbox.bot.get_cog("Leave")).__module__]
    dar_cog = sys.modules[type(sandbox.bot.get_cog("Dar")).__module__]
    watched(leave_cog, "requests_csv")
    watched(leave_cog, "requests_ics")
    watched(sys.modules["concord.db.dar.reads"], "open_sink")  # the DAR CSV and Excel writers
    watched(dar_cog, "render_dar_chart")
    await sandbox.configure_office()
    await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-10")
    report = await sandbox.slash("bob", "dar submit")
    assert report.modal is not None
    await sandbox.submit("bob", report.modal, done="Printed", plan="Post", hours="7")
    for kind in ("csv", "ics"):
        await sandbox.slash("alice", "leave export", format=kind)
    for kind in ("csv", "xlsx"):
        await sandbox.slash(
            "alice", "dar export", start="2026-12-01", end="2026-12-01", format=kind
        )
    await sandbox.slash("alice", "dar stats")
    assert sorted({name for name, _ in builds}) == [
        "open_sink",
        "render_dar_chart",
        "requests_csv",
        "requests_ics",
    ]
    assert [name for name, looped in builds if looped] == []

"""Concurrent requests and decisions decide exactly once and never overdraw (SQLite and
PostgreSQL; two processes on PostgreSQL: test_pg_concurrency.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from concord.core.actor import Actor
from concord.core.leave import AlreadyDecided, RequestStatus
from concord.db.database import Database
from concord.db.leave import LeaveManager, PolicyChange
from concord.errors import UserError

GUILD = 7
ALICE, BOB, DAVE = 1, 2, 4
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def leave(db: Database) -> LeaveManager:
    """On both backends (tests/db/conftest.py): on PostgreSQL the writes run on several
    threads and connections at once, serialised by the advisory lock."""
    return LeaveManager(db)


def working_days_from(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def test_twenty_concurrent_requests_against_five_days(leave: LeaveManager) -> None:
    await leave.set_policy(
        GUILD,
        "Comp off",
        PolicyChange(allowance=Fraction(5), requires_approval=False),
        actor=Actor(ALICE, True),
        now=NOW,
    )

    async def request(day: date) -> RequestStatus | str:
        try:
            result = await leave.apply(
                GUILD,
                actor=Actor(BOB, False),
                user_id=BOB,
                leave_type="Comp off",
                start=day,
                now=NOW,
            )
        except UserError as error:
            return str(error)
        return result.request.status

    outcomes = await asyncio.gather(
        *(request(day) for day in working_days_from(date(2027, 1, 4), 20))
    )
    approved = [o for o in outcomes if o is RequestStatus.APPROVED]
    refused = [str(o) for o in outcomes if o is not RequestStatus.APPROVED]
    assert len(approved) == 5
    assert len(refused) == 15
    assert all("Not enough Comp off leave in 2027" in message for message in refused)
    balances = await leave.balances(GUILD, BOB, 2027, today=date(2027, 1, 4))
    comp = next(b for b in balances if b.leave_type == "Comp off")
    assert (comp.taken, comp.available) == (5, 0)
    debits = await leave.db.fetchall("SELECT * FROM leave_ledger WHERE kind = 'debit'")
    assert len(debits) == 5


async def test_two_managers_approving_at_once_decide_once(leave: LeaveManager) -> None:
    request = (
        await leave.apply(
            GUILD,
            actor=Actor(BOB, False),
            user_id=BOB,
            leave_type="Annual",
            start=date(2026, 12, 3),
            now=NOW,
        )
    ).request

    async def approve(manager: int) -> str:
        try:
            await leave.approve(GUILD, request.id, actor=Actor(manager, True), now=NOW)
        except AlreadyDecided as error:
            return f"second: {error}"
        return "first"

    outcomes = await asyncio.gather(approve(ALICE), approve(DAVE), approve(DAVE))
    assert outcomes.count("first") == 1
    assert all("already approved by" in o for o in outcomes if o != "first")
    audit = await leave.db.fetchall(
        "SELECT * FROM audit_log WHERE action = 'leave.approve' AND subject = ?",
        (f"leave:{request.id}",),
    )
    assert len(audit) == 1
    debits = await leave.db.fetchall(
        "SELECT * FROM leave_ledger WHERE request_id = ? AND kind = 'debit'", (request.id,)
    )
    assert len(debits) == 1

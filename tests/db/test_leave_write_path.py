"""The leave write path's shape: what a transaction reads, what it leaves for after the commit,
and that the shortcuts give exactly what reading the database again gives."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pytest

from concord.core.actor import Actor
from concord.core.leave import Portion, RequestStatus
from concord.db.database import Database
from concord.db.leave import LeaveManager
from concord.db.leave.records import SQL_TYPE_LEDGER, SQL_TYPE_LIVE_DAYS, MemberLeave
from concord.db.leave.transactions import load_member_leave
from concord.db.portable import Conn

GUILD = 1
ALICE, BOB = 10, 20  # alice is a manager
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
MONDAYS = [date(2027, 1, 4) + timedelta(weeks=n) for n in range(6)]


@pytest.fixture
def leave(db: Database) -> LeaveManager:
    return LeaveManager(db)


async def book(
    leave: LeaveManager, day: date, *, portion: Portion = Portion.FULL_DAY, approve: bool = True
) -> int:
    result = await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type="Annual",
        start=day,
        portion=portion,
        now=NOW,
    )
    if approve:
        await leave.approve(GUILD, result.request.id, actor=Actor(ALICE, True), now=NOW)
    return result.request.id


async def test_shown_balances_are_those_of_the_transaction(leave: LeaveManager) -> None:
    """Balances are worked out after the commit, but from what the transaction read: a later
    change does not leak into a result already returned."""
    result = await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type="Annual",
        start=MONDAYS[0],
        now=NOW,
    )
    decision = await leave.approve(GUILD, result.request.id, actor=Actor(ALICE, True), now=NOW)
    await leave.adjust(
        GUILD,
        actor=Actor(ALICE, True),
        user_id=BOB,
        leave_type="Annual",
        days=Fraction(5),
        reason="Overtime",
        now=NOW,
    )
    await book(leave, MONDAYS[1])
    (change,) = result.changes
    assert change.year == 2027 and change.amount == 1
    # 14 for 2027 and 5 carried from 2026's unused days; the adjustment and the second
    # booking came later and are not in these figures.
    assert (change.before.after_pending, change.after.after_pending) == (19, 18)
    (after_approval,) = decision.balances
    assert (after_approval.taken, after_approval.pending, after_approval.available) == (1, 0, 18)
    assert after_approval.adjustments == 0


async def test_a_decision_returns_the_request_as_stored(leave: LeaveManager) -> None:
    """The decided request is built from the one read before the update, not read again:
    it must equal a fresh read."""
    request_id = await book(leave, MONDAYS[0], approve=False)
    later = NOW + timedelta(minutes=7, microseconds=123_456)
    decision = await leave.reject(
        GUILD, request_id, actor=Actor(ALICE, True), note="  Busy week ", now=later
    )
    stored = await leave.get_request(GUILD, request_id)
    assert decision.request == stored
    assert stored.status is RequestStatus.REJECTED and stored.decision_note == "Busy week"
    assert stored.decided_at == later.replace(microsecond=0)


@pytest.mark.parametrize(
    ("portion", "hours", "leave_type", "reason"),
    [
        (Portion.FULL_DAY, None, "Annual", None),
        (Portion.HALF_DAY_AM, None, "Annual", "Dentist"),
        (Portion.OFF_DUTY, (time(13, 30), time(15, 0)), "Casual", "School play"),
        (Portion.FULL_DAY, None, "Work from home", None),  # approved at once
    ],
)
async def test_an_applied_request_is_returned_as_stored(
    leave: LeaveManager,
    portion: Portion,
    hours: tuple[time, time] | None,
    leave_type: str,
    reason: str | None,
) -> None:
    """The request is built from the values just inserted, not read back: it must equal a
    fresh read, whatever the portion, the hours and the type."""
    result = await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type=leave_type,
        start=MONDAYS[0],
        portion=portion,
        from_time=hours[0] if hours else None,
        to_time=hours[1] if hours else None,
        reason=reason,
        now=NOW + timedelta(microseconds=654_321),
    )
    assert result.request == await leave.get_request(GUILD, result.request.id)


async def test_grouped_rows_count_every_day(leave: LeaveManager, db: Database) -> None:
    """Ledger and live days are read grouped by amount; repeated amounts must all count."""
    for day in MONDAYS[:4]:
        await book(leave, day)
    await book(leave, MONDAYS[4], portion=Portion.HALF_DAY_AM)
    await book(leave, MONDAYS[5], portion=Portion.HALF_DAY_PM, approve=False)
    (balance,) = [
        b
        for b in await leave.balances(GUILD, BOB, 2027, today=NOW.date())
        if b.leave_type == "Annual"
    ]
    assert balance.taken == Fraction(9, 2)
    assert balance.pending == Fraction(1, 2)
    assert balance.recorded == Fraction(9, 2)
    assert (balance.entitlement, balance.carried) == (14, 5)  # 2026 unused, capped at 5
    assert balance.after_pending == 14 + 5 - 5


async def test_one_type_reads_as_all_types_do(leave: LeaveManager, db: Database) -> None:
    for day in MONDAYS[:3]:
        await book(leave, day)
    await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type="Sick",
        start=MONDAYS[4],
        now=NOW,
    )

    def both(conn: Conn) -> tuple[MemberLeave, int, MemberLeave]:
        everything = load_member_leave(conn, GUILD, BOB)
        annual = next(t.id for t in everything.types.values() if t.name == "Annual")
        return everything, annual, load_member_leave(conn, GUILD, BOB, annual)

    everything, annual, one = await db.read_in_thread(both)
    assert list(one.types) == [annual]
    assert one.activity == {annual: everything.activity[annual]}
    assert one.balance(annual, 2027, NOW.date()) == everything.balance(annual, 2027, NOW.date())


@pytest.mark.sqlite_only("SQLite's query plan")
@pytest.mark.parametrize("sql", [SQL_TYPE_LEDGER, SQL_TYPE_LIVE_DAYS])
async def test_a_members_rows_are_found_by_the_members_index(db: Database, sql: str) -> None:
    """Without statistics SQLite could walk every live request of the guild (the status index);
    the write path must only ever walk the member's own rows."""
    conn = sqlite3.connect(db.path)
    try:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (GUILD, BOB, 1))]
    finally:
        conn.close()
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert searches and all("user_id=?" in step or "request_id=?" in step for step in searches)
    assert not any(step.startswith("SCAN") for step in searches)


@pytest.mark.parametrize(
    ("leave_type", "start", "end", "portion"),
    [
        ("Annual", MONDAYS[0], None, Portion.FULL_DAY),
        ("Annual", MONDAYS[1], None, Portion.HALF_DAY_AM),
        ("Annual", date(2026, 12, 30), date(2027, 1, 5), Portion.FULL_DAY),  # two years
        ("Sick", MONDAYS[2], MONDAYS[2] + timedelta(days=2), Portion.FULL_DAY),
        ("Unpaid", MONDAYS[3], None, Portion.FULL_DAY),  # no balance
        ("Work from home", MONDAYS[4], None, Portion.FULL_DAY),  # approved at once, no debit
    ],
)
async def test_the_balance_after_moves_only_the_requests_days(
    leave: LeaveManager, leave_type: str, start: date, end: date | None, portion: Portion
) -> None:
    """``ApplyResult.changes`` takes the balance after from the balance before with the days
    moved (one year): it must equal the balance after worked out in full."""
    await book(leave, MONDAYS[5])  # some approved activity in the year already
    result = await leave.apply(
        GUILD,
        actor=Actor(BOB, False),
        user_id=BOB,
        leave_type=leave_type,
        start=start,
        end=end,
        portion=portion,
        now=NOW,
    )
    assert result.changes
    assert tuple(c.before for c in result.changes) == result.before.balances()
    assert tuple(c.after for c in result.changes) == result.after.balances()

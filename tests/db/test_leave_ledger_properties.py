"""Any sequence of apply / approve / reject / cancel / adjust keeps the ledger honest:
available == entitlement + carried + adjustments − approved, pending and approved match the
requests, and a balance that may not go negative never does. The transaction functions run
directly on a migrated in-memory database, each in its own transaction, as db.write runs them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.core.leave import Accrual, Balance, Portion, balance_as_of
from concord.db.database import apply_migrations, connect_sync, transaction
from concord.db.leave.transactions import (
    ApplyInput,
    PolicyChange,
    adjust_balance,
    apply_request,
    cancel_request,
    decide_request,
    load_member_leave,
    upsert_policy,
)
from concord.errors import UserError

T = TypeVar("T")
GUILD, MANAGER, MEMBER = 1, 100, 200
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
YEARS = (2026, 2027)
TYPES = ("Annual", "Flex", "Unpaid")  # Flex: monthly, auto-approved, may go negative
TRACKED = ("Annual", "Flex")

applies = st.tuples(
    st.just("apply"),
    st.sampled_from(TYPES),
    st.integers(0, 60),  # days after today: crosses into 2027
    st.integers(0, 6),
    st.sampled_from(list(Portion)),
)
decisions = st.tuples(st.sampled_from(["approve", "reject"]), st.integers(0, 40))
cancels = st.tuples(st.just("cancel"), st.integers(0, 40), st.booleans())
adjusts = st.tuples(
    st.just("adjust"),
    st.sampled_from(TRACKED),
    st.fractions(min_value=-6, max_value=6, max_denominator=4),
)
operations = st.lists(st.one_of(applies, decisions, decisions, cancels, adjusts), max_size=30)


def run(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T | None:
    """One transaction; a refusal (UserError) rolls back and is an allowed outcome."""
    try:
        with transaction(conn):
            return fn(conn, *args)
    except UserError:
        return None


def fresh_database() -> sqlite3.Connection:
    conn = connect_sync(":memory:")
    apply_migrations(conn)
    run(
        conn,
        upsert_policy,
        GUILD,
        MANAGER,
        True,
        "Flex",
        PolicyChange(
            allowance=Fraction(3),
            accrual=Accrual.MONTHLY,
            carryover_cap=Fraction(1),
            requires_approval=False,
            allow_negative=True,
        ),
        NOW,
    )
    # A small Annual allowance so sequences reach its limits and its carry-over often.
    run(
        conn,
        upsert_policy,
        GUILD,
        MANAGER,
        True,
        "Annual",
        PolicyChange(allowance=Fraction(5), carryover_cap=Fraction(2)),
        NOW,
    )
    return conn


def sums(conn: sqlite3.Connection, type_name: str, year: int, status: str) -> Fraction:
    rows = conn.execute(
        "SELECT d.amount FROM leave_request_days d JOIN leave_requests r ON r.id = d.request_id"
        " JOIN leave_types t ON t.id = r.type_id WHERE t.name = ? AND r.status = ?"
        " AND r.deducts = 1 AND d.day BETWEEN ? AND ?",
        (type_name, status, f"{year}-01-01", f"{year}-12-31"),
    ).fetchall()
    return sum((Fraction(row["amount"]) for row in rows), Fraction(0))


def adjustments(conn: sqlite3.Connection, type_name: str, year: int) -> Fraction:
    rows = conn.execute(
        "SELECT l.amount FROM leave_ledger l JOIN leave_types t ON t.id = l.type_id"
        " WHERE t.name = ? AND l.kind = 'adjustment' AND l.year = ?",
        (type_name, year),
    ).fetchall()
    return sum((Fraction(row["amount"]) for row in rows), Fraction(0))


def check_invariants(conn: sqlite3.Connection) -> None:
    member = load_member_leave(conn, GUILD, MEMBER)
    ids = {t.name: t.id for t in member.types.values()}
    for name in TRACKED:
        for year in YEARS:
            # upfront Annual: the whole year; monthly Flex: as the member sees it today
            as_of = date(year, 12, 31) if name == "Annual" else balance_as_of(year, TODAY)
            balance = member.balance(ids[name], year, as_of)
            approved = sums(conn, name, year, "approved")
            assert balance.taken == approved
            assert balance.pending == sums(conn, name, year, "pending")
            assert balance.adjustments == adjustments(conn, name, year)
            assert balance.available == (
                balance.entitlement + balance.carried + balance.adjustments - approved
            )
            if name == "Annual":
                assert balance.available >= 0, (year, balance)
    # a cancelled or rejected request has nothing left debited: credits undo debits exactly
    closed = conn.execute(
        "SELECT id FROM leave_requests WHERE status IN ('cancelled', 'rejected')"
    ).fetchall()
    for row in closed:
        entries = conn.execute("SELECT amount FROM leave_ledger WHERE request_id = ?", (row["id"],))
        assert sum((Fraction(e["amount"]) for e in entries), Fraction(0)) == 0


def assert_reported(conn: sqlite3.Connection, type_id: int, reported: Balance) -> None:
    """The balance a result reports is the one the database holds afterwards."""
    fresh = load_member_leave(conn, GUILD, MEMBER).balance(type_id, reported.year, TODAY)
    fields = ("carried", "adjustments", "taken", "pending", "recorded")
    assert [getattr(fresh, f) for f in fields] == [getattr(reported, f) for f in fields]


def pending_ids(conn: sqlite3.Connection) -> list[int]:
    rows = conn.execute("SELECT id FROM leave_requests WHERE status = 'pending' ORDER BY id")
    return [row["id"] for row in rows]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations)
def test_any_sequence_keeps_the_ledger_balanced(ops: list[tuple[Any, ...]]) -> None:
    conn = fresh_database()
    request_ids: list[int] = []
    try:
        for op in ops:
            kind = op[0]
            if kind == "apply":
                _, type_name, offset, length, portion = op
                start = TODAY + timedelta(days=offset)
                end = None if portion is not Portion.FULL_DAY else start + timedelta(days=length)
                spec = ApplyInput(
                    guild_id=GUILD,
                    actor_id=MEMBER,
                    actor_is_manager=False,
                    user_id=MEMBER,
                    leave_type=type_name,
                    start=start,
                    end=end,
                    portion=portion,
                    from_time=time(10) if portion is Portion.OFF_DUTY else None,
                    to_time=time(12) if portion is Portion.OFF_DUTY else None,
                )
                result = run(conn, apply_request, spec, NOW)
                if result is not None:
                    request_ids.append(result.request.id)
                    for change in result.changes:
                        assert_reported(conn, result.request.type_id, change.after)
            elif kind in ("approve", "reject") and (pending := pending_ids(conn)):
                request_id = pending[op[1] % len(pending)]
                run(
                    conn,
                    decide_request,
                    GUILD,
                    request_id,
                    MANAGER,
                    True,
                    kind == "approve",
                    None,
                    NOW,
                )
            elif kind == "cancel" and request_ids:
                request_id = request_ids[op[1] % len(request_ids)]
                by_manager = op[2]
                actor = MANAGER if by_manager else MEMBER
                run(conn, cancel_request, GUILD, request_id, actor, by_manager, NOW)
            elif kind == "adjust" and op[2] != 0:
                run(conn, adjust_balance, GUILD, MANAGER, True, MEMBER, op[1], op[2], "test", NOW)
            check_invariants(conn)
    finally:
        conn.close()

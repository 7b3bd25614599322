"""LeaveManager against a real SQLite file: requests, approvals, ledger, holidays, queries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pytest

from concord.core.actor import Actor
from concord.core.leave import Accrual, AlreadyDecided, Balance, Portion, RequestStatus
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.db.leave import ApplyResult, LeaveManager, PolicyChange
from concord.errors import NotFound, PermissionDenied, UserError

GUILD = 1
ALICE, BOB, CAROL, DAVE = 10, 20, 30, 40  # alice and dave are managers
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
TODAY = NOW.date()
THU = date(2026, 12, 3)


@pytest.fixture
def leave(db: Database) -> LeaveManager:
    return LeaveManager(db)


async def apply(
    leave: LeaveManager,
    start: date = THU,
    end: date | None = None,
    *,
    user: int = BOB,
    actor: int | None = None,
    manager: bool = False,
    leave_type: str = "Annual",
    portion: Portion = Portion.FULL_DAY,
    from_time: time | None = None,
    to_time: time | None = None,
    reason: str | None = None,
    now: datetime = NOW,
) -> ApplyResult:
    return await leave.apply(
        GUILD,
        actor=Actor(user if actor is None else actor, manager),
        user_id=user,
        leave_type=leave_type,
        start=start,
        end=end,
        portion=portion,
        from_time=from_time,
        to_time=to_time,
        reason=reason,
        now=now,
    )


async def balance(
    leave: LeaveManager, user: int = BOB, name: str = "Annual", year: int = 2026
) -> Balance:
    balances = await leave.balances(GUILD, user, year, today=TODAY)
    return next(b for b in balances if b.leave_type == name)


async def table(db: Database, sql: str, params: tuple = ()) -> list[dict]:
    return [dict(row) for row in await db.fetchall(sql, params)]


async def snapshot(db: Database) -> dict[str, list[dict]]:
    """Every leave table, to prove a refused action changed nothing."""
    names = ("leave_types", "leave_requests", "leave_request_days", "leave_ledger", "holidays")
    # In a fixed order on both backends (PostgreSQL has no rowid): sorted by their text.
    state = {name: sorted(await table(db, f"SELECT * FROM {name}"), key=repr) for name in names}
    state["audit_log"] = await table(db, "SELECT * FROM audit_log ORDER BY id")
    return state


# -- types -------------------------------------------------------------------------------------
async def test_default_types_are_created_on_first_use(leave: LeaveManager) -> None:
    types = {t.name: t.settings for t in await leave.types(GUILD, now=NOW)}
    assert list(types) == ["Annual", "Sick", "Casual", "Unpaid", "Work from home"]
    assert types["Annual"].allowance == 14 and types["Annual"].carryover_cap == 5
    assert types["Sick"].allowance == 10 and types["Sick"].carryover_cap == 0
    assert types["Casual"].allowance == 6
    assert types["Unpaid"].allowance is None
    assert not types["Work from home"].deducts and not types["Work from home"].requires_approval
    assert len(await leave.types(GUILD, now=NOW)) == 5  # not created twice


async def test_policy_creates_and_updates_types_audited(leave: LeaveManager, db: Database) -> None:
    created, is_new = await leave.set_policy(
        GUILD,
        "On duty",
        PolicyChange(deducts=False, requires_approval=False),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    assert is_new and created.name == "On duty" and not created.settings.deducts
    updated, is_new = await leave.set_policy(
        GUILD,
        "annual",
        PolicyChange(allowance=Fraction(20), accrual=None, carryover_cap=Fraction(0)),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    assert not is_new and updated.name == "Annual"
    assert updated.settings.allowance == 20 and updated.settings.carryover_cap == 0
    assert updated.settings.requires_approval  # untouched
    cleared, _ = await leave.set_policy(
        GUILD,
        "Casual",
        PolicyChange(clear_allowance=True),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    assert cleared.settings.allowance is None
    audit = await table(db, "SELECT * FROM audit_log WHERE action = 'leave.policy' ORDER BY id")
    assert len(audit) == 3
    assert json.loads(audit[1]["before"])["allowance"] == "14"
    assert json.loads(audit[1]["after"])["allowance"] == "20"
    with pytest.raises(PermissionDenied):
        await leave.set_policy(
            GUILD,
            "Annual",
            PolicyChange(allowance=Fraction(99)),
            actor=Actor(BOB, False),
            now=NOW,
        )


# -- applying ----------------------------------------------------------------------------------
async def test_apply_records_the_request_and_its_days(leave: LeaveManager, db: Database) -> None:
    result = await apply(leave, THU, date(2026, 12, 8), reason="Family visit")
    request = result.request
    assert request.status is RequestStatus.PENDING and result.needs_approval
    assert request.amount == 4  # Thu, Fri, Mon, Tue
    assert request.reason == "Family visit"
    days = await table(db, "SELECT day, amount FROM leave_request_days ORDER BY day")
    assert [d["day"] for d in days] == ["2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08"]
    (change,) = result.changes
    assert (change.before.after_pending, change.after.after_pending) == (14, 10)
    assert change.after.available == 14  # pending does not take, it is shown separately
    audit = await table(db, "SELECT * FROM audit_log WHERE action = 'leave.request'")
    assert json.loads(audit[0]["after"])["amount"] == "4"


async def test_approval_debits_in_the_same_transaction(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave)).request
    decision = await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    assert decision.request.status is RequestStatus.APPROVED
    assert decision.request.decided_by == ALICE
    assert decision.balances[0].available == 13
    ledger = await table(db, "SELECT kind, amount, year FROM leave_ledger")
    assert ledger == [{"kind": "debit", "amount": "-1", "year": 2026}]
    b = await balance(leave)
    assert (b.taken, b.pending, b.available) == (1, 0, 13)


async def test_a_results_request_years_are_what_a_second_read_finds(leave: LeaveManager) -> None:
    """The card after /leave apply and after a decision shows the request's balances from the
    write's own result: the same as reading them again (request_balances), over a year end."""
    result = await apply(leave, date(2026, 12, 30), date(2027, 1, 5))
    read = await leave.request_balances(result.request, today=TODAY)
    assert list(result.request_years()) == read and [y.year for y in read] == [2026, 2027]
    approved = await leave.approve(GUILD, result.request.id, actor=Actor(ALICE, True), now=NOW)
    read = await leave.request_balances(approved.request, today=TODAY)
    assert list(approved.request_years()) == read and read[0].balance.taken == 2
    other = (await apply(leave, date(2027, 2, 1))).request
    rejected = await leave.reject(GUILD, other.id, actor=Actor(ALICE, True), note=None, now=NOW)
    assert list(rejected.request_years()) == await leave.request_balances(
        rejected.request, today=TODAY
    )


async def test_nobody_approves_their_own_leave(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave, user=ALICE, manager=True)).request
    before = await snapshot(db)
    with pytest.raises(PermissionDenied, match="Nobody decides their own leave"):
        await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    with pytest.raises(PermissionDenied, match="Only managers"):
        await leave.approve(GUILD, request.id, actor=Actor(BOB, False), now=NOW)
    with pytest.raises(PermissionDenied, match="Only managers"):
        await leave.reject(GUILD, request.id, actor=Actor(BOB, False), now=NOW)
    assert await snapshot(db) == before


async def test_a_second_decision_says_who_decided_first(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave)).request
    await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    later = NOW + timedelta(minutes=5)
    with pytest.raises(AlreadyDecided) as caught:
        await leave.approve(GUILD, request.id, actor=Actor(DAVE, True), now=later)
    assert caught.value.status is RequestStatus.APPROVED and caught.value.by == ALICE
    assert caught.value.at == NOW
    with pytest.raises(AlreadyDecided, match="already approved"):
        await leave.reject(GUILD, request.id, actor=Actor(DAVE, True), now=later)
    assert len(await table(db, "SELECT * FROM leave_ledger")) == 1
    assert len(await table(db, "SELECT * FROM audit_log WHERE action = 'leave.approve'")) == 1


async def test_reject_keeps_the_balance_and_the_note(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave)).request
    decision = await leave.reject(
        GUILD, request.id, actor=Actor(ALICE, True), note="Team offsite", now=NOW
    )
    assert decision.request.status is RequestStatus.REJECTED
    assert decision.request.decision_note == "Team offsite"
    assert not await table(db, "SELECT * FROM leave_ledger")
    b = await balance(leave)
    assert (b.available, b.pending) == (14, 0)


async def test_unknown_request_is_not_found(leave: LeaveManager) -> None:
    with pytest.raises(NotFound, match="#999"):
        await leave.approve(GUILD, 999, actor=Actor(ALICE, True), now=NOW)
    request = (await apply(leave)).request
    with pytest.raises(NotFound):  # another guild's request is not visible
        await leave.approve(GUILD + 1, request.id, actor=Actor(ALICE, True), now=NOW)


# -- cancelling --------------------------------------------------------------------------------
async def test_cancel_of_approved_leave_restores_exactly(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave, date(2026, 12, 30), date(2027, 1, 5))).request
    await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    assert (await balance(leave)).available == 12
    assert (await balance(leave, year=2027)).taken == 3
    decision = await leave.cancel(GUILD, request.id, actor=Actor(BOB, False), now=NOW)
    assert decision.request.status is RequestStatus.CANCELLED
    assert decision.request.cancelled_by == BOB
    assert decision.request.decided_by == ALICE  # the approval stays on record
    ledger = await table(db, "SELECT kind, year, amount FROM leave_ledger ORDER BY id")
    assert ledger == [
        {"kind": "debit", "year": 2026, "amount": "-2"},
        {"kind": "debit", "year": 2027, "amount": "-3"},
        {"kind": "credit", "year": 2026, "amount": "2"},
        {"kind": "credit", "year": 2027, "amount": "3"},
    ]
    assert (await balance(leave)).available == 14
    with pytest.raises(AlreadyDecided, match="already cancelled"):
        await leave.cancel(GUILD, request.id, actor=Actor(BOB, False), now=NOW)


async def test_cancel_of_pending_writes_no_ledger(leave: LeaveManager, db: Database) -> None:
    request = (await apply(leave)).request
    await leave.cancel(GUILD, request.id, actor=Actor(BOB, False), now=NOW)
    assert not await table(db, "SELECT * FROM leave_ledger")
    assert (await balance(leave)).after_pending == 14


async def test_who_may_cancel(leave: LeaveManager, db: Database) -> None:
    started = (await apply(leave, TODAY)).request
    await leave.approve(GUILD, started.id, actor=Actor(ALICE, True), now=NOW)
    before = await snapshot(db)
    with pytest.raises(PermissionDenied, match="only your own"):
        await leave.cancel(GUILD, started.id, actor=Actor(CAROL, False), now=NOW)
    with pytest.raises(UserError, match="already started"):
        await leave.cancel(GUILD, started.id, actor=Actor(BOB, False), now=NOW)
    assert await snapshot(db) == before
    await leave.cancel(GUILD, started.id, actor=Actor(ALICE, True), now=NOW)
    assert (await balance(leave)).available == 14


# -- refusals ----------------------------------------------------------------------------------
async def test_overlaps(leave: LeaveManager) -> None:
    await apply(leave, portion=Portion.HALF_DAY_AM)
    pm = await apply(leave, portion=Portion.HALF_DAY_PM)  # AM + PM on one day is fine
    assert pm.request.amount == Fraction(1, 2)
    with pytest.raises(UserError, match="overlaps your pending request #1"):
        await apply(leave)
    with pytest.raises(UserError, match="overlaps"):
        await apply(leave, date(2026, 12, 2), date(2026, 12, 4))
    await apply(
        leave, date(2026, 12, 4), portion=Portion.OFF_DUTY, from_time=time(9), to_time=time(10)
    )
    await apply(
        leave, date(2026, 12, 4), portion=Portion.OFF_DUTY, from_time=time(10), to_time=time(11)
    )
    with pytest.raises(UserError, match="overlaps"):
        await apply(
            leave,
            date(2026, 12, 4),
            portion=Portion.OFF_DUTY,
            from_time=time(10, 30),
            to_time=time(12),
        )
    # another member's leave never overlaps bob's
    await apply(leave, user=CAROL)


async def test_a_cancelled_request_frees_its_dates(leave: LeaveManager) -> None:
    request = (await apply(leave)).request
    await leave.cancel(GUILD, request.id, actor=Actor(BOB, False), now=NOW)
    assert (await apply(leave)).request.id != request.id


async def test_overdraw_is_refused_counting_pending(leave: LeaveManager, db: Database) -> None:
    await apply(leave, date(2026, 12, 7), date(2026, 12, 18))  # 10 days pending
    before = await snapshot(db)
    with pytest.raises(UserError, match=r"4 days available after pending requests, this needs 5"):
        await apply(leave, date(2026, 12, 21), date(2026, 12, 25))
    assert await snapshot(db) == before
    await apply(leave, date(2026, 12, 21), date(2026, 12, 24))  # exactly the 4 left


async def test_allow_negative_types_may_overdraw(leave: LeaveManager) -> None:
    await leave.set_policy(
        GUILD,
        "Sick",
        PolicyChange(allow_negative=True),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    result = await apply(leave, date(2026, 12, 7), date(2026, 12, 25), leave_type="sick")
    assert result.request.amount == 15
    assert result.changes[0].after.after_pending == -5


async def test_untracked_types_take_no_balance(leave: LeaveManager, db: Database) -> None:
    unpaid = await apply(leave, date(2026, 12, 7), date(2026, 12, 31), leave_type="Unpaid")
    assert unpaid.request.amount == 19
    await leave.approve(GUILD, unpaid.request.id, actor=Actor(ALICE, True), now=NOW)
    b = await balance(leave, name="Unpaid")
    assert not b.tracked and b.recorded == 19
    wfh = await apply(leave, date(2027, 1, 4), leave_type="work from home")
    assert wfh.request.status is RequestStatus.APPROVED and not wfh.needs_approval
    debits = await table(db, "SELECT * FROM leave_ledger WHERE request_id = ?", (wfh.request.id,))
    assert debits == []


async def test_auto_approved_deducting_type_debits_at_once(
    leave: LeaveManager, db: Database
) -> None:
    await leave.set_policy(
        GUILD,
        "Comp off",
        PolicyChange(allowance=Fraction(2), requires_approval=False),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    result = await apply(leave, leave_type="Comp off", portion=Portion.HALF_DAY_PM)
    assert result.request.status is RequestStatus.APPROVED
    assert result.changes[0].after.available == Fraction(3, 2)
    assert await table(db, "SELECT kind, amount FROM leave_ledger") == [
        {"kind": "debit", "amount": "-1/2"}
    ]


async def test_bad_requests_change_nothing(leave: LeaveManager, db: Database) -> None:
    await leave.types(GUILD, now=NOW)
    before = await snapshot(db)
    bad = [
        ({"leave_type": "Holiday"}, NotFound, "no leave type called `Holiday`"),
        ({"start": date(2026, 12, 5)}, UserError, "not a working day"),
        ({"start": THU, "end": date(2026, 12, 2)}, UserError, "before the start"),
        ({"start": date(2026, 10, 1)}, UserError, "in the past"),
        ({"start": THU, "end": date(2027, 3, 1)}, UserError, "longest allowed is 60"),
        ({"portion": Portion.OFF_DUTY}, UserError, "needs `from_time`"),
        ({"reason": "x" * 501}, UserError, "at most 500"),
        ({"user": BOB, "actor": CAROL}, PermissionDenied, "someone else"),
    ]
    for kwargs, error, message in bad:
        with pytest.raises(error, match=message):
            await apply(leave, **kwargs)
    assert await snapshot(db) == before


async def test_guild_settings_shape_the_rules(leave: LeaveManager, db: Database) -> None:
    settings = GuildSettings(db)
    await settings.update(GUILD, ALICE, {"leave_max_days": 3, "workday_minutes": 450})
    with pytest.raises(UserError, match="longest allowed is 3"):
        await apply(leave, THU, date(2026, 12, 7))
    off = await apply(leave, portion=Portion.OFF_DUTY, from_time=time(14), to_time=time(15))
    assert off.request.amount == Fraction(2, 15)  # 1 h of a 7.5 h day


async def test_managers_file_for_members(leave: LeaveManager) -> None:
    result = await apply(leave, user=BOB, actor=ALICE, manager=True)
    assert result.request.user_id == BOB and result.request.filed_by == ALICE
    # the manager who filed it may approve it: it is bob's leave, not theirs
    await leave.approve(GUILD, result.request.id, actor=Actor(ALICE, True), now=NOW)


# -- history is not rewritten ------------------------------------------------------------------
async def test_amounts_are_fixed_when_requested(leave: LeaveManager) -> None:
    request = (await apply(leave, date(2026, 12, 21), date(2026, 12, 25))).request
    assert request.amount == 5
    await leave.add_holiday(
        GUILD, date(2026, 12, 25), "Christmas Day", actor=Actor(ALICE, True), now=NOW
    )
    await leave.set_policy(
        GUILD, "Annual", PolicyChange(deducts=False), actor=Actor(ALICE, True), now=NOW
    )
    stored = await leave.get_request(GUILD, request.id)
    assert stored.amount == 5 and stored.deducts
    await leave.set_policy(
        GUILD, "Annual", PolicyChange(deducts=True), actor=Actor(ALICE, True), now=NOW
    )
    await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    assert (await balance(leave)).taken == 5
    # a new request over the holiday takes one day less
    carol = await apply(leave, date(2026, 12, 21), date(2026, 12, 25), user=CAROL)
    assert carol.request.amount == 4


# -- allowances, adjustments, accrual, carry-over ----------------------------------------------
async def test_member_allowance_override(leave: LeaveManager, db: Database) -> None:
    after = await leave.set_allowance(
        GUILD,
        actor=Actor(ALICE, True),
        user_id=BOB,
        leave_type="Annual",
        days=Fraction(21),
        now=NOW,
    )
    assert after.entitlement == 21
    assert (await balance(leave, user=CAROL)).entitlement == 14
    with pytest.raises(UserError, match="Unpaid has no balance"):
        await leave.set_allowance(
            GUILD,
            actor=Actor(ALICE, True),
            user_id=BOB,
            leave_type="Unpaid",
            days=Fraction(3),
            now=NOW,
        )
    with pytest.raises(PermissionDenied):
        await leave.set_allowance(
            GUILD,
            actor=Actor(BOB, False),
            user_id=BOB,
            leave_type="Annual",
            days=Fraction(99),
            now=NOW,
        )
    audit = await table(db, "SELECT * FROM audit_log WHERE action = 'leave.allowance'")
    assert len(audit) == 1


async def test_adjustments(leave: LeaveManager, db: Database) -> None:
    async def adjust(
        days: Fraction,
        reason: str = "Worked Saturday",
        *,
        actor: int = ALICE,
        manager: bool = True,
        leave_type: str = "Annual",
    ) -> Balance:
        return await leave.adjust(
            GUILD,
            actor=Actor(actor, manager),
            user_id=BOB,
            leave_type=leave_type,
            days=days,
            reason=reason,
            now=NOW,
        )

    assert (await adjust(Fraction(3, 2))).available == Fraction(31, 2)
    assert (await adjust(Fraction(-1, 2), "Correction")).adjustments == 1
    before = await snapshot(db)
    with pytest.raises(UserError, match="may not go negative"):
        await adjust(Fraction(-16))
    with pytest.raises(UserError, match="changes nothing"):
        await adjust(Fraction(0))
    with pytest.raises(UserError, match="Give a reason"):
        await adjust(Fraction(1), "  ")
    with pytest.raises(UserError, match="no balance to adjust"):
        await adjust(Fraction(1), leave_type="Work from home")
    with pytest.raises(PermissionDenied):
        await adjust(Fraction(1), actor=BOB, manager=False)
    assert await snapshot(db) == before
    ledger = await table(db, "SELECT kind, amount, reason FROM leave_ledger")
    assert ledger[0] == {"kind": "adjustment", "amount": "3/2", "reason": "Worked Saturday"}


async def test_monthly_accrual(leave: LeaveManager) -> None:
    await leave.set_policy(
        GUILD,
        "Casual",
        PolicyChange(accrual=Accrual.MONTHLY, allowance=Fraction(12)),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    b = await leave.balances(GUILD, BOB, 2027, today=date(2027, 3, 15))
    casual = next(x for x in b if x.leave_type == "Casual")
    assert casual.entitlement == 3
    # booking March 2027 while in December 2026 counts what accrues by then
    result = await apply(leave, date(2027, 3, 1), date(2027, 3, 3), leave_type="Casual")
    assert result.changes[0].before.entitlement == 3
    with pytest.raises(UserError, match="Not enough Casual"):
        await apply(leave, date(2027, 1, 4), leave_type="Casual")  # Jan: 1 accrued, 3 pending


async def test_carry_over_into_next_year(leave: LeaveManager) -> None:
    request = (await apply(leave, date(2026, 12, 7), date(2026, 12, 11))).request  # 5 days
    await leave.approve(GUILD, request.id, actor=Actor(ALICE, True), now=NOW)
    next_year = await balance(leave, year=2027)
    assert next_year.carried == 5  # 9 unused, capped at 5
    assert next_year.available == 19
    sick = await balance(leave, name="Sick", year=2027)
    assert sick.carried == 0


# -- holidays ----------------------------------------------------------------------------------
async def test_holidays_add_remove_import(leave: LeaveManager, db: Database) -> None:
    holiday, replaced = await leave.add_holiday(
        GUILD, date(2026, 12, 24), "Office closed", actor=Actor(ALICE, True), now=NOW
    )
    assert replaced is None and holiday.source == "manual"
    _, replaced = await leave.add_holiday(
        GUILD, date(2026, 12, 24), "Christmas Eve", actor=Actor(ALICE, True), now=NOW
    )
    assert replaced is not None and replaced.name == "Office closed"
    imported = await leave.import_holidays(GUILD, "gb", 2026, actor=Actor(ALICE, True), now=NOW)
    assert date(2026, 12, 25) in {h.day for h in imported.added}
    assert imported.skipped == ()
    again = await leave.import_holidays(GUILD, "GB", 2026, actor=Actor(ALICE, True), now=NOW)
    assert again.added == () and len(again.skipped) == len(imported.added)
    listed = await leave.holidays(GUILD, date(2026, 12, 1), date(2026, 12, 31))
    assert [(h.day.day, h.name) for h in listed][:2] == [
        (24, "Christmas Eve"),
        (25, "Christmas Day"),
    ]
    removed = await leave.remove_holiday(
        GUILD, date(2026, 12, 24), actor=Actor(ALICE, True), now=NOW
    )
    assert removed.name == "Christmas Eve"
    with pytest.raises(NotFound, match="no holiday on Thu 24 Dec 2026"):
        await leave.remove_holiday(GUILD, date(2026, 12, 24), actor=Actor(ALICE, True), now=NOW)
    with pytest.raises(UserError, match="not a country"):
        await leave.import_holidays(GUILD, "ZZ", 2026, actor=Actor(ALICE, True), now=NOW)
    with pytest.raises(UserError, match="not a subdivision"):
        await leave.import_holidays(GUILD, "US", 2026, "ZZ", actor=Actor(ALICE, True), now=NOW)
    with pytest.raises(PermissionDenied):
        await leave.add_holiday(
            GUILD, date(2026, 12, 31), "Party", actor=Actor(BOB, False), now=NOW
        )
    actions = [r["action"] for r in await table(db, "SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("leave.holiday.add") == 2 and "leave.holiday.remove" in actions


# -- queries for other modules -----------------------------------------------------------------
async def test_absences_per_day(leave: LeaveManager) -> None:
    approved = (await apply(leave, THU, date(2026, 12, 7))).request
    await leave.approve(GUILD, approved.id, actor=Actor(ALICE, True), now=NOW)
    await apply(
        leave, THU, user=CAROL, portion=Portion.OFF_DUTY, from_time=time(14), to_time=time(16)
    )
    absences = await leave.absences(GUILD, date(2026, 12, 1), date(2026, 12, 31))
    assert [(a.user_id, a.day.day) for a in absences] == [(BOB, 3), (BOB, 4), (BOB, 7)]
    assert absences[0].portion is Portion.FULL_DAY and absences[0].leave_type == "Annual"
    assert absences[0].request_id == approved.id and absences[0].amount == 1
    both = await leave.absences(GUILD, THU, THU, statuses=("approved", "pending"))
    carol = next(a for a in both if a.user_id == CAROL)
    assert (carol.from_time, carol.to_time, carol.status) == (
        time(14),
        time(16),
        RequestStatus.PENDING,
    )
    with pytest.raises(ValueError):
        await leave.absences(GUILD, THU, THU, statuses=("aproved",))


async def test_pending_requests_oldest_first(leave: LeaveManager) -> None:
    late = await apply(leave, date(2026, 12, 10), now=NOW + timedelta(hours=2))
    early = await apply(leave, date(2026, 12, 15), user=CAROL)
    await apply(leave, date(2026, 12, 16), leave_type="Work from home")  # auto-approved
    assert [r.id for r in await leave.pending_requests(GUILD)] == [
        early.request.id,
        late.request.id,
    ]
    overdue = await leave.overdue_requests(GUILD, created_before=NOW + timedelta(hours=1))
    assert [r.id for r in overdue] == [early.request.id]


async def test_cancellable(leave: LeaveManager) -> None:
    started = (await apply(leave, TODAY)).request
    await leave.approve(GUILD, started.id, actor=Actor(ALICE, True), now=NOW)
    future = (await apply(leave, THU)).request
    await leave.approve(GUILD, future.id, actor=Actor(ALICE, True), now=NOW)
    pending = (await apply(leave, date(2026, 12, 10))).request
    carol = (await apply(leave, THU, user=CAROL)).request
    own = await leave.cancellable(GUILD, BOB, is_manager=False, today=TODAY)
    assert [r.id for r in own] == [future.id, pending.id]
    everyone = await leave.cancellable(GUILD, ALICE, is_manager=True, today=TODAY)
    assert {r.id for r in everyone} == {started.id, future.id, pending.id, carol.id}


async def test_history_filters(leave: LeaveManager) -> None:
    first = (await apply(leave, THU)).request
    second = (await apply(leave, date(2027, 1, 4))).request
    await leave.reject(GUILD, first.id, actor=Actor(ALICE, True), now=NOW)
    assert [r.id for r in await leave.history(GUILD, BOB)] == [second.id, first.id]
    assert [r.id for r in await leave.history(GUILD, BOB, year=2027)] == [second.id]
    rejected = await leave.history(GUILD, BOB, status=RequestStatus.REJECTED)
    assert [r.id for r in rejected] == [first.id]
    assert await leave.history(GUILD, CAROL) == []


async def test_leave_booked_on_carry_over_stays_covered(leave: LeaveManager, db: Database) -> None:
    # January 2027 takes 19 days: 14 of 2027's own and the 5 that carry over from 2026
    booked = (await apply(leave, date(2027, 1, 4), date(2027, 1, 28))).request
    assert booked.amount == 19
    await leave.approve(GUILD, booked.id, actor=Actor(ALICE, True), now=NOW)
    before = await snapshot(db)
    with pytest.raises(UserError, match="would leave 2027 at -1 day"):
        await apply(leave, date(2026, 12, 7), date(2026, 12, 18))  # 10 days: only 4 would carry
    assert await snapshot(db) == before
    fits = (await apply(leave, date(2026, 12, 7), date(2026, 12, 17))).request  # 9: 5 carry
    await leave.approve(GUILD, fits.id, actor=Actor(ALICE, True), now=NOW)
    assert (await balance(leave, year=2027)).available == 0


async def test_pending_page_reads_one_page_of_the_pending_requests(leave: LeaveManager) -> None:
    filed = []
    for k in range(7):  # one day each, a minute apart: oldest first is filing order
        result = await apply(
            leave, THU + timedelta(days=7 * k), user=100 + k, now=NOW + timedelta(minutes=k)
        )
        filed.append(result.request.id)
    await leave.approve(GUILD, filed[1], actor=Actor(ALICE, True), now=NOW)
    waiting = [i for i in filed if i != filed[1]]
    assert [r.id for r in await leave.pending_requests(GUILD)] == waiting
    total, page, shown = await leave.pending_page(GUILD, 0, 4)
    assert (total, page, [r.id for r in shown]) == (6, 0, waiting[:4])
    total, page, shown = await leave.pending_page(GUILD, 1, 4)
    assert (total, page, [r.id for r in shown]) == (6, 1, waiting[4:])
    # past the end (the list shrank since the page was shown): the last page
    total, page, shown = await leave.pending_page(GUILD, 5, 4)
    assert (total, page, [r.id for r in shown]) == (6, 1, waiting[4:])
    assert shown[0] == (await leave.pending_requests(GUILD))[4]
    for request_id in waiting:
        await leave.approve(GUILD, request_id, actor=Actor(ALICE, True), now=NOW)
    assert await leave.pending_page(GUILD, 3, 4) == (0, 0, [])

"""The leave write path makes some values as text or by position instead of through the general
code (audit JSON, a request read by position): the same results as the general code."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.actor import Actor
from concord.core.leave import Accrual, LeaveRequest, Portion, RequestStatus, Span, iso_day
from concord.db.guilds import AuditJson, _audit_json, write_audit
from concord.db.leave import LeaveManager, PolicyChange
from concord.db.leave.records import (
    PENDING_AUDIT,
    REQUEST_COLUMNS,
    SQL_REQUEST,
    SQL_REQUEST_ROW,
    SQL_TYPE_BY_ID,
    SQL_TYPE_BY_NAME,
    SQL_TYPES,
    TYPE_COLUMNS,
    _decision_audit_json,
    _request_audit,
    _request_audit_json,
    _request_from_row,
    _request_from_tuple,
    _type_from_row,
)
from concord.db.portable import Conn

GUILD = 1
ALICE, BOB = 10, 20  # alice is a manager
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MONDAY = date(2027, 1, 4)

texts = st.text(max_size=30)  # any characters: quotes, backslashes, controls, non-ASCII
times = st.none() | st.builds(time, st.integers(0, 23), st.integers(0, 59))


@given(
    name=texts,
    user_id=st.integers(0, 2**63 - 1),
    start=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    length=st.integers(0, 40),
    portion=st.sampled_from(Portion),
    from_time=times,
    to_time=times,
    amount=st.fractions(min_value=0, max_value=100, max_denominator=480),
    status=st.sampled_from(RequestStatus),
    auto=st.booleans(),
    held=st.none() | texts,
)
def test_request_audit_text_is_what_the_encoder_makes(
    name: str,
    user_id: int,
    start: date,
    length: int,
    portion: Portion,
    from_time: time | None,
    to_time: time | None,
    amount: Fraction,
    status: RequestStatus,
    auto: bool,
    held: str | None,
) -> None:
    span = Span(start, start + timedelta(days=length), portion, from_time, to_time)
    request = LeaveRequest(1, GUILD, user_id, 3, name, span, amount, True, None, status, 5, NOW)
    expected: dict[str, Any] = {**_request_audit(request), "auto_approved": auto}
    if held is not None:
        expected["held"] = held
    text = _request_audit_json(request, auto, held)
    assert type(text) is AuditJson
    assert str(text) == _audit_json(expected)
    assert json.loads(text) == expected


@given(status=st.sampled_from(["approved", "rejected"]), note=st.none() | texts)
def test_decision_audit_text_is_what_the_encoder_makes(status: str, note: str | None) -> None:
    assert str(_decision_audit_json(status, note)) == _audit_json({"status": status, "note": note})
    assert str(PENDING_AUDIT) == _audit_json({"status": "pending"})


async def test_audit_text_is_stored_as_plain_text(db: Any) -> None:
    """On either backend: the column holds the text itself (as a dict passed in would be)."""

    def write(conn: Conn) -> None:
        write_audit(
            conn,
            guild_id=GUILD,
            actor_id=ALICE,
            action="t.text",
            subject="x",
            before=PENDING_AUDIT,
            after={"status": "pending"},
            now=NOW,
        )

    await db.write(write)
    row = await db.fetchone("SELECT before, after FROM audit_log WHERE action = 't.text'")
    assert row is not None
    assert row["before"] == row["after"] == '{"status": "pending"}'


async def test_a_request_read_by_position_is_the_request_read_by_name(db: Any) -> None:
    """Every shape of request (hours, a note, decided, cancelled): ``SQL_REQUEST_ROW`` read by
    position gives the request ``SELECT *`` read by name gives, on either backend."""
    leave = LeaveManager(db)
    bob, alice = Actor(BOB, False), Actor(ALICE, True)
    ids = []
    first = await leave.apply(
        GUILD,
        actor=bob,
        user_id=BOB,
        leave_type="Annual",
        start=MONDAY,
        reason="Trip 'north' \u00e9",
        now=NOW,
    )
    ids.append(first.request.id)
    await leave.approve(GUILD, first.request.id, actor=alice, now=NOW)
    hours = await leave.apply(
        GUILD,
        actor=bob,
        user_id=BOB,
        leave_type="Annual",
        start=MONDAY + timedelta(days=1),
        portion=Portion.OFF_DUTY,
        from_time=time(9, 30),
        to_time=time(11, 0),
        now=NOW,
    )
    ids.append(hours.request.id)
    await leave.reject(GUILD, hours.request.id, actor=alice, note='Busy "week"', now=NOW)
    gone = await leave.apply(
        GUILD,
        actor=bob,
        user_id=BOB,
        leave_type="Annual",
        start=MONDAY + timedelta(days=2),
        portion=Portion.HALF_DAY_AM,
        now=NOW,
    )
    ids.append(gone.request.id)
    await leave.cancel(GUILD, gone.request.id, actor=bob, now=NOW)
    pending = await leave.apply(
        GUILD,
        actor=bob,
        user_id=BOB,
        leave_type="Annual",
        start=MONDAY + timedelta(days=7),
        end=MONDAY + timedelta(days=9),
        now=NOW,
    )
    ids.append(pending.request.id)
    for request_id in ids:
        by_name = await db.fetchone(SQL_REQUEST, (GUILD, request_id))
        by_position = await db.fetchone(SQL_REQUEST_ROW, (GUILD, request_id))
        request = _request_from_tuple(tuple(by_position))
        assert request == _request_from_row(by_name)
        assert repr(request) == repr(_request_from_row(by_name))
    statuses = [(await leave.get_request(GUILD, i)).status for i in ids]
    assert statuses == [
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
        RequestStatus.CANCELLED,
        RequestStatus.PENDING,
    ]


def test_the_queries_read_by_position_name_their_columns_in_order() -> None:
    assert SQL_REQUEST_ROW.startswith(f"SELECT {', '.join(REQUEST_COLUMNS)} FROM leave_requests ")
    for sql in (SQL_TYPES, SQL_TYPE_BY_NAME, SQL_TYPE_BY_ID):
        assert sql.startswith(f"SELECT {', '.join(TYPE_COLUMNS)} FROM leave_types WHERE")


async def test_a_type_read_by_position_is_the_type_read_by_name(db: Any) -> None:
    """Every setting of a type (an archived one too), on either backend: the type queries'
    rows by position make the type ``SELECT *`` makes by name; a row of other columns is
    refused rather than read wrongly."""
    leave = LeaveManager(db)
    await leave.types(GUILD, now=NOW)
    await leave.set_policy(
        GUILD,
        "Study",
        PolicyChange(
            allowance=Fraction(7, 2),
            accrual=Accrual.MONTHLY,
            carryover_cap=Fraction(1, 2),
            requires_approval=False,
            allow_negative=True,
        ),
        actor=Actor(ALICE, True),
        now=NOW,
    )
    await leave.set_policy(
        GUILD, "Casual", PolicyChange(archive=True), actor=Actor(ALICE, True), now=NOW
    )
    everything = await db.fetchall(
        "SELECT * FROM leave_types WHERE guild_id = ? ORDER BY id", (GUILD,)
    )
    rows = await db.fetchall(SQL_TYPES, (GUILD,))
    assert len(rows) == len(everything) == 6
    for row, full in zip(rows, everything, strict=True):
        ltype = _type_from_row(row)
        assert ltype.id == full["id"] and ltype.name == full["name"]
        assert ltype.archived == (full["archived_at"] is not None)
        assert ltype.settings.accrual.value == full["accrual"]
        assert ltype.settings.allow_negative == bool(full["allow_negative"])
        assert ltype.settings.requires_approval == bool(full["requires_approval"])
        assert (ltype.settings.allowance is None) == (full["allowance"] is None)
        by_name = await db.fetchone(SQL_TYPE_BY_NAME, (GUILD, full["name"]))
        by_id = await db.fetchone(SQL_TYPE_BY_ID, (GUILD, full["id"]))
        assert _type_from_row(by_name) == _type_from_row(by_id) == ltype
    study = {t.name: t for t in await leave.types(GUILD, now=NOW)}["Study"]
    assert study.settings.allowance == Fraction(7, 2)
    assert study.settings.carryover_cap == Fraction(1, 2)
    with pytest.raises(ValueError, match="columns"):
        _type_from_row(everything[0])


@given(day=st.dates())
def test_a_cached_day_text_is_its_isoformat(day: date) -> None:
    assert iso_day(day) == day.isoformat()
    assert iso_day(day) == day.isoformat()  # from the cache

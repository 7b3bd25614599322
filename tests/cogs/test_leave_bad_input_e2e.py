"""Bad input to every leave command option: a clear ephemeral error, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import leave_state

APPLY = {"leave_type": "Annual", "start": "2026-12-03"}

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # /leave apply
    ("bob", "leave apply", {**APPLY, "leave_type": "Holiday"}, "no leave type called `Holiday`"),
    ("bob", "leave apply", {**APPLY, "start": "someday"}, "`someday` is not a date I understand"),
    ("bob", "leave apply", {**APPLY, "start": "2026-02-30"}, "`2026-02-30` is not a real date"),
    ("bob", "leave apply", {**APPLY, "end": "whenever"}, "`whenever` is not a date"),
    ("bob", "leave apply", {**APPLY, "end": "2026-12-02"}, "is before the start date"),
    ("bob", "leave apply", {**APPLY, "start": "2026-10-01"}, "more than 30 days in the past"),
    ("bob", "leave apply", {**APPLY, "end": "2027-03-01"}, "the longest allowed is 60"),
    (
        "bob",
        "leave apply",
        {**APPLY, "start": "sat"},
        "is not a working day here (the office works Mon–Fri)",
    ),
    ("bob", "leave apply", {**APPLY, "end": "2027-01-08"}, "Not enough Annual leave in 2026"),
    ("bob", "leave apply", {**APPLY, "portion": "off_duty"}, "Off duty needs `from_time`"),
    (
        "bob",
        "leave apply",
        {**APPLY, "portion": "off_duty", "from_time": "9 sharp", "to_time": "10:00"},
        "`9 sharp` is not a time",
    ),
    (
        "bob",
        "leave apply",
        {**APPLY, "portion": "off_duty", "from_time": "09:00", "to_time": "25:00"},
        "`25:00` is not a time",
    ),
    (
        "bob",
        "leave apply",
        {**APPLY, "portion": "off_duty", "from_time": "15:00", "to_time": "14:00"},
        "must be after `from_time`",
    ),
    (
        "bob",
        "leave apply",
        {**APPLY, "from_time": "09:00"},
        "only for the Off duty (hours) portion",
    ),
    (
        "bob",
        "leave apply",
        {**APPLY, "portion": "half_day_am", "end": "2026-12-04"},
        "covers one day only",
    ),
    ("carol", "leave apply", {**APPLY, "member": "bob"}, "Only managers can request leave"),
    # /leave cancel
    ("bob", "leave cancel", {"request": "abc"}, "`abc` is not a request number"),
    ("bob", "leave cancel", {"request": "999"}, "There is no leave request #999"),
    # /leave out, /leave calendar
    ("bob", "leave out", {"date": "nope"}, "`nope` is not a date I understand"),
    (
        "bob",
        "leave calendar",
        {"month": "Smarch"},
        "`Smarch` is not a month; use YYYY-MM or a month name (Dec, December 2026).",
    ),
    ("bob", "leave calendar", {"month": "2026-13"}, "`2026-13` is not a real date"),
    # /leave policy
    (
        "alice",
        "leave policy",
        {"leave_type": "Annual", "allowance": "lots"},
        "not a number of days",
    ),
    ("alice", "leave policy", {"leave_type": "Annual", "allowance": "400"}, "more than 366"),
    ("alice", "leave policy", {"leave_type": "<b>Bold</b>"}, "not a usable leave type name"),
    # /leave allowance
    (
        "alice",
        "leave allowance",
        {"member": "bob", "leave_type": "Holiday", "days": 3},
        "no leave type called `Holiday`",
    ),
    (
        "alice",
        "leave allowance",
        {"member": "bob", "leave_type": "Unpaid", "days": 3},
        "Unpaid has no balance",
    ),
    (
        "alice",
        "leave allowance",
        {"member": "bob", "leave_type": "Annual", "days": 0.0001},
        "too fine-grained",
    ),
    # /leave adjust
    (
        "alice",
        "leave adjust",
        {"member": "bob", "leave_type": "Annual", "days": 0, "reason": "x"},
        "changes nothing",
    ),
    (
        "alice",
        "leave adjust",
        {"member": "bob", "leave_type": "Work from home", "days": 1, "reason": "x"},
        "has no balance to adjust",
    ),
    (
        "alice",
        "leave adjust",
        {"member": "bob", "leave_type": "Annual", "days": 1, "reason": "   "},
        "Give a reason",
    ),
    (
        "alice",
        "leave adjust",
        {"member": "bob", "leave_type": "Holiday", "days": 1, "reason": "x"},
        "no leave type called `Holiday`",
    ),
    # /leave holiday ...
    ("alice", "leave holiday add", {"date": "soon", "name": "Party"}, "`soon` is not a date"),
    (
        "alice",
        "leave holiday add",
        {"date": "2026-12-24", "name": "   "},
        "Give the holiday a name",
    ),
    ("alice", "leave holiday remove", {"date": "soon"}, "`soon` is not a date"),
    ("alice", "leave holiday remove", {"date": "2026-12-24"}, "There is no holiday on"),
    ("alice", "leave holiday import", {"country": "ZZ"}, "`ZZ` is not a country"),
    (
        "alice",
        "leave holiday import",
        {"country": "US", "subdivision": "ZZ"},
        "`ZZ` is not a subdivision of US",
    ),
    # /leave export
    ("bob", "leave export", {"format": "csv", "start": "soon"}, "`soon` is not a date"),
    (
        "bob",
        "leave export",
        {"format": "csv", "start": "2026-12-10", "end": "2026-12-01"},
        "is before the start",
    ),
    (
        "bob",
        "leave export",
        {"format": "ics", "start": "2020-01-01", "end": "2026-01-01"},
        "at most three years",
    ),
]


@pytest.mark.parametrize(
    ("actor", "command", "options", "message"),
    CASES,
    ids=[f"{c[1]}:{'/'.join(f'{k}={v}' for k, v in c[2].items())}" for c in CASES],
)
async def test_bad_input_is_refused_clearly_and_changes_nothing(
    sandbox: Sandbox, actor: str, command: str, options: dict[str, Any], message: str
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("bob", "leave types")  # the default types exist before we compare
    before = await leave_state(sandbox)
    approvals = len(sandbox.messages("approvals"))
    reply = await sandbox.slash(actor, command, **options)
    assert reply.ephemeral
    assert message in reply.text
    assert reply.files == []
    assert await leave_state(sandbox) == before
    assert len(sandbox.messages("approvals")) == approvals

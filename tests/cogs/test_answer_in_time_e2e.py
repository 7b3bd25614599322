"""Discord waits 3 seconds for the first answer to an interaction (then: 10062 Unknown
interaction). Commands and buttons that touch the database more than once acknowledge first
when their work outlasts the answer budget (``acknowledge_later``).

The harness: a disk on which every database call takes 1.6 s of the emulator's interaction
clock, longer than the budget (which is therefore 0 here: the bot's timers run on real time,
the slow disk on the emulator's). A handler that makes two calls before its first answer or
acknowledgement is then too late, and the emulator refuses the answer, which fails the test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from concord.cogs import common
from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator import ManualMonotonic
from tests.cogs.leave_helpers import apply
from tests.cogs.leave_helpers import card as leave_card

pytestmark = pytest.mark.sandbox(monotonic=ManualMonotonic())
SECONDS_PER_CALL = 1.6


def slow_disk(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, seconds: float = SECONDS_PER_CALL
) -> None:
    db = sandbox.db
    clock = sandbox.emulator.monotonic
    assert isinstance(clock, ManualMonotonic)
    write, run_sync, read = db.write, db.run_sync, db.read
    fetchall, fetch_many = db.fetchall, db.fetch_many

    async def slow_write(fn: Any, *args: Any) -> Any:
        clock.advance(seconds)
        return await write(fn, *args)

    async def slow_run_sync(fn: Any, *args: Any) -> Any:
        clock.advance(seconds)
        return await run_sync(fn, *args)

    @contextlib.asynccontextmanager
    async def slow_read() -> AsyncIterator[Any]:
        clock.advance(seconds)
        async with read() as conn:
            yield conn

    async def slow_fetchall(sql: str, params: Any = ()) -> Any:
        clock.advance(seconds)  # fetchone reads through fetchall
        return await fetchall(sql, params)

    async def slow_fetch_many(queries: Any) -> Any:
        clock.advance(seconds)
        return await fetch_many(queries)

    monkeypatch.setattr(common, "ANSWER_BUDGET", 0.0)
    monkeypatch.setattr(db, "fetchall", slow_fetchall)
    monkeypatch.setattr(db, "fetch_many", slow_fetch_many)
    monkeypatch.setattr(db, "write", slow_write)
    monkeypatch.setattr(db, "run_sync", slow_run_sync)
    monkeypatch.setattr(db, "read", slow_read)


async def test_the_slow_disk_makes_a_read_before_an_answer_too_late(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /task edit opens a modal, which must be the first answer, after reading the task (the
    # guild's settings are cached since): proof that the harness catches a handler whose reads
    # before answering outlast the 3-second window.
    await sandbox.configure_office()
    await sandbox.slash("bob", "task create", title="Fix the printer")
    slow_disk(sandbox, monkeypatch, seconds=3.1)
    with sandbox.expect_errors() as caught:
        await sandbox.slash("bob", "task edit", task="1")
    codes = {r.error and r.error["code"] for r in caught.requests}
    assert caught.requests and codes == {10062}


@pytest.mark.parametrize(
    ("member", "button"), [("alice", "Start"), ("alice", "Done"), ("bob", "Claim")]
)
async def test_task_card_buttons(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, member: str, button: str
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "task create", title="Fix the printer")
    card = sandbox.last_message("tasks")
    slow_disk(sandbox, monkeypatch)
    reply = await sandbox.click(member, card, button)
    assert reply.type == 6 and reply.message == card
    assert card.edited


async def test_leave_approve_and_the_pending_pages(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.configure_office()
    for day in (3, 4, 7, 8, 9, 10):  # after one is approved, five: two pages of four
        await apply(sandbox, start=f"2026-12-{day:02d}")
    pending = await sandbox.slash("alice", "leave pending")
    slow_disk(sandbox, monkeypatch)
    reply = await sandbox.click("alice", leave_card(sandbox, 1), "Approve")
    assert reply.type == 6 and "Approved by Alice" in leave_card(sandbox, 1).text
    reply = await sandbox.click("alice", pending, "Next ▶")
    assert reply.type == 6 and "Page 2/2" in reply.text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("dar view", {"member": "bob"}),
        ("dar missing", {}),
        ("dar summary", {}),
        ("dar stats", {}),
        ("dar export", {"start": "today", "end": "today", "format": "csv"}),
        ("dar panel", {}),
        ("concord timezone", {"timezone": "clear"}),
    ],
)
async def test_commands_that_read_more_than_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, command: str, options: dict[str, Any]
) -> None:
    await sandbox.configure_office()
    slow_disk(sandbox, monkeypatch)
    reply = await sandbox.slash("alice", command, **options)
    assert reply.type == 5 and reply.ephemeral and reply.text


# -- the answer budget: quick work is answered in one call, slow work deferred in time --------
async def test_quick_commands_and_clicks_are_answered_directly(sandbox: Sandbox) -> None:
    # One REST call per answer: the message itself (4) or the clicked card's update (7), no
    # "thinking…" deferral (5, 6) followed by an edit.
    await sandbox.configure_office()
    created = await sandbox.slash("alice", "task create", title="Fix the printer", assignee="alice")
    assert created.type == 4 and created.ephemeral and "Created task #1" in created.text
    card = sandbox.last_message("tasks")
    started = await sandbox.click("alice", card, "Start")
    assert started.type == 7 and started.message == card and card.edited
    mine = await sandbox.slash("alice", "task mine")
    assert mine.type == 4 and "Fix the printer" in mine.text
    applied = await apply(sandbox)
    assert applied.type == 4 and applied.ephemeral
    pending = await sandbox.slash("alice", "leave pending")
    assert pending.type == 4 and "#1" in pending.text
    approved = await sandbox.click("alice", leave_card(sandbox, 1), "Approve")
    assert approved.type == 7 and "Approved by Alice" in leave_card(sandbox, 1).text
    # The pending list's buttons still work after it was sent as the initial response.
    await apply(sandbox, start="2026-12-04")
    listed = await sandbox.slash("alice", "leave pending")
    decided = await sandbox.click("alice", listed, "Approve #2")
    assert decided.type == 7 and "Approved request #2." in decided.text


def held_reads(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read waits until the interaction being handled has been acknowledged: the work
    outlasts any budget, without sleeping (the budget itself is a tiny real one)."""
    db, emulator = sandbox.db, sandbox.emulator
    fetchall = db.fetchall

    async def held_fetchall(sql: str, params: Any = ()) -> Any:
        newest = emulator.interactions[max(emulator.interactions)]
        await newest.responded.wait()
        return await fetchall(sql, params)

    monkeypatch.setattr(common, "ANSWER_BUDGET", 0.001)
    monkeypatch.setattr(db, "fetchall", held_fetchall)


async def test_work_past_the_budget_is_deferred_then_answered(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "task create", title="Fix the printer", assignee="alice")
    card = sandbox.last_message("tasks")
    held_reads(sandbox, monkeypatch)
    mine = await sandbox.slash("alice", "task mine")
    assert mine.type == 5 and mine.ephemeral and "Fix the printer" in mine.text
    assert not any(message.loading for message in mine.messages)
    started = await sandbox.click("alice", card, "Start")
    assert started.type == 6 and started.message == card and card.edited

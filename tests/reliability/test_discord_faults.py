"""Discord misbehaving while many interactions are in flight.

Rate limits (429 with Retry-After) on messages, edits, callbacks and followups, server errors,
an op 7 reconnect and a dropped gateway connection, all while managers approve leave and
members finish recurring tasks, several of them clicking the same button at the same moment:

- every interaction is answered, or, when its callback could not be delivered (Discord had
  already given up on it), what it did is saved completely;
- a retry by the user never applies anything twice: an approval clicked again says "already
  approved", a task's Done clicked again makes no second completion and no second occurrence;
- nothing is logged as an unexpected error.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from concord.sandbox.driver import Message, Reply, Sandbox
from concord.sandbox.emulator.interactions import APPLICATION_COMMAND, MESSAGE_COMPONENT
from concord.sandbox.emulator.server import ManualMonotonic

MESSAGES = "POST /channels/{channel_id}/messages"
EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"
CALLBACK = "POST /interactions/{webhook_id}/{webhook_token}/callback"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"
STAFF = ("bob", "carol", "dave")
LEAVE_DAYS = ("2026-12-02", "2026-12-03", "2026-12-04")


# -- the office's state ------------------------------------------------------------------------
async def rows(sandbox: Sandbox, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in await sandbox.db.fetchall(sql, params)]


async def seed_leave(sandbox: Sandbox, days: tuple[str, ...] = LEAVE_DAYS) -> list[int]:
    """Each staff member asks for one day off on each of ``days``: pending requests."""
    for member in STAFF:
        for day in days:
            reply = await sandbox.slash(member, "leave apply", leave_type="Annual", start=day)
            assert "submitted" in reply.text.lower(), reply.text
    found = await rows(sandbox, "SELECT id FROM leave_requests WHERE status = 'pending'")
    return [row["id"] for row in found]


async def seed_tasks(sandbox: Sandbox, per_member: int) -> dict[int, str]:
    """alice gives each staff member weekly tasks; task id -> assignee."""
    made: dict[int, str] = {}
    for member in STAFF:
        for n in range(per_member):
            reply = await sandbox.slash(
                "alice",
                "task create",
                title=f"Weekly check {member} {n}",
                assignee=member,
                due="2026-12-04",
                repeat="weekly",
            )
            assert "Created task #" in reply.text, reply.text
            made[int(reply.text.split("Created task #")[1].split()[0])] = member
    return made


def card_with(sandbox: Sandbox, channel: str, custom_id: str) -> Message:
    for message in sandbox.messages(channel):
        if any(b.custom_id == custom_id for b in message.buttons):
            return message
    raise AssertionError(f"no message in #{channel} has the button {custom_id}")


async def assert_approved_once(sandbox: Sandbox, request_ids: list[int]) -> None:
    """Approved, one debit of the one day, one audited approval: never applied twice."""
    for request_id in request_ids:
        (request,) = await rows(
            sandbox, "SELECT status FROM leave_requests WHERE id = ?", (request_id,)
        )
        assert request["status"] == "approved", request_id
        debits = await rows(
            sandbox,
            "SELECT amount FROM leave_ledger WHERE request_id = ? AND kind = 'debit'",
            (request_id,),
        )
        assert len(debits) == 1, (request_id, debits)
        audits = await rows(
            sandbox,
            "SELECT id FROM audit_log WHERE action = 'leave.approve' AND subject = ?",
            (f"leave:{request_id}",),
        )
        assert len(audits) == 1, (request_id, audits)


async def assert_done_once(sandbox: Sandbox, task_ids: list[int]) -> None:
    """Done, one completion in its history, exactly one next occurrence."""
    for task_id in task_ids:
        (task,) = await rows(sandbox, "SELECT status FROM tasks WHERE id = ?", (task_id,))
        assert task["status"] == "done", task_id
        completions = await rows(
            sandbox,
            "SELECT id FROM task_events WHERE task_id = ? AND kind = 'status' "
            "AND to_value = 'done'",
            (task_id,),
        )
        assert len(completions) == 1, (task_id, completions)
        following = await rows(
            sandbox, "SELECT id, status FROM tasks WHERE previous_id = ?", (task_id,)
        )
        assert [row["status"] for row in following] == ["open"], (task_id, following)


# -- rate limits and server errors under load --------------------------------------------------
# The emulator's 3-second rule runs on a manual clock here: what is tested is that answers
# arrive through the faults; how fast they are is the benchmarks' business.
@pytest.mark.slow
@pytest.mark.sandbox(monotonic=ManualMonotonic())
async def test_rate_limits_and_server_errors_under_load(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    requests = await seed_leave(sandbox)
    tasks = await seed_tasks(sandbox, per_member=3)
    emulator = sandbox.emulator
    faults = [
        emulator.inject_rate_limit(MESSAGES, retry_after=0.02, times=4),
        emulator.inject_rate_limit(EDITS, retry_after=0.02, times=4),
        emulator.inject_rate_limit(CALLBACK, retry_after=0.02, times=4),
        emulator.inject_rate_limit(FOLLOWUP, retry_after=0.02, times=3),
        # discord.py retries a 502 on a bot route and any 5xx on a callback once a second later.
        emulator.inject_error(MESSAGES, 502, message="Bad Gateway"),
        emulator.inject_error(CALLBACK, 500),
        # A 503 on an edit is not retried: the card stays stale, the action still stands.
        emulator.inject_error(EDITS, 503, message="Service Unavailable"),
    ]
    clicks: list[Any] = []
    for request_id in requests:
        approval = card_with(sandbox, "approvals", f"leave:approve:{request_id}")
        # Two managers approve the same request at the same moment.
        clicks.append(sandbox.click("alice", approval, custom_id=f"leave:approve:{request_id}"))
        clicks.append(sandbox.click("owner", approval, custom_id=f"leave:approve:{request_id}"))
    for task_id, member in tasks.items():
        task_card = card_with(sandbox, "tasks", f"task:done:{task_id}")
        # A double click on Done.
        clicks.append(sandbox.click(member, task_card, custom_id=f"task:done:{task_id}"))
        clicks.append(sandbox.click(member, task_card, custom_id=f"task:done:{task_id}"))
    commands = [sandbox.slash(member, "task mine") for member in STAFF]
    commands += [sandbox.slash(member, "leave balance") for member in STAFF]
    replies: list[Reply] = await asyncio.gather(*clicks, *commands)

    assert all(reply.responded for reply in replies)
    assert all(fault.times == 0 for fault in faults), [f for f in faults if f.times]
    approvals = replies[: 2 * len(requests)]
    for first, second in zip(approvals[::2], approvals[1::2], strict=True):
        texts = sorted((first.text, second.text), key=lambda t: "already" in t)
        assert "already approved" not in texts[0] and "already approved" in texts[1], texts
    await assert_approved_once(sandbox, requests)
    await assert_done_once(sandbox, list(tasks))


# -- the gateway going away ----------------------------------------------------------------------
@pytest.mark.sandbox(monotonic=ManualMonotonic())
async def test_op7_reconnect_and_a_dropped_connection_with_interactions_in_flight(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    requests = await seed_leave(sandbox)
    tasks = await seed_tasks(sandbox, per_member=2)
    gateway = sandbox.emulator.gateway
    approvals = [
        sandbox.click(
            "alice",
            card_with(sandbox, "approvals", f"leave:approve:{request_id}"),
            custom_id=f"leave:approve:{request_id}",
        )
        for request_id in requests
    ]
    done = [
        sandbox.click(
            member,
            card_with(sandbox, "tasks", f"task:done:{task_id}"),
            custom_id=f"task:done:{task_id}",
        )
        for task_id, member in tasks.items()
    ]
    clicks = [asyncio.ensure_future(click) for click in [*approvals, *done]]
    # Some interactions reach the bot, then Discord asks it to reconnect; a little later the
    # connection drops; the rest arrive when it resumes.
    for _ in range(3):
        await asyncio.sleep(0)
    await gateway.request_reconnect()
    await asyncio.sleep(0)
    await gateway.drop()
    replies = await asyncio.gather(*clicks)
    assert all(reply.responded for reply in replies)
    await gateway.wait_until(lambda: gateway.resume_count >= 1 and gateway.connected)
    assert gateway.identify_count == 1  # resumed, never re-identified
    await assert_approved_once(sandbox, requests)
    await assert_done_once(sandbox, list(tasks))


@pytest.mark.sandbox(monotonic=ManualMonotonic())
async def test_interactions_replayed_too_late_complete_or_do_nothing_and_retries_apply_once(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    requests = await seed_leave(sandbox, days=LEAVE_DAYS[:1])
    tasks = await seed_tasks(sandbox, per_member=1)
    emulator, gateway = sandbox.emulator, sandbox.emulator.gateway
    clicks = [("alice", "approvals", f"leave:approve:{request_id}") for request_id in requests]
    clicks += [(member, "tasks", f"task:done:{task_id}") for task_id, member in tasks.items()]
    # The cards as the members' clients show them now: a retry clicks these again.
    seen = {
        custom_id: Message(sandbox, copy.deepcopy(card_with(sandbox, channel, custom_id).stored))
        for _, channel, custom_id in clicks
    }
    # The connection drops; the members click meanwhile; the bot is away for more than the
    # 3 seconds Discord waits for an answer, then resumes and gets the clicks replayed.
    await gateway.drop()
    records = [
        emulator.new_interaction(
            kind=MESSAGE_COMPONENT,
            user=sandbox.member(member),
            channel=sandbox.channel(channel),
            data={"custom_id": custom_id, "component_type": 2},
            message=seen[custom_id].stored,
        )
        for member, channel, custom_id in clicks
    ]
    # A command sent meanwhile: it defers first, so too late it does nothing at all.
    late_command = sandbox.payloads.command_data(
        sandbox.member("bob"),
        sandbox.channel("general"),
        "task create",
        {"title": "Written while the bot was away"},
        focused=None,
    )
    records.append(
        emulator.new_interaction(
            kind=APPLICATION_COMMAND,
            user=sandbox.member("bob"),
            channel=sandbox.channel("general"),
            data=late_command,
        )
    )

    async def replay_late() -> None:
        received = [
            asyncio.ensure_future(
                sandbox.bot.wait_for("interaction", check=lambda i, r=r: i.id == r.id, timeout=10)
            )
            for r in records
        ]
        for record in records:
            await emulator.send_interaction(record)
        emulator.monotonic.advance(4)
        await asyncio.gather(*received)

    with sandbox.expect_errors() as caught:
        await sandbox.run(replay_late())
    assert not any(record.acknowledged for record in records)
    assert {(r.route, r.status) for r in caught.requests} == {(CALLBACK, 404)}
    assert caught.logs == [], caught.log_messages
    # What the clicks did is saved in full, and carried out in Discord without the answers:
    # the cards show it, the requesters are told, the next occurrences have their cards.
    await assert_approved_once(sandbox, requests)
    await assert_done_once(sandbox, list(tasks))
    for request_id in requests:
        approval = Message(sandbox, emulator.world.messages[seen[f"leave:approve:{request_id}"].id])
        assert approval.buttons == [], approval.text
        (requester,) = await rows(
            sandbox, "SELECT user_id FROM leave_requests WHERE id = ?", (request_id,)
        )
        member = next(m for m in STAFF if sandbox.member(m).id == requester["user_id"])
        assert any(
            f"request #{request_id} was approved" in dm.text for dm in sandbox.dms(member)
        ), member
    for task_id in tasks:
        task_card = Message(sandbox, emulator.world.messages[seen[f"task:done:{task_id}"].id])
        assert [b.label for b in task_card.buttons] == ["Reopen"], task_card.text
        (following,) = await rows(sandbox, "SELECT id FROM tasks WHERE previous_id = ?", (task_id,))
        card_with(sandbox, "tasks", f"task:done:{following['id']}")
    late = "SELECT id FROM tasks WHERE title = 'Written while the bot was away'"
    assert await rows(sandbox, late) == []
    # A retry from what the member still sees applies nothing twice; the command, once.
    for member, _, custom_id in clicks:
        reply = await sandbox.click(member, seen[custom_id], custom_id=custom_id)
        assert "already" in reply.text, reply.text
    await sandbox.slash("bob", "task create", title="Written while the bot was away")
    await assert_approved_once(sandbox, requests)
    await assert_done_once(sandbox, list(tasks))
    assert len(await rows(sandbox, late)) == 1

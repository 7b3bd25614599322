"""Mentions are denied by default: every message the bot sends or edits with text says
explicitly whom it may ping, and only the messages meant to ping name anyone — the pending-leave
reminder its manager role, an overdue escalation its assignee and creator. A mention typed into a
title or a reason pings nobody.

The messages come from the shipped tour (leave, approvals, DMs, tasks, escalations, boards, the
DAR digest, reminders and summary) plus a leave reminder, all with mentions in the user text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from concord.core import task_board
from concord.sandbox.console import Console
from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator.server import RecordedRequest

pytestmark = pytest.mark.slow

TOUR = Path(__file__).resolve().parents[2] / "examples" / "tour.sandbox"


def message_body(request: RecordedRequest) -> dict[str, Any] | None:
    """The message a request creates or edits (an interaction callback's ``data``)."""
    body = request.body
    if not isinstance(body, dict):
        return None
    if request.route.startswith("POST /interactions/"):
        data = body.get("data")
        return data if isinstance(data, dict) and body.get("type") in (4, 7) else None
    if request.method in ("POST", "PATCH") and (
        "/messages" in request.route or request.route.startswith("POST /webhooks/")
    ):
        return body
    return None


async def run_tour(sandbox: Sandbox) -> None:
    console = Console(sandbox, lambda _line: None)
    lines = iter(
        line.replace("Family trip", "Family trip @everyone <@&{staff}>").replace(
            'report" assignee', 'report <@{carol}>" assignee'
        )
        for line in TOUR.read_text(encoding="utf-8").splitlines()
    )
    ids = {"staff": sandbox.role("Staff").id, "carol": sandbox.member("carol").id}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert await console.execute(line.format(**ids)), line
        while console.pending is not None and not console.failed:
            await console.submit([next(lines, "").strip() for _ in console.questions()])
        assert not console.failed, line


async def test_every_message_says_whom_it_may_ping(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    await sandbox.configure_office()
    sandbox.strict = False  # the console reads the world as the tour goes
    await run_tour(sandbox)
    # A request left pending past the reminder threshold: the managers are reminded.
    await sandbox.slash(
        "carol",
        "leave apply",
        leave_type="Annual",
        start="2026-12-14",
        reason=f"<@&{sandbox.role('Staff').id}>",
    )
    sandbox.clock.set(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())

    texts = [
        (request, body)
        for request in sandbox.emulator.requests
        if (body := message_body(request)) is not None and body.get("content")
    ]
    assert len(texts) > 10
    for request, body in texts:
        allowed = body.get("allowed_mentions")
        assert isinstance(allowed, dict), f"{request.describe()} has no allowed_mentions"
        assert not allowed.get("parse"), f"{request.describe()} parses {allowed['parse']}"

    bot_id = sandbox.emulator.bot_user.id
    sent = [m for m in sandbox.emulator.world.messages.values() if m.author_id == bot_id]
    pinged = [m for m in sent if m.pings is not None and any(m.pings)]
    reminder = [m for m in pinged if "been waiting" in m.content]
    escalation = [m for m in pinged if "is overdue" in m.content]
    assert reminder and escalation, [m.content for m in pinged]
    assert len(pinged) == len(reminder) + len(escalation)
    # The manager role, and the admins a long-waiting request is escalated to (here the owner:
    # alice, the other Manage Server member, is reminded through the role) — each named.
    for message in reminder:
        users, roles, everyone = message.pings
        assert roles == [sandbox.role("Manager").id] and not everyone
        assert set(users) <= {sandbox.member("owner").id}
        assert all(f"<@{user}>" in message.content for user in users)
    for message in escalation:
        assert not message.pings[1] and not message.pings[2]

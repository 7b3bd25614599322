"""Issue 16, item 17: a time in text is shown in each reader's own timezone — as a Discord
timestamp (``<t:…>``) where Discord renders one — or, in plain text, says its zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from concord.clock import ManualClock
from concord.sandbox.driver import Message, Sandbox
from tests.cogs.leave_helpers import apply, card


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office(timezone="Asia/Manila")
    await sandbox.slash("dave", "concord timezone", timezone="America/New_York")


def raw(message: Message) -> str:
    """What the bot sent, before any client renders it."""
    return message.content + json.dumps(message.embeds, ensure_ascii=False)


async def test_leave_decisions_show_a_timestamp_each_reader_sees_in_their_zone(
    sandbox: Sandbox,
) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    decided = datetime(2026, 12, 1, 2, 15, tzinfo=UTC)  # 10:15 in Manila, 21:15 in New York
    clock.set(decided)
    await apply(sandbox, "dave", start="2026-12-10")
    opened = await sandbox.click("owner", card(sandbox, 1), "Reject")  # the owner hesitates…
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    stamp = int(decided.timestamp())
    assert f"Approved by Alice at <t:{stamp}:t>" in raw(card(sandbox, 1))
    # The footer cannot show a Discord timestamp: its time names the zone.
    assert raw(card(sandbox, 1)).count("10:15") == raw(card(sandbox, 1)).count(
        "10:15 (Asia/Manila)"
    )
    assert opened.modal is not None
    again = await sandbox.submit("owner", opened.modal, reason="No")
    assert again.message is not None
    assert f"already approved by Alice at <t:{stamp}:f>" in raw(again.message)


async def test_plain_text_times_name_their_zone(sandbox: Sandbox) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Manila
    refused = await sandbox.slash("dave", "task create", title="Call", due="today 9am")
    assert refused.ephemeral
    assert "(it is Tue 1 Dec 2026 10:00 now, Asia/Manila time)" in refused.text

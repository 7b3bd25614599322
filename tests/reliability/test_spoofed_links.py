"""No masked links or markdown tricks under the bot's name: whatever members type (task titles,
descriptions, comments, DAR fields, leave reasons, holiday and leave type names) shows as typed
in every card, board, DM, reminder and summary the bot sends; a plain URL stays a URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from concord.core import task_board
from concord.core.text import escape_markdown
from concord.sandbox.driver import Sandbox

pytestmark = pytest.mark.slow

SPOOF = "[Payroll: confirm your bank details](https://evil.example)"
PLAIN_URL = "https://docs.example/a_b"
TRICKS = f"{SPOOF} **urgent** see {PLAIN_URL}"
# A masked link Discord would render: "[" not escaped by a backslash, "](" and a URL.
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(\s*<?https://evil")
BOLD = re.compile(r"(?<!\\)\*\*urgent")


def texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def test_the_escape_keeps_plain_urls_and_shows_the_rest_as_typed() -> None:
    shown = escape_markdown(TRICKS)
    assert not MASKED_LINK.search(shown) and not BOLD.search(shown)
    assert PLAIN_URL in shown
    assert (
        escape_markdown("# Heading\n> quote @everyone") == "\\# Heading\n\\> quote @\u200beveryone"
    )


async def test_user_text_never_renders_as_links_or_formatting(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    await sandbox.configure_office()
    short = "[Pay](https://evil.example) **urgent**"
    await sandbox.slash("alice", "leave holiday add", date="2026-12-24", name=TRICKS)
    created = await sandbox.slash(
        "alice", "task create", title=short, assignee=sandbox.member("bob"), due="2026-12-01"
    )
    assert "Created task #1" in created.text, created.text
    await sandbox.slash("bob", "task comment", task="1", text=TRICKS)
    await sandbox.slash("bob", "task board")
    await sandbox.slash("bob", "task status", task="1", status="in_progress")
    asked = await sandbox.slash("bob", "task status", task="1", status="blocked")
    assert asked.modal is not None
    await sandbox.submit("bob", asked.modal, reason=TRICKS)  # on the card and in the DM
    await sandbox.slash("bob", "task show", task="1")
    await sandbox.slash("bob", "task list")
    applied = await sandbox.slash(
        "bob", "leave apply", leave_type="Annual", start="2026-12-03", reason=TRICKS
    )
    assert "Request #1" in applied.text, applied.text
    await sandbox.slash("bob", "leave history")
    await sandbox.slash("bob", "leave holiday list")
    await sandbox.slash("bob", "leave types")
    await sandbox.slash("alice", "leave pending")
    report = await sandbox.slash("carol", "dar submit")
    assert report.modal is not None
    await sandbox.submit(
        "carol", report.modal, done=TRICKS, plan=TRICKS, blockers=TRICKS, hours="7.5"
    )
    await sandbox.slash("alice", "dar view", member=sandbox.member("carol"))
    sandbox.clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())  # the DAR summary, the overdue escalation
    await sandbox.slash("alice", "dar summary")

    bot_id = sandbox.emulator.bot_user.id
    shown = [
        text
        for message in sandbox.emulator.world.messages.values()
        if message.author_id == bot_id
        for text in texts([message.content, message.embeds])
    ]
    spoofed = [text for text in shown if MASKED_LINK.search(text) or BOLD.search(text)]
    assert not spoofed, "\n---\n".join(spoofed)
    assert any(PLAIN_URL in text for text in shown)
    assert sum("Payroll" in text for text in shown) >= 8

"""`/concord status` shows one office only: managers only, this guild's rows, read through a
reader connection (never the writer, so it neither waits for nor holds up a write)."""

from __future__ import annotations

from typing import Any

import pytest

from concord.sandbox.driver import Sandbox
from tests.reliability.two_guilds import acting_in, invite_to_second_office

pytestmark = pytest.mark.slow


def rows(reply: Any) -> dict[str, int]:
    [field] = [f for f in reply.embeds[0]["fields"] if f["name"].startswith("Rows")]
    found = {}
    for line in field["value"].splitlines():
        name, count = line.rsplit(" ", 1)
        found[name.strip("`")] = int(count)
    return found


async def test_status_is_for_managers_and_counts_this_office_only(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.configure_office()
    for day in ("2026-12-03", "2026-12-07", "2026-12-08"):
        await sandbox.slash("bob", "leave apply", leave_type="Annual", start=day)
    second = await invite_to_second_office(sandbox)
    with acting_in(sandbox, second):
        await sandbox.configure_office()
        await sandbox.slash("grace", "leave apply", leave_type="Annual", start="2026-12-03")

    refused = await sandbox.slash("bob", "concord status")
    assert refused.ephemeral and "Manager role" in refused.text and not refused.embeds

    writer_calls: list[str] = []
    submit = sandbox.db._submit  # the one door to the writer thread

    async def spy(fn: Any, args: Any, *, in_transaction: bool) -> Any:
        writer_calls.append(getattr(fn, "__name__", repr(fn)))
        return await submit(fn, args, in_transaction=in_transaction)

    monkeypatch.setattr(sandbox.db, "_submit", spy)
    first_rows = rows(await sandbox.slash("alice", "concord status"))
    with acting_in(sandbox, second):
        second_rows = rows(await sandbox.slash("frank", "concord status"))
    assert writer_calls == []

    assert first_rows["leave_requests"] == 3 and second_rows["leave_requests"] == 1
    assert first_rows["guild_settings"] == second_rows["guild_settings"] == 1
    assert "command_sync" not in first_rows  # the bot's own rows belong to no office

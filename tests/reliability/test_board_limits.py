"""Boards cannot be multiplied: one live board per channel, at most five per guild (the oldest
stops updating, with a note), and posting a board in a new channel is for managers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from concord.core import task_board
from concord.sandbox.driver import Sandbox

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def immediate_boards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    yield


async def test_only_managers_post_a_board_in_a_new_channel(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    refused = await sandbox.slash("bob", "task board", _channel="general")
    assert refused.ephemeral and "Only managers" in refused.text
    assert sandbox.messages("general") == []
    assert await sandbox.bot.get_cog("Tasks").tasks_store.boards(sandbox.guild.id) == []  # type: ignore[union-attr]
    assert "Board posted" in (await sandbox.slash("alice", "task board", _channel="general")).text
    # Anyone may move the channel's board to the bottom.
    assert "Board posted" in (await sandbox.slash("bob", "task board", _channel="general")).text
    assert len(sandbox.messages("general")) == 1


async def test_a_guild_keeps_five_live_boards_and_the_oldest_says_it_stopped(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    world = sandbox.emulator.world
    names = [f"board-{n}" for n in range(6)]
    for name in names:
        channel = world.add_channel(sandbox.guild, name)
        sandbox.office.channels[name] = channel
    for name in names:
        reply = await sandbox.slash("alice", "task board", _channel=name)
        assert "Board posted" in reply.text, reply.text
    manager = sandbox.bot.get_cog("Tasks").tasks_store  # type: ignore[union-attr]
    live = {b.channel_id for b in await manager.boards(sandbox.guild.id)}
    assert live == {sandbox.channel(name).id for name in names[1:]}
    [oldest] = sandbox.messages(names[0])
    assert "no longer updates" in oldest.content

    await sandbox.slash("alice", "task create", title="Water the plants")
    await sandbox.settle()
    [oldest] = sandbox.messages(names[0])
    assert "no longer updates" in oldest.content
    assert "Water the plants" not in oldest.embeds[0]["description"]
    for name in names[1:]:
        [board] = sandbox.messages(name)
        assert "Water the plants" in board.embeds[0]["description"]

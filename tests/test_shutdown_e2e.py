"""Shutdown with interactions in flight: the bot lets them finish before discord.py closes its
HTTP session (a click whose change is saved still answers and sends its DMs)."""

from __future__ import annotations

import asyncio

from concord.sandbox.driver import Sandbox


async def test_close_lets_a_command_being_handled_finish_first(sandbox: Sandbox) -> None:
    bot = sandbox.bot
    release = asyncio.Event()
    closed_when_it_went_on: list[bool] = []

    async def handler() -> None:  # as discord.py runs a slash command
        await release.wait()
        closed_when_it_went_on.append(bot.is_closed())

    task = asyncio.create_task(handler(), name="CommandTree-invoker")
    asyncio.get_running_loop().call_soon(release.set)  # it goes on once the close has begun
    await bot.close()
    await task
    assert closed_when_it_went_on == [False]

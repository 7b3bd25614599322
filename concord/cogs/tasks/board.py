"""Task boards: one per channel, its pages as messages, edited in place when tasks change.

A change marks the guild's boards dirty; one refresh runs ``delay`` seconds later for all the
changes that came in meanwhile, so a burst of clicks costs one edit per board message, and a
board is edited at most once per ``delay``. The delay and the sleep are injectable, so tests
do not wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from concord.cogs.tasks.embeds import board_embeds
from concord.core import task_board
from concord.core.actor import Actor
from concord.db.tasks import Board, TaskManager

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[object]]


class BoardKeeper:
    def __init__(
        self,
        bot: ConcordBot,
        tasks_store: TaskManager,
        *,
        delay: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.tasks_store = tasks_store
        # Read when the keeper is made (a test lowers the default for every bot it starts).
        self.delay = task_board.BOARD_REFRESH_SECONDS if delay is None else delay
        self.sleep = sleep
        # Guilds that have a board: changes elsewhere cost nothing.
        self._board_guilds: set[int] = set()
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self.edits = 0  # board message edits made (for tests and the bench)

    async def load(self) -> None:
        self._board_guilds = set(await self.tasks_store.board_guilds())

    # -- rendering --------------------------------------------------------------------------
    async def render(self, guild_id: int) -> list[discord.Embed]:
        now = self.bot.clock.now()
        config = await self.bot.guild_settings.get(guild_id)
        tasks = await self.tasks_store.board_tasks(guild_id, now)
        guild = self.bot.get_guild(guild_id)
        names: dict[int, str] = {}
        if guild is not None:
            for task in tasks:
                if task.assignee_id is not None and task.assignee_id not in names:
                    member = guild.get_member(task.assignee_id)
                    names[task.assignee_id] = (
                        member.display_name if member else str(task.assignee_id)
                    )
        return board_embeds(tasks, now, config.tz, names)

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    # -- posting ----------------------------------------------------------------------------
    async def post(
        self,
        guild_id: int,
        channel: discord.abc.Messageable,
        actor: Actor,
    ) -> int:
        """Post the board at the bottom of ``channel`` (replacing the channel's previous board;
        a new channel takes a manager); returns the number of messages it takes."""
        async with self._lock(guild_id):
            embeds = await self.render(guild_id)
            messages = [await channel.send(embed=embed) for embed in embeds]
            channel_id = messages[0].channel.id
            try:
                saved = await self.tasks_store.save_board(
                    guild_id,
                    channel_id,
                    [m.id for m in messages],
                    actor,
                    self.bot.clock.now(),
                )
            except Exception:
                await self._delete(channel_id, [m.id for m in messages])
                raise
            self._board_guilds.add(guild_id)
            if saved.previous is not None:
                await self._delete(channel_id, saved.previous.message_ids)
            for board in saved.retired:
                await self._retire(board)
            return len(messages)

    async def _retire(self, board: Board) -> None:
        """Say on a board that it no longer updates (it stays as it was)."""
        note = task_board.RETIRED_BOARD_NOTE.format(limit=task_board.MAX_BOARDS_PER_GUILD)
        first = self.bot.get_partial_messageable(board.channel_id).get_partial_message(
            board.message_ids[0]
        )
        try:
            await first.edit(content=note)
        except discord.HTTPException:
            log.info("could not mark the retired board in channel %s", board.channel_id)

    async def _delete(self, channel_id: int, message_ids: tuple[int, ...] | list[int]) -> None:
        messageable = self.bot.get_partial_messageable(channel_id)
        for message_id in message_ids:
            try:
                await messageable.get_partial_message(message_id).delete()
            except discord.NotFound:
                pass
            except discord.HTTPException:
                log.warning("could not delete old board message %s", message_id, exc_info=True)

    # -- keeping boards current ---------------------------------------------------------------
    def refresh_all_soon(self) -> None:
        """Bring every board up to date (after a restart, changes made meanwhile by the
        scheduler or the date moving on are not on them yet)."""
        for guild_id in list(self._board_guilds):
            self.changed(guild_id)

    def changed(self, guild_id: int) -> None:
        """A task of the guild changed: refresh its boards soon (coalesced)."""
        if guild_id not in self._board_guilds:
            return
        self._dirty.add(guild_id)
        if guild_id not in self._pending:
            self._pending[guild_id] = asyncio.create_task(
                self._refresh_later(guild_id), name=f"task-board-{guild_id}"
            )

    async def _refresh_later(self, guild_id: int) -> None:
        """Refresh after the delay, again (after another delay) if changes came in while it
        ran; the task stays registered until done so shutdown can cancel it."""
        try:
            while guild_id in self._dirty:
                if self.delay > 0:
                    await self.sleep(self.delay)
                await self._refresh_logged(guild_id)
        finally:
            if self._pending.get(guild_id) is asyncio.current_task():
                del self._pending[guild_id]

    async def _refresh_logged(self, guild_id: int) -> None:
        try:
            await self.refresh(guild_id)
        except Exception:  # a board that cannot be drawn must not break the task action
            log.exception("could not refresh the task boards of guild %s", guild_id)

    async def wait_idle(self) -> None:
        """Wait for the refreshes under way (tests, the benchmark)."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    def close(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()

    async def refresh(self, guild_id: int) -> None:
        """Edit every board of the guild in place to show the tasks as they are now."""
        async with self._lock(guild_id):
            self._dirty.discard(guild_id)
            boards = await self.tasks_store.boards(guild_id)
            if not boards:
                self._board_guilds.discard(guild_id)
                return
            embeds = await self.render(guild_id)
            for board in boards:
                await self._update(board, embeds)

    async def _update(self, board: Board, embeds: list[discord.Embed]) -> None:
        """Edit the board's messages; add pages at the end or delete surplus ones when the
        page count changed. A board whose messages were deleted by hand is forgotten."""
        messageable = self.bot.get_partial_messageable(board.channel_id)
        kept: list[int] = []
        for message_id, embed in zip(board.message_ids, embeds, strict=False):
            try:
                await messageable.get_partial_message(message_id).edit(embed=embed)
            except discord.NotFound:
                log.info("board in channel %s was deleted; no longer updated", board.channel_id)
                await self.tasks_store.drop_board(board.channel_id)
                await self._delete(
                    board.channel_id, [m for m in board.message_ids if m != message_id]
                )
                return
            self.edits += 1
            kept.append(message_id)
        for embed in embeds[len(board.message_ids) :]:
            message = await messageable.send(embed=embed)
            kept.append(message.id)
        surplus = list(board.message_ids[len(embeds) :])
        if surplus:
            await self._delete(board.channel_id, surplus)
        if tuple(kept) != board.message_ids:
            await self.tasks_store.set_board_messages(board.channel_id, kept)

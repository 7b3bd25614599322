"""Drive the real bot through the emulator the way members use Discord.

:class:`Sandbox` owns an :class:`Emulator` with the standard office (see
:mod:`concord.sandbox.office`) and a real :class:`ConcordBot` connected to it. Its methods read
like a member's actions (``slash``, ``click``, ``select``, ``submit``, ``autocomplete``,
``context_menu``) and return a :class:`Reply` once the bot has finished reacting: the interaction
callback plus every followup and edit made with the interaction's token.

Anything Discord would refuse makes the action raise :class:`SandboxError` (an
``AssertionError``, so a test fails with the reason): a 4xx from the emulator, an unknown route,
an error logged by the bot, an interaction left unanswered. Asking for something a member could
not do in the Discord client (an option the command does not have, a disabled button) raises
:class:`UsageError`. Expected failures are collected with ``with sandbox.expect_errors():``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord.clock import Clock, ManualClock
from concord.config import Settings
from concord.core.settings import GuildConfig
from concord.sandbox.emulator import Emulator, InteractionRecord
from concord.sandbox.emulator import commands as cmd
from concord.sandbox.emulator.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
)
from concord.sandbox.emulator.ratelimit import RateLimits
from concord.sandbox.emulator.validation import LINK_STYLE
from concord.sandbox.emulator.world import DM, Channel, Guild, Role, StoredMessage, User
from concord.sandbox.errors import SandboxError, UsageError
from concord.sandbox.office import Actor, ChannelRef, Office, build_office, module_descriptors
from concord.sandbox.payloads import Payloads
from concord.sandbox.render import Names
from concord.sandbox.views import (
    Button,
    ExpectedErrors,
    Message,
    Modal,
    ModalField,
    Reply,
    SelectMenu,
)

if TYPE_CHECKING:
    from discord.ext import commands as discord_commands

    from concord.bot import ConcordBot
    from concord.db.database import Database

log = logging.getLogger(__name__)

DEFAULT_START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday

__all__ = [
    "Button",
    "ExpectedErrors",
    "Message",
    "Modal",
    "ModalField",
    "Reply",
    "Sandbox",
    "SandboxError",
    "SelectMenu",
    "UsageError",
]


class _ErrorLogs(logging.Handler):
    """Keeps every ERROR (or worse) record logged while the sandbox runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_timer(task: asyncio.Task[Any]) -> bool:
    """A discord.py timer: a view's or modal's timeout, or a ``delete_after``/``delete(delay=)``
    deletion waiting to happen. They sleep until they fire, so the bot is idle meanwhile."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "") or ""
    filename = getattr(getattr(coro, "cr_code", None), "co_filename", "") or ""
    if name.endswith("__timeout_task_impl"):
        return True
    in_discord = f"{os.sep}discord{os.sep}" in filename
    return in_discord and name.endswith(("<locals>.inner_call", "<locals>.delete"))


def _background(task: asyncio.Task[Any]) -> bool:
    """Long-lived tasks that are not part of the bot's reaction to an interaction."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = getattr(code, "co_filename", "") or ""
    if "aiohttp" in filename and ("web_protocol" in filename or "web_ws" in filename):
        return True  # the emulator's connection handlers
    if filename.endswith(("discord/shard.py", "discord\\shard.py")):
        return True  # a shard's reader (AutoShardedBot), started again on every reconnect
    return _is_timer(task)


# -- the sandbox ------------------------------------------------------------------------------
class Sandbox:
    def __init__(
        self,
        directory: Path,
        *,
        clock: Clock | None = None,
        cogs: Sequence[str] | None = None,
        dev_guild: bool = False,
        guild_ready_timeout: float = 0.02,
        scheduler_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        db_path: Path | None = None,
        health_file: Path | None = None,
        response_timeout: float = 10.0,
        force_sync: bool = False,
        settings: dict[str, Any] | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.directory = directory
        # Extra Settings fields for the bot (metrics, alerts), as the environment would set them.
        self.extra_settings: dict[str, Any] = dict(settings or {})
        self.clock: Clock = clock or ManualClock(DEFAULT_START)
        self.cogs = cogs
        self.dev_guild = dev_guild
        self.guild_ready_timeout = guild_ready_timeout
        self.scheduler_seconds = scheduler_seconds
        self.db_path = db_path or directory / "concord.db"
        self.health_file = health_file or directory / "health.json"
        self.force_sync = force_sync
        # strict: problems raise SandboxError (tests); otherwise they are collected in
        # ``problems`` for the console to show.
        self.strict = True
        self.problems: list[str] = []
        self.response_timeout = response_timeout
        # Discord's rate limits: realistic unless the caller chooses (the test fixture: relaxed).
        self.emulator = Emulator(
            clock=lambda: self.clock.now(), monotonic=monotonic, rate_limits=rate_limits
        )
        self.modules = module_descriptors(cogs)
        self.office: Office = build_office(self.emulator, self.modules)
        self.payloads = Payloads(self.emulator, self.office)
        self.names = Names(
            user=self._user_name,
            role=lambda i: self.guild.roles[i].name if i in self.guild.roles else None,
            channel=self._channel_name,
            now=lambda: self.clock.now(),
        )
        self._bot: ConcordBot | None = None
        self._db: Database | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._logs = _ErrorLogs()
        self._checked_requests = 0
        self._checked_logs = 0
        self._expecting: list[ExpectedErrors] = []
        self.startup_seconds: float | None = None
        self._endpoints: tuple[str, Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> Sandbox:
        from discord import gateway, http

        # apply_endpoints() changes discord.py globals; put them back when the sandbox stops.
        self._endpoints = (http.Route.BASE, gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        logging.getLogger().addHandler(self._logs)
        await self.emulator.start()
        await self._start_bot()
        return self

    async def stop(self) -> None:
        from discord import gateway, http

        try:
            await self._stop_bot()
        finally:
            await self.emulator.stop()
            logging.getLogger().removeHandler(self._logs)
            if self._endpoints is not None:
                http.Route.BASE, gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._endpoints
                self._endpoints = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def restart(self) -> None:
        """Stop the bot and start a new process-like bot on the same database."""
        await self._stop_bot()
        await self._start_bot()

    def settings(self) -> Settings:
        return Settings(
            discord_token=self.emulator.token,
            db_path=self.db_path,
            health_file=self.health_file,
            api_base=self.emulator.api_base,
            gateway_url=self.emulator.gateway_url,
            dev_guild_id=self.guild.id if self.dev_guild else None,
            **self.extra_settings,
        )

    async def _start_bot(self) -> None:
        from concord.bot import ConcordBot, apply_endpoints
        from concord.db.database import Database

        started = time.perf_counter()
        settings = self.settings()
        apply_endpoints(settings)
        db: Any
        if settings.database_url is not None:  # settings={"database_url": …}: PostgreSQL
            from concord.db.postgres import PostgresDatabase

            db = await PostgresDatabase.open(settings.database_url.conninfo)
        else:
            db = await Database.open(settings.db_path)
        self._db = db
        bot = ConcordBot(
            settings,
            db,
            clock=self.clock,
            cogs=self.cogs,
            guild_ready_timeout=self.guild_ready_timeout,
            scheduler_seconds=self.scheduler_seconds,
            force_sync=self.force_sync,
        )
        self._bot = bot
        await bot.login(self.emulator.token)
        connect = asyncio.create_task(bot.connect(), name="sandbox-bot-connect")
        self._connect_task = connect
        ready = asyncio.create_task(bot.wait_until_ready(), name="sandbox-bot-ready")
        done, _ = await asyncio.wait(
            {ready, connect}, timeout=self.response_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if connect in done:
                connect.result()  # raises the reason the bot could not connect
            raise SandboxError("the bot did not become ready against the emulator")
        self.startup_seconds = time.perf_counter() - started
        self._check_problems()

    async def _stop_bot(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.close()
        # View timeouts and delayed deletions keep timer tasks; a real process exit ends them.
        timers = [t for t in asyncio.all_tasks() if _is_timer(t)]
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        connect, self._connect_task = self._connect_task, None
        if connect is not None:
            try:
                await asyncio.wait_for(connect, 5)
            except (TimeoutError, asyncio.CancelledError):
                connect.cancel()
        db, self._db = self._db, None
        if db is not None:
            await db.close()
        for thread in threading.enumerate():
            if thread.name.startswith("keep-alive-handler"):
                thread.join(2)

    @property
    def bot(self) -> ConcordBot:
        if self._bot is None:
            raise UsageError("the bot is not running")
        return self._bot

    @property
    def db(self) -> Database:
        if self._db is None:
            raise UsageError("the bot is not running")
        return self._db

    @property
    def guild(self) -> Guild:
        return self.office.guild

    # -- the world ---------------------------------------------------------------------------
    def member(self, name: Actor) -> User:
        return self.office.member(name)

    def channel(self, name: ChannelRef) -> Channel:
        return self.office.channel(name)

    def role(self, name: str | Role) -> Role:
        return self.office.role(name)

    def _user_name(self, user_id: int) -> str | None:
        user = self.emulator.world.users.get(user_id)
        if user is None:
            return None
        member = self.guild.members.get(user_id)
        return (member.nick if member and member.nick else None) or user.display_name

    def _channel_name(self, channel_id: int) -> str | None:
        channel = self.emulator.world.channel(channel_id)
        return channel.name if channel is not None else None

    def channel_label(self, channel_id: int) -> str:
        return self.office.channel_label(channel_id)

    def command_options(
        self, member: Actor, path: str, *, channel: ChannelRef | None = None
    ) -> list[dict[str, Any]]:
        """The option definitions of ``/path`` as synced (the console parses with them)."""
        return self.payloads.command_options(member, path, channel=channel)

    def slash_commands(
        self, member: Actor, *, channel: ChannelRef | None = None
    ) -> list[cmd.StoredCommand]:
        return self.payloads.slash_commands(member, channel=channel)

    def app_commands(
        self, member: Actor, *, channel: ChannelRef | None = None
    ) -> list[cmd.StoredCommand]:
        """Every command ``member`` sees in ``channel``: slash commands and context menus."""
        user = self.member(member)
        return self.payloads.visible_commands(user, self.office.where(user, channel))

    def messages(self, channel: ChannelRef) -> list[Message]:
        """Everyone-visible messages of a channel, oldest first."""
        found = self.emulator.world.channel_messages(self.channel(channel).id)
        return [Message(self, m) for m in found]

    def last_message(self, channel: ChannelRef) -> Message:
        messages = self.messages(channel)
        if not messages:
            raise UsageError(f"no messages in {self.channel_label(self.channel(channel).id)}")
        return messages[-1]

    def dms(self, member: Actor) -> list[Message]:
        """What the bot sent this member by DM, oldest first."""
        user = self.member(member)
        channel = self.emulator.world.dm_channels.get(user.id)
        if channel is None:
            return []
        return [Message(self, m) for m in self.emulator.world.channel_messages(channel.id)]

    # -- configuration -----------------------------------------------------------------------
    async def configure(self, **values: Any) -> GuildConfig:
        """Write settings directly, by their setup option names (every module's): roles and
        channels by name, other values as typed (text is parsed like the setup command does,
        a value already parsed — a ``time``, a ``frozenset`` of weekdays — is kept)."""
        settings = {s.name: s for module in self.modules for s in module.settings}
        columns: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for key, value in values.items():
            setting = settings.get(key)
            if setting is None:
                raise UsageError(f"no setting {key!r} (settings: {', '.join(settings)})")
            if value is None:
                stored = None
            elif setting.kind == "role":
                stored = setting.parse(self.role(value).id)
            elif setting.kind == "channel":
                stored = setting.parse(self.channel(value).id)
            elif isinstance(value, str | int | float):
                stored = setting.parse(value)
            else:
                stored = value
            if setting.field is not None:
                columns[setting.field] = stored
            else:
                extras[key] = stored
        owner = self.member("owner")
        return await self.bot.guild_settings.update(
            self.guild.id, owner.id, columns, extras=extras, now=self.bot.clock.now()
        )

    async def configure_office(self, **overrides: Any) -> GuildConfig:
        """The usual setup: what each module's fixtures set (Manager/Staff roles, the modules'
        channels, Europe/London for the built-in ones), then ``overrides``."""
        values: dict[str, Any] = {}
        for module in self.modules:
            values.update(module.fixtures.setup)
        values.update(overrides)
        return await self.configure(**values)

    async def add_cog(self, cog: discord_commands.Cog) -> None:
        """Load an extra cog (test-only commands) and sync the commands it adds."""
        await self.bot.add_cog(cog)
        await self.bot.sync_commands(force=True)
        self._check_problems()

    # -- problems ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def expect_errors(self) -> Iterator[ExpectedErrors]:
        """Collect (instead of failing on) rejected requests, error logs and unanswered
        interactions; fails if nothing went wrong at all."""
        expected = ExpectedErrors()
        self._expecting.append(expected)
        try:
            yield expected
        finally:
            self._expecting.remove(expected)
        if not expected:
            raise AssertionError("expected the bot to run into an error, but nothing failed")

    def _check_problems(self) -> None:
        requests = self.emulator.requests
        new_requests = [r for r in requests[self._checked_requests :] if r.problem]
        self._checked_requests = len(requests)
        records = self._logs.records
        new_logs = records[self._checked_logs :]
        self._checked_logs = len(records)
        if not new_requests and not new_logs:
            return
        if self._expecting:
            self._expecting[-1].requests.extend(new_requests)
            self._expecting[-1].logs.extend(new_logs)
            return
        lines = [
            f"emulator {'rejected' if r.status >= 400 else 'flagged'} {r.describe()}"
            for r in new_requests
        ]
        for record in new_logs:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            lines.append(line)
        self._fail("\n".join(lines))

    def _fail(self, text: str) -> None:
        if self.strict:
            raise SandboxError(text)
        self.problems.append(text)

    def check(self) -> None:
        """Fail now on any problem since the last check (the fixture calls it at teardown)."""
        self._check_problems()

    # -- performing interactions -------------------------------------------------------------
    async def settle(self, known: set[asyncio.Task[Any]] | None = None) -> None:
        """Wait until the bot has finished whatever it started (tasks it spawned) since
        ``known`` was taken (``set(asyncio.all_tasks())``; default: now)."""
        await self._settle(set(asyncio.all_tasks()) if known is None else known)

    async def _settle(self, known: set[asyncio.Task[Any]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.response_timeout
        idle_rounds = 0
        while idle_rounds < 3:
            pending = [
                t
                for t in asyncio.all_tasks()
                if t not in known and not t.done() and not _background(t)
            ]
            if not pending:
                idle_rounds += 1
                await asyncio.sleep(0)
                continue
            idle_rounds = 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = ", ".join(t.get_name() for t in pending)
                raise SandboxError(
                    f"the bot was still busy after {self.response_timeout} s: {names}"
                )
            await asyncio.wait(pending, timeout=remaining)

    async def _perform(self, record: InteractionRecord) -> Reply:
        bot = self.bot
        known = set(asyncio.all_tasks())
        waiter = asyncio.ensure_future(
            bot.wait_for(
                "interaction", check=lambda i: i.id == record.id, timeout=self.response_timeout
            )
        )
        known.add(waiter)
        await self.emulator.send_interaction(record)
        try:
            await waiter
        except TimeoutError:
            raise SandboxError(
                "the bot never received the interaction (is the gateway connected?)"
            ) from None
        await self._settle(known)
        self._check_problems()
        if not record.acknowledged:
            if self._expecting:
                self._expecting[-1].unanswered.append(record)
            else:
                self._fail(
                    "the bot did not answer the interaction "
                    "(Discord would show 'This interaction failed')"
                )
        return Reply(self, record)

    async def run(self, action: Awaitable[Any]) -> Any:
        """Run something on the bot side (a scheduler pass…), wait for what it spawned, and
        fail on any problem it caused."""
        known = set(asyncio.all_tasks())
        result = await action
        await self._settle(known)
        self._check_problems()
        return result

    # -- members' actions --------------------------------------------------------------------
    async def slash(
        self, member: Actor, command: str, /, *, _channel: ChannelRef | None = None, **options: Any
    ) -> Reply:
        """``/command [subcommand] option:value…`` as ``member`` (in #general by default).
        ``member`` and ``command`` are positional-only, so a command's own ``member`` option
        can be given by name."""
        user = self.member(member)
        channel = self.office.where(user, _channel)
        data = self.payloads.command_data(user, channel, command, options, focused=None)
        record = self.emulator.new_interaction(
            kind=APPLICATION_COMMAND, user=user, channel=channel, data=data
        )
        return await self._perform(record)

    async def autocomplete(
        self,
        member: Actor,
        command: str,
        option: str,
        value: str,
        /,
        *,
        _channel: ChannelRef | None = None,
        **options: Any,
    ) -> list[tuple[str, Any]]:
        """What the bot suggests while ``member`` types ``value`` into ``option``."""
        user = self.member(member)
        channel = self.office.where(user, _channel)
        data = self.payloads.command_data(
            user, channel, command, {**options, option: value}, focused=option
        )
        record = self.emulator.new_interaction(
            kind=AUTOCOMPLETE, user=user, channel=channel, data=data
        )
        return (await self._perform(record)).choices

    async def context_menu(
        self,
        member: Actor,
        name: str,
        target: Message | Actor,
        *,
        _channel: ChannelRef | None = None,
    ) -> Reply:
        """A message command (target: a Message) or a user command (target: a member)."""
        user = self.member(member)
        if isinstance(target, Message):
            # The menu opens on the message, so it is offered where the message is.
            self._check_can_see(user, target.stored)
            where = self._message_channel(target.stored) if _channel is None else _channel
            command = self.payloads.find_command(
                user, self.office.where(user, where), name, cmd.MESSAGE
            )
        else:
            command = self.payloads.find_command(
                user, self.office.where(user, _channel), name, cmd.USER
            )
        resolved: dict[str, Any]
        if isinstance(target, Message):
            channel = self._message_channel(target.stored)
            target_id = target.id
            resolved = {"messages": {str(target.id): self.emulator.message_payload(target.stored)}}
        else:
            channel = self.office.where(user, _channel)
            target_user = self.member(target)
            target_id = target_user.id
            resolved = self.payloads.resolve_users([target_user], channel)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = self.emulator.new_interaction(
            kind=APPLICATION_COMMAND, user=user, channel=channel, data=data
        )
        return await self._perform(record)

    async def click(
        self,
        member: Actor,
        message: Message | Reply,
        label: str | None = None,
        *,
        custom_id: str | None = None,
    ) -> Reply:
        """Press a button (by its label, or ``custom_id=``)."""
        user = self.member(member)
        target = self._message_of(message)
        button = target.button(label, custom_id=custom_id)
        if button.style == LINK_STYLE:
            raise UsageError(f"{button.label!r} is a link button; it opens {button.url}")
        if button.disabled:
            raise UsageError(f"the button {button.label!r} is disabled")
        self._check_can_see(user, target.stored)
        data: dict[str, Any] = {"custom_id": button.custom_id, "component_type": 2}
        if button.id is not None:
            data["id"] = button.id
        record = self.emulator.new_interaction(
            kind=MESSAGE_COMPONENT,
            user=user,
            channel=self._message_channel(target.stored),
            data=data,
            message=target.stored,
        )
        return await self._perform(record)

    async def select(
        self,
        member: Actor,
        message: Message | Reply,
        values: Sequence[Any],
        *,
        custom_id: str | None = None,
    ) -> Reply:
        """Choose ``values`` in a select menu (labels or values; names for user/role/channel
        selects)."""
        user = self.member(member)
        target = self._message_of(message)
        selects = target.selects
        if custom_id is not None:
            selects = [s for s in selects if s.custom_id == custom_id]
        if not selects:
            raise UsageError(f"no select menu {custom_id or ''} on {target!r}")
        if len(selects) > 1:
            ids = ", ".join(s.custom_id for s in selects)
            raise UsageError(f"several select menus ({ids}); pass custom_id=")
        menu = selects[0]
        if menu.disabled:
            raise UsageError(f"the select menu {menu.custom_id!r} is disabled")
        self._check_can_see(user, target.stored)
        channel = self._message_channel(target.stored)
        data: dict[str, Any] = {"custom_id": menu.custom_id, "component_type": menu.type}
        if menu.id is not None:
            data["id"] = menu.id
        data.update(
            self.payloads.select_values(
                menu.type, menu.options, menu.min_values, menu.max_values, values, channel
            )
        )
        record = self.emulator.new_interaction(
            kind=MESSAGE_COMPONENT, user=user, channel=channel, data=data, message=target.stored
        )
        return await self._perform(record)

    async def submit(
        self, member: Actor | Modal, modal: Modal | None = None, **fields: Any
    ) -> Reply:
        """Fill in and submit a modal: ``submit("alice", modal, reason="…")`` (fields by
        custom_id or label; unchanged fields keep the value the bot pre-filled)."""
        if isinstance(member, Modal):
            modal, actor = member, self.emulator.world.users[member.record.user_id]
        else:
            actor = self.member(member)
        if modal is None:
            raise UsageError("submit() needs the modal (reply.modal)")
        if actor.id != modal.record.user_id:
            raise UsageError("only the member who opened a modal can submit it")
        given: dict[str, Any] = {}
        for key, value in fields.items():
            given[modal.field(key).custom_id] = value
        components: list[dict[str, Any]] = []
        source = modal.record
        channel = self.emulator.world.channel(source.channel_id)
        assert channel is not None
        for item in modal.fields:
            value = given.get(item.custom_id, item.value)
            components.append(self.payloads.modal_component(item, value, channel))
        data: dict[str, Any] = {"custom_id": modal.custom_id, "components": components}
        resolved = self.payloads.modal_resolved(modal, given, channel)
        if resolved:
            data["resolved"] = resolved
        message = None
        if source.type == MESSAGE_COMPONENT and source.source_message_id is not None:
            message = self.emulator.world.messages.get(source.source_message_id)
        record = self.emulator.new_interaction(
            kind=MODAL_SUBMIT, user=actor, channel=channel, data=data, message=message
        )
        return await self._perform(record)

    async def post(self, member: Actor, channel: ChannelRef, content: str) -> Message:
        """``member`` writes an ordinary message."""
        user = self.member(member)
        known = set(asyncio.all_tasks())
        stored = await self.emulator.post_as(user, self.office.where(user, channel), content)
        await self._settle(known)
        self._check_problems()
        return Message(self, stored)

    # -- building interaction data -----------------------------------------------------------
    def _message_of(self, message: Message | Reply) -> Message:
        if isinstance(message, Reply):
            found = message.message
            if found is None:
                raise UsageError("that reply has no message to interact with")
            return found
        return message

    def _message_channel(self, message: StoredMessage) -> Channel:
        channel = self.emulator.world.channel(message.channel_id)
        if channel is None:
            raise UsageError("the message's channel no longer exists")
        return channel

    def _check_can_see(self, user: User, message: StoredMessage) -> None:
        if message.deleted:
            raise UsageError("that message was deleted")
        if message.visible_to is not None and message.visible_to != user.id:
            raise UsageError("that ephemeral message is only visible to someone else")
        channel = self._message_channel(message)
        if channel.type == DM and channel.recipient_id != user.id:
            raise UsageError("that message is in someone else's DMs")

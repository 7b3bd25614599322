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
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord.clock import Clock, ManualClock
from concord.config import Settings
from concord.core.schedule import parse_hhmm, parse_timezone, parse_workday_hours, parse_workdays
from concord.core.settings import GuildConfig
from concord.sandbox.emulator import Emulator, InteractionRecord, RecordedRequest
from concord.sandbox.emulator import commands as cmd
from concord.sandbox.emulator.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
)
from concord.sandbox.emulator.validation import (
    FLAG_LOADING,
    LINK_STYLE,
    SELECT_TYPES,
    walk_components,
)
from concord.sandbox.emulator.world import DM, Channel, Guild, Role, StoredMessage, User
from concord.sandbox.office import Office, build_office
from concord.sandbox.render import Names, message_text, readable

if TYPE_CHECKING:
    from discord.ext import commands as discord_commands

    from concord.bot import ConcordBot
    from concord.db.database import Database

log = logging.getLogger(__name__)

DEFAULT_START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
Actor = str | User
ChannelRef = str | Channel


class SandboxError(AssertionError):
    """The bot or the emulator did something a test must not accept."""


class UsageError(AssertionError):
    """The test asked for something a member could not do in the Discord client."""


# -- views of emulator state ------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    label: str | None
    custom_id: str | None
    style: int
    disabled: bool
    url: str | None
    emoji: str | None


@dataclass(frozen=True)
class SelectMenu:
    custom_id: str
    type: int
    options: list[tuple[str, str]]  # (label, value) of a string select
    placeholder: str | None
    min_values: int
    max_values: int
    disabled: bool


class Message:
    """A live view of a message in the emulator (it reflects later edits)."""

    def __init__(self, sandbox: Sandbox, stored: StoredMessage) -> None:
        self._sandbox = sandbox
        self.stored = stored

    @property
    def id(self) -> int:
        return self.stored.id

    @property
    def content(self) -> str:
        return self.stored.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.stored.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.stored.components

    @property
    def author(self) -> str:
        return self._sandbox.emulator.world.users[self.stored.author_id].username

    @property
    def channel(self) -> str:
        return self._sandbox.channel_label(self.stored.channel_id)

    @property
    def ephemeral(self) -> bool:
        return self.stored.ephemeral

    @property
    def deleted(self) -> bool:
        return self.stored.deleted

    @property
    def loading(self) -> bool:
        return bool(self.stored.flags & FLAG_LOADING)

    @property
    def edited(self) -> bool:
        return self.stored.edited_timestamp is not None

    @property
    def text(self) -> str:
        """Content, embeds and text displays as readable text (mentions resolved)."""
        raw = message_text(self.stored.content, self.stored.embeds, self.stored.components)
        return readable(raw, self._sandbox.names)

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [(a.filename, a.data) for a in self.stored.attachments]

    @property
    def buttons(self) -> list[Button]:
        return [
            Button(
                c.get("label"),
                c.get("custom_id"),
                int(c.get("style", 1)),
                bool(c.get("disabled", False)),
                c.get("url"),
                (c.get("emoji") or {}).get("name"),
            )
            for c in walk_components(self.stored.components)
            if c.get("type") == 2
        ]

    @property
    def selects(self) -> list[SelectMenu]:
        return [
            SelectMenu(
                str(c.get("custom_id")),
                int(c["type"]),
                [(str(o.get("label")), str(o.get("value"))) for o in c.get("options") or []],
                c.get("placeholder"),
                int(c.get("min_values", 1)),
                int(c.get("max_values", 1)),
                bool(c.get("disabled", False)),
            )
            for c in walk_components(self.stored.components)
            if c.get("type") in SELECT_TYPES
        ]

    def button(self, label: str | None = None, *, custom_id: str | None = None) -> Button:
        buttons = self.buttons
        if custom_id is not None:
            found = [b for b in buttons if b.custom_id == custom_id]
        else:
            found = [b for b in buttons if b.label == label] or [
                b for b in buttons if (b.label or "").lower() == (label or "").lower()
            ]
        if not found:
            shown = ", ".join(repr(b.label or b.custom_id) for b in buttons) or "none"
            wanted = custom_id if custom_id is not None else label
            raise UsageError(f"no button {wanted!r} on this message (buttons: {shown})")
        return found[0]

    def __repr__(self) -> str:
        preview = self.text.replace("\n", " | ")[:80]
        return f"<Message {self.id} in {self.channel} by {self.author}: {preview!r}>"


@dataclass
class ModalField:
    custom_id: str
    label: str
    kind: int  # 4 text input, 3/5-8 selects
    required: bool
    value: str | None = None
    style: int = 1
    min_length: int | None = None
    max_length: int | None = None
    placeholder: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    in_label: bool = False
    component_id: int | None = None


class Modal:
    """A modal the bot opened; fill it with :meth:`Sandbox.submit`."""

    def __init__(self, data: dict[str, Any], record: InteractionRecord) -> None:
        self.data = data
        self.record = record
        self.title = str(data.get("title"))
        self.custom_id = str(data.get("custom_id"))
        self.fields: list[ModalField] = []
        for component in data.get("components") or []:
            kind = component.get("type")
            if kind == 1:
                for child in component.get("components") or []:
                    self.fields.append(self._field(child, str(child.get("label") or ""), False))
            elif kind == 18:
                inner = component.get("component") or {}
                self.fields.append(self._field(inner, str(component.get("label") or ""), True))

    @staticmethod
    def _field(component: dict[str, Any], label: str, in_label: bool) -> ModalField:
        kind = int(component.get("type", 4))
        required = bool(component.get("required", True))  # Discord's default in modals
        return ModalField(
            custom_id=str(component.get("custom_id")),
            label=label,
            kind=kind,
            required=required,
            value=component.get("value"),
            style=int(component.get("style", 1)),
            min_length=component.get("min_length"),
            max_length=component.get("max_length"),
            placeholder=component.get("placeholder"),
            options=[
                (str(o.get("label")), str(o.get("value"))) for o in component.get("options") or []
            ],
            in_label=in_label,
            component_id=component.get("id"),
        )

    def field(self, key: str) -> ModalField:
        wanted = key.lower()
        for candidate in self.fields:
            names = {
                candidate.custom_id.lower(),
                candidate.label.lower(),
                _snake(candidate.label),
            }
            if wanted in names:
                return candidate
        shown = ", ".join(f"{f.custom_id} ({f.label})" for f in self.fields)
        raise UsageError(f"modal {self.title!r} has no field {key!r} (fields: {shown})")

    def __repr__(self) -> str:
        return f"<Modal {self.title!r} fields={[f.label for f in self.fields]}>"


def _snake(text: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


class Reply:
    """What the bot answered to one interaction: the callback plus followups and edits."""

    def __init__(self, sandbox: Sandbox, record: InteractionRecord) -> None:
        self._sandbox = sandbox
        self.interaction = record

    @property
    def responded(self) -> bool:
        return self.interaction.acknowledged

    @property
    def type(self) -> int | None:
        return self.interaction.response_type

    @property
    def deferred(self) -> bool:
        return self.interaction.response_type in (5, 6)

    @property
    def messages(self) -> list[Message]:
        world = self._sandbox.emulator.world
        return [
            Message(self._sandbox, world.messages[m])
            for m in self.interaction.message_ids()
            if m in world.messages and not world.messages[m].deleted
        ]

    @property
    def message(self) -> Message | None:
        """The message the interaction created or edited (the first one it touched)."""
        messages = self.messages
        return messages[0] if messages else None

    @property
    def content(self) -> str:
        return "\n".join(m.content for m in self.messages if m.content)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [e for m in self.messages for e in m.embeds]

    @property
    def text(self) -> str:
        return "\n".join(t for t in (m.text for m in self.messages) if t)

    @property
    def ephemeral(self) -> bool:
        messages = self.messages
        if messages:
            return all(m.ephemeral for m in messages)
        return self.interaction.deferred_ephemeral

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [f for m in self.messages for f in m.files]

    @property
    def modal(self) -> Modal | None:
        data = self.interaction.modal
        return Modal(data, self.interaction) if data is not None else None

    @property
    def choices(self) -> list[tuple[str, Any]]:
        return [(str(c.get("name")), c.get("value")) for c in self.interaction.choices or []]

    def __repr__(self) -> str:
        preview = self.text.replace("\n", " | ")[:100]
        flag = " ephemeral" if self.ephemeral else ""
        return f"<Reply type={self.type}{flag}: {preview!r}>"


@dataclass
class ExpectedErrors:
    """Problems collected inside ``with sandbox.expect_errors():`` instead of failing."""

    logs: list[logging.LogRecord] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    unanswered: list[InteractionRecord] = field(default_factory=list)

    @property
    def log_messages(self) -> list[str]:
        return [r.getMessage() for r in self.logs]

    def __bool__(self) -> bool:
        return bool(self.logs or self.requests or self.unanswered)


class _ErrorLogs(logging.Handler):
    """Keeps every ERROR (or worse) record logged while the sandbox runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_view_timeout(task: asyncio.Task[Any]) -> bool:
    """discord.ui's timer for a view or modal with a timeout (it sleeps until it expires)."""
    return (getattr(task.get_coro(), "__qualname__", "") or "").endswith("__timeout_task_impl")


def _background(task: asyncio.Task[Any]) -> bool:
    """Long-lived tasks that are not part of the bot's reaction to an interaction."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = getattr(code, "co_filename", "") or ""
    if "aiohttp" in filename and ("web_protocol" in filename or "web_ws" in filename):
        return True  # the emulator's connection handlers
    return _is_view_timeout(task)


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
        response_timeout: float = 10.0,
    ) -> None:
        self.directory = directory
        self.clock: Clock = clock or ManualClock(DEFAULT_START)
        self.cogs = cogs
        self.dev_guild = dev_guild
        self.guild_ready_timeout = guild_ready_timeout
        self.scheduler_seconds = scheduler_seconds
        self.db_path = db_path or directory / "concord.db"
        self.response_timeout = response_timeout
        self.emulator = Emulator(clock=lambda: self.clock.now(), monotonic=monotonic)
        self.office: Office = build_office(self.emulator)
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

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> Sandbox:
        logging.getLogger().addHandler(self._logs)
        await self.emulator.start()
        await self._start_bot()
        return self

    async def stop(self) -> None:
        try:
            await self._stop_bot()
        finally:
            await self.emulator.stop()
            logging.getLogger().removeHandler(self._logs)

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
            health_file=self.directory / "health.json",
            api_base=self.emulator.api_base,
            gateway_url=self.emulator.gateway_url,
            dev_guild_id=self.guild.id if self.dev_guild else None,
        )

    async def _start_bot(self) -> None:
        from concord.bot import DEFAULT_COGS, ConcordBot, apply_endpoints
        from concord.db.database import Database

        started = time.perf_counter()
        settings = self.settings()
        apply_endpoints(settings)
        db = await Database.open(settings.db_path)
        self._db = db
        bot = ConcordBot(
            settings,
            db,
            clock=self.clock,
            cogs=DEFAULT_COGS if self.cogs is None else self.cogs,
            guild_ready_timeout=self.guild_ready_timeout,
            scheduler_seconds=self.scheduler_seconds,
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
        # Views with a timeout keep a timer task; a real process exit ends them.
        timers = [t for t in asyncio.all_tasks() if _is_view_timeout(t)]
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
        if isinstance(name, User):
            return name
        key = name.lstrip("@").lower()
        user = self.office.users.get(key)
        if user is None:
            user = next(
                (u for u in self.emulator.world.users.values() if u.username.lower() == key),
                None,
            )
        if user is None or user.id not in self.guild.members:
            raise UsageError(f"no member {name!r} (members: {', '.join(self.office.users)})")
        return user

    def channel(self, name: ChannelRef) -> Channel:
        if isinstance(name, Channel):
            return name
        key = name.lstrip("#").lower()
        for channel in self.guild.channels.values():
            if (channel.name or "").lower() == key:
                return channel
        shown = ", ".join(str(c.name) for c in self.guild.channels.values())
        raise UsageError(f"no channel {name!r} (channels: {shown})")

    def role(self, name: str | Role) -> Role:
        if isinstance(name, Role):
            return name
        key = name.lower()
        for role in self.guild.roles.values():
            if role.name.lower() in (key, "@" + key.lstrip("@")):
                return role
        raise UsageError(f"no role {name!r}")

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
        channel = self.emulator.world.channel(channel_id)
        if channel is None:
            return str(channel_id)
        if channel.type == DM:
            user = self.emulator.world.users.get(channel.recipient_id or 0)
            return f"dm:{user.username if user else channel.recipient_id}"
        return f"#{channel.name}"

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

    def _where(self, user: User, channel: ChannelRef | None) -> Channel:
        if channel is None:
            return self.channel("general")
        if isinstance(channel, str) and channel.lower() in ("dm", "dms"):
            return self.emulator.world.dm_channel(user)
        return self.channel(channel)

    # -- configuration -----------------------------------------------------------------------
    async def configure(self, **values: Any) -> GuildConfig:
        """Write guild settings directly (names for roles and channels, text for times)."""
        converted: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("manager_role", "staff_role"):
                converted[f"{key}_id"] = None if value is None else self.role(value).id
            elif key in ("approvals_channel", "reports_channel", "tasks_channel"):
                converted[f"{key}_id"] = None if value is None else self.channel(value).id
            elif key == "timezone":
                converted[key] = parse_timezone(value).key
            elif key == "workdays":
                converted[key] = parse_workdays(value) if isinstance(value, str) else value
            elif key == "workday_hours":
                converted["workday_minutes"] = parse_workday_hours(float(value))
            elif key in ("dar_reminder", "dar_summary", "digest"):
                converted[key] = parse_hhmm(value) if isinstance(value, str) else value
            else:
                converted[key] = value
        owner = self.member("owner")
        return await self.bot.guild_settings.update(self.guild.id, owner.id, converted)

    async def configure_office(self, **overrides: Any) -> GuildConfig:
        """The usual setup: Manager/Staff roles, the three channels, Europe/London."""
        values: dict[str, Any] = {
            "manager_role": "Manager",
            "staff_role": "Staff",
            "approvals_channel": "approvals",
            "reports_channel": "reports",
            "tasks_channel": "tasks",
            "timezone": "Europe/London",
        }
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
        lines = [f"emulator rejected {r.describe()}" for r in new_requests]
        for record in new_logs:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            lines.append(line)
        raise SandboxError("\n".join(lines))

    def check(self) -> None:
        """Fail now on any problem since the last check (the fixture calls it at teardown)."""
        self._check_problems()

    # -- performing interactions -------------------------------------------------------------
    async def settle(self) -> None:
        """Wait until the bot has finished whatever it started (tasks it spawned)."""
        await self._settle(set(asyncio.all_tasks()))

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
                raise SandboxError(
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
        channel = self._where(user, _channel)
        data = self._command_data(user, channel, command, options, focused=None)
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
        channel = self._where(user, _channel)
        data = self._command_data(
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
        is_message = isinstance(target, Message)
        command = self._find_command(
            user, self._where(user, _channel), name, cmd.MESSAGE if is_message else cmd.USER
        )
        resolved: dict[str, Any]
        if isinstance(target, Message):
            channel = self._message_channel(target.stored)
            target_id = target.id
            resolved = {"messages": {str(target.id): self.emulator.message_payload(target.stored)}}
        else:
            channel = self._where(user, _channel)
            target_user = self.member(target)
            target_id = target_user.id
            resolved = self._resolve_users([target_user], channel)
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
        data = {"custom_id": button.custom_id, "component_type": 2}
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
        data.update(
            self._select_values(
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
            components.append(self._modal_component(item, value, channel))
        data: dict[str, Any] = {"custom_id": modal.custom_id, "components": components}
        resolved = self._modal_resolved(modal, given, channel)
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
        stored = await self.emulator.post_as(user, self._where(user, channel), content)
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

    def _visible_commands(self, user: User, channel: Channel) -> list[cmd.StoredCommand]:
        registry = self.emulator.commands
        if channel.type == DM:
            found = [
                c
                for c in registry.list(None)
                if (
                    c.definition.get("contexts") is None
                    and c.definition.get("dm_permission") is not False
                )
                or 1 in (c.definition.get("contexts") or [])
            ]
        else:
            found = [
                c
                for c in registry.visible_in(channel.guild_id)
                if c.definition.get("contexts") is None or 0 in c.definition["contexts"]
            ]
            permissions = self.guild.channel_permissions(user.id, channel.id)
            found = [
                c
                for c in found
                if c.definition.get("default_member_permissions") is None
                or int(c.definition["default_member_permissions"]) & permissions
                == int(c.definition["default_member_permissions"])
            ]
        return found

    def _find_command(
        self, user: User, channel: Channel, name: str, kind: int
    ) -> cmd.StoredCommand:
        visible = [c for c in self._visible_commands(user, channel) if c.type == kind]
        for command in visible:
            if command.name == name:
                return command
        shown = ", ".join(sorted(c.name for c in visible)) or "none"
        where = self.channel_label(channel.id)
        raise UsageError(f"{user.username} has no command {name!r} in {where} (synced: {shown})")

    def _command_data(
        self,
        user: User,
        channel: Channel,
        path: str,
        given: dict[str, Any],
        *,
        focused: str | None,
    ) -> dict[str, Any]:
        parts = path.strip().lstrip("/").split()
        if not parts:
            raise UsageError("empty command")
        command = self._find_command(user, channel, parts[0], cmd.CHAT_INPUT)
        definitions: list[dict[str, Any]] = command.definition.get("options") or []
        chain: list[dict[str, Any]] = []
        for part in parts[1:]:
            nested = next(
                (
                    o
                    for o in definitions
                    if o.get("name") == part
                    and o.get("type") in (cmd.SUB_COMMAND, cmd.SUB_COMMAND_GROUP)
                ),
                None,
            )
            if nested is None:
                subs = [o["name"] for o in definitions if o.get("type") in (1, 2)]
                raise UsageError(f"/{' '.join(parts)}: no subcommand {part!r} (has: {subs})")
            chain.append(nested)
            definitions = nested.get("options") or []
        if any(o.get("type") in (cmd.SUB_COMMAND, cmd.SUB_COMMAND_GROUP) for o in definitions):
            subs = [o["name"] for o in definitions]
            raise UsageError(f"/{' '.join(parts)} needs a subcommand: {subs}")
        resolved: dict[str, Any] = {}
        values = self._option_values(path, definitions, given, channel, resolved, focused)
        for nested in reversed(chain):
            values = [{"type": nested["type"], "name": nested["name"], "options": values}]
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": cmd.CHAT_INPUT,
            "options": values,
        }
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _option_values(
        self,
        path: str,
        definitions: list[dict[str, Any]],
        given: dict[str, Any],
        channel: Channel,
        resolved: dict[str, Any],
        focused: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in definitions}
        by_key = {**{n.replace("-", "_"): o for n, o in by_name.items()}, **by_name}
        options: list[dict[str, Any]] = []
        used: set[str] = set()
        for key, value in given.items():
            definition = by_key.get(key)
            if definition is None:
                raise UsageError(f"/{path} has no option {key!r} (options: {sorted(by_name)})")
            name = definition["name"]
            used.add(name)
            if value is None:
                continue
            if name == focused or (focused is not None and focused.replace("-", "_") == key):
                options.append(
                    {"type": definition["type"], "name": name, "value": str(value), "focused": True}
                )
                continue
            options.append(
                {
                    "type": definition["type"],
                    "name": name,
                    "value": self._option_value(path, definition, value, channel, resolved),
                }
            )
        missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in used]
        if missing and focused is None:
            raise UsageError(f"/{path} is missing required option(s): {', '.join(missing)}")
        return options

    def _option_value(
        self,
        path: str,
        definition: dict[str, Any],
        value: Any,
        channel: Channel,
        resolved: dict[str, Any],
    ) -> Any:
        kind = definition["type"]
        name = definition["name"]
        where = f"/{path} {name}"
        if kind in (cmd.STRING, cmd.INTEGER, cmd.NUMBER):
            value = self._choice_value(where, definition, value)
        if kind == cmd.STRING:
            text = str(value)
            low, high = definition.get("min_length"), definition.get("max_length")
            if (
                (low is not None and len(text) < low)
                or (high is not None and len(text) > high)
                or len(text) > 6000
            ):
                raise UsageError(
                    f"{where}: Discord only accepts {low or 0}-{high or 6000} characters"
                )
            return text
        if kind in (cmd.INTEGER, cmd.NUMBER):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (kind == cmd.INTEGER and not float(value).is_integer())
            ):
                raise UsageError(f"{where}: Discord only sends a number here, not {value!r}")
            number = int(value) if kind == cmd.INTEGER else float(value)
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and number < low) or (high is not None and number > high):
                raise UsageError(f"{where}: Discord only accepts values from {low} to {high}")
            return number
        if kind == cmd.BOOLEAN:
            if not isinstance(value, bool):
                raise UsageError(f"{where}: expects True or False")
            return value
        if kind == cmd.USER_OPTION:
            user = self.member(value)
            _merge(resolved, self._resolve_users([user], channel))
            return str(user.id)
        if kind == cmd.ROLE:
            role = self.role(value)
            _merge(resolved, {"roles": {str(role.id): role.payload()}})
            return str(role.id)
        if kind == cmd.CHANNEL:
            target = self.channel(value)
            allowed = definition.get("channel_types")
            if allowed and target.type not in allowed:
                raise UsageError(f"{where}: #{target.name} is not an allowed channel type")
            data = target.payload()
            data["permissions"] = str(
                self.guild.channel_permissions(self.emulator.bot_user.id, target.id)
            )
            _merge(resolved, {"channels": {str(target.id): data}})
            return str(target.id)
        if kind == cmd.MENTIONABLE:
            try:
                role = self.role(value)
            except UsageError:
                user = self.member(value)
                _merge(resolved, self._resolve_users([user], channel))
                return str(user.id)
            _merge(resolved, {"roles": {str(role.id): role.payload()}})
            return str(role.id)
        if kind == cmd.ATTACHMENT:
            if not (isinstance(value, tuple) and len(value) == 2):
                raise UsageError(f"{where}: pass a (filename, bytes) pair")
            filename, content = value
            upload = self.emulator.upload(str(filename), bytes(content))
            data = upload.payload(self.emulator.base_url, channel.id)
            data["ephemeral"] = True
            _merge(resolved, {"attachments": {str(upload.id): data}})
            return str(upload.id)
        raise UsageError(f"{where}: unsupported option type {kind}")

    @staticmethod
    def _choice_value(where: str, definition: dict[str, Any], value: Any) -> Any:
        choices = definition.get("choices")
        if not choices:
            return value
        for choice in choices:
            if choice.get("value") == value:
                return value
        for choice in choices:
            if str(choice.get("name")).lower() == str(value).lower():
                return choice.get("value")
        names = [c.get("name") for c in choices]
        raise UsageError(f"{where}: {value!r} is not one of the choices {names}")

    def _resolve_users(self, users: list[User], channel: Channel) -> dict[str, Any]:
        resolved: dict[str, Any] = {"users": {}, "members": {}}
        for user in users:
            resolved["users"][str(user.id)] = user.payload()
            member = self.guild.members.get(user.id) if channel.type != DM else None
            if member is not None:
                data = member.payload(user, with_user=False)
                data["permissions"] = str(self.guild.channel_permissions(user.id, channel.id))
                resolved["members"][str(user.id)] = data
        if not resolved["members"]:
            del resolved["members"]
        return resolved

    def _select_values(
        self,
        kind: int,
        options: list[tuple[str, str]],
        min_values: int,
        max_values: int,
        values: Sequence[Any],
        channel: Channel,
    ) -> dict[str, Any]:
        if not min_values <= len(values) <= max_values:
            raise UsageError(
                f"this select menu takes {min_values} to {max_values} values, not {len(values)}"
            )
        if kind == 3:
            chosen: list[str] = []
            for value in values:
                match = next((v for label, v in options if v == str(value)), None) or next(
                    (v for label, v in options if label.lower() == str(value).lower()), None
                )
                if match is None:
                    raise UsageError(
                        f"{value!r} is not an option ({[label for label, _ in options]})"
                    )
                chosen.append(match)
            return {"values": chosen}
        resolved: dict[str, Any] = {}
        ids: list[str] = []
        for value in values:
            target_id, part = self._select_target(kind, value, channel)
            _merge(resolved, part)
            ids.append(str(target_id))
        return {"values": ids, "resolved": resolved}

    def _select_target(self, kind: int, value: Any, channel: Channel) -> tuple[int, dict[str, Any]]:
        """A user (5), role (6), mentionable (7) or channel (8) select value: a name, an id or
        the object; returns the id and its ``resolved`` entry."""
        text = str(value.id if isinstance(value, User | Role | Channel) else value)
        key: str | int = int(text) if text.isdigit() else text
        if kind in (5, 7):
            user = self.emulator.world.users.get(key) if isinstance(key, int) else None
            if user is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    user = self.member(key)
            if user is not None and user.id in self.guild.members:
                return user.id, self._resolve_users([user], channel)
        if kind in (6, 7):
            role = self.guild.roles.get(key) if isinstance(key, int) else None
            if role is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    role = self.role(key)
            if role is not None:
                return role.id, {"roles": {str(role.id): role.payload()}}
        if kind == 8:
            target = self.guild.channels.get(key) if isinstance(key, int) else None
            if target is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    target = self.channel(key)
            if target is not None:
                data = target.payload()
                data["permissions"] = str(
                    self.guild.channel_permissions(self.emulator.bot_user.id, target.id)
                )
                return target.id, {"channels": {str(target.id): data}}
        raise UsageError(f"{value!r} cannot be chosen in this select menu")

    def _modal_component(self, item: ModalField, value: Any, channel: Channel) -> dict[str, Any]:
        if item.kind == 4:
            text = "" if value is None else str(value)
            if item.required and not text:
                raise UsageError(f"the modal field {item.label!r} is required")
            if text and item.min_length is not None and len(text) < item.min_length:
                raise UsageError(f"{item.label!r} needs at least {item.min_length} characters")
            limit = item.max_length if item.max_length is not None else 4000
            if len(text) > limit:
                raise UsageError(f"{item.label!r} takes at most {limit} characters")
            inner: dict[str, Any] = {"type": 4, "custom_id": item.custom_id, "value": text}
        else:
            chosen = (
                []
                if value is None
                else (list(value) if isinstance(value, list | tuple) else [value])
            )
            if item.required and not chosen:
                raise UsageError(f"the modal field {item.label!r} is required")
            values = (
                self._select_values(item.kind, item.options, 0, 25, chosen, channel)["values"]
                if chosen
                else []
            )
            inner = {"type": item.kind, "custom_id": item.custom_id, "values": values}
        if item.component_id is not None:
            inner["id"] = item.component_id
        if item.in_label:
            return {"type": 18, "component": inner}
        return {"type": 1, "components": [inner]}

    def _modal_resolved(
        self, modal: Modal, given: dict[str, Any], channel: Channel
    ) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for item in modal.fields:
            if item.kind in (5, 6, 7, 8) and given.get(item.custom_id):
                raw = given[item.custom_id]
                chosen = list(raw) if isinstance(raw, list | tuple) else [raw]
                part = (
                    self._select_values(item.kind, [], 0, 25, chosen, channel).get("resolved") or {}
                )
                _merge(resolved, part)
        return resolved


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        into.setdefault(key, {}).update(value)

"""The sandbox console: one line at a time, act as any member of the office and see what the
bot answers (started by ``concord sandbox``, see :mod:`concord.sandbox.session`)::

    owner@#general> as bob
    bob@#general> /leave apply leave_type:Annual start:2026-12-03 reason:"Family trip"
    bob@#general> channel approvals
    bob@#general> as alice
    alice@#general> click 1

Replies are rendered readably: embeds as framed blocks, buttons numbered ``[1 Approve]``,
ephemeral replies marked; modals are asked field by field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from concord.core.settings import GuildConfig
from concord.sandbox.clock import parse_clock
from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator.commands import (
    ATTACHMENT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
)
from concord.sandbox.emulator.commands import MESSAGE as MESSAGE_MENU
from concord.sandbox.emulator.commands import USER as USER_MENU
from concord.sandbox.emulator.validation import SELECT_TYPES, walk_components
from concord.sandbox.emulator.world import StoredMessage
from concord.sandbox.errors import SandboxError, UsageError
from concord.sandbox.render import component_labels, framed_embed, readable
from concord.sandbox.views import Message, Modal, ModalField, Reply

log = logging.getLogger(__name__)
HELP = """\
Acting
  as NAME                  act as a member (owner, alice, bob, carol, dave)
  in CHANNEL               where slash commands run (general, approvals, …, or dm)
  /command sub opt:value   run a slash command; quote values with spaces: reason:"Team offsite"
  click N                  press button N of the last output
  select N VALUE…          choose options in select menu N (labels or names)
  menu "NAME" mN           an app's menu on message N of the last output (Apps → NAME),
                           e.g. menu "Create task" m2; menu "NAME" MEMBER for a member's
  say TEXT                 post an ordinary message as the acting member
Looking
  channel NAME [COUNT]     the last messages of a channel (default 10)
  dms [NAME]               what the bot sent a member by DM
  members                  who is in the office, with their roles
Time and jobs
  clock                    show the bot's clock
  clock +1d | -2h | 17:00 | 2026-12-03 17:00
                           move the clock (office timezone), then run whatever became due
  tick                     one scheduler pass now
  jobs                     the scheduled jobs
  run JOB                  run a daily job now (once per local day, like the schedule)
Other
  expect TEXT              fail unless the previous output contains TEXT (for scripts)
  restart                  restart the bot on the same database
  help, quit
Tab completes commands, options and values (quoted when they have spaces); options Discord
suggests values for (task, leave_type, timezone…) ask the bot. Messages are numbered m1, m2…
Modals ask their fields one by one (Enter keeps the pre-filled value); a required field left
blank is asked again. <t:…> times show in the acting member's timezone."""

CONSOLE_COMMANDS = (
    "as",
    "in",
    "click",
    "select",
    "menu",
    "say",
    "channel",
    "dms",
    "members",
    "clock",
    "tick",
    "jobs",
    "run",
    "expect",
    "restart",
    "help",
    "quit",
    "exit",
)
TEXT_INPUT = 4
TRUE_WORDS = ("true", "yes", "y", "on", "1")
FALSE_WORDS = ("false", "no", "n", "off", "0")
# `clock +…` runs each daily job at its time on the way, for jumps up to this long.
MAX_CLOCK_WALK = timedelta(days=31)


class ConsoleError(Exception):
    """A console line that cannot run (shown to the user, fails a script)."""


@dataclass(frozen=True)
class Control:
    number: int
    message_id: int
    custom_id: str
    select: bool


@dataclass(frozen=True)
class Question:
    field: ModalField
    prompt: str


class Console:
    def __init__(self, sandbox: Sandbox, write: Callable[[str], None] = print) -> None:
        self.sandbox = sandbox
        self.write = write
        self.actor = "owner"
        self.where = "general"
        self.zone: ZoneInfo | None = None  # the acting member's, read before each line
        self.controls: dict[int, Control] = {}
        self.shown: dict[int, int] = {}  # message number (m1, m2…) -> message id
        self.pending: Modal | None = None
        self._typed: dict[str, str] = {}  # the open modal's answers so far, by custom_id
        self._asking: list[ModalField] | None = None  # None: every field
        # (command, option) -> {suggestion the bot made: the value it stands for}
        self._picks: dict[tuple[str, str], dict[str, str]] = {}
        self.failed = False
        self.last_output: list[str] = []
        self._output: list[str] = []
        self._events: list[tuple[str, StoredMessage]] = []
        sandbox.emulator.listeners.append(
            lambda kind, message: self._events.append((kind, message))
        )

    # -- the prompt --------------------------------------------------------------------------
    def prompt(self) -> str:
        where = "dm" if self.where == "dm" else f"#{self.where}"
        return f"{self.actor}@{where}> "

    def _say(self, text: str = "") -> None:
        self._output.append(text)
        self.write(text)

    # -- running lines -----------------------------------------------------------------------
    async def execute(self, line: str) -> bool:
        """Run one console line; False when the user asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        self._output = []
        self.sandbox.problems.clear()
        keep_going = True
        try:
            with contextlib.suppress(UsageError):  # no bot running: timestamps in UTC
                await self._read_zone()
            keep_going = await self._dispatch(line)
        except (ConsoleError, UsageError) as error:
            self._error(str(error))
        except SandboxError as error:
            self._error(f"the emulator refused what the bot did:\n{error}")
        self._show_problems()
        if line.split()[0] != "expect":
            self.last_output = self._output
        return keep_going

    def _error(self, text: str) -> None:
        self.failed = True
        self._say(f"✗ {text}")

    def _show_problems(self) -> None:
        for problem in self.sandbox.problems:
            self.failed = True
            self._say(f"⚠ {problem}")
        self.sandbox.problems.clear()

    async def _dispatch(self, line: str) -> bool:
        if line.startswith("/"):
            await self._slash(line)
            return True
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise ConsoleError(f"cannot read that line: {error}") from None
        command, args = words[0].lower(), words[1:]
        if command in ("quit", "exit"):
            return False
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise ConsoleError(f"unknown command {command!r}; type help")
        await handler(args)
        return True

    # -- slash commands ----------------------------------------------------------------------
    def parse_slash(self, line: str) -> tuple[str, dict[str, Any]]:
        try:
            tokens = shlex.split(line.lstrip("/"))
        except ValueError as error:
            raise ConsoleError(f"cannot read that command: {error}") from None
        path: list[str] = []
        raw: dict[str, str] = {}
        for token in tokens:
            name, colon, value = token.partition(":")
            if colon:
                raw[name] = value
            elif raw:
                raise ConsoleError(f"{token!r}: options are written name:value")
            else:
                path.append(token)
        command = " ".join(path)
        for name, value in raw.items():
            # A suggestion picked with Tab stands for its value, as in Discord.
            raw[name] = self._picks.get((command, name), {}).get(value, value)
        definitions = {
            d["name"]: d
            for d in self.sandbox.command_options(self.actor, command, channel=self.where)
        }
        options = {
            name: self._convert(definitions.get(name), name, value) for name, value in raw.items()
        }
        return command, options

    @staticmethod
    def _convert(definition: dict[str, Any] | None, name: str, value: str) -> Any:
        kind = definition.get("type") if definition is not None else None
        choices = (definition or {}).get("choices") or []
        if any(str(c.get("name")).lower() == value.lower() for c in choices):
            return value  # a choice by its name; the driver sends the choice's value
        try:
            if kind == INTEGER:
                return int(value)
            if kind == NUMBER:
                return float(value)
        except ValueError:
            raise ConsoleError(f"{name} takes a number, not {value!r}") from None
        if kind == BOOLEAN:
            if value.lower() in TRUE_WORDS:
                return True
            if value.lower() in FALSE_WORDS:
                return False
            raise ConsoleError(f"{name} takes yes or no, not {value!r}")
        if kind == ATTACHMENT:
            path = Path(value).expanduser()
            try:
                return (path.name, path.read_bytes())
            except OSError as error:
                raise ConsoleError(f"cannot attach {value}: {error.strerror}") from None
        return value

    async def _slash(self, line: str) -> None:
        command, options = self.parse_slash(line)
        reply = await self.sandbox.slash(self.actor, command, _channel=self.where, **options)
        self._show_reply(reply)

    # -- console commands --------------------------------------------------------------------
    async def _cmd_help(self, args: list[str]) -> None:
        self._say(HELP)

    async def _cmd_as(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ConsoleError("as NAME (e.g. as bob)")
        self.actor = self.sandbox.member(args[0]).username
        self._say(f"now acting as {self.actor}")

    async def _cmd_in(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ConsoleError("in CHANNEL (e.g. in approvals, or in dm)")
        if args[0].lower() in ("dm", "dms"):
            self.where = "dm"
        else:
            channel = self.sandbox.channel(args[0])
            self.where = str(channel.name)
        self._say(f"slash commands now run in {'DMs' if self.where == 'dm' else '#' + self.where}")

    def _control(self, args: list[str], usage: str) -> Control:
        if not args or not args[0].isdigit():
            raise ConsoleError(usage)
        control = self.controls.get(int(args[0]))
        if control is None:
            raise ConsoleError(f"there is no [{args[0]}] in the last output")
        return control

    def _message(self, message_id: int) -> Message:
        stored = self.sandbox.emulator.world.messages.get(message_id)
        if stored is None or stored.deleted:
            raise ConsoleError("that message is gone")
        return Message(self.sandbox, stored)

    async def _cmd_click(self, args: list[str]) -> None:
        control = self._control(args, "click N (the number shown on the button)")
        if control.select:
            raise ConsoleError(
                f"[{control.number}] is a select menu: select {control.number} VALUE…"
            )
        message = self._message(control.message_id)
        reply = await self.sandbox.click(self.actor, message, custom_id=control.custom_id)
        self._show_reply(reply)

    async def _cmd_select(self, args: list[str]) -> None:
        control = self._control(args, "select N VALUE… (N is the menu's number)")
        if not control.select:
            raise ConsoleError(f"[{control.number}] is a button: click {control.number}")
        message = self._message(control.message_id)
        reply = await self.sandbox.select(
            self.actor, message, args[1:], custom_id=control.custom_id
        )
        self._show_reply(reply)

    async def _cmd_menu(self, args: list[str]) -> None:
        """An app's menu on a message (right-click → Apps → NAME) or on a member."""
        if not args:
            for name, kind in self._menus():
                self._say(f'  menu "{name}" {"mN" if kind == "messages" else "MEMBER"}')
            if not self._output:
                self._say(f"{self.actor} has no app menus here")
            return
        if len(args) != 2:
            raise ConsoleError('menu "NAME" mN (a message as numbered in the output) or MEMBER')
        name, target = args
        number = target.lower().removeprefix("m")
        if number.isdigit():
            message_id = self.shown.get(int(number))
            if message_id is None:
                raise ConsoleError(f"there is no message m{number} in the last output")
            reply = await self.sandbox.context_menu(self.actor, name, self._message(message_id))
        else:
            reply = await self.sandbox.context_menu(
                self.actor, name, self.sandbox.member(target), _channel=self.where
            )
        self._show_reply(reply)

    def _menus(self) -> list[tuple[str, str]]:
        """The context menus the acting member has, with what they apply to."""
        kinds = {MESSAGE_MENU: "messages", USER_MENU: "members"}
        return [
            (c.name, kinds[c.type])
            for c in self.sandbox.app_commands(self.actor, channel=self.where)
            if c.type in kinds
        ]

    async def _cmd_say(self, args: list[str]) -> None:
        if not args:
            raise ConsoleError("say TEXT")
        if self.where == "dm":
            raise ConsoleError("say posts in a channel; use in CHANNEL first")
        await self.sandbox.post(self.actor, self.where, " ".join(args))
        self._say(f"{self.actor} said it in #{self.where}")
        self._show_events(set())

    async def _cmd_channel(self, args: list[str]) -> None:
        if not args:
            raise ConsoleError("channel NAME [COUNT]")
        count = int(args[1]) if len(args) > 1 and args[1].isdigit() else 10
        channel = self.sandbox.channel(args[0])
        messages = self.sandbox.messages(channel)[-count:]
        self._events.clear()
        self._forget_shown()
        if not messages:
            self._say(f"#{channel.name} is empty")
        for message in messages:
            self._render(message.stored)

    async def _cmd_dms(self, args: list[str]) -> None:
        name = args[0] if args else self.actor
        messages = self.sandbox.dms(name)
        self._events.clear()
        self._forget_shown()
        if not messages:
            self._say(f"the bot has not sent {name} any DM")
        for message in messages[-10:]:
            self._render(message.stored)

    async def _cmd_members(self, args: list[str]) -> None:
        config = await self.config()
        guild = self.sandbox.guild
        for user_id, member in guild.members.items():
            user = self.sandbox.emulator.world.users[user_id]
            roles = [guild.roles[r].name for r in member.roles if r in guild.roles]
            notes = []
            if user_id == guild.owner_id:
                notes.append("owner")
            if user.bot:
                notes.append("bot")
            elif config.manager_role_id in member.roles:
                notes.append("manager")
            extra = f" ({', '.join(notes)})" if notes else ""
            joined = member.joined_at.astimezone(config.tz).date().isoformat()
            self._say(
                f"  {user.username:<12} {user.display_name:<14} joined {joined}  "
                f"{', '.join(roles) or '-'}{extra}"
            )

    async def config(self) -> GuildConfig:
        return await self.sandbox.bot.guild_settings.get(self.sandbox.guild.id)

    async def _cmd_clock(self, args: list[str]) -> None:
        config = await self.config()
        clock = self.sandbox.clock
        if args:
            try:
                target = parse_clock(" ".join(args), clock.now(), config.tz)
            except ValueError as error:
                raise ConsoleError(str(error)) from None
            setter = getattr(clock, "set", None)
            if setter is None:
                raise ConsoleError("this clock cannot be moved")
            await self._live_through(clock.now(), target, setter)
        now = clock.now()
        local = now.astimezone(config.tz)
        self._say(f"clock: {local:%a %Y-%m-%d %H:%M} {config.timezone} ({now:%H:%M} UTC)")
        if args:
            await self._scheduler_pass()

    async def _live_through(
        self, start: datetime, target: datetime, setter: Callable[[datetime], None]
    ) -> None:
        """Move the clock to ``target`` as a bot that stayed up would live through the time: a
        scheduler pass at every moment a daily job fell due on the way. (After a jump the
        scheduler catches up only the current local day, as after real downtime.)"""
        if target - start > MAX_CLOCK_WALK:
            self._say(
                f"(a jump of more than {MAX_CLOCK_WALK.days} days: only the jobs of the day "
                "it lands on run)"
            )
        else:
            for moment in await self._due_moments(start, target):
                setter(moment)
                await self._scheduler_pass()
        setter(target)

    async def _due_moments(self, start: datetime, end: datetime) -> list[datetime]:
        """The times strictly between ``start`` and ``end`` at which a daily job falls due, in
        the office's timezone and in each member's own (their reminders follow their clock)."""
        config = await self.config()
        times = {
            at for job in self.sandbox.bot.scheduler.daily_jobs.values() if (at := job.at(config))
        }
        own = await self.sandbox.bot.guild_settings.member_timezones(config.guild_id)
        zones = {config.tz}
        for name in set(own.values()):
            with contextlib.suppress(ValueError, KeyError):
                zones.add(ZoneInfo(name))
        moments: set[datetime] = set()
        for zone in zones:
            day = start.astimezone(zone).date()
            while day <= end.astimezone(zone).date():
                for at in times:
                    moment = datetime.combine(day, at, zone).astimezone(UTC)
                    if start < moment < end:
                        moments.add(moment)
                day += timedelta(days=1)
        return sorted(moments)

    async def _scheduler_pass(self) -> None:
        await self.sandbox.run(self.sandbox.bot.run_scheduled())
        self._show_events(set())

    async def _cmd_tick(self, args: list[str]) -> None:
        await self._scheduler_pass()
        if not self._output:
            self._say("nothing was due")

    async def _cmd_jobs(self, args: list[str]) -> None:
        scheduler = self.sandbox.bot.scheduler
        config = await self.config()
        for name, job in sorted(scheduler.daily_jobs.items()):
            at = job.at(config)
            when = f"daily at {at:%H:%M} {config.timezone}" if at else "switched off"
            self._say(f"  {name:<24} {when}")
        for name in sorted(scheduler.tick_jobs):
            self._say(f"  {name:<24} every scheduler pass")
        if not scheduler.daily_jobs and not scheduler.tick_jobs:
            self._say("no scheduled jobs are registered")

    async def _cmd_run(self, args: list[str]) -> None:
        scheduler = self.sandbox.bot.scheduler
        if len(args) != 1 or args[0] not in scheduler.daily_jobs:
            names = ", ".join(sorted(scheduler.daily_jobs)) or "none"
            raise ConsoleError(f"run JOB, one of: {names}")
        guild_id = self.sandbox.guild.id
        now = self.sandbox.clock.now()
        config = await self.config()
        local_date = now.astimezone(config.tz).date()
        ledger = self.sandbox.bot.job_ledger
        before = await ledger.run_status(guild_id, args[0], local_date)
        await self.sandbox.run(scheduler.run_daily_now(args[0], guild_id, now))
        after = await ledger.run_status(guild_id, args[0], local_date)
        if before == "done":
            self._say(f"{args[0]} already ran for {local_date} (once a day; try clock +1d)")
        else:
            self._say(f"ran {args[0]} for {local_date}: {after or 'not run'}")
        self._show_events(set())

    async def _cmd_expect(self, args: list[str]) -> None:
        wanted = " ".join(args)
        if not wanted:
            raise ConsoleError("expect TEXT")
        seen = "\n".join(self.last_output)
        if wanted.lower() not in seen.lower():
            raise ConsoleError(f"expected {wanted!r} in the previous output")
        self._say(f"✓ {wanted}")

    async def _cmd_restart(self, args: list[str]) -> None:
        await self.sandbox.restart()
        self._say(f"restarted; ready in {1000 * (self.sandbox.startup_seconds or 0):.0f} ms")

    # -- modals ------------------------------------------------------------------------------
    def questions(self) -> list[Question]:
        """The fields to ask: all of them, or again only those the last answers left blank
        (or too short) — the Discord client does not send a form until they are filled in."""
        if self.pending is None:
            return []
        found: list[Question] = []
        for item in self._asking if self._asking is not None else self.pending.fields:
            hints: list[str] = []
            if item.options:
                hints.append("/".join(label for label, _ in item.options))
            if not item.required and "optional" not in item.label.lower():
                hints.append("optional")
            if item.min_length and item.kind == TEXT_INPUT:
                hints.append(f"at least {item.min_length} characters")
            if item.value:
                hints.append(f"Enter keeps {item.value!r}")
            hint = f" ({'; '.join(hints)})" if hints else ""
            found.append(Question(item, f"  {item.label}{hint}: "))
        return found

    async def submit(self, answers: list[str]) -> None:
        """Answers to :meth:`questions`, in order. A required field left blank (or one shorter
        than its minimum) is asked again, keeping the other answers, as the Discord client
        keeps the form open with what was typed."""
        modal = self.pending
        if modal is None:
            raise ConsoleError("no modal is open")
        asked = self._asking if self._asking is not None else modal.fields
        for item, answer in zip(asked, answers, strict=False):
            if answer:
                self._typed[item.custom_id] = answer
        self._output = []
        self.sandbox.problems.clear()
        unfilled = [(item, why) for item in modal.fields if (why := self._unfilled(item))]
        if unfilled:
            self._asking = [item for item, _ in unfilled]
            for item, why in unfilled:
                self._say(f"  {item.label}: {why}; asking again (your other answers are kept)")
            self.last_output = self._output
            return
        fields: dict[str, Any] = {
            item.custom_id: answer.split(",") if item.kind in SELECT_TYPES else answer
            for item in modal.fields
            if (answer := self._typed.get(item.custom_id))  # else: the pre-filled value
        }
        self.close_modal()
        try:
            reply = await self.sandbox.submit(self.actor, modal, **fields)
        except (UsageError, ConsoleError) as error:
            self._error(str(error))
        except SandboxError as error:
            self._error(f"the emulator refused what the bot did:\n{error}")
        else:
            self._show_reply(reply)
        self._show_problems()
        self.last_output = self._output

    def _unfilled(self, item: ModalField) -> str | None:
        """Why the Discord client would not send the form with this field as it stands."""
        answer = self._typed.get(item.custom_id) or item.value or ""
        if item.required and not answer:
            return "required"
        if item.kind == TEXT_INPUT and answer and item.min_length and len(answer) < item.min_length:
            return f"needs at least {item.min_length} characters"
        return None

    def _open_modal(self, modal: Modal) -> None:
        self.pending = modal
        self._typed = {}
        self._asking = None

    def close_modal(self) -> None:
        self.pending = None
        self._typed = {}
        self._asking = None

    # -- rendering ---------------------------------------------------------------------------
    def _show_reply(self, reply: Reply) -> None:
        self._forget_shown()
        shown = {m.id for m in reply.messages}
        if not reply.responded:
            self._say("(the bot did not answer; Discord shows 'This interaction failed')")
        for message in reply.messages:
            # The card a button belongs to, updated in place, is marked as edited.
            self._render(message.stored, updated=message.id == reply.interaction.source_message_id)
        modal = reply.modal
        if modal is not None:
            self._open_modal(modal)
            self._say(f"📝 {modal.title}")
        self._show_events(shown)

    def _show_events(self, skip: set[int]) -> None:
        """Messages the bot posted or edited elsewhere as a result (approval cards, DMs)."""
        seen: dict[int, tuple[str, StoredMessage]] = {}
        for kind, message in self._events:
            if message.id in skip:
                continue
            if message.visible_to is not None and message.visible_to != self._actor_id():
                continue
            previous = seen.get(message.id)
            if (
                previous is not None
                and previous[0] == "MESSAGE_CREATE"
                and kind != "MESSAGE_DELETE"
            ):
                kind = "MESSAGE_CREATE"
            seen[message.id] = (kind, message)
        self._events.clear()
        for kind, message in seen.values():
            label = self.sandbox.channel_label(message.channel_id)
            if kind == "MESSAGE_DELETE":
                self._say(f"✖ a message in {label} was deleted")
            else:
                self._render(message, updated=kind == "MESSAGE_UPDATE")

    def _actor_id(self) -> int:
        return self.sandbox.member(self.actor).id

    async def _read_zone(self) -> None:
        """The acting member's timezone (their own, else the office's): the console shows
        ``<t:…>`` timestamps in it, as their Discord client would."""
        config = await self.config()
        own = await self.sandbox.bot.guild_settings.member_timezone(
            self.sandbox.guild.id, self._actor_id()
        )
        self.zone = ZoneInfo(own) if own else config.tz

    def _render(self, message: StoredMessage, *, updated: bool = False) -> None:
        names = dataclasses.replace(self.sandbox.names, zone=self.zone)
        world = self.sandbox.emulator.world
        author = world.users[message.author_id]
        label = self.sandbox.channel_label(message.channel_id)
        if label.startswith("dm:"):
            where = f"DM to {label[3:]}" if author.bot else f"DM from {author.username}"
        else:
            where = label
        notes: list[str] = [author.display_name]
        if message.ephemeral:
            notes.append("only you can see this")
        if updated:
            notes.append("edited")
        number = len(self.shown) + 1
        self.shown[number] = message.id
        self._say(f"m{number} · {where} · {' · '.join(notes)}")
        if message.flags & (1 << 7):
            self._say(f"  {author.display_name} is thinking…")
        if message.content:
            for line in readable(message.content, names).splitlines():
                self._say(f"  {line}")
        for embed in message.embeds:
            for line in framed_embed(embed, names):
                self._say(f"  {line}")
        for component in walk_components(message.components):
            if component.get("type") == 10:
                for line in readable(str(component.get("content")), names).splitlines():
                    self._say(f"  {line}")
        for line in component_labels(message.components, lambda c: self._number(message, c)):
            self._say(f"  {line}")
        for attachment in message.attachments:
            self._say(f"  📎 {attachment.filename} ({len(attachment.data)} bytes)")

    def _forget_shown(self) -> None:
        self.controls = {}
        self.shown = {}

    def _number(self, message: StoredMessage, component: dict[str, Any]) -> int:
        number = len(self.controls) + 1
        self.controls[number] = Control(
            number,
            message.id,
            str(component.get("custom_id")),
            component.get("type") in SELECT_TYPES,
        )
        return number

    # -- completion --------------------------------------------------------------------------
    async def complete(self, buffer: str, text: str) -> list[str]:
        """Candidates for ``text`` — readline's word, what follows the last space — given the
        line up to the cursor. A value with spaces is completed in quotes; as readline's word
        may start inside the quotes, each candidate is cut to what replaces ``text``."""
        start = token_start(buffer)
        token = buffer[start:]
        keep = token[: len(token) - len(text)] if token.endswith(text) else None
        try:
            words = shlex.split(buffer[:start])
        except ValueError:
            return []
        if keep is None:
            return []
        try:
            found = await self._candidates(words, token)
        except (UsageError, SandboxError, ConsoleError):
            return []
        # The bot suggests what *contains* the text ("Asia/Ma" → Asia/Amman, Asia/Manila…), as
        # Discord shows it; readline would replace the word by the suggestions' common start
        # ("Asia/"), erasing what was typed. Those that continue the text come first, alone.
        typed = unquoted(token).lower()
        continuing = [c for c in found if unquoted(c).lower().startswith(typed)]
        found = continuing or found
        return [c[len(keep) :] for c in found if c.lower().startswith(keep.lower())]

    async def _candidates(self, words: list[str], token: str) -> list[str]:
        """Whole tokens that could stand where ``token`` (as typed, quotes and all) is."""
        typed = unquoted(token)
        if words and words[0].startswith("/"):
            return await self._complete_slash(words, typed)
        if not words:
            if token.startswith("/"):
                return await self._complete_slash(words, typed)
            return [c + " " for c in CONSOLE_COMMANDS if c.startswith(typed)]
        first = words[0].lower()
        if first == "menu":
            return self._complete_menu(words[1:], typed)
        if len(words) != 1:
            return []
        if first in ("as", "dms"):
            names = list(self.sandbox.office.users)
        elif first in ("channel", "in"):
            names = [str(c.name) for c in self.sandbox.guild.channels.values()]
            names += ["dm"] if first == "in" else []
        elif first == "run":
            names = sorted(self.sandbox.bot.scheduler.daily_jobs)
        else:
            names = []
        return [n + " " for n in names if n.startswith(typed)]

    def _complete_menu(self, args: list[str], typed: str) -> list[str]:
        menus = self._menus()
        if not args:
            return [quoted(n) + " " for n, _ in menus if n.lower().startswith(typed.lower())]
        if len(args) == 1:
            kind = next((k for n, k in menus if n == args[0]), None)
            if kind == "messages":
                names = [f"m{n}" for n in self.shown]
            else:
                names = list(self.sandbox.office.users) if kind == "members" else []
            return [n + " " for n in names if n.startswith(typed)]
        return []

    async def _complete_slash(self, words: list[str], typed: str) -> list[str]:
        commands = self.sandbox.slash_commands(self.actor, channel=self.where)
        if not words:
            return [f"/{c.name} " for c in commands if f"/{c.name}".startswith(typed)]
        command = next((c for c in commands if c.name == words[0].lstrip("/")), None)
        if command is None:
            return []
        path = [command.name]
        options: list[dict[str, Any]] = command.definition.get("options") or []
        for word in words[1:]:
            nested = next((o for o in options if o.get("name") == word), None)
            if nested is None or nested.get("type") not in (SUB_COMMAND, SUB_COMMAND_GROUP):
                break
            path.append(word)
            options = nested.get("options") or []
        if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
            return [o["name"] + " " for o in options if o["name"].startswith(typed)]
        name, colon, value = typed.partition(":")
        if colon:
            definition = next((o for o in options if o["name"] == name), None)
            if definition is not None and definition.get("autocomplete"):
                others = [w for w in words[len(path) :] if ":" in w]
                found = await self._suggested(" ".join(path), definition, value, others)
            else:
                found = [v for v in self._values(definition) if v.lower().startswith(value.lower())]
            return [f"{name}:{quoted(v)}" for v in found]
        used = {w.partition(":")[0] for w in words if ":" in w}
        return [
            o["name"] + ":"
            for o in options
            if o["name"].startswith(typed) and o["name"] not in used
        ]

    async def _suggested(
        self, command: str, definition: dict[str, Any], value: str, others: list[str]
    ) -> list[str]:
        """Ask the bot, as Discord does while a member types into an autocomplete option; the
        console remembers which value each suggestion stands for (Discord sends the value)."""
        name = str(definition["name"])
        given: dict[str, Any] = {}
        with contextlib.suppress(ConsoleError, UsageError):
            given = self.parse_slash("/" + " ".join([command, *map(quoted, others)]))[1]
        given.pop(name, None)
        choices = await self.sandbox.autocomplete(
            self.actor, command, name, value, _channel=self.where, **given
        )
        self.sandbox.problems.clear()  # a failed suggestion shows nothing, as in Discord
        picks = self._picks.setdefault((command, name), {})
        for label, picked in choices:
            picks[label] = str(picked)
        return [label for label, _ in choices]

    def _values(self, definition: dict[str, Any] | None) -> list[str]:
        if definition is None:
            return []
        if definition.get("choices"):
            return [str(c["name"]) for c in definition["choices"]]
        kind = definition.get("type")
        if kind == 6:
            return list(self.sandbox.office.users)
        if kind == 7:
            return [str(c.name) for c in self.sandbox.guild.channels.values()]
        if kind == 8:
            return [r.name for r in self.sandbox.guild.roles.values() if not r.name.startswith("@")]
        if kind == BOOLEAN:
            return ["yes", "no"]
        return []


def token_start(line: str) -> int:
    """Where the last word of ``line`` starts, quotes respected (``a:"b c`` is one word)."""
    start = 0
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char.isspace():
            start = index + 1
    return start


def unquoted(token: str) -> str:
    """A word as shlex reads it, an unclosed quote closed: ``a:"b c`` → ``a:b c``."""
    for closing in ("", '"', "'"):
        with contextlib.suppress(ValueError):
            return "".join(shlex.split(token + closing))
    return token


def quoted(value: str) -> str:
    """``value`` as one console word: in double quotes when it has spaces or quotes."""
    if value and not any(c.isspace() or c in "\"'\\" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

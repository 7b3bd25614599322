"""Hypothesis strategies for slash command options, derived from the definitions the bot synced
to the emulator: every command and subcommand, every option, within what the Discord client
lets a member send (choices, lengths, ranges, channel types) — and nastier than people mean to
be inside those limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator import commands as cmd

# Discord's own cap on a string option without a max_length.
STRING_LIMIT = 6000

SQL_LIKE = (
    "'; DROP TABLE tasks; --",
    '" OR 1=1 --',
    "1 OR 1=1",
    "#1; DELETE FROM leave_requests",
    "Robert'); DROP TABLE audit_log;--",
    "%",
    "_",
    "\\",
    "NULL",
)
DATE_LIKE = (
    "today",
    "tomorrow",
    "yesterday",
    "fri",
    "3 Dec",
    "2026-12-03",
    "2026-02-29",
    "2028-02-29",
    "2026-13-01",
    "2026-12-32",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-12",
    "Dec",
    "Smarch",
    "２０２６-１２-０３",  # full-width digits
    "2026-12-03 17:00",
    "fri 25:00",
    "mon 09:60",
)
NUMBER_LIKE = (
    "0",
    "-1",
    "1.5",
    "½",
    "14,5",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "none",
    "99999999999999999999",
    "#99999999999999999999",
    "9223372036854775808",
    "#-1",
    "#0",
    "٣",  # an Arabic-Indic digit: str.isdigit() says yes, int() agrees
    "²",  # a superscript: str.isdigit() says yes, int() refuses
)
TIME_LIKE = ("09:00", "9am", "24:00", "23:59", "00:00", "12:60", "-01:00", "9", "noon")
ODD_TEXT = (
    " ",
    "\x00",
    "\u200b",
    "\u202eevil",
    "\r\n\t",
    "<@1>",
    "@everyone",
    "<#1>",
    "**bold** `code` ||spoiler||",
    "🎉" * 50,
    "Ω≈ç√∫",
    "Europe/London",
    "Mars/Olympus_Mons",
    "UTC+25",
    "../../etc/passwd",
)


def short_text(ids: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Words people type, words that look like SQL, dates, numbers, ids of other guilds'
    objects, control characters and any unicode (no lone surrogates: JSON cannot carry them)."""
    return st.one_of(
        st.sampled_from(SQL_LIKE + DATE_LIKE + NUMBER_LIKE + TIME_LIKE + ODD_TEXT),
        st.sampled_from(ids) if ids else st.nothing(),
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
        st.text(st.characters(codec="ascii"), min_size=1, max_size=12),
    )


@dataclass(frozen=True)
class Option:
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def required(self) -> bool:
        return bool(self.definition.get("required"))

    @property
    def autocomplete(self) -> bool:
        return bool(self.definition.get("autocomplete"))


@dataclass(frozen=True)
class SlashCommand:
    path: str  # "task show"
    options: tuple[Option, ...]


def slash_commands(sandbox: Sandbox, member: str) -> list[SlashCommand]:
    """Every leaf command (subcommands included) ``member`` sees, as synced."""
    found: list[SlashCommand] = []

    def walk(path: str, definitions: list[dict[str, Any]]) -> None:
        nested = [o for o in definitions if o["type"] in (cmd.SUB_COMMAND, cmd.SUB_COMMAND_GROUP)]
        if nested:
            for option in nested:
                walk(f"{path} {option['name']}", option.get("options") or [])
            return
        found.append(SlashCommand(path, tuple(Option(o) for o in definitions)))

    for command in sandbox.slash_commands(member):
        walk(command.name, command.definition.get("options") or [])
    return found


class Values:
    """Option value strategies for one office: its members, channels and roles by name."""

    def __init__(self, sandbox: Sandbox, foreign_ids: tuple[str, ...] = ()) -> None:
        guild = sandbox.guild
        self.members = tuple(
            sandbox.emulator.world.users[user_id].username for user_id in guild.members
        )
        self.roles = tuple(role.name for role in guild.roles.values())
        self.channels = {channel.name: channel.type for channel in guild.channels.values()}
        self.foreign_ids = foreign_ids

    def text(self, definition: dict[str, Any]) -> st.SearchStrategy[str]:
        low = max(1, int(definition.get("min_length") or 1))
        high = min(int(definition.get("max_length") or STRING_LIMIT), STRING_LIMIT)
        long_text = st.builds(
            lambda unit, size: (unit * size)[:size],
            st.sampled_from(("x", "é", "🎉", "'; --", "ab\x00", "\u200b")),
            st.integers(max(low, high - 3), high),
        )
        return st.one_of(short_text(self.foreign_ids), long_text).filter(
            lambda text: low <= len(text) <= high
        )

    def for_option(self, definition: dict[str, Any]) -> st.SearchStrategy[Any]:
        kind = definition["type"]
        choices = definition.get("choices")
        if choices:
            return st.sampled_from([choice["value"] for choice in choices])
        if kind == cmd.STRING:
            return self.text(definition)
        if kind == cmd.INTEGER:
            low, high = definition.get("min_value"), definition.get("max_value")
            low = -(2**53) if low is None else int(low)
            high = 2**53 if high is None else int(high)
            return st.one_of(st.sampled_from((low, high)), st.integers(low, high))
        if kind == cmd.NUMBER:
            low, high = definition.get("min_value"), definition.get("max_value")
            low = -1e15 if low is None else float(low)
            high = 1e15 if high is None else float(high)
            return st.one_of(
                st.sampled_from((low, high, min(max(0.0, low), high))),
                st.floats(low, high, allow_nan=False, allow_infinity=False),
            )
        if kind == cmd.BOOLEAN:
            return st.booleans()
        if kind == cmd.USER_OPTION:
            return st.sampled_from(self.members)
        if kind == cmd.ROLE:
            return st.sampled_from(self.roles)
        if kind == cmd.MENTIONABLE:
            return st.sampled_from(self.members + self.roles)
        if kind == cmd.CHANNEL:
            allowed = definition.get("channel_types")
            names = [n for n, t in self.channels.items() if not allowed or t in allowed]
            return st.sampled_from(names)
        if kind == cmd.ATTACHMENT:
            return st.tuples(st.sampled_from(("a.csv", "x.png", "../x")), st.binary(max_size=64))
        raise AssertionError(f"no strategy for option type {kind} ({definition['name']})")

    def options(self, command: SlashCommand) -> st.SearchStrategy[dict[str, Any]]:
        """Every required option, and each optional one or not."""
        required = {o.name: self.for_option(o.definition) for o in command.options if o.required}
        optional = {
            o.name: self.for_option(o.definition) for o in command.options if not o.required
        }
        return st.fixed_dictionaries(required, optional=optional)

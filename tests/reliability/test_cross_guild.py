"""Two offices on one bot and one database: nothing of one ever shows in, or is changed from,
the other.

"Concord Office" (everything it holds says Alpha) and "Second Office" (Bravo) share bob, a
member of staff in both, and alice, a manager in the first and only staff in the second. Both
have tasks, comments, leave requests (bob's on the same day in both), holidays on the same day,
their own leave types, daily reports with blockers and a task board. Then:

- every command, autocomplete, export, board and reminder of one office shows nothing of the
  other, for its manager, for bob and for alice — commands and options come from the synced
  definitions, so new ones are covered;
- the other office's ids, typed into every option that takes an id or forged into every
  button's custom id (in a channel, or in a DM by someone who is not a member), are refused
  with a clear message and change nothing.

Every module takes part through its descriptor's fixtures: its sample objects, the table of
the ids it names, its persistent buttons (concord/cogs/modkit.py); a new module is covered
without a change here (tests/kudos proves it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from concord.cogs.modkit import Module
from concord.core import task_board
from concord.db.maintenance import check
from concord.sandbox.driver import Message, Reply, Sandbox
from concord.sandbox.emulator import commands as cmd
from concord.sandbox.office import Office
from tests.reliability.checks import ErrorSpy, database_state, is_clear_error
from tests.reliability.slash_inputs import Option, SlashCommand, slash_commands
from tests.reliability.two_guilds import acting_in, invite_to_second_office


@pytest.fixture(autouse=True)
def immediate_boards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A posted board refreshes at once (the coalescing delay is not under test)."""
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    yield


@dataclass
class Side:
    """One office as the test sees it."""

    office: Office
    marker: str  # in every title, reason, comment, holiday and leave type it holds
    manager: str
    outsider: str  # a member of this office only
    modules: tuple[Module, ...]
    ids: dict[str, list[int]]  # module name -> ids of its objects in this office

    def ids_for(self, command: SlashCommand) -> list[int]:
        """The ids a command of this group names (each kind of object counts its own)."""
        group = command.path.split()[0]
        assert group in {m.name for m in self.modules}, f"/{group}: no module declares it"
        return self.ids.get(group, [])

    def forged(self, *, in_dm: bool = False) -> list[str]:
        """Every module's persistent buttons, with this office's ids."""
        return [
            template.format(id=i)
            for module in self.modules
            for template in (module.fixtures.dm_buttons if in_dm else module.fixtures.buttons)
            for i in self.ids.get(module.name, [])
        ]

    @property
    def request_ids(self) -> list[int]:
        return self.ids["leave"]

    @property
    def guild_id(self) -> int:
        return self.office.guild.id


async def fill_office(sandbox: Sandbox, marker: str, manager: str, other: str) -> Side:
    """The office set up, and every module's sample objects named with ``marker``; ``other``
    is a member of staff of this office only."""
    await sandbox.configure_office()
    ids: dict[str, list[int]] = {}
    for module in sandbox.modules:
        if module.fixtures.sample is not None:
            await module.fixtures.sample(sandbox, marker, manager, other)
        table = module.fixtures.id_table
        if table is not None:
            rows = await sandbox.db.fetchall(
                f'SELECT id FROM "{table}" WHERE guild_id = ? ORDER BY id', (sandbox.guild.id,)
            )
            ids[module.name] = [row["id"] for row in rows]
    return Side(sandbox.office, marker, manager, other, sandbox.modules, ids)


@pytest.fixture
async def offices(sandbox: Sandbox) -> tuple[Side, Side]:
    second = await invite_to_second_office(sandbox)
    first = await fill_office(sandbox, "Alpha", "alice", "carol")
    with acting_in(sandbox, second):
        other = await fill_office(sandbox, "Bravo", "frank", "grace")
    return first, other


def shown(reply: Reply) -> str:
    """Everything a member sees of a reply: its text, the files it carries, a form's
    prefilled values."""
    files = "\n".join(data.decode("utf-8", "replace") for _, data in reply.files)
    form = "\n".join(f.value or "" for f in reply.modal.fields) if reply.modal else ""
    return f"{reply.text}\n{files}\n{form}"


def option_values(option: Option) -> list[Any]:
    return [choice["value"] for choice in option.definition.get("choices") or []]


# -- nothing shows --------------------------------------------------------------------------------
async def assert_shows_nothing_of(sandbox: Sandbox, here: Side, there: Side) -> int:
    """Every command without free-text input and every autocomplete, as several members."""
    sent = 0
    for actor in dict.fromkeys((here.manager, "bob", "alice")):
        for command in slash_commands(sandbox, actor):
            required = [o for o in command.options if o.required]
            foreign_ids = {str(i) for i in there.ids_for(command)}
            for option in command.options:
                if not option.autocomplete:
                    continue
                for typed in ("", there.marker, *(f"#{i}" for i in foreign_ids)):
                    choices = await sandbox.autocomplete(actor, command.path, option.name, typed)
                    sent += 1
                    where = f"/{command.path} {option.name}:{typed!r} as {actor}"
                    assert all(there.marker not in name for name, _ in choices), (where, choices)
                    assert not {str(v) for _, v in choices} & foreign_ids, (where, choices)
            if any(not option_values(o) for o in required):
                continue  # free-text input: the guessed-ids test gives it the other's ids
            for values in itertools.product(*(option_values(o) for o in required)):
                options = {o.name: v for o, v in zip(required, values, strict=True)}
                reply = await sandbox.slash(actor, command.path, **options)
                sent += 1
                assert there.marker not in shown(reply), (command.path, actor, shown(reply))
    return sent


async def test_no_command_autocomplete_export_board_or_reminder_shows_the_other_office(
    sandbox: Sandbox, offices: tuple[Side, Side]
) -> None:
    first, second = offices
    sent = await assert_shows_nothing_of(sandbox, first, second)
    with acting_in(sandbox, second.office):
        sent += await assert_shows_nothing_of(sandbox, second, first)
    assert sent > 150
    # A day later the pending requests are reminded, each office in its own channel.
    sandbox.clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())
    for here, there in ((first, second), (second, first)):
        for channel in here.office.guild.channels.values():
            for message in sandbox.messages(channel):
                assert there.marker not in message.text, (channel.name, message.text)
    for side in (first, second):
        with acting_in(sandbox, side.office):
            reminder = sandbox.last_message("approvals")
        assert "waiting more than" in reminder.text
        assert f"#{side.request_ids[0]}" in reminder.text, reminder.text


# -- nothing changes ------------------------------------------------------------------------------
class Refusals:
    """Sends actions that must be refused, checking each: a clear error, nothing of the other
    office in the reply, the database unchanged."""

    def __init__(self, sandbox: Sandbox, spy: ErrorSpy, there: Side) -> None:
        self.sandbox = sandbox
        self.spy = spy
        self.there = there
        self.sent = 0

    async def expect(self, where: str, action: Any) -> None:
        before = await database_state(self.sandbox)
        self.spy.clear()
        reply: Reply = await action
        self.sent += 1
        assert reply.responded, where
        assert self.spy.errors and all(is_clear_error(e) for e in self.spy.errors), (
            where,
            reply.text,
            self.spy.errors,
        )
        assert self.there.marker not in shown(reply), (where, shown(reply))
        assert await database_state(self.sandbox) == before, f"{where}: {reply.text}"


def plain_value(option: Option, here: Side) -> Any:
    """A harmless value for an option that is not under test."""
    if option.definition.get("choices"):
        return option.definition["choices"][0]["value"]
    kind = option.definition["type"]
    if kind in (cmd.INTEGER, cmd.NUMBER):
        return max(1, option.definition.get("min_value") or 1)
    if kind == cmd.BOOLEAN:
        return True
    if kind == cmd.USER_OPTION:
        return "bob"
    return f"{here.marker} note"


async def id_options(sandbox: Sandbox, actor: str, command: SlashCommand) -> list[Option]:
    """The options that take an id: the bot suggests numbers for them."""
    found = []
    for option in command.options:
        if option.autocomplete and option.definition["type"] == cmd.STRING:
            choices = await sandbox.autocomplete(actor, command.path, option.name, "")
            if choices and all(str(value).isdigit() for _, value in choices):
                found.append(option)
    return found


def forged_card(sandbox: Sandbox, channel: Any, custom_id: str) -> Message:
    """A bot message carrying ``custom_id``, as a modified client could present it."""
    emulator = sandbox.emulator
    body = {
        "content": "Forged",
        "components": [
            {
                "type": 1,
                "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": custom_id}],
            }
        ],
    }
    return Message(sandbox, emulator.store_message(channel, emulator.bot_user, body, []))


async def assert_other_ids_refused(
    sandbox: Sandbox, refusals: Refusals, here: Side, there: Side
) -> None:
    actors = dict.fromkeys((here.manager, "bob"))  # bob is the requester and assignee there
    for actor in actors:
        for command in slash_commands(sandbox, actor):
            for option in await id_options(sandbox, actor, command):
                others = {
                    o.name: plain_value(o, here)
                    for o in command.options
                    if o.required and o.name != option.name
                }
                for foreign in there.ids_for(command):
                    options = {**others, option.name: f"#{foreign}"}
                    where = f"/{command.path} {options} as {actor}"
                    await refusals.expect(where, sandbox.slash(actor, command.path, **options))
    general = sandbox.channel("general")
    for custom_id, actor in itertools.product(there.forged(), actors):
        card = forged_card(sandbox, general, custom_id)
        where = f"{custom_id} clicked by {actor} in #general"
        await refusals.expect(where, sandbox.click(actor, card, custom_id=custom_id))


async def test_ids_of_the_other_office_are_refused_and_change_nothing(
    sandbox: Sandbox, offices: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = offices
    spy = ErrorSpy(sandbox, monkeypatch)
    into_second = Refusals(sandbox, spy, second)
    await assert_other_ids_refused(sandbox, into_second, first, second)
    with acting_in(sandbox, second.office):
        into_first = Refusals(sandbox, spy, first)
        await assert_other_ids_refused(sandbox, into_first, second, first)
    assert into_second.sent > 40 and into_first.sent > 40
    # Someone who is not in an office forges its task buttons in a DM with the bot.
    for here, there in ((first, second), (second, first)):
        with acting_in(sandbox, here.office):
            dm = sandbox.emulator.world.dm_channel(sandbox.member(here.outsider))
            forged = there.forged(in_dm=True)
            forged.append(f"dar:submit:{there.guild_id}:2026-12-01")  # a reminder's button
            for custom_id in forged:
                card = forged_card(sandbox, dm, custom_id)
                where = f"{custom_id} clicked in a DM by {here.outsider}"
                refusals = Refusals(sandbox, spy, there)
                await refusals.expect(
                    where, sandbox.click(here.outsider, card, custom_id=custom_id)
                )
    assert check(sandbox.db_path) == []

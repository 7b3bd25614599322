"""Hypothesis drives every slash command through the emulator with whatever a member can type:
dates and numbers out of range or malformed, any unicode, control characters, the longest
strings Discord accepts, SQL-looking text, and the ids of another guild's tasks and requests.

The commands and their option types come from the definitions the bot synced, so a new command
is covered the day it is added. One bot answers every example. For each one:

- a reply: success or a clear error (the sandbox fails on an unexpected error logged, a request
  Discord would refuse, or an interaction left unanswered);
- an error changed nothing in the database;
- another guild's data never shows;
- the file passes the integrity and foreign key checks of `concord db check`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.core import task_board
from concord.core.tasks import Actor, TaskDraft
from concord.db.leave import LeaveManager, PolicyChange
from concord.db.maintenance import check
from concord.db.tasks import TaskManager
from concord.sandbox.driver import Modal, Reply, Sandbox
from concord.sandbox.emulator import commands as cmd
from tests.reliability.checks import ErrorSpy, database_state, is_clear_error
from tests.reliability.slash_inputs import (
    STRING_LIMIT,
    Option,
    SlashCommand,
    Values,
    slash_commands,
)

OTHER_GUILD = 424242  # a guild the bot is not in, whose rows share the database
SECRET = "Zq9 other guild"  # in every title and reason of the other guild
ACTORS = ("owner", "alice", "bob")
TEXT_INPUT = 4  # a modal's text field  # the guild owner, a manager, a member of staff
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def immediate_boards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A posted board refreshes at once (the coalescing delay is not under test)."""
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    yield


async def seed_other_guild(sandbox: Sandbox) -> tuple[str, ...]:
    """Tasks and leave of another guild in the same file; their ids as a member would type
    them."""
    tasks, leave = TaskManager(sandbox.db), LeaveManager(sandbox.db)
    actor = Actor(7, is_manager=True)
    task_ids = [
        (await tasks.create(OTHER_GUILD, actor, TaskDraft(title=f"{SECRET} {n}"), NOW)).id
        for n in range(2)
    ]
    await leave.set_policy(
        OTHER_GUILD,
        "Annual",
        PolicyChange(allowance=Fraction(30)),
        actor=Actor(7, True),
        now=NOW,
    )
    applied = await leave.apply(
        OTHER_GUILD,
        actor=Actor(8, False),
        user_id=8,
        leave_type="Annual",
        start=date(2026, 12, 3),
        reason=SECRET,
        now=NOW,
    )
    ids = [*task_ids, applied.request.id]
    return tuple(text for i in ids for text in (str(i), f"#{i}"))


class InputChecker:
    """Sends one command (or autocomplete) and checks everything the module docstring says."""

    def __init__(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, check_each: bool
    ) -> None:
        self.sandbox = sandbox
        self.check_each = check_each  # integrity after every example, or once at the end
        self.monkeypatch = monkeypatch
        self.spy: ErrorSpy | None = None
        self.foreign_ids: tuple[str, ...] = ()
        self.sent = 0
        self.forms = 0
        self.day = date(2026, 12, 1)

    async def start(self) -> InputChecker:
        await self.sandbox.configure_office()
        # The first look at leave types creates the guild's default ones; do it before any
        # autocomplete, which must not write.
        await self.sandbox.slash("alice", "leave types")
        # Enough Annual leave that the examples' requests are refused for their values only.
        await self.sandbox.slash("alice", "leave policy", leave_type="Annual", allowance="1000")
        self.foreign_ids = await seed_other_guild(self.sandbox)
        self.spy = ErrorSpy(self.sandbox, self.monkeypatch)
        return self

    def next_working_day(self) -> str:
        """A fresh weekday each time: valid as a date, plain as a name or a title, and never
        one a request or a holiday of an earlier example already took."""
        self.day += timedelta(days=1 if self.day.weekday() < 4 else 3)
        return self.day.isoformat()

    async def slash(self, actor: str, path: str, options: dict[str, Any]) -> Reply:
        where = f"/{path} {options} as {actor}"
        return await self._checked(where, self.sandbox.slash(actor, path, **options))

    async def submit(self, actor: str, modal: Modal, fields: dict[str, str]) -> Reply:
        where = f"the form {modal.title!r} with {fields} by {actor}"
        self.forms += 1
        return await self._checked(where, self.sandbox.submit(actor, modal, **fields))

    async def _checked(self, where: str, action: Awaitable[Reply]) -> Reply:
        assert self.spy is not None, "start() first"
        before = await database_state(self.sandbox)
        self.spy.clear()
        self.sent += 1
        reply = await action
        assert reply.responded, where
        assert SECRET not in reply.text, f"{where}: {reply.text}"
        if self.spy.errors:
            assert all(is_clear_error(e) for e in self.spy.errors), (where, self.spy.errors)
            assert reply.text.strip(), f"{where}: an error without a message"
            after = await database_state(self.sandbox)
            assert after == before, f"{where}: {reply.text!r} changed data"
        if self.check_each:
            assert check(self.sandbox.db_path) == [], where
        return reply

    async def autocomplete(
        self, actor: str, path: str, option: str, typed: str, others: dict[str, Any]
    ) -> list[tuple[str, Any]]:
        before = await database_state(self.sandbox)
        self.sent += 1
        choices = await self.sandbox.autocomplete(actor, path, option, typed, **others)
        where = f"/{path} {option}:{typed!r} (autocomplete) as {actor}"
        assert len(choices) <= 25, where
        assert all(SECRET not in name for name, _ in choices), (where, choices)
        assert await database_state(self.sandbox) == before, f"{where} changed data"
        return choices


# -- every option, every kind of nasty value -----------------------------------------------------
def killer_values(limits: dict[str, Any], foreign_ids: tuple[str, ...]) -> list[str]:
    """One value of each kind the issue names, as long as Discord lets it through."""
    high = min(int(limits.get("max_length") or STRING_LIMIT), STRING_LIMIT)
    low = int(limits.get("min_length") or 1)
    found = [
        "99999999999999999999",  # no SQLite integer holds it
        "#-1",
        "²",  # a digit to str.isdigit(), not to int()
        "'; DROP TABLE tasks; --",
        "\x00 \u202e\u200b",  # NUL, a right-to-left override, a zero-width space
        "2026-02-30",
        "0001-01-01",
        "9999-12-31",
        "x" * high,  # the longest Discord accepts
        *foreign_ids[1::2][:2],  # "#<id>" of the other guild's first task and its request
    ]
    return [value for value in found if low <= len(value) <= high]


def plain_value(checker: InputChecker, option: Option) -> Any:
    """What a member would give an option that is not under test."""
    definition = option.definition
    if definition.get("choices"):
        return definition["choices"][0]["value"]
    kind = definition["type"]
    if kind == cmd.STRING:
        return checker.next_working_day()
    if kind in (cmd.INTEGER, cmd.NUMBER):
        low, high = definition.get("min_value"), definition.get("max_value")
        value = 1 if low is None else max(1, low)
        return value if high is None else min(value, high)
    if kind == cmd.BOOLEAN:
        return True
    return {cmd.USER_OPTION: "bob", cmd.ROLE: "Staff", cmd.MENTIONABLE: "bob"}.get(kind, "general")


class PlainOptions:
    """The required options of a command at harmless values: what the bot suggests first
    where it suggests, else a plain value (a fresh date for text)."""

    def __init__(self, checker: InputChecker, actor: str, command: SlashCommand) -> None:
        self.checker = checker
        self.actor = actor
        self.command = command
        self.required = [o for o in command.options if o.required]
        self.picked: dict[str, Any] = {}

    async def pick_suggestions(self) -> PlainOptions:
        for option in self.required:
            if option.autocomplete:
                choices = await self.checker.autocomplete(
                    self.actor, self.command.path, option.name, "", {}
                )
                if choices:
                    self.picked[option.name] = choices[0][1]
        return self

    def values(self, skip: str | None = None) -> dict[str, Any]:
        return {
            o.name: self.picked[o.name] if o.name in self.picked else plain_value(self.checker, o)
            for o in self.required
            if o.name != skip
        }


async def sweep_command(checker: InputChecker, actor: str, command: SlashCommand) -> None:
    plain = await PlainOptions(checker, actor, command).pick_suggestions()
    for option in command.options:
        if option.definition["type"] != cmd.STRING or option.definition.get("choices"):
            continue
        for value in killer_values(option.definition, checker.foreign_ids):
            await checker.slash(
                actor, command.path, {**plain.values(option.name), option.name: value}
            )
    # A command that opens a form (a report, a task's edit): every text field of it too.
    opened = await checker.slash(actor, command.path, plain.values())
    if opened.modal is None:
        return
    for field in [f for f in opened.modal.fields if f.kind == TEXT_INPUT]:
        limits = {"min_length": field.min_length, "max_length": field.max_length}
        for value in killer_values(limits, checker.foreign_ids):
            form = (await checker.slash(actor, command.path, plain.values())).modal
            if form is None:
                return  # once submitted, the command answers without a form
            filled = {
                f.custom_id: f.value or checker.next_working_day()
                for f in form.fields
                if f.kind == TEXT_INPUT and f.required
            }
            await checker.submit(actor, form, {**filled, field.custom_id: value})


@pytest.mark.slow
async def test_every_text_option_and_form_field_takes_every_kind_of_nasty_value(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = await InputChecker(sandbox, monkeypatch, check_each=False).start()
    actor = "alice"  # a manager: permission checks pass, the values themselves are checked
    for command in slash_commands(sandbox, actor):
        await sweep_command(checker, actor, command)
    assert checker.sent > 300 and checker.forms > 20
    assert check(sandbox.db_path) == []


# -- anything at all, anywhere -------------------------------------------------------------------
@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_input_to_any_command(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    checker: InputChecker | None = getattr(sandbox, "input_checker", None)
    if checker is None:  # once per bot, not once per example
        checker = await InputChecker(sandbox, monkeypatch, check_each=True).start()
        sandbox.input_checker = checker  # type: ignore[attr-defined]
    values = Values(sandbox, checker.foreign_ids)
    actor = data.draw(st.sampled_from(ACTORS), label="actor")
    command: SlashCommand = data.draw(
        st.sampled_from(slash_commands(sandbox, actor)), label="command"
    )
    options = data.draw(values.options(command), label="options")
    autocomplete = [o for o in command.options if o.autocomplete]
    if autocomplete and data.draw(st.booleans(), label="autocomplete instead"):
        option = data.draw(st.sampled_from(autocomplete), label="typing into")
        typed = data.draw(values.text({"max_length": 100}), label="typed")
        others = {k: v for k, v in options.items() if k != option.name}
        await checker.autocomplete(actor, command.path, option.name, typed, others)
    else:
        await checker.slash(actor, command.path, options)

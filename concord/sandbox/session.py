"""Running ``concord sandbox``: open the emulator and the bot on the sandbox database (the office
set up, the emulated Discord restored from the last run), then read console lines from the
terminal (readline, Tab completion) or from a ``--script`` file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from concord.core.settings import GuildConfig
from concord.sandbox.clock import SandboxClock
from concord.sandbox.console import Console
from concord.sandbox.driver import DEFAULT_START, Sandbox
from concord.sandbox.office import MEMBERS
from concord.sandbox.persist import load_state, save_state, saved_clock

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    db_path: Path
    fresh: bool = False
    script: Path | None = None
    actor: str = "owner"
    start: datetime | None = None
    verbose: bool = False


def state_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".world.json")


def _remove_files(db_path: Path) -> None:
    for path in (
        db_path,
        db_path.with_name(db_path.name + "-wal"),
        db_path.with_name(db_path.name + "-shm"),
        state_path(db_path),
    ):
        path.unlink(missing_ok=True)


async def open_console(options: Options, write: Callable[[str], None] = print) -> Console:
    """Start the emulator and the bot on the sandbox database, the office set up."""
    db_path = options.db_path
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if options.fresh:
        _remove_files(db_path)
    world_file = state_path(db_path)
    start = options.start
    if start is None and options.script is not None and not world_file.exists():
        # A script on a new office starts on the sandbox's own day, as the tests do: its
        # people join the office then, and the transcript reads the same on any day it runs
        # (from the wall clock, a script moving to its dates went back to before they joined).
        start = DEFAULT_START
    clock = SandboxClock(start)
    resume = saved_clock(world_file)
    if start is None and resume is not None and resume > clock.now():
        # Time never runs backwards for the office: what was filed or ran stays in the past.
        clock.set(resume)
    sandbox = Sandbox(
        db_path.parent,
        clock=clock,
        db_path=db_path,
        health_file=db_path.with_name(db_path.stem + "-health.json"),
        guild_ready_timeout=0.05,
        scheduler_seconds=None if options.script else 30,
        response_timeout=30,
    )
    sandbox.strict = False
    # Without the saved emulator state the commands the database remembers as synced are
    # unknown to this emulator: sync them again.
    sandbox.force_sync = not load_state(sandbox.emulator, world_file)
    await sandbox.start()
    console = Console(sandbox, write)
    console.actor = sandbox.member(options.actor).username
    config = await console.config()
    if config == GuildConfig(guild_id=sandbox.guild.id):
        await sandbox.configure_office()
    return console


async def close_console(console: Console, db_path: Path) -> None:
    try:
        save_state(console.sandbox.emulator, state_path(db_path))
    finally:
        await console.sandbox.stop()


def banner(console: Console) -> str:
    sandbox = console.sandbox
    return (
        f"Concord Desk sandbox — {sandbox.guild.name}, the bot ready in "
        f"{1000 * (sandbox.startup_seconds or 0):.0f} ms (local Discord emulator, no network).\n"
        "Members: owner, alice (Manager), bob, carol, dave. Type help; Tab completes.\n"
        "Try: /concord settings   ·   as bob   ·   channel approvals"
    )


async def run_script(options: Options, write: Callable[[str], None] = print) -> int:
    """Run a script's lines and print the transcript; 1 when something failed."""
    assert options.script is not None
    try:
        lines = options.script.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        write(f"cannot read {options.script}: {error.strerror}")
        return 2
    console = await open_console(options, write)
    try:
        feed = iter(lines)
        for line in feed:
            if not line.strip() or line.lstrip().startswith("#"):
                if line.lstrip().startswith("##"):
                    write("")
                    write(line.lstrip("# ").rstrip())
                continue
            write(f"{console.prompt()}{line}")
            if not await console.execute(line):
                break
            while console.pending is not None and not console.failed:
                answers = []
                for question in console.questions():
                    answer = next(feed, "")
                    write(f"{question.prompt}{answer}")
                    answers.append(answer.strip())
                await console.submit(answers)
            if console.failed:
                write(f"✗ stopped: {options.script} failed at: {line}")
                return 1
        return 0
    finally:
        await close_console(console, options.db_path)


def _readline_setup(console: Console, runner: _LoopThread) -> None:
    try:
        import readline
    except ImportError:  # not on every platform; the console works without it
        return
    matches: list[str] = []

    def completer(text: str, state: int) -> str | None:
        # readline asks for state 0, 1, 2… until None; the bot is asked once, at state 0.
        if state == 0:
            line = readline.get_line_buffer()[: readline.get_endidx()]
            matches[:] = runner.call(console.complete(line, text))
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" ")
    readline.set_completer(completer)
    readline.parse_and_bind("tab: complete")


class _LoopThread:
    """The emulator and the bot run on an event loop in a thread; the console reads lines in
    the main thread (readline, Ctrl-C)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="sandbox-loop", daemon=True
        )
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def run_interactive(options: Options) -> int:
    runner = _LoopThread()
    try:
        console = runner.call(open_console(options))
    except BaseException:
        runner.close()
        raise
    _readline_setup(console, runner)
    print(banner(console))
    try:
        while True:
            try:
                line = input(console.prompt())
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print("^C")
                continue
            try:
                if not runner.call(console.execute(line)):
                    break
                while console.pending is not None:
                    answers = [input(q.prompt).strip() for q in console.questions()]
                    runner.call(console.submit(answers))
            except KeyboardInterrupt:
                console.close_modal()
                print("^C")
            console.failed = False
    finally:
        with contextlib.suppress(Exception):
            runner.call(close_console(console, options.db_path))
        runner.close()
    return 0


def configure_logging(db_path: Path, verbose: bool) -> None:
    """Bot logs go to data/sandbox.log (the console shows problems inline); -v: stderr too."""
    from concord.logsetup import setup_logging

    setup_logging("INFO")
    root = logging.getLogger()
    if not verbose:
        for existing in list(root.handlers):
            root.removeHandler(existing)
    handler = logging.FileHandler(db_path.with_name(db_path.stem + ".log"), encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("[{asctime}] [{levelname:<8}] {name}: {message}", style="{")
    )
    root.addHandler(handler)


def main(options: Options) -> int:
    if options.actor not in MEMBERS:
        members = ", ".join(MEMBERS)
        print(f"concord: --as {options.actor}: not a member (one of {members})", file=sys.stderr)
        return 2
    options.db_path.parent.mkdir(parents=True, exist_ok=True)
    configure_logging(options.db_path, options.verbose)
    if options.script is not None:
        return asyncio.run(run_script(options))
    return run_interactive(options)


def parse_start(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--clock: cannot read {text!r}; use 2026-12-01 09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

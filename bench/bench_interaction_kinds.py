"""Where a mixed interaction's CPU goes: each kind of interaction of bench_interactions.py's
mixed run, flat out on its own, against the same bot process, with the bot's CPU per
interaction next to /ping's.

    .venv/bin/python bench/bench_interaction_kinds.py [--interactions 1000] [--members 50]
        [--managers 10] [--kinds ping,settings,...] [--callgrind]

bench_interactions.py's capacity target (mixed flat out >= 0.5x /ping flat out) is, on a
machine whose cores the bot and the emulator share, a question of the bot's CPU per mixed
interaction against its CPU per /ping; this script says which interactions cost what. Kinds
(staff are the members without the Manager role):

- ``ping``: /ping from everyone (the baseline, as in bench_interactions.py);
- ``settings``, ``mine``, ``balance``: the staff run ``/concord settings``, ``/task mine``,
  ``/leave balance`` over and over;
- ``pending``: the managers run ``/leave pending`` (the list left by the warm-up);
- ``tasks``: the staff create a task for themselves and click Start, then Done on its card
  (three interactions per task);
- ``apply``: the staff apply for a day of Annual leave each (at most 15 each: no one runs out
  of days), each application posting its approval card;
- ``approve``: the managers click Approve on those cards (as many as there are);
- ``mixed``: bench_interactions.py's mixed run, for reference.

Before the kinds, a warm-up of /ping and a mixed run (the office then has tasks, requests and
a pending list, as in bench_interactions.py). With ``--callgrind`` the bot runs under valgrind's
callgrind (far slower, so use a few hundred interactions and fewer members) and each kind also
gets its instructions per interaction, which the machine's load does not move: the figure to
compare two versions of the code by. No targets: a diagnostic for bench_interactions.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import benchlib
from bench_interactions import (
    JUMP_URL,
    LEAVE_DAYS,
    TASK_ID,
    Member,
    Office,
    Role,
    Run,
    Schedule,
    approve_button,
    drive,
    manager,
    pinger,
    staff_member,
    start_bot,
)
from botproc import BotProcess

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator import RateLimits

KINDS = ("ping", "settings", "mine", "balance", "pending", "tasks", "apply", "approve", "mixed")
APPLICATIONS_EACH = 15  # of 25 Annual days: nobody's application is refused for want of days
CALLGRIND = "valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file={out}/cg.%p"


def repeat(path: str) -> Role:
    async def role(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
        while await schedule.next():
            await office.slash(member, path, run)

    return role


async def task_cycle(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while await schedule.next():
        member.tasks += 1
        title = f"Kinds task {member.tasks} of {member.user.username}"
        text = await office.slash(
            member, "task create", run, title=title, assignee=member.user.username
        )
        card, task = JUMP_URL.search(text), TASK_ID.search(text)
        if card is None or task is None:
            run.errors.append(f"/task create: no card in {text!r}")
            continue
        for action, label in (("start", "Start"), ("done", "Done")):
            if not await schedule.next():
                return
            custom_id = f"task:{action}:{task.group(1)}"
            await office.click(member, int(card.group(1)), custom_id, label, run)


async def apply(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while await schedule.next():
        day = LEAVE_DAYS[(member.applied + 5 * member.number) % len(LEAVE_DAYS)]
        member.applied += 1
        await office.slash(member, "leave apply", run, leave_type="Annual", start=day.isoformat())


async def approve(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while await schedule.next():
        message_id = office.cards.get_nowait()  # as many runs as there are cards
        custom_id = approve_button(office.sandbox.emulator.world.messages[message_id])
        assert custom_id is not None
        await office.click(member, message_id, custom_id, "Approve", run)


class Callgrind:
    """Instructions the bot process executes in a stretch of the run (callgrind_control)."""

    def __init__(self, directory: Path, pid: int) -> None:
        self.directory = directory
        self.pid = str(pid)

    async def control(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            "callgrind_control", *args, self.pid, stdout=asyncio.subprocess.DEVNULL
        )
        await process.wait()

    async def measure(self, stretch: Callable[[], Awaitable[Run]]) -> tuple[Run, int]:
        await self.control("-i", "on")
        await self.control("-z")
        run = await stretch()
        before = set(self.directory.glob("cg.*"))
        await self.control("-d")
        await self.control("-i", "off")
        instructions = 0
        for dump in set(self.directory.glob("cg.*")) - before:
            for line in dump.read_text().splitlines():
                if line.startswith(("summary:", "totals:")):
                    instructions = max(instructions, int(line.split()[1]))
            dump.unlink()
        return run, instructions


async def bench(args: argparse.Namespace, directory: Path) -> list[tuple[str, Run, int | None]]:
    sandbox = Sandbox(directory, response_timeout=60.0, rate_limits=RateLimits.relaxed())
    sandbox.strict = False
    office = Office(sandbox, args.members, args.managers)
    if args.callgrind:
        os.environ["CONCORD_BENCH_WRAP"] = CALLGRIND.format(out=directory)
    bot: BotProcess | None = None
    results: list[tuple[str, Run, int | None]] = []
    try:
        bot = await start_bot(sandbox, directory, one_process=False)
        assert bot is not None
        staff, managers = office.staff, office.managers
        everyone = managers + staff
        mixed: list[tuple[Member, Role]] = [(m, manager) for m in managers]
        mixed += [(m, staff_member) for m in staff]
        await drive(office, "warm-up", args.warmup, None, [(m, pinger) for m in everyone], bot)
        await drive(office, "warm-up", args.warmup * 10, None, mixed, bot)
        while not office.cards.empty():  # the kinds below post their own
            office.cards.get_nowait()
        roles: dict[str, list[tuple[Member, Role]]] = {
            "ping": [(m, pinger) for m in everyone],
            "settings": [(m, repeat("concord settings")) for m in staff],
            "mine": [(m, repeat("task mine")) for m in staff],
            "balance": [(m, repeat("leave balance")) for m in staff],
            "pending": [(m, repeat("leave pending")) for m in managers],
            "tasks": [(m, task_cycle) for m in staff],
            "apply": [(m, apply) for m in staff],
            "approve": [(m, approve) for m in managers],
            "mixed": mixed,
        }
        callgrind = Callgrind(directory, bot.process.pid) if args.callgrind else None
        for kind in args.kinds:
            total = args.interactions
            if kind == "apply":
                total = min(total, APPLICATIONS_EACH * len(staff))
            elif kind == "approve":
                total = office.cards.qsize()
            if total == 0:
                print(f"  {kind}: nothing to do (approve needs apply before it)")
                continue

            def stretch(kind: str = kind, total: int = total) -> Awaitable[Run]:
                return drive(office, kind, total, None, roles[kind], bot)

            if callgrind is None:
                results.append((kind, await stretch(), None))
            else:
                run, instructions = await callgrind.measure(stretch)
                results.append((kind, run, instructions))
    finally:
        if bot is not None:
            await bot.stop()
            await bot.kill()
        await sandbox.emulator.stop()
    return results


def report(results: list[tuple[str, Run, int | None]]) -> dict[str, Any]:
    ping = next((run for kind, run, _ in results if kind == "ping"), None)
    ping_ir = next((ir for kind, _, ir in results if kind == "ping"), None)
    rows, figures = [], {}
    for kind, run, instructions in results:
        n = len(run.samples)
        cpu = run.cpu_each_ms()
        ping_cpu = ping.cpu_each_ms() if ping is not None else None
        rest = sum(run.routes.values()) / n if n else 0.0
        ir_each = instructions / n / 1e6 if instructions and n else None
        figures[kind] = {
            "n": n,
            "per_s": round(run.rate, 1),
            "bot_cpu_ms_each": cpu,
            "cpu_vs_ping": benchlib.ratio(cpu or 0.0, ping_cpu or 0.0),
            "rest_requests_each": round(rest, 3),
            "instructions_m_each": round(ir_each, 3) if ir_each is not None else None,
            "instructions_vs_ping": (
                benchlib.ratio(ir_each, ping_ir / len(ping.samples) / 1e6)
                if ir_each is not None and ping_ir and ping is not None
                else None
            ),
            "errors": len(run.errors),
        }
        row = [kind, n, run.rate, cpu, figures[kind]["cpu_vs_ping"], rest]
        if instructions is not None:
            row += [ir_each, figures[kind]["instructions_vs_ping"]]
        rows.append([*row, len(run.errors)])
    headers = ["kind", "n", "interactions/s", "bot CPU ms each", "x /ping", "REST each"]
    if any(ir is not None for _, _, ir in results):
        headers += ["instructions M each", "x /ping"]
    print(benchlib.table([*headers, "errors"], rows))
    for kind, run, _ in results:
        for line in run.errors[:3]:
            print(f"  error ({kind}): {line}")
    return figures


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1000, help="per kind")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=200, help="/ping; mixed: ten times that")
    parser.add_argument("--kinds", default=",".join(KINDS), help=", ".join(KINDS))
    parser.add_argument("--callgrind", action="store_true", help="instructions too (slow)")
    args = parser.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    logging.basicConfig(level=logging.ERROR)
    benchlib.header(
        f"Interaction kinds: {args.interactions} of each, flat out, from {args.members} members "
        f"({args.managers} managers); the bot's CPU per interaction vs /ping"
        + (" (under callgrind)" if args.callgrind else "")
    )
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        results = await bench(args, Path(tmp))
    figures = report(results)
    print("no targets: a diagnostic for bench_interactions.py's capacity target")
    print(f"load average now {' '.join(str(x) for x in benchlib.load())}")
    benchlib.emit("interaction_kinds", {"callgrind": args.callgrind, "kinds": figures})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

"""Interactions end to end: mixed slash commands and button clicks from many members at once,
through the local Discord emulator and the real bot (unmodified discord.py client).

    .venv/bin/python bench/bench_interactions.py [--interactions 2000] [--members 50]
        [--managers 10] [--rate 300] [--warmup 100] [--one-process]

The office gets ``--members`` members (``--managers`` of them with the Manager role), all
acting at once, each waiting for the answer to one action before the next, as a person does:

- staff cycle through ``/task create`` (a task for themselves), Start and Done on its card,
  ``/leave apply`` (one day of Annual leave, their next working day of 2027), ``/task mine``,
  ``/leave balance`` and ``/concord settings``;
- managers click Approve on the approval cards the staff's requests post in #approvals, in the
  order the cards appear, and run ``/leave pending`` when there is no card waiting.

Two runs of ``--interactions`` each:
- paced: the members send on a shared schedule of ``--rate`` interactions/s (the target rate);
  a member whose previous answer came late sends at once. This is the latency figure: at a
  given load, how long each member waits;
- flat out: the members send as soon as they have their previous answer. This is the capacity
  figure (its latencies are those of a queue of ``--members`` always full). A flat-out run of
  2,000 /ping lasts under a second, so one pair's ratio moves with the minute (0.32x-0.55x for
  the same code on a quiet machine): ``--capacity-rounds`` pairs of flat-out runs go in ABBA
  order (/ping, mixed, then mixed, /ping, ...) and the capacity verdict is the median pair.

Latency is what Discord measures for the 3-second rule: from the emulator sending
INTERACTION_CREATE over the gateway to the bot's interaction callback arriving at the
emulator's REST route (``InteractionRecord.created`` → ``responded_at``, one monotonic clock).
"Answered" is until the member sees the answer: the callback, and for a deferred answer what
follows it (the followup that replaces "thinking…", or the edit of the clicked card). Throughput is interactions over the wall
time from the first INTERACTION_CREATE until the bot has made no request for 100 ms after the
last answer (card edits, DMs and board refreshes included).

The bot runs in a process of its own (bench/botproc.py) with the production settings, as it
would against Discord; the emulator and the simulated members run in this one, so the two
share the machine's 2 cores. ``--one-process`` runs everything on one event loop instead, as
the tests do (the emulator's work then counts against the bot).

Rate limits: the emulator answers with Discord's documented X-RateLimit-* headers (discord.py
reads them to know how many requests a bucket takes at once). ``--rate-limits relaxed`` (the
default, and the verdict) gives limits no run reaches: the figures measure the bot, not
Discord's per-channel and global limits, which a flat-out run of one office would otherwise
hit (every approval card goes to one channel, 5 per 5 s). ``--rate-limits discord`` runs with
the realistic table instead. The run prints which limits applied.

Baseline, in the same run and against the same bot: a trivial ``/ping`` command that answers
at once, sent by the same members in the same two ways — the emulator's and discord.py's own
round trip. The ratios say what Concord Desk adds on top.

Targets, each printed MET or MISSED: at 300 interactions/s offered, callback p99 < 50 ms and
answered p99 < 250 ms; a mixed capacity (flat out) of at least half /ping's in the same run
(the median pair); no errors (a 4xx from the emulator, an error logged by the bot, an
unanswered interaction).

Metrics overhead (issue 15), in the same run: the mixed paced run again against bot processes
started with Prometheus metrics off and on (``CONCORD_METRICS_ADDR``), alternating
``--metrics-rounds`` times (off, on, then on, off, …) so that drift in the machine's load falls
on both alike. The figure is the bot process's CPU per interaction, on vs off; target: at most
3 % more. After each "on" run, /metrics is scraped once and must count every interaction the
members sent, so the run measures metrics that really worked. Two bot processes differ by more
than their metrics (memory layout, start-up, the machine's load at that minute: ±15 % from run
to run here), so the same comparison runs again in one process started with metrics on, whose
per-interaction work (parser wrapper, REST middleware, database observer) is switched off and
on (bench/botproc.py's ``hooks``) every ``--metrics-segment`` interactions (~1 s), in ABBA
order, for as many interactions each way as the separate processes ran. Segments that short
see the same load and the same office (the pending-leave list /leave pending renders grows
over a run) on both sides; a run of 2,000 each way did not (pairs of such runs differed by
±10 % on a busy machine). That comparison gives the verdict; each adjacent off/on pair gives a
ratio, whose spread (standard error of their mean, quartiles) is printed with it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import re
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import benchlib
import discord
from botproc import BotProcess
from discord import app_commands
from discord.ext import commands

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator import InteractionRecord, RateLimits
from concord.sandbox.emulator.interactions import (
    APPLICATION_COMMAND,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MESSAGE_COMPONENT,
)
from concord.sandbox.emulator.world import StoredMessage, User

TARGET_P99_MS = 50.0  # callback, paced at TARGET_RATE
TARGET_ANSWERED_P99_MS = 250.0  # until the member sees the answer, paced at TARGET_RATE
TARGET_CAPACITY = 0.5  # mixed interactions/s flat out, as a share of /ping's in the same run
TARGET_RATE = 300.0
TARGET_METRICS_OVERHEAD = 1.03  # bot CPU per interaction, metrics on / off
ANSWER_TIMEOUT = 10.0
RATE_LIMITS_WHY = {
    "relaxed": "every answer carries Discord's X-RateLimit-* headers, so discord.py learns "
    "each bucket's limit as against Discord, but no limit is ever reached: the capacity figure "
    "is the bot's cost per interaction, not Discord's 5 posts per 5 s in #approvals or its "
    "50 requests/s global limit",
    "discord": "the emulator's realistic table: what a single office would see against "
    "Discord; flat out, Discord's limits, not the bot, bound the mixed figure",
}
QUIET = 0.1  # seconds without a request from the bot that count as idle
JUMP_URL: re.Pattern[str] = re.compile(r"/channels/\d+/\d+/(\d+)")
TASK_ID: re.Pattern[str] = re.compile(r"#(\d+)")


class Ping(commands.Cog):
    """The baseline in --one-process mode (bench/botproc.py has the same for its process)."""

    @app_commands.command(name="ping", description="Answer at once (benchmark baseline)")
    async def ping(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)


@dataclass
class Sample:
    kind: str  # what the member did: "/task create", "click Approve"…
    callback: float  # seconds from INTERACTION_CREATE to the callback
    answered: float  # seconds from INTERACTION_CREATE to the answer the member sees


@dataclass
class Run:
    name: str
    paced: bool
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    drain: float = 0.0  # after the last answer, until the bot was idle
    bot_cpu: float | None = None  # the bot process's CPU seconds during the run
    here_cpu: float = 0.0  # this process's (emulator and members; with --one-process the bot)
    routes: Counter[str] = field(default_factory=Counter)  # the bot's REST requests by route

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0

    def callback_ms(self) -> dict[str, float]:
        return benchlib.latency_summary([s.callback for s in self.samples])

    def answered_ms(self) -> dict[str, float]:
        return benchlib.latency_summary([s.answered for s in self.samples])

    def cpu_each_ms(self) -> float | None:
        if self.bot_cpu is None or not self.samples:
            return None
        return round(1000 * self.bot_cpu / len(self.samples), 2)

    def here_each_ms(self) -> float:
        return round(1000 * self.here_cpu / len(self.samples), 2) if self.samples else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "callback": self.callback_ms(),
            "answered": self.answered_ms(),
            "per_s": round(self.rate, 1),
            "drain_ms": round(self.drain * 1000, 1),
            "errors": len(self.errors),
            "bot_cpu_ms_each": self.cpu_each_ms(),
            "emulator_cpu_ms_each": self.here_each_ms(),
            "kinds": dict(Counter(s.kind for s in self.samples)),
            "rest_requests_each": round(sum(self.routes.values()) / max(1, len(self.samples)), 3),
        }


@dataclass
class Member:
    """What one member remembers between actions (and between runs)."""

    user: User
    number: int  # 1..members: spreads their leave over the calendar
    step: int = 0
    tasks: int = 0
    applied: int = 0
    card: tuple[int, int] | None = None  # (message id, task id) of their open task's card


class Schedule:
    """The interactions left to send, and when each is due (paced runs)."""

    def __init__(self, total: int, rate: float | None) -> None:
        self.total = total
        self.rate = rate
        self.sent = 0
        self.start = time.perf_counter()

    async def next(self) -> bool:
        if self.sent >= self.total:
            return False
        slot = self.sent
        self.sent += 1
        if self.rate is not None:
            delay = self.start + slot / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        return True


class Office:
    """The benchmark's members and what the load generator sees of the emulator."""

    def __init__(self, sandbox: Sandbox, members: int, managers: int) -> None:
        self.sandbox = sandbox
        world = sandbox.emulator.world
        manager_roles = [sandbox.role("Manager"), sandbox.role("Staff")]
        staff_roles = [sandbox.role("Staff")]
        self.managers: list[Member] = []
        self.staff: list[Member] = []
        for number in range(1, members + 1):
            name = f"bench{number:03d}"
            user = world.add_user(name, f"Bench Member {number:03d}")
            is_manager = number <= managers
            world.add_member(sandbox.guild, user, manager_roles if is_manager else staff_roles)
            sandbox.office.users[name] = user
            (self.managers if is_manager else self.staff).append(Member(user, number))
        self.cards: asyncio.Queue[int] = asyncio.Queue()  # approval cards, oldest first
        self.resolved: dict[int, asyncio.Event] = {}  # loading message id -> answered
        self.approvals_id = sandbox.channel("approvals").id
        sandbox.emulator.listeners.append(self.on_message)

    def on_message(self, kind: str, message: StoredMessage) -> None:
        if kind == "MESSAGE_UPDATE" and message.id in self.resolved:
            self.resolved.pop(message.id).set()
        if (
            kind == "MESSAGE_CREATE"
            and message.channel_id == self.approvals_id
            and approve_button(message) is not None
        ):
            self.cards.put_nowait(message.id)

    async def send(self, kind: str, record: InteractionRecord, run: Run) -> InteractionRecord:
        """INTERACTION_CREATE, then wait for what the member would see."""
        emulator = self.sandbox.emulator
        await emulator.send_interaction(record)
        try:
            await asyncio.wait_for(record.responded.wait(), ANSWER_TIMEOUT)
            waiting_on: int | None = None
            if record.response_type == DEFERRED_CHANNEL_MESSAGE and record.loading:
                waiting_on = record.original_message_id  # "thinking…" until the followup
            elif record.response_type == DEFERRED_UPDATE_MESSAGE and not record.edited_ids:
                waiting_on = record.source_message_id  # the clicked card, until it is edited
            if waiting_on is not None:
                event = self.resolved.setdefault(waiting_on, asyncio.Event())
                await asyncio.wait_for(event.wait(), ANSWER_TIMEOUT)
        except TimeoutError:
            run.errors.append(f"{kind}: no answer within {ANSWER_TIMEOUT} s")
            return record
        answered = emulator.monotonic()
        assert record.responded_at is not None
        run.samples.append(
            Sample(kind, record.responded_at - record.created, answered - record.created)
        )
        return record

    async def slash(self, member: Member, path: str, run: Run, **options: Any) -> str:
        """``/path``; returns the text of the answer."""
        sandbox = self.sandbox
        channel = sandbox.office.where(member.user, None)
        data = sandbox.payloads.command_data(member.user, channel, path, options, focused=None)
        record = sandbox.emulator.new_interaction(
            kind=APPLICATION_COMMAND, user=member.user, channel=channel, data=data
        )
        await self.send(f"/{path}", record, run)
        message = sandbox.emulator.world.messages.get(record.original_message_id or 0)
        return message.content if message is not None else ""

    async def click(
        self, member: Member, message_id: int, custom_id: str, label: str, run: Run
    ) -> None:
        emulator = self.sandbox.emulator
        message = emulator.world.messages[message_id]
        channel = emulator.world.channel(message.channel_id)
        assert channel is not None
        record = emulator.new_interaction(
            kind=MESSAGE_COMPONENT,
            user=member.user,
            channel=channel,
            data={"custom_id": custom_id, "component_type": 2},
            message=message,
        )
        await self.send(f"click {label}", record, run)

    async def idle(self) -> float:
        """Wait until the bot has made no request for QUIET seconds; when it made its last."""
        requests = self.sandbox.emulator.requests
        seen, last = len(requests), time.perf_counter()
        while time.perf_counter() - last < QUIET:
            await asyncio.sleep(0.005)
            if len(requests) != seen:
                seen, last = len(requests), time.perf_counter()
        return last


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def approve_button(message: StoredMessage) -> str | None:
    for row in message.components:
        for component in row.get("components", []):
            custom_id = str(component.get("custom_id", ""))
            if custom_id.startswith("leave:approve:"):
                return custom_id
    return None


def working_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


LEAVE_DAYS = working_days(date(2027, 1, 4), 250)
STAFF_STEPS = 7


async def staff_member(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while True:
        step = member.step % STAFF_STEPS
        if step in (1, 2) and member.card is None:
            member.step += 1  # the task's card did not appear: nothing to click
            continue
        if not await schedule.next():
            return
        member.step += 1
        if step == 0:
            member.tasks += 1
            title = f"Bench task {member.tasks} of {member.user.username}"
            text = await office.slash(
                member, "task create", run, title=title, assignee=member.user.username
            )
            card, task = JUMP_URL.search(text), TASK_ID.search(text)
            member.card = (int(card.group(1)), int(task.group(1))) if card and task else None
            if member.card is None:
                run.errors.append(f"/task create: no card in {text!r}")
        elif step in (1, 2) and member.card is not None:
            message_id, task_id = member.card
            action, label = ("start", "Start") if step == 1 else ("done", "Done")
            await office.click(member, message_id, f"task:{action}:{task_id}", label, run)
            if step == 2:
                member.card = None
        elif step == 3:
            # Each member books their own days, a few members on each day, as in an office.
            day = LEAVE_DAYS[(member.applied + 5 * member.number) % len(LEAVE_DAYS)]
            member.applied += 1
            await office.slash(
                member, "leave apply", run, leave_type="Annual", start=day.isoformat()
            )
        elif step == 4:
            await office.slash(member, "task mine", run)
        elif step == 5:
            await office.slash(member, "leave balance", run)
        else:
            await office.slash(member, "concord settings", run)


async def manager(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while await schedule.next():
        try:
            message_id = office.cards.get_nowait()
        except asyncio.QueueEmpty:
            await office.slash(member, "leave pending", run)
            continue
        custom_id = approve_button(office.sandbox.emulator.world.messages[message_id])
        assert custom_id is not None
        await office.click(member, message_id, custom_id, "Approve", run)


async def pinger(office: Office, member: Member, schedule: Schedule, run: Run) -> None:
    while await schedule.next():
        await office.slash(member, "ping", run)


Role = Callable[[Office, Member, Schedule, Run], Awaitable[None]]


async def drive(
    office: Office,
    name: str,
    total: int,
    rate: float | None,
    roles: list[tuple[Member, Role]],
    bot: BotProcess | None,
) -> Run:
    sandbox = office.sandbox
    run = Run(name, paced=rate is not None)
    cpu_before = await bot.cpu_seconds() if bot is not None else None
    here_before = cpu_seconds()
    schedule = Schedule(total, rate)
    started = schedule.start
    first_request = len(sandbox.emulator.requests)
    await asyncio.gather(*(act(office, member, schedule, run) for member, act in roles))
    answered = time.perf_counter()
    last_request = await office.idle()
    run.routes.update(r.route for r in sandbox.emulator.requests[first_request:])
    run.seconds = max(answered, last_request) - started
    run.drain = max(0.0, last_request - answered)
    run.here_cpu = cpu_seconds() - here_before
    if bot is not None and cpu_before is not None:
        run.bot_cpu = await bot.cpu_seconds() - cpu_before
    sandbox.check()
    run.errors.extend(problem.splitlines()[0] for problem in sandbox.problems)
    sandbox.problems.clear()
    unanswered = [r for r in sandbox.emulator.interactions.values() if not r.acknowledged]
    run.errors.extend(f"interaction {r.id} unanswered" for r in unanswered)
    return run


async def start_bot(sandbox: Sandbox, directory: Path, one_process: bool) -> BotProcess | None:
    if one_process:
        await sandbox.start()
        await sandbox.configure_office()
        await sandbox.add_cog(Ping())
        return None
    await sandbox.emulator.start()
    return await BotProcess.start(
        api_base=sandbox.emulator.api_base,
        gateway_url=sandbox.emulator.gateway_url,
        token=sandbox.emulator.token,
        db=directory / "concord.db",
        configure=True,
        ping=True,
        bytecode_cache=directory / "pycache",
    )


def scrape_interactions(port: int) -> float:
    """The bot's count of interactions handled, from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "concord_interactions_total"
    )


async def metrics_overhead(
    args: argparse.Namespace,
    sandbox: Sandbox,
    office: Office,
    directory: Path,
    mixed: list[tuple[Member, Role]],
) -> list[Run]:
    """The mixed paced run against fresh bot processes, metrics off and on, alternating."""
    runs: list[Run] = []
    for round_number in range(args.metrics_rounds):
        order = (False, True) if round_number % 2 == 0 else (True, False)
        for metrics in order:
            bot = await BotProcess.start(
                api_base=sandbox.emulator.api_base,
                gateway_url=sandbox.emulator.gateway_url,
                token=sandbox.emulator.token,
                db=directory / "concord.db",
                metrics=metrics,
                bytecode_cache=directory / "pycache",
            )
            try:
                await drive(office, "warm-up", args.warmup, None, mixed, bot)
                label = "metrics on" if metrics else "metrics off"
                run = await drive(office, label, args.interactions, args.rate, mixed, bot)
                port = bot.ready.get("metrics_port")
                if metrics:
                    assert isinstance(port, int), "the bot did not serve /metrics"
                    counted = await asyncio.to_thread(scrape_interactions, port)
                    sent = args.warmup + len(run.samples)
                    if counted != sent:
                        run.errors.append(f"/metrics counted {counted:.0f} of {sent} interactions")
                figures = await bot.stop()
                run.errors.extend(f"bot: {line}" for line in figures.get("errors", []))
            finally:
                await bot.kill()
            runs.append(run)
    return runs


async def metrics_hooks_overhead(
    args: argparse.Namespace,
    sandbox: Sandbox,
    office: Office,
    directory: Path,
    mixed: list[tuple[Member, Role]],
) -> list[Run]:
    """The same comparison in one bot process started with metrics on, switching what metrics
    do per interaction (parser wrapper, REST middleware, database observer) off and on every
    ``--metrics-segment`` interactions, in ABBA order (off, on, on, off, …): no difference of
    process, memory layout or start-up between the two sides, and no time for the machine's
    load or the office's data to drift between the two halves of a pair."""
    runs: list[Run] = []
    bot = await BotProcess.start(
        api_base=sandbox.emulator.api_base,
        gateway_url=sandbox.emulator.gateway_url,
        token=sandbox.emulator.token,
        db=directory / "concord.db",
        metrics=True,
        bytecode_cache=directory / "pycache",
    )
    try:
        await drive(office, "warm-up", args.warmup, None, mixed, bot)
        each_way = args.metrics_rounds * args.interactions
        pairs = max(1, round(each_way / args.metrics_segment))
        for pair in range(pairs):
            for on in (False, True) if pair % 2 == 0 else (True, False):
                await bot.hooks(on)
                label = "hooks on" if on else "hooks off"
                runs.append(await drive(office, label, args.metrics_segment, args.rate, mixed, bot))
        figures = await bot.stop()
        runs[-1].errors.extend(f"bot: {line}" for line in figures.get("errors", []))
    finally:
        await bot.kill()
    return runs


def overhead_figures(runs: list[Run], off_label: str, on_label: str) -> dict[str, Any]:
    """Bot CPU ms per interaction over all rounds, off and on, and their ratio."""
    each: dict[str, float] = {}
    for label in (off_label, on_label):
        chosen = [r for r in runs if r.name == label]
        cpu = sum(r.bot_cpu or 0.0 for r in chosen)
        count = sum(len(r.samples) for r in chosen)
        each[label] = 1000 * cpu / count if count else 0.0
    off, on = each[off_label], each[on_label]
    # Each round's on/off pair: their spread says how far to trust the overall ratio.
    pairs: list[float] = []
    compared = [r for r in runs if r.name in (off_label, on_label)]
    for start in range(0, len(compared) - 1, 2):
        pair = {r.name: r for r in compared[start : start + 2]}
        off_run, on_run = pair.get(off_label), pair.get(on_label)
        if off_run and on_run and off_run.bot_cpu and on_run.bot_cpu:
            off_each = off_run.bot_cpu / len(off_run.samples)
            pairs.append(round(on_run.bot_cpu / len(on_run.samples) / off_each, 4))
    spread = statistics.quantiles(pairs, n=4) if len(pairs) >= 2 else pairs * 3
    return {
        "bot_cpu_ms_each_off": round(off, 3),
        "bot_cpu_ms_each_on": round(on, 3),
        "ratio": round(on / off, 4) if off else None,
        "pair_ratios": pairs,
        "pair_ratio_median": round(statistics.median(pairs), 4) if pairs else None,
        "pair_ratio_quartiles": [round(q, 4) for q in spread],
        # How far the mean of the pairs' ratios could be from the true one (1 sigma).
        "pair_ratio_mean": round(statistics.fmean(pairs), 4) if pairs else None,
        "pair_ratio_stderr": (
            round(statistics.stdev(pairs) / math.sqrt(len(pairs)), 4) if len(pairs) >= 2 else None
        ),
        "rounds": [
            {"run": r.name, "bot_cpu_ms_each": r.cpu_each_ms(), "n": len(r.samples)}
            for r in runs
            if r.name in (off_label, on_label)
        ],
    }


async def bench(
    args: argparse.Namespace, directory: Path
) -> tuple[list[Run], dict[str, Any], list[Run]]:
    sandbox = Sandbox(directory, response_timeout=60.0, rate_limits=rate_limits(args))
    sandbox.strict = False  # problems are counted as errors, the run goes on
    office = Office(sandbox, args.members, args.managers)
    bot: BotProcess | None = None
    bot_figures: dict[str, Any] = {}
    try:
        bot = await start_bot(sandbox, directory, args.one_process)
        everyone = office.managers + office.staff
        pings: list[tuple[Member, Role]] = [(m, pinger) for m in everyone]
        mixed: list[tuple[Member, Role]] = [(m, manager) for m in office.managers]
        mixed += [(m, staff_member) for m in office.staff]
        # Warm up: connections, caches, the first call of every code path.
        await drive(office, "warm-up", args.warmup, None, pings, bot)
        await drive(office, "warm-up", args.warmup, None, mixed, bot)
        runs = [
            await drive(office, "/ping", args.interactions, args.rate, pings, bot),
            await drive(office, "/ping", args.interactions, None, pings, bot),
            await drive(office, "mixed", args.interactions, args.rate, mixed, bot),
            await drive(office, "mixed", args.interactions, None, mixed, bot),
        ]
        # Further flat-out pairs in ABBA order (mixed first in odd rounds): a flat-out run of
        # 2,000 /ping lasts under a second, so one pair's ratio read 0.32x-0.55x from run to run
        # of the same code on a quiet machine; the verdict is the median pair.
        for round_ in range(1, args.capacity_rounds):
            order = ("mixed", "/ping") if round_ % 2 else ("/ping", "mixed")
            for name in order:
                roles = mixed if name == "mixed" else pings
                runs.append(await drive(office, name, args.interactions, None, roles, bot))
        overhead: list[Run] = []
        if bot is not None:
            bot_figures = await bot.stop()
            for line in bot_figures.get("errors", []):
                runs[-1].errors.append(f"bot: {line}")
            await bot.kill()
            if args.metrics_rounds > 0:
                overhead = await metrics_overhead(args, sandbox, office, directory, mixed)
                overhead += await metrics_hooks_overhead(args, sandbox, office, directory, mixed)
    finally:
        if bot is not None:
            await bot.kill()
            await sandbox.emulator.stop()
        else:
            await sandbox.stop()
    return runs, bot_figures, overhead


def capacity_pairs(runs: list[Run]) -> list[float]:
    """Mixed vs /ping throughput of each flat-out pair: the first pair of the four main runs,
    then the further rounds two runs at a time (either order)."""
    flat = [run for run in runs if not run.paced]
    ratios: list[float] = []
    for first, second in zip(flat[0::2], flat[1::2], strict=True):
        ping, mixed = (first, second) if first.name == "/ping" else (second, first)
        ratios.append(benchlib.ratio(mixed.rate, ping.rate))
    return ratios


def rate_limits(args: argparse.Namespace) -> RateLimits:
    """The emulator's rate limits for this run (see RATE_LIMITS_WHY)."""
    return RateLimits.discord() if args.rate_limits == "discord" else RateLimits.relaxed()


def requests_table(run: Run) -> str:
    """The bot's REST requests per interaction, in all and by route (most first)."""
    n = max(1, len(run.samples))
    rows = [[route, count, round(count / n, 3)] for route, count in run.routes.most_common()]
    total = sum(run.routes.values())
    return f"{total / n:.2f}\n" + benchlib.table(["route", "requests", "per interaction"], rows)


def kinds_table(run: Run) -> str:
    by_kind: dict[str, list[Sample]] = {}
    for sample in run.samples:
        by_kind.setdefault(sample.kind, []).append(sample)
    rows = []
    for kind, samples in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        callback = benchlib.latency_summary([s.callback for s in samples])
        answered = benchlib.latency_summary([s.answered for s in samples])
        rows.append(
            [
                kind,
                len(samples),
                callback["p50_ms"],
                callback["p99_ms"],
                answered["p50_ms"],
                answered["p99_ms"],
            ]
        )
    return benchlib.table(
        ["interaction", "n", "callback p50 ms", "p99 ms", "answered p50 ms", "p99 ms"], rows
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=2000, help="per run")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="paced runs, per s")
    parser.add_argument("--warmup", type=int, default=100, help="untimed interactions first")
    parser.add_argument("--one-process", action="store_true", help="bot on the same loop")
    parser.add_argument(
        "--capacity-rounds",
        type=int,
        default=3,
        help="flat-out /ping and mixed pairs (ABBA order); the capacity verdict is their median",
    )
    parser.add_argument(
        "--metrics-rounds",
        type=int,
        default=2,
        help="metrics off/on pairs of the mixed paced run (0: skip; not with --one-process)",
    )
    parser.add_argument(
        "--metrics-segment",
        type=int,
        default=250,
        help="interactions between switches of the one-process metrics comparison",
    )
    parser.add_argument(
        "--rate-limits",
        choices=("relaxed", "discord"),
        default="relaxed",
        help="the emulator's rate limits: relaxed (headers, limits never reached; the capacity "
        "verdict) or discord (the realistic table: 5 posts per 5 s per channel, 50/s global)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    where = "one process" if args.one_process else "the bot in its own process"
    benchlib.header(
        f"Interactions: {args.interactions} per run from {args.members} concurrent members "
        f"({args.managers} managers), emulator + real bot ({where}), vs /ping"
    )
    print(f"rate limits: {args.rate_limits}: {rate_limits(args).describe()}")
    print(f"  ({RATE_LIMITS_WHY[args.rate_limits]})")
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        runs, bot_figures, overhead_runs = await bench(args, Path(tmp))
    rows = []
    for run in runs:
        cb, an = run.callback_ms(), run.answered_ms()
        mode = f"paced {args.rate:.0f}/s" if run.paced else "flat out"
        rows.append(
            [
                run.name,
                mode,
                len(run.samples),
                cb["p50_ms"],
                cb["p95_ms"],
                cb["p99_ms"],
                an["p50_ms"],
                an["p99_ms"],
                run.rate,
                "-" if run.bot_cpu is None else run.cpu_each_ms(),
                run.here_each_ms(),
                len(run.errors),
            ]
        )
    print(
        benchlib.table(
            [
                "run",
                "mode",
                "n",
                "callback p50 ms",
                "p95 ms",
                "p99 ms",
                "answered p50 ms",
                "p99 ms",
                "interactions/s",
                "bot CPU ms each",
                "emulator CPU ms each",
                "errors",
            ],
            rows,
        )
    )
    ping_paced, ping_flat, paced, flat = runs[:4]
    pairs = capacity_pairs(runs)
    print()
    print(f"mixed, paced at {args.rate:.0f}/s, by interaction:")
    print(kinds_table(paced))
    for run in runs:
        for line in run.errors[:5]:
            print(f"  error ({run.name}): {line}")
    print()
    print(f"REST requests per interaction (mixed flat out): {requests_table(flat)}")
    ratio = {
        "paced_callback_p50": benchlib.ratio(
            paced.callback_ms()["p50_ms"], ping_paced.callback_ms()["p50_ms"]
        ),
        "paced_callback_p99": benchlib.ratio(
            paced.callback_ms()["p99_ms"], ping_paced.callback_ms()["p99_ms"]
        ),
        "capacity": statistics.median(pairs),
        "capacity_pairs": pairs,
    }
    print(
        f"vs /ping: callback p50 x{ratio['paced_callback_p50']} and p99 "
        f"x{ratio['paced_callback_p99']} at {args.rate:.0f}/s; capacity x{ratio['capacity']} "
        f"(median of {len(pairs)} flat-out pair(s): "
        f"{', '.join(f'x{value}' for value in pairs)})"
    )
    if args.one_process:
        print("one process: the emulator's CPU column is the bot's and the emulator's together")
    if bot_figures:
        print(
            f"bot process: {bot_figures['cpu_s']:.1f} CPU s over the runs, peak RSS "
            f"{bot_figures['peak_rss_mb']:.0f} MB"
        )
    overhead: dict[str, Any] = {}
    comparisons = (
        ("separate processes", "metrics off", "metrics on"),
        ("one process, hooks switched", "hooks off", "hooks on"),
    )
    if overhead_runs:
        print()
        print(
            benchlib.table(
                ["run", "n", "callback p50 ms", "p99 ms", "bot CPU ms each", "errors"],
                [
                    [
                        r.name,
                        len(r.samples),
                        r.callback_ms()["p50_ms"],
                        r.callback_ms()["p99_ms"],
                        r.cpu_each_ms(),
                        len(r.errors),
                    ]
                    for r in overhead_runs
                ],
            )
        )
        for run in overhead_runs:
            for line in run.errors[:5]:
                print(f"  error ({run.name}): {line}")
        for title, off_label, on_label in comparisons:
            figures = overhead_figures(overhead_runs, off_label, on_label)
            overhead[title] = figures
            on_off = figures["ratio"]
            quartiles = figures["pair_ratio_quartiles"]
            print(
                f"metrics overhead ({title}), mixed paced at {args.rate:.0f}/s, "
                f"{len(figures['pair_ratios'])} off/on pair(s) of runs of "
                f"{figures['rounds'][0]['n'] if figures['rounds'] else 0}: bot CPU per interaction "
                f"{figures['bot_cpu_ms_each_off']:.3f} ms off, "
                f"{figures['bot_cpu_ms_each_on']:.3f} ms on, "
                f"{'-' if on_off is None else f'x{on_off:.4f}'}; pairs: median "
                f"x{figures['pair_ratio_median']}, quartiles x{quartiles[0]}-x{quartiles[-1]}, "
                f"mean x{figures['pair_ratio_mean']} +- {figures['pair_ratio_stderr']}"
            )
        # The verdict: the comparison without two processes' differences (see the docstring).
        targets_overhead = overhead["one process, hooks switched"]["ratio"]
    else:
        targets_overhead = None
    targets = benchlib.Targets()
    targets.at_least("mixed capacity vs /ping flat out", ratio["capacity"], TARGET_CAPACITY, "x")
    targets.below(
        f"mixed callback p99 at {args.rate:.0f}/s",
        paced.callback_ms()["p99_ms"],
        TARGET_P99_MS,
        " ms",
    )
    targets.below(
        f"mixed answered p99 at {args.rate:.0f}/s",
        paced.answered_ms()["p99_ms"],
        TARGET_ANSWERED_P99_MS,
        " ms",
    )
    targets.below("errors", sum(len(run.errors) for run in runs), 1)
    if targets_overhead is not None:
        targets.below(
            f"metrics on/off, bot CPU per interaction at {args.rate:.0f}/s (one process)",
            targets_overhead,
            TARGET_METRICS_OVERHEAD + 1e-9,
            "x",
        )
    targets.report()
    benchlib.emit(
        "interactions",
        {
            "interactions": args.interactions,
            "members": args.members,
            "managers": args.managers,
            "rate": args.rate,
            "one_process": args.one_process,
            "rate_limits": args.rate_limits,
            "ping_paced": ping_paced.figures(),
            "ping_flat_out": ping_flat.figures(),
            "mixed_paced": paced.figures(),
            "mixed_flat_out": flat.figures(),
            "ratio": ratio,
            "bot": {k: bot_figures[k] for k in ("cpu_s", "peak_rss_mb") if k in bot_figures},
            "metrics_overhead": overhead or None,
        },
        targets,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

"""Tasks benchmarks.

1. Create-task throughput: 100 concurrent callers each create tasks through TaskManager.create
   (one transaction each, with history and audit rows) on a fresh database file.
2. A 300-task board: time to load and render it (the embed-building function the cog uses),
   then through the local Discord emulator and the real bot: posting it, editing it in place
   after a change, and a Done click that updates the card and the board.

Usage: python bench/bench_tasks.py [tasks_per_caller] [callers]

Targets (MET/MISSED lines): create p95 < 200 ms at 100 callers; the board loaded and rendered
< 100 ms; the board edited in place < 250 ms; a Done click with its card and board < 250 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import benchlib

from concord.cogs.tasks.embeds import board_embeds, embed_size
from concord.core import task_board
from concord.core.tasks import Actor, TaskDraft
from concord.db.database import Database
from concord.db.tasks import TaskManager
from concord.sandbox.driver import Sandbox

GUILD = 1
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STATUSES = ("open", "in_progress", "blocked")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench_create(path: Path, callers: int, per_caller: int) -> dict[str, float]:
    db = await Database.open(path)
    manager = TaskManager(db)
    latencies: list[float] = []

    async def caller(number: int) -> None:
        actor = Actor(10_000 + number)
        for i in range(per_caller):
            draft = TaskDraft(
                title=f"Task {i} of caller {number}",
                description="Benchmark task",
                assignee_id=20_000 + (i % 25),
                due_date=date(2026, 12, 2) + timedelta(days=i % 30),
                priority=("low", "normal", "high", "urgent")[i % 4],
            )
            started = time.perf_counter()
            await manager.create(GUILD, actor, draft, NOW)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    elapsed = time.perf_counter() - started
    await db.close()
    total = callers * per_caller
    print(
        f"create: {total} tasks by {callers} concurrent callers in {elapsed:.2f} s = "
        f"{total / elapsed:.0f} tasks/s; latency p50 {statistics.median(latencies) * 1000:.1f} ms,"
        f" p95 {percentile(latencies, 0.95) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    return {
        "create_per_s": round(total / elapsed, 1),
        "create_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "create_p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
    }


async def seed_board(manager: TaskManager, guild_id: int = GUILD, count: int = 300) -> None:
    for i in range(count):
        draft = TaskDraft(
            title=f"Board task {i}: " + "x" * (i % 150),
            assignee_id=None if i % 10 == 0 else 20_000 + (i % 12),
            due_date=date(2026, 12, 2) + timedelta(days=i % 20),
            priority=("low", "normal", "high", "urgent")[i % 4],
        )
        task = await manager.create(guild_id, Actor(1), draft, NOW - timedelta(days=1))
        status = STATUSES[i % 3]
        if status != "open":
            await manager.set_status(guild_id, task.id, Actor(1), "in_progress", NOW)
        if status == "blocked":
            await manager.set_status(guild_id, task.id, Actor(1), "blocked", NOW)


async def bench_board_render(path: Path, rounds: int = 20) -> dict[str, float]:
    db = await Database.open(path)
    manager = TaskManager(db)
    await seed_board(manager)
    tz = ZoneInfo("UTC")
    load_times: list[float] = []
    render_times: list[float] = []
    embeds = []
    for _ in range(rounds):
        started = time.perf_counter()
        tasks = await manager.board_tasks(GUILD, NOW)
        loaded = time.perf_counter()
        embeds = board_embeds(tasks, NOW, tz)
        load_times.append(loaded - started)
        render_times.append(time.perf_counter() - loaded)
    await db.close()
    biggest = max(embed_size(e) for e in embeds)
    print(
        f"board (300 tasks): load {statistics.median(load_times) * 1000:.1f} ms + render "
        f"{statistics.median(render_times) * 1000:.1f} ms (median of {rounds}); "
        f"{len(embeds)} messages, largest embed {biggest} characters"
    )
    return {
        "board_load_ms": round(statistics.median(load_times) * 1000, 2),
        "board_render_ms": round(statistics.median(render_times) * 1000, 2),
    }


async def bench_board_through_emulator(directory: Path, rounds: int = 10) -> dict[str, float]:
    """Post a 300-task board through the emulator, then time one in-place edit of the whole
    board after a change (load + render + one PATCH per page), and a Done click end to end."""
    task_board.BOARD_REFRESH_SECONDS = 0.0  # time the work, not the coalescing delay
    async with Sandbox(directory) as box:
        await box.configure_office()
        guild_id = box.guild.id
        cog = box.bot.get_cog("Tasks")
        assert cog is not None
        manager: TaskManager = cog.tasks_store  # type: ignore[attr-defined]
        keeper = cog.boards  # type: ignore[attr-defined]
        await seed_board(manager, guild_id, 300)
        started = time.perf_counter()
        await box.slash("alice", "task board", _channel="tasks")
        posted = time.perf_counter() - started
        tasks = await manager.board_tasks(guild_id, box.clock.now())
        edit_times: list[float] = []
        for i in range(rounds):
            task = tasks[i]
            await manager.set_status(guild_id, task.id, Actor(1), "done", box.clock.now())
            started = time.perf_counter()
            await keeper.refresh(guild_id)
            edit_times.append(time.perf_counter() - started)
        pages = len((await manager.boards(guild_id))[0].message_ids)
        assert keeper.edits >= rounds * pages, "the board was not edited"
        card = await manager.create(
            guild_id,
            Actor(box.member("alice").id, True),
            TaskDraft(title="Click me"),
            box.clock.now(),
        )
        await cog.cards.post_card(card, await box.bot.guild_settings.get(guild_id), None)  # type: ignore[attr-defined]
        message = next(m for m in reversed(box.messages("tasks")) if m.buttons)
        started = time.perf_counter()
        await box.click("alice", message, "Done")
        clicked = time.perf_counter() - started
        box.check()  # nothing the emulator refused, nothing logged as an error
    print(
        f"board (300 tasks) through the emulator: post {posted * 1000:.0f} ms; edit in place "
        f"{statistics.median(edit_times) * 1000:.0f} ms median of {rounds} ({pages} messages); "
        f"Done click incl. card and board update {clicked * 1000:.0f} ms"
    )
    return {
        "board_post_ms": round(posted * 1000, 1),
        "board_edit_ms": round(statistics.median(edit_times) * 1000, 1),
        "done_click_ms": round(clicked * 1000, 1),
    }


def main() -> None:
    per_caller = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    callers = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    benchlib.header(f"Tasks: create by {callers} callers, a 300-task board, a Done click")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures.update(asyncio.run(bench_create(Path(tmp) / "create.db", callers, per_caller)))
        figures.update(asyncio.run(bench_board_render(Path(tmp) / "board.db")))
        figures.update(asyncio.run(bench_board_through_emulator(Path(tmp) / "emulated")))
    print()
    print(benchlib.table(["figure", "value"], [[k, v] for k, v in figures.items()]))
    targets = benchlib.Targets()
    targets.below(f"create p95 at {callers} callers", figures["create_p95_ms"], 200.0, " ms")
    board = figures["board_load_ms"] + figures["board_render_ms"]
    targets.below("300-task board loaded and rendered", board, 100.0, " ms")
    targets.below("300-task board edited in place", figures["board_edit_ms"], 250.0, " ms")
    targets.below("Done click with card and board", figures["done_click_ms"], 250.0, " ms")
    targets.report()
    benchlib.emit("tasks", {"callers": callers, "per_caller": per_caller, **figures}, targets)


if __name__ == "__main__":
    main()

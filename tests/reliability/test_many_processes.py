"""Many processes on the same files at once: the bot, `concord db backup`, the deployer.

The deployer keeps its history in its own SQLite file beside the bot's (data/deploy.db next to
data/concord.db, so it survives the bot's schema changing under a deploy) and reads the health
file the bot writes; backups and checks read the bot's file while it is written.

- Processes that open a fresh data folder at the same moment (the bot starting while an
  operator runs `concord db migrate`, the listener and `concord deploy now` starting together)
  all succeed: nobody sees "database is locked" or a half-applied migration.
- A real `concord run` against the emulator answers a steady stream of slash commands and
  button clicks while a second writer process (the old bot of an overlapping deploy restart)
  commits through the managers, the deployer's history is written and read by other processes,
  and `concord db backup` and `concord db check` run again and again: 0 "database is locked"
  anywhere, every interaction answered, every backup complete (never started over) and clean.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from concord.db.database import (
    Database,
    connect_sync,
    load_migrations,
    schema_version,
    transaction,
)
from concord.db.guilds import GuildSettings
from concord.db.maintenance import check
from concord.sandbox.driver import Reply, Sandbox
from concord.sandbox.emulator import InteractionRecord
from concord.sandbox.emulator.interactions import APPLICATION_COMMAND, MESSAGE_COMPONENT
from concord.sandbox.emulator.server import ManualMonotonic
from concord.webhook.history import SCHEMA_VERSION, DeployHistory

OPEN_TOGETHER = r"""
import sys, time
from pathlib import Path
from concord.db.database import apply_migrations, connect_sync
from concord.webhook.history import DeployHistory

bot_db, deploy_db, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():  # every process leaves the barrier within a millisecond
    time.sleep(0.001)
conn = connect_sync(bot_db)
try:
    apply_migrations(conn)
finally:
    conn.close()
DeployHistory(deploy_db).create()
print("ok")
"""


def locked_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "locked" in line.lower()]


@pytest.mark.slow
def test_processes_opening_fresh_databases_together_all_succeed(tmp_path: Path) -> None:
    """Three fresh data folders, four processes each, released by one barrier."""
    go = tmp_path / "go"
    folders = [tmp_path / f"folder-{n}" for n in range(3)]
    procs: list[subprocess.Popen[str]] = []
    try:
        for folder in folders:
            folder.mkdir()
            for _ in range(4):
                command = [sys.executable, "-c", OPEN_TOGETHER]
                command += [str(folder / "concord.db"), str(folder / "deploy.db"), str(go)]
                procs.append(
                    subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    )
                )
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
        go.touch()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and out.strip() == "ok", err
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                proc.communicate()
    for folder in folders:
        conn = connect_sync(folder / "concord.db")
        try:
            assert schema_version(conn) == len(load_migrations())
        finally:
            conn.close()
        assert DeployHistory(folder / "deploy.db").recent() == []
        conn = connect_sync(folder / "deploy.db")
        try:
            assert schema_version(conn) == SCHEMA_VERSION
        finally:
            conn.close()


# -- the bot, a second writer, the deployer and backups on one data folder --------------------
# A second process committing through the managers: the old bot of a deploy restart that
# overlaps the new one, or any operator tool. It writes as fast as it can until told to stop.
MANAGER_WRITER = r"""
import asyncio, sys
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from concord.db.database import Database
from concord.core.actor import Actor
from concord.db.leave import LeaveManager, PolicyChange

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GUILD = 1  # a guild of its own: the bot's guild is driven through Discord

async def main(path, stop):
    db = await Database.open(path)
    leave = LeaveManager(db)
    await leave.set_policy(GUILD, "Annual", PolicyChange(allowance=Fraction(100000)),
                           actor=Actor(1, True), now=NOW)
    member, day, done = 1000, date(2027, 1, 4), 0
    while not stop.exists():
        if day.weekday() < 5:
            result = await leave.apply(GUILD, actor=Actor(member, False),
                                       user_id=member, leave_type="Annual", start=day, now=NOW)
            await leave.approve(GUILD, result.request.id, actor=Actor(1, True),
                                now=NOW)
            done += 1
        day += timedelta(days=1)
        if day.year > 2027:
            member, day = member + 1, date(2027, 1, 4)
    await db.close()
    print(done)

asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
"""

# The deployer's history as the listener writes it: a delivery, a deploy queued, started,
# finished; and the newest deploys read back, as `concord deploy history` does.
DEPLOY_HISTORY_WRITER = r"""
import sys
from datetime import UTC, datetime
from pathlib import Path
from concord.webhook.history import DEPLOYED, CommitInfo, DeployHistory

history, stop = DeployHistory(Path(sys.argv[1])), Path(sys.argv[2])
history.create()
done = 0
while not stop.exists():
    now = datetime.now(UTC)
    sha = f"{done:040x}"
    history.record_delivery(f"delivery-{done}", "push", "queued", now)
    deploy_id = history.add(source="webhook", branch="main", target_sha=sha, now=now,
                            delivery_id=f"delivery-{done}")
    history.start(deploy_id, None, now)
    history.set_commits(deploy_id, [CommitInfo(sha, "dev", "a change")], 1)
    history.finish(deploy_id, DEPLOYED, now, durations={"total": 0.1})
    assert history.recent(5)[0].id == deploy_id
    done += 1
print(done)
"""

PREFILL_ROWS = 16_000  # ~7 MB: the backup copies it in several steps (1024 pages each)
TASKS_PER_MEMBER = 6


class Processes:
    """Subprocesses of the test, their output in files (a full pipe would block a busy bot)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.running: list[asyncio.subprocess.Process] = []
        self.outputs: dict[str, Path] = {}

    async def start(self, name: str, *args: str) -> asyncio.subprocess.Process:
        output = self.folder / f"{name}.log"
        self.outputs[name] = output
        with output.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *args, cwd=self.folder, env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return process

    async def run(self, name: str, *args: str) -> str:
        """Run to the end (a minute at most); fails on a non-zero exit. Returns the output."""
        process = await self.start(name, *args)
        code = await asyncio.wait_for(process.wait(), 60)
        text = self.outputs[name].read_text()
        assert code == 0, f"{name} exited {code}:\n{text}"
        return text

    async def concord(self, name: str, *args: str) -> str:
        return await self.run(name, sys.executable, "-m", "concord", *args)

    def text(self, name: str) -> str:
        return self.outputs[name].read_text()

    async def kill_all(self) -> None:
        for process in self.running:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def prepare_database(box: Sandbox, path: Path) -> None:
    """Migrated, the office configured, and a year of another guild's audit history."""
    async with Database(path) as db:
        await GuildSettings(db).update(
            box.guild.id,
            box.member("owner").id,
            {
                "manager_role_id": box.role("Manager").id,
                "staff_role_id": box.role("Staff").id,
                "tasks_channel_id": box.channel("tasks").id,
                "approvals_channel_id": box.channel("approvals").id,
                "timezone": "Europe/London",
            },
        )
    conn = connect_sync(path)
    try:
        with transaction(conn):
            conn.executemany(
                "INSERT INTO audit_log (guild_id, actor_id, action, subject, after, at) "
                "VALUES (2, 1, 'task.edit', ?, ?, '2026-01-01T09:00:00+00:00')",
                ((f"task:{n}", "x" * 400) for n in range(PREFILL_ROWS)),
            )
    finally:
        conn.close()


def answer_complete(record: InteractionRecord) -> bool:
    """Answered, and not still "thinking"; a click acknowledged first (DEFERRED_UPDATE_MESSAGE)
    is complete once it edited its message or sent a followup."""
    if not record.acknowledged or record.loading:
        return False
    return record.response_type != 6 or bool(record.edited_ids or record.followup_ids)


async def answered(box: Sandbox, record: InteractionRecord, within: float = 20.0) -> Reply:
    """Send an interaction to the bot process and wait for its complete answer."""
    await box.emulator.send_interaction(record)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not answer_complete(record):
        assert loop.time() < deadline, f"the bot never answered {record.payload.get('data')}"
        await asyncio.sleep(0.01)  # the bot is another process: nothing to await but its answer
    return Reply(box, record)


async def create_and_finish_tasks(box: Sandbox, assignee: str, stop: asyncio.Event) -> list[int]:
    """alice gives ``assignee`` a task, who clicks Done on its card; again and again."""
    finished: list[int] = []
    manager, worker = box.member("alice"), box.member(assignee)
    general, tasks = box.channel("general"), box.channel("tasks")
    while len(finished) < TASKS_PER_MEMBER or not stop.is_set():
        title = f"Load {assignee} {len(finished)}"
        data = box.payloads.command_data(
            manager, general, "task create", {"title": title, "assignee": assignee}, focused=None
        )
        reply = await answered(
            box,
            box.emulator.new_interaction(
                kind=APPLICATION_COMMAND, user=manager, channel=general, data=data
            ),
        )
        match = re.search(r"Created task #(\d+)", reply.text)
        assert match, reply.text
        task_id = int(match[1])
        card = next(m for m in box.messages(tasks) if f"task:done:{task_id}" in str(m.components))
        click = box.emulator.new_interaction(
            kind=MESSAGE_COMPONENT,
            user=worker,
            channel=tasks,
            data={"custom_id": f"task:done:{task_id}", "component_type": 2},
            message=card.stored,
        )
        reply = await answered(box, click)
        assert "Done" in reply.text, reply.text
        finished.append(task_id)
    return finished


def backup_progress(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"^\s+(\d+)% \(", text, flags=re.MULTILINE)]


@pytest.mark.slow
async def test_bot_second_writer_deployer_and_backups_at_once_never_lock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    live, deploy_db, health, stop_file = (
        data / "concord.db",
        data / "deploy.db",
        data / "health.json",
        data / "stop",
    )
    # The sandbox's world and helpers; its own in-process bot is never started. A manual
    # monotonic clock: on a busy machine a slow answer is not what this test is about.
    box = Sandbox(tmp_path, db_path=live, monotonic=ManualMonotonic())
    await box.emulator.start()
    env = {
        **os.environ,
        "DISCORD_TOKEN": box.emulator.token,
        "DISCORD_API_BASE": box.emulator.api_base,
        "DISCORD_GATEWAY_URL": box.emulator.gateway_url,
        "CONCORD_DB_PATH": str(live),
        "CONCORD_HEALTH_FILE": str(health),
        "CONCORD_DEPLOY_DB": str(deploy_db),
        "CONCORD_LOG_LEVEL": "INFO",
    }
    processes = Processes(data, env)
    try:
        await prepare_database(box, live)
        bot = await processes.start("bot", sys.executable, "-m", "concord", "run")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not (health.exists() and json.loads(health.read_text()).get("ready")):
            assert bot.returncode is None, processes.text("bot")
            assert loop.time() < deadline, "the bot did not become ready"
            await asyncio.sleep(0.05)
        writer = await processes.start(
            "writer", sys.executable, "-c", MANAGER_WRITER, str(live), str(stop_file)
        )
        deployer = await processes.start(
            "deployer", sys.executable, "-c", DEPLOY_HISTORY_WRITER, str(deploy_db), str(stop_file)
        )
        stop = asyncio.Event()
        load = [
            asyncio.create_task(create_and_finish_tasks(box, member, stop))
            for member in ("bob", "carol", "dave")
        ]
        backups: list[Path] = []
        for n in range(2):
            target = data / f"backup-{n}.db"
            shown = await processes.concord(f"backup-{n}", "db", "backup", str(target))
            progress = backup_progress(shown)
            assert progress == sorted(progress), f"the backup started over: {progress}"
            checked, live_checked, _ = await asyncio.gather(
                processes.concord(f"check-{n}", "db", "check", "--db", str(target)),
                processes.concord(f"live-check-{n}", "db", "check"),  # while it is written
                processes.concord(f"history-{n}", "deploy", "history", "--json", "-n", "3"),
            )
            assert ": ok (schema version" in checked and ": ok (schema" in live_checked
            backups.append(target)
        stop.set()
        finished = [task_id for ids in await asyncio.gather(*load) for task_id in ids]
        stop_file.touch()
        for name, process in (("writer", writer), ("deployer", deployer)):
            code = await asyncio.wait_for(process.wait(), 30)
            assert code == 0, processes.text(name)
            assert int(processes.text(name).split()[-1]) > 0, f"{name} wrote nothing"
        print(
            f"tasks through the bot: {len(finished)}, leave approvals by the second writer: "
            f"{processes.text('writer').split()[-1]}, deploys recorded: "
            f"{processes.text('deployer').split()[-1]}"
        )
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 20) == 0, processes.text("bot")
    finally:
        await processes.kill_all()
        await box.emulator.stop()

    for name in processes.outputs:
        assert locked_lines(processes.text(name)) == [], f"{name}: {processes.text(name)}"
    bot_log = processes.text("bot")
    assert "Traceback" not in bot_log and " ERROR " not in bot_log, bot_log
    assert check(live) == []
    conn = connect_sync(live)
    try:
        statuses = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT id, status FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(finished),),
            )
        }
        assert statuses == dict.fromkeys(finished, "done")
        assert len(finished) >= 3 * TASKS_PER_MEMBER
    finally:
        conn.close()
    for target in backups:
        assert check(target) == []

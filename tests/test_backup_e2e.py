"""The scheduled backup in the real bot through the emulator: it runs on the scheduler off the
event loop (commands are answered while it runs), `/concord status` shows the last good backup
and its age, and an unmounted NAS fails loudly without stopping the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from concord import bot as bot_module
from concord.clock import ManualClock
from concord.db.backups import list_folder
from concord.sandbox.driver import Sandbox


async def with_backups(sandbox: Sandbox, folder: Path) -> None:
    plain = sandbox.settings

    def settings() -> Any:
        return dataclasses.replace(plain(), backup_dir=folder)

    sandbox.settings = settings  # type: ignore[method-assign]
    await sandbox.restart()
    sandbox.bot.process_jobs.tz = ZoneInfo("UTC")


def status_fields(reply: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


async def test_scheduled_backup_runs_off_the_loop_and_status_shows_it(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: Any
) -> None:
    await sandbox.configure_office()
    folder = tmp_path / "nas"
    folder.mkdir()
    reply = await sandbox.slash("alice", "concord status")
    assert status_fields(reply)["Backups"].startswith("not configured")
    await with_backups(sandbox, folder)

    started, release = threading.Event(), threading.Event()
    real = bot_module.take_backup

    def slow_backup(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert release.wait(10), "the test never released the backup"
        return real(*args, **kwargs)

    monkeypatch.setattr(bot_module, "take_backup", slow_backup)
    pass_done = asyncio.create_task(sandbox.bot.run_scheduled())
    await asyncio.wait_for(pass_done, 5)  # the guild jobs are not held up by the backup
    assert await asyncio.to_thread(started.wait, 5)
    # While the backup thread is busy, the bot still answers.
    reply = await sandbox.slash("bob", "concord settings")
    assert reply.ephemeral and reply.embeds
    release.set()
    await asyncio.wait_for(sandbox.bot.wait_process_jobs(), 10)
    (backup,) = list_folder(folder)
    assert backup.state == "verified" and backup.name.startswith("concord-20261201T090000Z-v")
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(timedelta(hours=2))
    reply = await sandbox.slash("alice", "concord status")
    assert status_fields(reply)["Backups"] == "last good 2026-12-01 09:00 UTC (2 h ago)"
    # Later passes the same day do not back up again.
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(list_folder(folder)) == 1


async def test_an_unmounted_nas_fails_loudly_and_the_bot_carries_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    await sandbox.configure_office()
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    await with_backups(sandbox, mount_point / "concord")
    with sandbox.expect_errors() as caught:
        await sandbox.run(sandbox.bot.run_scheduled())
    (logged,) = caught.logs
    assert "process job backup@03:00 failed for 2026-12-01: backup folder" in logged.getMessage()
    assert logged.exc_info is None  # one line, no traceback
    assert list(mount_point.iterdir()) == []
    reply = await sandbox.slash("alice", "concord status")
    backups = status_fields(reply)["Backups"]
    assert backups.startswith("⚠️ FAILED 0 s ago: BackupError: backup folder")
    assert "is the NAS mounted?" in backups and backups.endswith("no good backup yet")

"""The bot process tunes CPython's garbage collector once ready (concord.bot.tune_collector);
a process running tests, which starts many bots, keeps the defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import concord.bot as bot_module
from concord.bot import GC_YOUNG_THRESHOLD, ConcordBot
from concord.config import Settings
from concord.db.database import Database


def test_tune_collector_freezes_what_is_alive_and_raises_the_young_threshold() -> None:
    # In a process of its own: freezing this one would keep the test run's garbage for good.
    probe = (
        "import gc, json\n"
        "from concord.bot import tune_collector\n"
        "before = [gc.get_freeze_count(), gc.get_threshold()]\n"
        "tune_collector()\n"
        "print(json.dumps({'before': before, 'after': [gc.get_freeze_count(), gc.get_threshold()]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    frozen_before, (young_before, *older_before) = seen["before"]
    frozen_after, (young_after, *older_after) = seen["after"]
    assert frozen_before == 0 and frozen_after > 10_000  # modules, classes: all of it
    assert young_before == 700 and young_after == GC_YOUNG_THRESHOLD
    assert older_after == older_before  # the older generations keep their thresholds


@pytest.mark.parametrize("tune_gc", [True, False])
async def test_the_collector_is_tuned_on_the_first_ready_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tune_gc: bool
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bot_module, "tune_collector", lambda: calls.append("tuned"))
    db = await Database.open(tmp_path / "c.db")
    settings: Any = Settings(discord_token=None, db_path=tmp_path / "c.db")
    bot = ConcordBot(settings, db, scheduler_seconds=None, tune_gc=tune_gc)
    try:
        await bot.on_ready()
        await bot.on_ready()  # a reconnect's READY: nothing new to freeze
        assert calls == (["tuned"] if tune_gc else [])
    finally:
        await bot.close()
        await db.close()

"""Start-up stays light: loading the bot and every cog does not import the big libraries that
only a rare command needs (bench/bench_startup.py measured them at ~1.2 s and ~50 MB)."""

from __future__ import annotations

import json
import subprocess
import sys

ON_FIRST_USE = ("matplotlib", "openpyxl", "holidays", "icalendar", "boto3")


def test_the_cogs_load_without_the_libraries_used_on_first_use() -> None:
    code = (
        "import importlib, json, sys\n"
        "import concord.bot\n"
        "from concord.cogs.modkit import builtin_modules\n"
        "for name in builtin_modules():\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {list(ON_FIRST_USE)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []

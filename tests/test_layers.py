"""The layer rules of docs/ARCHITECTURE.md, checked on the source rather than claimed: every
import of every module (also inside functions and ``if TYPE_CHECKING``) is read with ``ast``.

- ``concord.core`` imports the standard library, ``core`` itself and ``concord.errors`` (plain
  exception classes) — nothing else: no discord, no third-party library, no db.
- ``concord.adapters`` (pure code over third-party libraries) imports what core may, plus
  ``core``, ``adapters`` and the libraries named in ``ADAPTER_LIBRARIES``.
- ``concord.db`` never imports discord, the cogs, the bot or the sandbox.
- ``concord.webhook`` never imports the bot, the cogs or discord.
- ``concord.web`` (``concord web``: calendar feeds, the wall chart) never imports the bot, the
  cogs or discord either: it reads the database through ``db`` and renders with ``core``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "concord"
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
CORE_MAY_IMPORT = ("concord.core", "concord.errors")
ADAPTER_LIBRARIES = ("icalendar", "holidays")
BOT_SIDE = ("discord", "concord.bot", "concord.cogs", "concord.sandbox", "concord.runner")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base


def within(name: str, prefixes: tuple[str, ...] | frozenset[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def broken_rule(module: str, imported: str) -> str | None:
    """Why ``module`` may not import ``imported``, or None when it may."""
    top = imported.split(".")[0]
    if within(module, ("concord.core",)):
        if top in STDLIB or within(imported, CORE_MAY_IMPORT):
            return None
        return "core imports only the standard library, core and concord.errors"
    if within(module, ("concord.adapters",)):
        allowed = (*CORE_MAY_IMPORT, "concord.adapters", *ADAPTER_LIBRARIES)
        if top in STDLIB or within(imported, allowed):
            return None
        return f"adapters import only what core may, plus {', '.join(ADAPTER_LIBRARIES)}"
    if within(module, ("concord.db",)) and within(imported, BOT_SIDE):
        return "db never imports discord, the bot, the cogs or the sandbox"
    if within(module, ("concord.webhook",)) and within(imported, BOT_SIDE):
        return "webhook never imports the bot (nor discord)"
    if within(module, ("concord.web",)) and within(imported, BOT_SIDE):
        return "web never imports the bot (nor discord)"
    return None


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        for line, imported in imports_of(path, root):
            why = broken_rule(module, imported)
            if why:
                found.append(f"{path.relative_to(root.parent)}:{line} imports {imported}: {why}")
    return found


def test_the_package_keeps_its_layers() -> None:
    assert violations(PACKAGE) == []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("core/text.py", "import discord\n"),
        ("core/text.py", "def f():\n    from concord.db.database import Database\n"),
        ("core/text.py", "import holidays\n"),
        ("core/text.py", "from ..db import leave\n"),
        ("adapters/export.py", "import openpyxl\n"),
        ("db/leave.py", "from discord import Embed\n"),
        ("db/leave.py", "from concord.cogs.common import answer\n"),
        ("webhook/app.py", "from concord.bot import ConcordBot\n"),
        ("webhook/app.py", "from ..bot import ConcordBot\n"),
        ("web/app.py", "import discord\n"),
        ("web/chart.py", "from concord.cogs.leave.feeds import feed_links\n"),
        ("web/cli.py", "from ..runner import run_bot\n"),
    ],
)
def test_an_import_across_a_layer_is_caught(tmp_path: Path, path: str, source: str) -> None:
    root = tmp_path / "concord"
    target = root / path
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(violations(root)) == 1


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("core/text.py", "import re\nfrom concord.errors import UserError\n"),
        ("core/text.py", "from .dates import parse_date\n"),
        ("adapters/export.py", "import icalendar\nfrom concord.core.leave import Span\n"),
        ("db/leave.py", "from concord.adapters.public_holidays import public_holidays\n"),
        ("cogs/leave.py", "import discord\n"),
        ("web/app.py", "from concord.db.leave.feeds import feed_by_token\nimport flask\n"),
    ],
)
def test_an_import_within_the_rules_passes(tmp_path: Path, path: str, source: str) -> None:
    root = tmp_path / "concord"
    target = root / path
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert violations(root) == []

"""Every message template counts things one way (``concord.core.text.plural``): no "(s)", and
no count followed by a fixed plural noun, which reads "1 days" when the count is one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import concord
from concord.core.text import plural

PACKAGE = Path(concord.__file__).parent
# Where messages people read are written (the sandbox console and the deploy listener speak
# to operators, and have their own tests).
MESSAGE_SOURCES = ("cogs", "core", "db", "cli.py", "bot.py")
COUNTED_NOUNS = (
    "days|tasks|requests|holidays|members|reports|hours|pages|dates|messages|minutes|weeks|"
    "months|settings|types|blockers|entries|people|times|rows|files|years|comments|"
    "occurrences|migrations|options|channels|roles"
)
FIXED_PLURAL = re.compile(rf"^ (?:more )?(?:{COUNTED_NOUNS})\b")
# A value before a plural noun that is not a count of them.
NOT_COUNTS = {
    "STATUS_LABELS.get(chosen, chosen)",  # "Open tasks": a status, not a number
    "total",  # "(12/40 pages)": the pages of a progress figure, never one
}


def sources() -> list[Path]:
    found: list[Path] = []
    for name in MESSAGE_SOURCES:
        path = PACKAGE / name
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return found


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (they document, they are not messages)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    skip = docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and id(node) not in skip and "(s)" in text:
            found.append(f"{path.name}:{node.lineno}: {text!r} says (s)")
        if not isinstance(node, ast.JoinedStr):
            continue
        for value, after in zip(node.values, node.values[1:], strict=False):
            if not (isinstance(value, ast.FormattedValue) and isinstance(after, ast.Constant)):
                continue
            counted = ast.unparse(value.value)
            if counted.isupper() or counted in NOT_COUNTS:
                continue  # a constant (never 1) or not a count
            if FIXED_PLURAL.match(str(after.value)):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)} says '1 …s' for 1")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_message_templates_count_with_the_plural_helper(path: Path) -> None:
    assert problems(path) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        'def f(n, items):\n    return f"{n} days", f"{len(items)} more tasks", "request(s)"\n'
    )
    assert len(problems(bad)) == 3


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 days"), (1, "1 day"), (2, "2 days"), (-1, "-1 days")]
)
def test_plural(count: int, text: str) -> None:
    assert plural(count, "day") == text
    assert plural(1, "reply", "replies") == "1 reply" and plural(3, "reply", "replies") == (
        "3 replies"
    )

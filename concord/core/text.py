"""Free text as people type it into commands and forms."""

from __future__ import annotations

import re

# Control characters other than tab and line breaks: invisible in Discord, and SQLite's
# length() stops counting at a NUL, so "\x00abc" would fail the schema's length checks.
_CONTROL: re.Pattern[str] = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control(text: str) -> str:
    """``text`` without its control characters (tab and line breaks stay)."""
    return _CONTROL.sub("", text)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 day``, ``2 days``, ``0 days``: a count with its noun in the right number. ``words``
    is the plural when adding an "s" is wrong (``plural(n, "reply", "replies")``). The one
    way messages count things, so nothing says "1 days" or "day(s)"."""
    return f"{count} {word if count == 1 else words or word + 's'}"

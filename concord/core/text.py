"""Free text as people type it into commands and forms."""

from __future__ import annotations

import re

# Control characters other than tab and line breaks: invisible in Discord, and SQLite's
# length() stops counting at a NUL, so "\x00abc" would fail the schema's length checks.
_CONTROL: re.Pattern[str] = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control(text: str) -> str:
    """``text`` without its control characters (tab and line breaks stay)."""
    return _CONTROL.sub("", text)


ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: cut, with the spaces the cut leaves at its end
    trimmed and an ellipsis added ("a long…", not "a long …"). The one way text is fitted to a
    Discord limit (``core.embed_pages``, the cogs, the deploy notes)."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 day``, ``2 days``, ``0 days``: a count with its noun in the right number. ``words``
    is the plural when adding an "s" is wrong (``plural(n, "reply", "replies")``). The one
    way messages count things, so nothing says "1 days" or "day(s)"."""
    return f"{count} {word if count == 1 else words or word + 's'}"


# A plain URL stays a URL (Discord links it); everything around it is escaped.
_URL: re.Pattern[str] = re.compile(r"https?://[^\s<>]+")
# Characters that open Discord markdown anywhere in a line: bold/italic, underline, strike,
# spoilers, code, masked links ``[text](url)``, and ``<…>`` (mentions, channels, timestamps).
_INLINE: re.Pattern[str] = re.compile(r"([\\*_~|`\[\]<>])")
# At the start of a line and followed by a space: headings, subtext (``-#``), lists (``#1``
# or ``-5`` alone are no markdown, and stay as typed).
_LINE_START: re.Pattern[str] = re.compile(r"^(\s*)(#{1,3}|-#|-)(?=\s)", re.MULTILINE)
_NUMBERED: re.Pattern[str] = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
_MASS_MENTION: re.Pattern[str] = re.compile(r"@(everyone|here)")


def _escape_plain(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\.", text)
    # A zero-width space keeps @everyone from reading (or, anywhere, pinging) as a mention.
    return _MASS_MENTION.sub("@\u200b\\1", text)


def escape_markdown(text: str) -> str:
    """``text`` shown literally in a Discord message or embed: a masked link such as
    ``[Payroll](https://evil.example)`` shows as typed, formatting and mentions show as
    characters; a plain URL stays clickable."""
    parts: list[str] = []
    last = 0
    for found in _URL.finditer(text):
        parts.append(_escape_plain(text[last : found.start()]))
        parts.append(found.group())
        last = found.end()
    parts.append(_escape_plain(text[last:]))
    return "".join(parts)

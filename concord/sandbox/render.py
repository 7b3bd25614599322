"""Turning Discord messages into readable text: mentions and timestamps the way the Discord
client shows them, embeds as plain lines (``Reply.text``) or as framed blocks (the console)."""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from concord.sandbox.emulator.validation import LINK_STYLE, SELECT_TYPES, walk_components

MENTION: re.Pattern[str] = re.compile(r"<(@!?|@&|#)(\d+)>")
TIMESTAMP: re.Pattern[str] = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
WIDTH = 72


@dataclass(frozen=True)
class Names:
    """How ids are shown: ``user(id)`` → "Bob", ``role(id)`` → "Manager", ``channel(id)``."""

    user: Callable[[int], str | None]
    role: Callable[[int], str | None]
    channel: Callable[[int], str | None]
    now: Callable[[], datetime]
    # The reader's timezone: the Discord client shows ``<t:…>`` in its device's zone (the
    # console: the acting member's). None: UTC.
    zone: ZoneInfo | None = None


UNITS: tuple[tuple[int, str], ...] = (
    (86400 * 365, "year"),
    (86400 * 30, "month"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
    (1, "second"),
)


def _relative(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    future = seconds >= 0
    seconds = abs(seconds)
    size, unit = next(((s, u) for s, u in UNITS if seconds >= s), UNITS[-1])
    count = int(seconds // size)
    label = f"{count} {unit}{'s' if count != 1 else ''}"
    return f"in {label}" if future else f"{label} ago"


def format_timestamp(
    value: int, style: str | None, now: datetime, zone: ZoneInfo | None = None
) -> str:
    moment = datetime.fromtimestamp(value, zone or UTC)
    formats = {
        "t": "%H:%M",
        "T": "%H:%M:%S",
        "d": "%d/%m/%Y",
        "D": "%d %B %Y",
        "f": "%d %B %Y %H:%M",
        "F": "%A, %d %B %Y %H:%M",
    }
    if style == "R":
        return _relative(moment, now)
    label = zone.key if zone is not None else "UTC"
    return moment.strftime(formats.get(style or "f", formats["f"])) + f" {label}"


def readable(text: str, names: Names) -> str:
    """Mentions and ``<t:…>`` timestamps as the Discord client renders them."""

    def mention(match: re.Match[str]) -> str:
        kind, raw = match.group(1), int(match.group(2))
        if kind.startswith("@&"):
            return f"@{names.role(raw) or 'deleted-role'}"
        if kind == "#":
            return f"#{names.channel(raw) or 'unknown'}"
        return f"@{names.user(raw) or 'unknown-user'}"

    def stamp(match: re.Match[str]) -> str:
        return format_timestamp(int(match.group(1)), match.group(2), names.now(), names.zone)

    return TIMESTAMP.sub(stamp, MENTION.sub(mention, text))


def embed_lines(embed: dict[str, Any]) -> list[str]:
    """An embed as plain lines: author, title, description, fields, footer."""
    lines: list[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        lines.append(author)
    if embed.get("title"):
        lines.append(str(embed["title"]))
    if embed.get("description"):
        lines.append(str(embed["description"]))
    for field in embed.get("fields") or []:
        lines.append(f"{field.get('name')}: {field.get('value')}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(footer)
    return lines


def text_displays(components: Iterable[dict[str, Any]]) -> list[str]:
    """The text of components-v2 text displays."""
    return [str(c.get("content")) for c in walk_components(list(components)) if c.get("type") == 10]


def message_text(
    content: str, embeds: list[dict[str, Any]], components: list[dict[str, Any]]
) -> str:
    parts = [content] if content else []
    for embed in embeds:
        parts.extend(embed_lines(embed))
    parts.extend(text_displays(components))
    return "\n".join(parts)


# -- console rendering ------------------------------------------------------------------------
def cells(text: str) -> int:
    """Terminal columns of ``text``: wide characters and emoji take two, combining marks none."""
    width = 0
    for char in text:
        if char == "\ufe0f":  # emoji presentation: the previous symbol becomes two columns wide
            width += 1
        elif unicodedata.combining(char) or char in "\u200d\ufe0e":
            continue
        else:
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    return lines


def framed_embed(embed: dict[str, Any], names: Names, width: int = WIDTH) -> list[str]:
    """An embed as a framed block with its fields, for the console."""
    inner = width - 4
    body: list[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        body.extend(_wrap(readable(author, names), inner))
    if embed.get("title"):
        body.extend(_wrap(readable(str(embed["title"]), names).upper(), inner))
    if embed.get("description"):
        body.extend(_wrap(readable(str(embed["description"]), names), inner))
    fields = embed.get("fields") or []
    if fields and body:
        body.append("")
    for field in fields:
        name = readable(str(field.get("name")), names)
        value = readable(str(field.get("value")), names)
        if field.get("inline", False) and "\n" not in value and len(name) + len(value) + 2 <= inner:
            body.append(f"{name}: {value}")
        else:
            body.extend(_wrap(f"{name}:", inner))
            body.extend("  " + line for line in _wrap(value, inner - 2))
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        body.append("")
        body.extend(_wrap(readable(footer, names), inner))
    top = "┌" + "─" * (width - 2) + "┐"
    bottom = "└" + "─" * (width - 2) + "┘"
    return [top, *(f"│ {line}{' ' * max(0, inner - cells(line))} │" for line in body), bottom]


def component_labels(
    components: list[dict[str, Any]], number: Callable[[dict[str, Any]], int]
) -> list[str]:
    """Buttons as ``[1 Approve] [2 Reject]`` (one line per row), selects with their options."""
    lines: list[str] = []
    for component in components:
        if component.get("type") == 1:
            row: list[str] = []
            for child in component.get("components") or []:
                row.append(_control(child, number))
            lines.append(" ".join(row))
        else:
            for inner in walk_components([component]):
                if inner.get("type") == 2 or inner.get("type") in SELECT_TYPES:
                    lines.append(_control(inner, number))
    return [line for line in lines if line]


def _control(component: dict[str, Any], number: Callable[[dict[str, Any]], int]) -> str:
    kind = component.get("type")
    if kind == 2:
        emoji = (component.get("emoji") or {}).get("name")
        label = " ".join(str(x) for x in (emoji, component.get("label")) if x)
        if component.get("style") == LINK_STYLE:
            return f"[{label} ↗ {component.get('url')}]"
        if component.get("disabled"):
            return f"[– {label}]"
        return f"[{number(component)} {label}]"
    if kind in SELECT_TYPES:
        placeholder = component.get("placeholder") or "choose"
        options = component.get("options") or []
        shown = ", ".join(str(o.get("label")) for o in options[:10])
        more = f", … ({len(options)} options)" if len(options) > 10 else ""
        suffix = f": {shown}{more}" if options else ""
        state = "– " if component.get("disabled") else f"{number(component)} "
        return f"[{state}▼ {placeholder}{suffix}]"
    return ""

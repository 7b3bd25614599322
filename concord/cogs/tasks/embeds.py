"""How tasks look in Discord: the card, the card with history and comments, list pages, the
board's pages and reminder messages. Every builder stays inside Discord's embed limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from concord.core.dates import format_day
from concord.core.task_board import board_pages, board_sections, due_text, short_title
from concord.core.tasks import (
    REPEAT_LABELS,
    STATUS_LABELS,
    Task,
    TaskComment,
    TaskEvent,
    is_overdue,
    page_count,
    task_deadline,
)
from concord.core.text import clip, escape_markdown

TITLE_LIMIT = 256
FIELD_LIMIT = 1024
DESCRIPTION_LIMIT = 4096
EMBED_TOTAL_LIMIT = 6000
CHOICE_NAME_LIMIT = 100
PER_PAGE = 10

PRIORITY_COLOURS: dict[str, discord.Colour] = {
    "low": discord.Colour.light_grey(),
    "normal": discord.Colour.blurple(),
    "high": discord.Colour.orange(),
    "urgent": discord.Colour.red(),
}
STATUS_MARK: dict[str, str] = {
    "open": "⚪",
    "in_progress": "🔵",
    "blocked": "🟠",
    "done": "✅",
    "cancelled": "✖️",
}


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts towards the 6000 total of an embed."""
    total = len(embed.title or "") + len(embed.description or "")
    total += len(embed.footer.text or "") + len(embed.author.name or "")
    return total + sum(len(f.name or "") + len(f.value or "") for f in embed.fields)


def mention(user_id: int | None) -> str:
    return f"<@{user_id}>" if user_id is not None else "Unassigned"


def due_field(task: Task, tz: ZoneInfo) -> str:
    end = task_deadline(task, tz)
    if task.due_date is None or end is None:
        return "No due date"
    stamp = int(end.timestamp())
    if task.due_time is not None:
        return f"<t:{stamp}:f> (<t:{stamp}:R>)"
    day = task.due_date
    return f"{day:%a} {day.day} {day:%b %Y}, end of day (<t:{stamp}:R>)"


def due_words(task: Task) -> str:
    """The resolved due date in words, as answers show it: ``Fri 11 Dec 2026 17:00``."""
    if task.due_date is None:
        return "no due date"
    day = format_day(task.due_date)
    return f"{day} {task.due_time:%H:%M}" if task.due_time is not None else day


def card_colour(task: Task, now: datetime, tz: ZoneInfo) -> discord.Colour:
    if task.status == "done":
        return discord.Colour.green()
    if task.status == "cancelled":
        return discord.Colour.dark_grey()
    if is_overdue(task, now, tz):
        return discord.Colour.dark_red()
    return PRIORITY_COLOURS[task.priority]


def status_text(task: Task, now: datetime, tz: ZoneInfo) -> str:
    text = f"{STATUS_MARK[task.status]} {STATUS_LABELS[task.status]}"
    if is_overdue(task, now, tz):
        text += " · **overdue**"
    return text


def card_embed(task: Task, now: datetime, tz: ZoneInfo) -> discord.Embed:
    """The task card: title, assignee, due (with relative time), priority as colour, status,
    creator; where it came from and what repeats it."""
    embed = discord.Embed(
        title=clip(f"#{task.id} · {escape_markdown(task.title)}", TITLE_LIMIT),
        description=clip(escape_markdown(task.description), DESCRIPTION_LIMIT)
        if task.description
        else None,
        colour=card_colour(task, now, tz),
        timestamp=task.created_at,
    )
    embed.add_field(name="Status", value=status_text(task, now, tz))
    if task.status == "blocked" and task.block_reason:
        embed.add_field(
            name="Blocked because", value=clip(escape_markdown(task.block_reason), FIELD_LIMIT)
        )
    embed.add_field(name="Assignee", value=mention(task.assignee_id))
    embed.add_field(name="Priority", value=task.priority.capitalize())
    embed.add_field(name="Due", value=due_field(task, tz))
    embed.add_field(name="Creator", value=mention(task.creator_id))
    if task.repeat != "none":
        skips = task.skip_holidays or task.repeat == "weekdays"
        embed.add_field(
            name="Repeats",
            value=REPEAT_LABELS[task.repeat] + (", skipping holidays" if skips else ""),
        )
    if task.completed_at is not None and task.status == "done":
        embed.add_field(name="Completed", value=f"<t:{int(task.completed_at.timestamp())}:R>")
    if task.next_id is not None:
        embed.add_field(name="Next occurrence", value=f"#{task.next_id}")
    if task.source_url:
        embed.add_field(name="From message", value=f"[Jump to the message]({task.source_url})")
    embed.set_footer(text=f"Task #{task.id}")
    return embed


def describe_event(event: TaskEvent) -> str:
    when = f"<t:{int(event.at.timestamp())}:R>"
    who = f"<@{event.actor_id}>"
    if event.kind == "created":
        text = f"{when} {who} created it"
    elif event.kind == "status":
        before = STATUS_LABELS.get(event.from_value or "", event.from_value or "?")
        after = STATUS_LABELS.get(event.to_value or "", event.to_value or "?")
        text = f"{when} {who}: {before} → **{after}**"
    elif event.kind == "assigned":
        target = f"<@{event.to_value}>" if event.to_value else "nobody"
        verb = "claimed it" if event.note == "claimed" else f"assigned it to {target}"
        text = f"{when} {who} {verb}"
        if event.note == "claimed":
            return text
    else:
        changed = ", ".join(sorted(json.loads(event.to_value or "{}")))
        text = f"{when} {who} edited {changed}"
    if event.note:
        text += f" — {escape_markdown(clip(event.note, 120))}"
    return text


def lines_within(lines: Sequence[str], limit: int, *, keep_latest: bool = True) -> str:
    """As many lines as fit in ``limit`` characters: the latest ones (history, comments) or
    the first ones (a sorted list), with a count of those left out."""
    source = list(reversed(lines)) if keep_latest else list(lines)
    kept: list[str] = []
    size = 0
    for line in source:
        if size + len(line) + 1 > limit - 40:
            break
        kept.append(line)
        size += len(line) + 1
    hidden = len(lines) - len(kept)
    if keep_latest:
        kept.reverse()
        text = "\n".join(kept)
        return f"*{hidden} earlier not shown*\n{text}" if hidden else text
    text = "\n".join(kept)
    return f"{text}\n*… and {hidden} more*" if hidden else text


def detail_embed(
    task: Task,
    events: Sequence[TaskEvent],
    comments: Sequence[TaskComment],
    now: datetime,
    tz: ZoneInfo,
) -> discord.Embed:
    """The card with its history and comments (``/task show``)."""
    embed = card_embed(task, now, tz)
    history = [describe_event(e) for e in events]
    embed.add_field(name="History", value=lines_within(history, FIELD_LIMIT) or "—", inline=False)
    notes = [
        f"<t:{int(c.at.timestamp())}:R> <@{c.author_id}>: "
        + escape_markdown(clip(c.body.replace(chr(10), " "), 300))
        for c in comments
    ]
    room = EMBED_TOTAL_LIMIT - embed_size(embed) - len("Comments") - 10
    if notes:
        embed.add_field(
            name=f"Comments ({len(notes)})",
            value=lines_within(notes, min(FIELD_LIMIT, max(room, 100))),
            inline=False,
        )
    return embed


def list_line(task: Task, now: datetime, tz: ZoneInfo) -> str:
    mark = "⚠️ " if is_overdue(task, now, tz) else STATUS_MARK[task.status] + " "
    who = f" · {mention(task.assignee_id)}"
    priority = f" · {task.priority}" if task.priority != "normal" else ""
    title = escape_markdown(short_title(task.title))
    return f"{mark}`#{task.id}` {title}{due_text(task, tz)}{priority}{who}"


def list_embed(
    title: str,
    tasks: Sequence[Task],
    page: int,
    now: datetime,
    tz: ZoneInfo,
    empty: str = "No tasks match.",
) -> discord.Embed:
    """One page (10 tasks) of a task list; ``empty`` when there is none."""
    pages = page_count(len(tasks), PER_PAGE)
    page = max(0, min(page, pages - 1))
    chunk = tasks[page * PER_PAGE : (page + 1) * PER_PAGE]
    lines = [list_line(t, now, tz) for t in chunk]
    embed = discord.Embed(
        title=clip(title, TITLE_LIMIT),
        description="\n".join(lines) if lines else empty,
        colour=discord.Colour.blurple(),
    )
    plural = "task" if len(tasks) == 1 else "tasks"
    embed.set_footer(text=f"Page {page + 1}/{pages} · {len(tasks)} {plural}")
    return embed


def board_embeds(
    tasks: Sequence[Task],
    now: datetime,
    tz: ZoneInfo,
    names: dict[int, str] | None = None,
) -> list[discord.Embed]:
    """The board, one embed per message (each well under 6000 characters)."""
    lookup = names or {}
    sections = board_sections(tasks, now, tz, lambda uid: lookup.get(uid, str(uid)))
    pages = board_pages(sections, tz)
    embeds: list[discord.Embed] = []
    for number, text in enumerate(pages, start=1):
        suffix = f" ({number}/{len(pages)})" if len(pages) > 1 else ""
        embed = discord.Embed(
            title=f"Task board{suffix}",
            description=text,
            colour=discord.Colour.dark_teal(),
            timestamp=now,
        )
        embed.set_footer(text="Updated")
        embeds.append(embed)
    return embeds


def overdue_dm_embed(tasks: Sequence[Task], now: datetime, tz: ZoneInfo) -> discord.Embed:
    lines = [list_line(t, now, tz) for t in tasks]
    embed = discord.Embed(
        title=f"You have {len(tasks)} overdue task{'s' if len(tasks) != 1 else ''}",
        description=lines_within(lines, DESCRIPTION_LIMIT - 100, keep_latest=False),
        colour=discord.Colour.dark_red(),
    )
    embed.set_footer(text="Update them with the buttons on their cards or /task status")
    return embed


def choice_name(task: Task) -> str:
    """An autocomplete choice: ``#12 Fix the printer`` (closed tasks say so)."""
    suffix = "" if task.is_live else f" ({STATUS_LABELS[task.status].lower()})"
    return clip(f"#{task.id} {task.title}", CHOICE_NAME_LIMIT - len(suffix)) + suffix

"""The task board as text: sections (Overdue / In progress / Blocked / Open / Done today), grouped
by assignee, packed into pages that fit one embed description each. Pure: no discord, no clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from concord.core.tasks import Task, is_overdue, sort_tasks, task_deadline
from concord.core.text import clip, escape_markdown

SECTION_ORDER: tuple[str, ...] = ("Overdue", "In progress", "Blocked", "Open", "Done today")
STATUS_SECTION: dict[str, str] = {
    "in_progress": "In progress",
    "blocked": "Blocked",
    "open": "Open",
}
# A board is edited at most once per this many seconds; changes meanwhile are coalesced.
BOARD_REFRESH_SECONDS = 5.0
# Live boards per guild: every task change edits each of them. A newer one retires the oldest.
MAX_BOARDS_PER_GUILD = 5
NEW_BOARD_MANAGERS_ONLY = (
    "Only managers can post a task board in a new channel. Ask one, or use the board "
    "already posted in another channel."
)
RETIRED_BOARD_NOTE = (
    "⏸️ This board no longer updates: this server keeps its {limit} newest boards live. "
    "A manager can run `/task board` here to bring it back."
)
# An embed description holds 4096 characters; leave room for the overflow line.
PAGE_CHARS = 3900
MAX_PAGES = 15
LINE_TITLE_MAX = 60
PRIORITY_MARK: dict[str, str] = {"urgent": " · **urgent**", "high": " · high", "low": " · low"}
EMPTY_BOARD = "Nothing to show: no open tasks. Create one with `/task create`."


@dataclass(frozen=True)
class BoardGroup:
    assignee_id: int | None
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class BoardSection:
    name: str
    groups: tuple[BoardGroup, ...]

    @property
    def count(self) -> int:
        return sum(len(group.tasks) for group in self.groups)


def section_of(task: Task, now: datetime, tz: ZoneInfo, today: date) -> str | None:
    if is_overdue(task, now, tz):
        return "Overdue"
    if task.status in STATUS_SECTION:
        return STATUS_SECTION[task.status]
    completed = task.completed_at
    if task.status == "done" and completed is not None and completed.astimezone(tz).date() == today:
        return "Done today"
    return None


def board_sections(
    tasks: Iterable[Task],
    now: datetime,
    tz: ZoneInfo,
    name_of: Callable[[int], str] | None = None,
) -> list[BoardSection]:
    """Non-empty sections in board order; groups ordered by assignee name, unassigned last."""
    today = now.astimezone(tz).date()
    buckets: dict[str, dict[int | None, list[Task]]] = {name: {} for name in SECTION_ORDER}
    for task in tasks:
        section = section_of(task, now, tz, today)
        if section is not None:
            buckets[section].setdefault(task.assignee_id, []).append(task)

    def group_order(assignee: int | None) -> tuple[int, str]:
        if assignee is None:
            return (1, "")
        return (0, (name_of(assignee) if name_of else str(assignee)).casefold())

    sections: list[BoardSection] = []
    for name in SECTION_ORDER:
        groups = buckets[name]
        if not groups:
            continue
        ordered = sorted(groups, key=group_order)
        sections.append(
            BoardSection(
                name,
                tuple(BoardGroup(a, tuple(sort_tasks(groups[a], now, tz))) for a in ordered),
            )
        )
    return sections


def short_title(title: str, limit: int = LINE_TITLE_MAX) -> str:
    return clip(title, limit)


def due_text(task: Task, tz: ZoneInfo) -> str:
    """``due <t:…:R>`` for a due time (Discord shows it in each reader's zone), the plain date
    for a date-only due (a timestamp would show the wrong day to readers in other zones)."""
    if task.due_date is None:
        return ""
    end = task_deadline(task, tz)
    if task.due_time is not None and end is not None:
        return f" · due <t:{int(end.timestamp())}:R>"
    day = task.due_date
    return f" · due {day:%a} {day.day} {day:%b}"


def task_line(task: Task, tz: ZoneInfo) -> str:
    # Markdown in titles would break the line's layout or hide a masked link.
    title = escape_markdown(short_title(task.title))
    return f"`#{task.id}` {title}{due_text(task, tz)}{PRIORITY_MARK.get(task.priority, '')}"


def group_heading(assignee_id: int | None) -> str:
    return f"<@{assignee_id}>" if assignee_id is not None else "*Unassigned*"


class _BoardFull(Exception):
    """The last allowed page is full."""


def board_pages(
    sections: list[BoardSection],
    tz: ZoneInfo,
    *,
    page_chars: int = PAGE_CHARS,
    max_pages: int = MAX_PAGES,
) -> list[str]:
    """Descriptions of the board's messages, each at most ``page_chars`` (+ an overflow line).
    A section or group cut by a page break is headed again on the next page."""
    if not sections:
        return [EMPTY_BOARD]
    pages: list[list[str]] = [[]]
    sizes: list[int] = [0]

    def add(line: str, heading: list[str]) -> None:
        needed = len(line) + 1
        if sizes[-1] + needed > page_chars and pages[-1]:
            if len(pages) == max_pages:
                raise _BoardFull
            pages.append(list(heading))
            sizes.append(sum(len(h) + 1 for h in heading))
        pages[-1].append(line)
        sizes[-1] += needed

    total = sum(section.count for section in sections)
    shown = 0
    try:
        for section in sections:
            if pages[-1]:
                add("", [])
            add(f"**{section.name}** ({section.count})", [])
            for group in section.groups:
                continued = [f"**{section.name}** (continued)"]
                add(group_heading(group.assignee_id), continued)
                for task in group.tasks:
                    add(task_line(task, tz), [*continued, group_heading(group.assignee_id)])
                    shown += 1
    except _BoardFull:
        pass
    texts = ["\n".join(lines).strip() for lines in pages]
    if shown < total:
        texts[-1] += f"\n… and {total - shown} more: use `/task list` to see them all."
    return texts

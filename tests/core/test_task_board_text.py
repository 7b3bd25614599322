"""The board's sections, grouping and page packing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from concord.core.task_board import (
    EMPTY_BOARD,
    board_pages,
    board_sections,
    task_line,
)
from concord.core.tasks import Task

TZ = ZoneInfo("UTC")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def task(task_id: int, **fields: object) -> Task:
    base = Task(
        id=task_id,
        guild_id=1,
        title=f"Task number {task_id}",
        description="",
        creator_id=10,
        assignee_id=20,
        status="open",
        priority="normal",
        due_date=None,
        due_time=None,
        repeat="none",
        repeat_day=None,
        series_id=None,
        previous_id=None,
        next_id=None,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
        completed_at=None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_sections_in_order_grouped_by_assignee_name() -> None:
    tasks = [
        task(1, status="in_progress", assignee_id=21),
        task(2, status="blocked"),
        task(3, due_date=date(2026, 11, 30)),  # overdue open
        task(4, assignee_id=None),
        task(5, status="done", completed_at=NOW - timedelta(hours=1)),
        task(6, status="done", completed_at=NOW - timedelta(days=1)),  # yesterday: hidden
        task(7, status="cancelled"),
        task(8, assignee_id=21),
        task(9),
    ]
    names = {20: "zed", 21: "amy"}
    sections = board_sections(tasks, NOW, TZ, names.__getitem__)
    assert [s.name for s in sections] == ["Overdue", "In progress", "Blocked", "Open", "Done today"]
    open_section = sections[3]
    assert [(g.assignee_id, [t.id for t in g.tasks]) for g in open_section.groups] == [
        (21, [8]),
        (20, [9]),
        (None, [4]),
    ]
    assert sections[0].count == 1 and sections[4].count == 1


def test_line_shows_due_and_priority_and_escapes_markdown() -> None:
    line = task_line(
        task(3, title="Fix *all* `the` printers", priority="urgent", due_date=date(2026, 12, 4)), TZ
    )
    assert line == "`#3` Fix \\*all\\* \\`the\\` printers · due Fri 4 Dec · **urgent**"
    timed = task_line(task(4, due_date=date(2026, 12, 4), due_time=time(17, 0)), TZ)
    assert f"<t:{int(datetime(2026, 12, 4, 17, tzinfo=UTC).timestamp())}:R>" in timed


def test_empty_board() -> None:
    assert board_pages([], TZ) == [EMPTY_BOARD]


def test_300_tasks_page_within_limits_and_repeat_headings() -> None:
    tasks = [
        task(
            i,
            title="T" * 150,
            assignee_id=20 + i % 7,
            status=("open", "in_progress", "blocked")[i % 3],
        )
        for i in range(1, 301)
    ]
    pages = board_pages(board_sections(tasks, NOW, TZ), TZ)
    assert 2 <= len(pages) <= 10
    assert all(len(p) <= 4096 for p in pages)
    shown = sum(p.count("`#") for p in pages)
    assert shown == 300
    assert all(p.startswith("**") for p in pages)  # every page starts with a section heading
    assert "(continued)" in pages[1]


def test_overflow_beyond_max_pages_says_how_many_more() -> None:
    tasks = [task(i, title="T" * 150) for i in range(1, 301)]
    pages = board_pages(board_sections(tasks, NOW, TZ), TZ, max_pages=2)
    assert len(pages) == 2
    shown = sum(p.count("`#") for p in pages)
    assert pages[-1].endswith(f"… and {300 - shown} more: use `/task list` to see them all.")
    assert all(len(p) <= 4096 for p in pages)

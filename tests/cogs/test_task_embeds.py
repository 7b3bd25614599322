"""Task cards, details, lists and boards stay inside Discord's embed limits at the extremes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import discord

from concord.cogs.common import field_input
from concord.cogs.tasks.embeds import (
    board_embeds,
    card_embed,
    choice_name,
    detail_embed,
    embed_size,
    list_embed,
    overdue_dm_embed,
)
from concord.cogs.tasks.views import TaskCreateModal, TaskEditModal, card_view
from concord.core.tasks import Task, TaskComment, TaskEvent

TZ = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def task(task_id: int = 7, **fields: object) -> Task:
    base = Task(
        id=task_id,
        guild_id=1,
        title="T" * 200,
        description="D" * 2000,
        creator_id=111111111111111111,
        assignee_id=222222222222222222,
        status="open",
        priority="urgent",
        due_date=date(2026, 12, 4),
        due_time=time(17, 0),
        repeat="monthly",
        repeat_day=4,
        series_id=None,
        previous_id=None,
        next_id=99,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW,
        completed_at=None,
        source_url="https://discord.com/channels/1/2/3",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert 1 <= len(field.value or "") <= 1024 and len(field.name or "") <= 256
    assert embed_size(embed) <= 6000


def test_card_shows_the_essentials() -> None:
    embed = card_embed(task(), NOW, TZ)
    within_limits(embed)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Assignee"] == "<@222222222222222222>"
    assert fields["Creator"] == "<@111111111111111111>"
    assert "<t:" in fields["Due"] and ":R>" in fields["Due"]
    assert fields["Priority"] == "Urgent" and embed.colour == discord.Colour.red()
    assert "Open" in fields["Status"] and fields["Next occurrence"] == "#99"
    assert "discord.com/channels/1/2/3" in fields["From message"]
    overdue = card_embed(task(due_date=date(2026, 11, 1)), NOW, TZ)
    assert "overdue" in {f.name: f.value for f in overdue.fields}["Status"]


def test_detail_with_long_history_and_comments_fits() -> None:
    events = [
        TaskEvent(i, 7, 333333333333333333, "status", "open", "in_progress", "n" * 500, NOW)
        for i in range(200)
    ]
    comments = [TaskComment(i, 7, 444444444444444444, "c" * 1000, NOW) for i in range(100)]
    embed = detail_embed(task(), events, comments, NOW, TZ)
    within_limits(embed)
    history = next(f.value for f in embed.fields if f.name == "History")
    assert history is not None and "earlier not shown" in history


def test_list_pages_of_ten() -> None:
    tasks = [task(i) for i in range(1, 26)]
    first = list_embed("Tasks", tasks, 0, NOW, TZ)
    last = list_embed("Tasks", tasks, 2, NOW, TZ)
    assert (first.description or "").count("\n") == 9 and first.footer.text == "Page 1/3 · 25 tasks"
    assert (last.description or "").count("`#") == 5
    within_limits(first)
    assert list_embed("Tasks", [], 0, NOW, TZ).description == "No tasks match."


def test_board_of_300_tasks_is_paged_within_limits() -> None:
    statuses = ("open", "in_progress", "blocked")
    tasks = [task(i, status=statuses[i % 3], assignee_id=1000 + i % 12) for i in range(1, 301)]
    embeds = board_embeds(tasks, NOW, TZ)
    assert 1 < len(embeds) <= 10  # 300 tasks with the longest titles fit in 10 messages
    for embed in embeds:
        within_limits(embed)
    assert sum((e.description or "").count("`#") for e in embeds) == 300


def test_overdue_dm_fits() -> None:
    embed = overdue_dm_embed([task(i, due_date=date(2026, 11, 1)) for i in range(200)], NOW, TZ)
    within_limits(embed)
    assert "more" in (embed.description or "")


def test_choice_names_fit_100() -> None:
    assert len(choice_name(task())) <= 100
    assert choice_name(task(status="done", title="Short")) == "#7 Short (done)"


def test_card_buttons_follow_the_state() -> None:
    def ids(t: Task) -> list[str]:
        return [item.custom_id for item in card_view(t).children]  # type: ignore[attr-defined]

    assert ids(task()) == ["task:start:7", "task:done:7"]
    assert ids(task(status="in_progress", assignee_id=None)) == [
        "task:block:7",
        "task:done:7",
        "task:claim:7",
    ]
    assert ids(task(status="blocked")) == ["task:start:7", "task:done:7"]
    assert ids(task(status="done")) == ["task:reopen:7"]
    assert ids(task(status="cancelled")) == ["task:reopen:7"]


def test_modals_are_prefilled_within_limits() -> None:
    modal = TaskCreateModal(title="x" * 300, description="y" * 3000, source_url="https://x")
    title, description = field_input(modal.task_title), field_input(modal.description)
    assert len(title.default or "") == 200 and len(description.default or "") == 2000
    edit = TaskEditModal(task(description=""))
    assert field_input(edit.due).default == "2026-12-04 17:00"
    assert field_input(edit.priority).default == "urgent"
    assert field_input(edit.description).default is None
    assert field_input(edit.repeat).default == "monthly"
    payload = edit.to_dict()
    # Current docs: each field is a Label (type 18) holding a text input without a label.
    assert {c["type"] for c in payload["components"]} == {18}
    labels = [c["label"] for c in payload["components"]]
    inputs = [c["component"] for c in payload["components"]]
    assert len(payload["title"]) <= 45 and len(inputs) <= 5
    assert all(len(label) <= 45 for label in labels)
    assert all("label" not in i and len(i.get("value", "")) <= i["max_length"] for i in inputs)
    assert payload["custom_id"] == "task:edit:7"

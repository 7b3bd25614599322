"""The Tasks module: commands and flows (``cog``), cards and boards (``embeds``, ``board``),
buttons and modals (``views``), reminders (``reminders``); ``MODULE`` declares it."""

from __future__ import annotations

from typing import Any

from concord.cogs.modkit import Fixtures, Job, Module
from concord.cogs.tasks.cog import Tasks
from concord.cogs.tasks.samples import sample
from concord.cogs.tasks.views import TaskButton
from concord.core.settings import Setting, channel_setting
from concord.core.text import plural


def jobs(cog: Any) -> list[Job]:
    return cog.reminders.scheduled()


MODULE = Module(
    name="task",
    cog=Tasks,
    order=30,
    settings=(
        channel_setting("tasks_channel", "Tasks channel", "Where task cards are posted"),
        Setting(
            "task_assign",
            "Task assignment",
            "Who may assign tasks to someone else",
            "choice",
            field="task_assign",
            show=lambda value: "anyone" if value == "anyone" else "managers only",
            choices=("anyone", "managers"),
        ),
        Setting(
            "task_overdue_days",
            "Overdue escalation after",
            "Escalate an overdue task in the tasks channel after this many days",
            "integer",
            field="task_overdue_days",
            show=lambda days: plural(days, "day"),
            minimum=1,
            maximum=60,
        ),
    ),
    persistent=(TaskButton,),
    jobs=jobs,
    fixtures=Fixtures(
        channels=(("tasks", "Task cards"),),
        setup={"tasks_channel": "tasks"},
        buttons=tuple(
            f"task:{action}:{{id}}" for action in ("start", "done", "block", "claim", "reopen")
        ),
        dm_buttons=tuple(
            f"task:{action}:{{id}}" for action in ("start", "done", "block", "claim", "reopen")
        ),
        id_table="tasks",
        sample=sample,
    ),
)

__all__ = ["MODULE", "Tasks"]

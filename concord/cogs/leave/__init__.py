"""The Leave module: /leave commands, approval cards with buttons that survive restarts, DMs and
daily reminders of pending requests. Commands are in cog.py, cards and notifications in
cards.py, buttons and the modal in views.py, rendering in embeds.py; ``MODULE`` declares it."""

from __future__ import annotations

from typing import Any

from concord.cogs.leave.changes import CHANGE_BUTTONS
from concord.cogs.leave.cog import REMINDER_JOB, Leave
from concord.cogs.leave.samples import sample
from concord.cogs.leave.views import DYNAMIC_ITEMS
from concord.cogs.modkit import Fixtures, Job, Module
from concord.core.settings import Setting, channel_setting, show_role
from concord.core.text import plural
from concord.scheduler import TickJob


def jobs(cog: Any) -> list[Job]:
    return [TickJob(REMINDER_JOB, cog.desk.remind_pending, guilds=cog.desk.guilds_to_remind)]


MODULE = Module(
    name="leave",
    cog=Leave,
    order=20,
    settings=(
        Setting(
            "approver_role",
            "Leave approver role",
            "A second role whose members may also approve leave (a backup)",
            "role",
            field="approver_role_id",
            show=lambda value: (
                show_role(value) + " (also decides leave)" if value else "not set (managers only)"
            ),
        ),
        channel_setting(
            "approvals_channel", "Approvals channel", "Where leave requests are posted for approval"
        ),
        Setting(
            "leave_reminder_hours",
            "Leave reminder after",
            "Remind managers of a pending leave request after this many hours",
            "integer",
            field="leave_reminder_hours",
            show=lambda hours: f"{hours} h",
            minimum=1,
            maximum=720,
        ),
        Setting(
            "leave_max_days",
            "Longest leave request",
            "Longest leave request in calendar days (default 60)",
            "integer",
            field="leave_max_days",
            show=lambda days: plural(days, "day"),
            minimum=1,
            maximum=366,
        ),
    ),
    persistent=(*DYNAMIC_ITEMS, *CHANGE_BUTTONS),
    jobs=jobs,
    fixtures=Fixtures(
        channels=(("approvals", "Leave requests waiting for a manager"),),
        setup={"approvals_channel": "approvals"},
        buttons=("leave:approve:{id}", "leave:reject:{id}", "leave:override:{id}"),
        id_table="leave_requests",
        sample=sample,
    ),
)

__all__ = ["MODULE", "Leave"]

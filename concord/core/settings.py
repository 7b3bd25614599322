"""A guild's configuration as the rest of the code sees it, and who counts as a manager."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

from concord.core.schedule import describe_workdays, format_hhmm
from concord.core.text import plural

DEFAULT_TIMEZONE = "UTC"
DEFAULT_WORKDAYS: frozenset[int] = frozenset({0, 1, 2, 3, 4})
DEFAULT_WORKDAY_MINUTES = 480


@dataclass(frozen=True)
class GuildConfig:
    guild_id: int
    manager_role_id: int | None = None
    # A second role whose members may also decide leave requests (a backup approver).
    approver_role_id: int | None = None
    staff_role_id: int | None = None
    approvals_channel_id: int | None = None
    reports_channel_id: int | None = None
    tasks_channel_id: int | None = None
    timezone: str = DEFAULT_TIMEZONE
    workdays: frozenset[int] = field(default=DEFAULT_WORKDAYS)
    workday_minutes: int = DEFAULT_WORKDAY_MINUTES
    dar_reminder: time = time(17, 0)
    dar_summary: time = time(19, 0)
    digest: time = time(9, 0)
    # Who may assign tasks to someone else: 'anyone' or 'managers'.
    task_assign: str = "anyone"
    # A pending leave request is reminded to managers once a day after this many hours.
    leave_reminder_hours: int = 24
    # The longest single leave request, in calendar days.
    leave_max_days: int = 60
    # Daily reports can be edited for this many days after their date.
    dar_edit_days: int = 2
    # An overdue task is escalated in the tasks channel after this many days.
    task_overdue_days: int = 2
    # Whether the server has saved any setup (``/concord setup``): before that every setting is
    # a default (UTC, everyone is staff), so jobs that act on people wait for it.
    configured: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def workday_hours(self) -> float:
        return self.workday_minutes / 60

    def summary_lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for display; ids are rendered as Discord mentions."""

        def role(value: int | None) -> str:
            return f"<@&{value}>" if value else "not set"

        def channel(value: int | None) -> str:
            return f"<#{value}>" if value else "not set"

        hours = f"{self.workday_hours:g} h"
        return [
            ("Manager role", role(self.manager_role_id) + " (plus Manage Server and the owner)"),
            (
                "Leave approver role",
                role(self.approver_role_id) + " (also decides leave)"
                if self.approver_role_id
                else "not set (managers only)",
            ),
            (
                "Staff role",
                role(self.staff_role_id) if self.staff_role_id else "not set (everyone)",
            ),
            ("Approvals channel", channel(self.approvals_channel_id)),
            ("Reports channel", channel(self.reports_channel_id)),
            ("Tasks channel", channel(self.tasks_channel_id)),
            ("Timezone", self.timezone),
            ("Workdays", describe_workdays(self.workdays)),
            ("Workday hours", hours),
            ("DAR reminder", format_hhmm(self.dar_reminder)),
            ("DAR summary", format_hhmm(self.dar_summary)),
            ("Manager digest", format_hhmm(self.digest)),
            ("Task assignment", "anyone" if self.task_assign == "anyone" else "managers only"),
            ("Leave reminder after", f"{self.leave_reminder_hours} h"),
            ("Longest leave request", plural(self.leave_max_days, "day")),
            ("DAR edit window", plural(self.dar_edit_days, "working day")),
            ("Overdue escalation after", plural(self.task_overdue_days, "day")),
        ]


def is_manager(
    config: GuildConfig,
    *,
    role_ids: Iterable[int],
    manage_guild: bool,
    is_owner: bool,
) -> bool:
    """A manager has the configured manager role, or Manage Server, or owns the guild."""
    if is_owner or manage_guild:
        return True
    return config.manager_role_id is not None and config.manager_role_id in set(role_ids)


def can_approve_leave(
    config: GuildConfig,
    *,
    role_ids: Iterable[int],
    manage_guild: bool,
    is_owner: bool,
) -> bool:
    """Managers decide leave, and so do members of the approver role when one is set."""
    if is_manager(config, role_ids=role_ids, manage_guild=manage_guild, is_owner=is_owner):
        return True
    return config.approver_role_id is not None and config.approver_role_id in set(role_ids)

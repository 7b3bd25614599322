"""A guild's configuration as the rest of the code sees it, the description of one setting
(which a module declares and ``/<module> setup`` takes), and who counts as a manager."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from concord.core.schedule import format_hhmm, parse_hhmm

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
    # Whether the server has saved any setup (any setup command): before that every setting is
    # a default (UTC, everyone is staff), so jobs that act on people wait for it.
    configured: bool = False
    # Settings of modules that keep them in ``module_settings`` (not a column of their own):
    # (name, JSON text) pairs, sorted; read them with :meth:`extra` or :meth:`Setting.value`.
    extras: tuple[tuple[str, str], ...] = ()

    def extra(self, name: str, default: Any = None) -> Any:
        for key, text in self.extras:
            if key == name:
                return json.loads(text)
        return default

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def workday_hours(self) -> float:
        return self.workday_minutes / 60


SettingKind = Literal["role", "channel", "text", "integer", "number", "choice"]


def _same(value: Any) -> Any:
    return value


def show_plain(value: Any) -> str:
    return "not set" if value is None else str(value)


def show_role(value: Any) -> str:
    return f"<@&{value}>" if value else "not set"


def show_channel(value: Any) -> str:
    return f"<#{value}>" if value else "not set"


@dataclass(frozen=True)
class Setting:
    """One setting of a module: the option ``/<module> setup`` takes, how its value is checked
    and stored, and how ``/concord settings`` shows it. A setting with a ``field`` lives in a
    column of ``guild_settings`` (a field of :class:`GuildConfig`); one without is kept in
    ``module_settings`` under its name, as JSON, so a new module needs no migration for it."""

    name: str  # the option's name
    label: str  # shown by /concord settings
    description: str  # the option's description (Discord allows 100 characters)
    kind: SettingKind
    default: Any = None
    field: str | None = None
    # The option's value (a role or channel as its id) -> the stored value; raises UserError.
    parse: Callable[[Any], Any] = _same
    show: Callable[[Any], str] = show_plain
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    # Autocomplete for a text option: what the member typed -> suggestions.
    suggest: Callable[[str], list[str]] | None = None

    def value(self, config: GuildConfig) -> Any:
        if self.field is not None:
            return getattr(config, self.field)
        return config.extra(self.name, self.default)

    def shown(self, config: GuildConfig) -> str:
        return self.show(self.value(config))


def time_setting(name: str, label: str, description: str, default: time) -> Setting:
    """A time of day, typed as HH:MM (or 5pm), kept in its own column."""
    return Setting(
        name, label, description, "text", default, field=name, parse=parse_hhmm, show=format_hhmm
    )


def channel_setting(name: str, label: str, description: str) -> Setting:
    return Setting(name, label, description, "channel", field=f"{name}_id", show=show_channel)


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

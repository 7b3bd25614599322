"""What DAR needs from Leave and Tasks (protocols), its results (frozen dataclasses), row mapping
and the day arithmetic that the transaction functions and ``DarManager`` share.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from concord.core.dar import (
    DayOff,
    DayPoint,
    Member,
    MemberStats,
    Report,
    ReportVersion,
    Roster,
    RosterEntry,
    expected_roster,
)
from concord.core.settings import GuildConfig
from concord.db.portable import DbRow

log: logging.Logger = logging.getLogger(__name__)


# -- what DAR needs from Leave and Tasks ---------------------------------------------------
class AbsenceLike(Protocol):
    @property
    def user_id(self) -> int: ...
    @property
    def day(self) -> date: ...
    @property
    def portion(self) -> str: ...
    @property
    def from_time(self) -> time | None: ...
    @property
    def to_time(self) -> time | None: ...
    @property
    def request_id(self) -> int: ...
    @property
    def deducts(self) -> bool: ...


class HolidayLike(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def name(self) -> str: ...


class LeaveRequestLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def deducts(self) -> bool: ...
    @property
    def card_channel_id(self) -> int | None: ...
    @property
    def card_message_id(self) -> int | None: ...


class LeaveSource(Protocol):
    async def absences(
        self, guild_id: int, start: date, end: date, statuses: Sequence[str] = ...
    ) -> Sequence[AbsenceLike]: ...

    async def holidays(self, guild_id: int, start: date, end: date) -> Sequence[HolidayLike]: ...

    async def pending_requests(self, guild_id: int) -> Sequence[LeaveRequestLike]: ...

    async def requests_between(
        self,
        guild_id: int,
        start: date,
        end: date,
        *,
        user_id: int | None = ...,
        statuses: Sequence[str] = ...,
    ) -> Sequence[LeaveRequestLike]: ...


class TaskLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def creator_id(self) -> int: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def completed_at(self) -> datetime | None: ...


class TaskSource(Protocol):
    async def completed_between(
        self, guild_id: int, start_utc: datetime, end_utc: datetime
    ) -> Sequence[TaskLike]: ...

    async def completion_times(
        self, guild_id: int, start_utc: datetime, end_utc: datetime, assignee_id: int | None
    ) -> Sequence[datetime]: ...

    async def live_for(self, guild_id: int, user_id: int) -> Sequence[TaskLike]: ...

    async def overdue(self, guild_id: int, now: datetime) -> Sequence[TaskLike]: ...

    async def overdue_at(self, guild_id: int, moment: datetime) -> Sequence[TaskLike]: ...

    async def open_due_between(
        self, guild_id: int, user_id: int, start: date, end: date
    ) -> Sequence[TaskLike]: ...

    async def get(self, task_id: int, guild_id: int | None = ...) -> TaskLike: ...


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmitResult:
    report: Report
    created: bool


@dataclass(frozen=True)
class Prefill:
    """What the Submit DAR modal shows: the current report when editing, else task lists."""

    day: date
    done: str
    plan: str
    blockers: str
    hours: str
    editing: bool


@dataclass(frozen=True)
class Missing:
    roster: Roster
    missing: tuple[RosterEntry, ...]
    # Members with their own timezone whose day is not over yet (see ``not_due_yet``).
    not_due: tuple[RosterEntry, ...] = ()


@dataclass(frozen=True)
class Stats:
    start: date
    end: date
    points: tuple[DayPoint, ...]
    members: tuple[MemberStats, ...]
    # False while today is in the range but before its summary time (not counted yet).
    today_counted: bool = True


@dataclass(frozen=True)
class Period:
    """Everything needed to build rosters for a span of days, fetched once."""

    config: GuildConfig
    holidays: Mapping[date, str]
    days_off: Mapping[date, tuple[DayOff, ...]]

    def roster(self, day: date, members: Iterable[Member]) -> Roster:
        return expected_roster(
            day,
            members,
            staff_role_id=self.config.staff_role_id,
            workdays=self.config.workdays,
            holiday=self.holidays.get(day),
            days_off=self.days_off.get(day, ()),
        )


# -- rows ------------------------------------------------------------------------------------
def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def report_from_row(row: DbRow) -> Report:
    return Report(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        day=date.fromisoformat(row["day"]),
        done=row["done"],
        plan=row["plan"],
        blockers=row["blockers"],
        minutes=row["minutes"],
        submitted_at=_dt(row["submitted_at"]),
        updated_at=_dt(row["updated_at"]),
        late=bool(row["late"]),
        edits=row["edits"],
    )


def version_from_row(row: DbRow) -> ReportVersion:
    return ReportVersion(
        report_id=row["report_id"],
        done=row["done"],
        plan=row["plan"],
        blockers=row["blockers"],
        minutes=row["minutes"],
        replaced_at=_dt(row["replaced_at"]),
        replaced_by=row["replaced_by"],
    )


def day_bounds_utc(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as UTC instants (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]

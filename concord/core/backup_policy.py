"""Backup rules without I/O: the schedule and retention settings, backup file names, which
backups retention keeps, and how the last backup is described to an operator.

Retention works like restic's ``--keep-daily/--keep-weekly/--keep-monthly``: ``7d`` keeps the
newest backup of each of the 7 most recent days that have one, ``4w`` the newest of each of the
4 most recent ISO weeks, ``12m`` of the 12 most recent months (``y`` for years). Periods are
counted in UTC, as in the file names. Backups younger than a day are always kept, so a second
backup slot in a day does not prune the first one at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

BACKUP_PREFIX = "concord-"
BACKUP_SUFFIX = ".db.gz"
_NAME: re.Pattern[str] = re.compile(r"^concord-(\d{8}T\d{6}Z)-v(\d+)\.db\.gz$")
_KEEP_PART: re.Pattern[str] = re.compile(r"^(\d{1,4})([dwmy])$")
_HHMM: re.Pattern[str] = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
KEEP_RECENT = timedelta(days=1)


@dataclass(frozen=True)
class Retention:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12
    yearly: int = 0

    def describe(self) -> str:
        parts = zip((self.daily, self.weekly, self.monthly, self.yearly), "dwmy", strict=True)
        return ",".join(f"{count}{unit}" for count, unit in parts if count)


@dataclass(frozen=True)
class BackupName:
    """What a backup's file name says: when it was taken (UTC) and its schema version."""

    name: str
    taken_at: datetime
    schema: int


def parse_keep(text: str) -> Retention:
    """``7d,4w,12m`` → Retention; ValueError naming the part that is wrong."""
    counts: dict[str, int] = {}
    for part in (p.strip().lower() for p in text.split(",")):
        match = _KEEP_PART.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a count and a unit (d, w, m or y), e.g. 7d")
        unit = match.group(2)
        if unit in counts:
            raise ValueError(f"{unit!r} is given twice")
        counts[unit] = int(match.group(1))
    if not any(counts.values()):
        raise ValueError("keeps nothing; give at least one period, e.g. 7d")
    return Retention(
        daily=counts.get("d", 0),
        weekly=counts.get("w", 0),
        monthly=counts.get("m", 0),
        yearly=counts.get("y", 0),
    )


def parse_schedule(text: str) -> tuple[time, ...]:
    """``03:00`` or ``03:00,15:30`` → sorted distinct local times; ValueError otherwise."""
    times: set[time] = set()
    for part in (p.strip() for p in text.split(",")):
        match = _HHMM.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a time of day as HH:MM (24-hour), e.g. 03:00")
        times.add(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(times))


def backup_file_name(taken_at: datetime, schema: int) -> str:
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{BACKUP_PREFIX}{stamp}-v{schema}{BACKUP_SUFFIX}"


def parse_backup_name(name: str) -> BackupName | None:
    """The parts of a name this code writes; None for any other file (never touched)."""
    match = _NAME.match(name)
    if match is None:
        return None
    taken_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return BackupName(name=name, taken_at=taken_at, schema=int(match.group(2)))


def _newest_per_period(
    backups: list[BackupName], count: int, period: Callable[[datetime], object]
) -> set[str]:
    kept: set[str] = set()
    seen: set[object] = set()
    for backup in backups:  # newest first
        if len(seen) >= count:
            break
        key = period(backup.taken_at)
        if key not in seen:
            seen.add(key)
            kept.add(backup.name)
    return kept


def backups_to_keep(backups: Iterable[BackupName], keep: Retention, now: datetime) -> set[str]:
    """Names retention keeps; every other backup name given may be deleted."""
    ordered = sorted(backups, key=lambda b: b.taken_at, reverse=True)
    kept = {b.name for b in ordered if now - b.taken_at < KEEP_RECENT}
    kept |= _newest_per_period(ordered, keep.daily, lambda t: t.date())
    kept |= _newest_per_period(ordered, keep.weekly, lambda t: t.isocalendar()[:2])
    kept |= _newest_per_period(ordered, keep.monthly, lambda t: (t.year, t.month))
    kept |= _newest_per_period(ordered, keep.yearly, lambda t: t.year)
    return kept


def describe_age(seconds: float) -> str:
    """A short age: ``45 s``, ``12 min``, ``5 h``, ``3 d``."""
    if seconds < 60:
        return f"{max(0, int(seconds))} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def describe_backup_state(
    configured: bool,
    last_good: datetime | None,
    last_failure: tuple[datetime, str] | None,
    now: datetime,
) -> str:
    """One or two lines for ``/concord status``: the last good backup and its age, and the
    last failure when it came after it."""
    if not configured and last_good is None:
        return "not configured (set CONCORD_BACKUP_DIR)"
    if last_good is None:
        good = "no good backup yet"
    else:
        stamp = last_good.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        good = f"last good {stamp} ({describe_age((now - last_good).total_seconds())} ago)"
    if last_failure is not None and (last_good is None or last_failure[0] > last_good):
        when, error = last_failure
        ago = describe_age((now - when).total_seconds())
        return f"⚠️ FAILED {ago} ago: {error[:300]}\n{good}"
    return good

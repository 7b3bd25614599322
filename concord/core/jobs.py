"""When a daily job is due, in a guild's local time (pure; the caller passes ``now``).

A job set for HH:MM is due on local date D once the local wall clock on D reads HH:MM or later.
Comparing wall-clock times makes daylight-saving changes safe: on a spring-forward day a 02:30 job
runs at 03:00 (the first local minute at or after it), and on a fall-back day the repeated hour
finds the date already recorded, so the job neither skips nor repeats.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LATE_AFTER = timedelta(minutes=5)

# Discord's message nonce: "integer or string", a string of at most 25 characters.
NONCE_LENGTH = 25


def notification_nonce(guild_id: int, kind: str, key: str) -> str:
    """The Discord message nonce of one claimed notification: the same claim always gives the
    same nonce, and different claims (any guild, kind or key) practically never share one
    (Discord deduplicates by author and nonce across all channels, so it must be bot-wide)."""
    digest = hashlib.sha256(f"{guild_id}\x1f{kind}\x1f{key}".encode()).hexdigest()
    return digest[:NONCE_LENGTH]


@dataclass(frozen=True)
class DueRun:
    local_date: date
    late: bool


def due_run(now: datetime, tz: ZoneInfo, at: time) -> DueRun | None:
    """The run due at ``now`` for a job at local ``at``, or None before that time today."""
    local = now.astimezone(tz)
    if local.time().replace(tzinfo=None) < at:
        return None
    scheduled = scheduled_instant(local.date(), at, tz)
    return DueRun(local_date=local.date(), late=now - scheduled > LATE_AFTER)


def scheduled_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The real instant a job at ``at`` on ``day`` becomes due (the first existing local minute
    at or after it, so a time skipped by spring-forward maps to the end of the gap)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:  # inside a DST gap: due when the clock jumps past it
        probe = naive
        while True:
            probe += timedelta(minutes=1)
            candidate = probe.replace(tzinfo=tz)
            if candidate.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) == probe:
                return candidate
    return aware

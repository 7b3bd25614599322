"""Working week, clock times and timezones: parsing and formatting, no I/O."""

from __future__ import annotations

import re
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from concord.errors import UserError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_ALIASES: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "wednes": 2,
    "thur": 3,
    "thurs": 3,
}
_HHMM: re.Pattern[str] = re.compile(r"^\s*([01]?\d|2[0-3])[:.h]([0-5]\d)\s*$")
# 12-hour times as people type them: 5pm, 5 pm, 5:30pm, 9.15 a.m.
_TWELVE_HOUR: re.Pattern[str] = re.compile(
    r"^\s*(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?\s*([ap])\.?\s*m\.?\s*$", re.IGNORECASE
)


def weekday_index(name: str) -> int:
    """``'mon'`` / ``'Monday'`` → 0 … 6; UserError for anything else."""
    key = name.strip().lower()
    if key not in WEEKDAY_ALIASES:
        raise UserError(
            f"`{name}` is not a day of the week (use mon, tue, wed, thu, fri, sat, sun)."
        )
    return WEEKDAY_ALIASES[key]


def parse_workdays(text: str) -> frozenset[int]:
    """``mon-fri``, ``sun-thu`` (wraps), ``mon,tue,thu`` or a mix → weekday indexes (0 = Monday)."""
    days: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            start, end = weekday_index(first), weekday_index(last)
            span = (end - start) % 7
            days.update((start + k) % 7 for k in range(span + 1))
        else:
            days.add(weekday_index(part))
    if not days:
        raise UserError("Give at least one workday, e.g. `mon-fri`, `sun-thu` or `mon,tue,thu`.")
    return frozenset(days)


def format_workdays(days: frozenset[int]) -> str:
    """Canonical storage form: ``mon,tue,wed,thu,fri`` (Monday first)."""
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def describe_workdays(days: frozenset[int]) -> str:
    """Human form: a contiguous run (possibly wrapping the week) as ``Sun–Thu``, else a list."""
    ordered = sorted(days)
    if len(ordered) == 7:
        return "Mon–Sun"
    for start in ordered:
        run = [(start + k) % 7 for k in range(len(ordered))]
        if set(run) == set(ordered) and len(run) > 2:
            return f"{WEEKDAYS[run[0]].title()}–{WEEKDAYS[run[-1]].title()}"
    return ", ".join(WEEKDAYS[d].title() for d in ordered)


def parse_hhmm(text: str) -> time:
    """``HH:MM`` (24-hour), or a 12-hour ``5pm`` / ``5:30 pm`` → time; UserError otherwise."""
    match = _HHMM.match(text)
    if match:
        return time(int(match.group(1)), int(match.group(2)))
    twelve = _TWELVE_HOUR.match(text)
    if twelve:
        hour = int(twelve.group(1)) % 12 + (12 if twelve.group(3).lower() == "p" else 0)
        return time(hour, int(twelve.group(2) or 0))
    raise UserError(f"`{text}` is not a time; use HH:MM, e.g. `09:30` or `17:00` (or `5pm`).")


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def discord_time(moment: datetime, style: str = "f") -> str:
    """``<t:…:f>``: Discord shows the moment in each reader's own timezone (in message
    content, embed descriptions and field values; not in titles or footers)."""
    return f"<t:{int(moment.timestamp())}:{style}>"


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone name (``Europe/Berlin``) → ZoneInfo; UserError for unknown names."""
    cleaned = name.strip()
    if cleaned.upper() == "UTC":
        cleaned = "UTC"
    if not cleaned or cleaned not in timezone_names():
        raise UserError(
            f"`{name}` is not a timezone I know; pick an IANA name such as `Europe/London` or "
            "`Asia/Kolkata` (the option autocompletes)."
        )
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - tzdata is a dependency
        raise UserError(f"`{name}` is not a usable timezone.") from exc


def search_timezones(query: str, limit: int = 25) -> list[str]:
    """Zone names containing every word of ``query`` (case-insensitive), best first."""
    words = [w for w in re.split(r"[\s/_]+", query.lower()) if w]
    if not words:
        return ["UTC", *[n for n in timezone_names() if n.startswith(("Europe/", "America/"))]][
            :limit
        ]
    hits = [n for n in timezone_names() if all(w in n.lower() for w in words)]
    hits.sort(key=lambda n: (not n.lower().startswith(words[0]), len(n), n))
    return hits[:limit]


def parse_workday_hours(hours: float) -> int:
    """Hours in a working day → whole minutes (1 minute … 24 hours)."""
    minutes = round(hours * 60)
    if not 0 < hours <= 24 or minutes < 1:
        raise UserError("`workday_hours` must be more than 0 and at most 24.")
    return minutes

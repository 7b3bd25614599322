"""Date input as people type it: ``today``, ``tomorrow``, ``fri``, ``3 Dec``, ``Dec 3``, ISO,
optionally followed by a 24-hour time (``fri 17:00``). Relative forms resolve against ``today``,
which the caller passes in (the guild's local date), so nothing here reads a clock."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from concord.core.schedule import WEEKDAY_ALIASES, parse_hhmm
from concord.errors import UserError

MONTHS: dict[str, int] = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_ISO: re.Pattern[str] = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH: re.Pattern[str] = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?(?:\s+(\d{4}))?$"
)
_MONTH_DAY: re.Pattern[str] = re.compile(
    r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$"
)
_TRAILING_TIME: re.Pattern[str] = re.compile(
    r"^(.*?)\s*(?:at\s+)?(\d{1,2}[:.h]\d{2}|\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?\s*m\.?)$",
    re.IGNORECASE,
)
HELP = (
    "use YYYY-MM-DD, today, tomorrow, a weekday (fri, or next fri for the following week) "
    "or a day and month (3 Dec)"
)
MONTH_HELP: str = "use YYYY-MM or a month name (Dec, December 2026)"
# Common shorthands and slips for the relative days.
TOMORROW_WORDS: frozenset[str] = frozenset({"tomorrow", "tmrw", "tmr", "tomorow", "tommorow"})
# The years the bot works with (the same as its `year` options). Dates near the ends of what
# Python's date can hold (year 1 or 9999) would overflow the day-by-day arithmetic after them.
FIRST_YEAR: int = 2000
LAST_YEAR: int = 2100


def format_day(day: date) -> str:
    """``Tue 1 Dec 2026``: how dates are shown to people across the modules."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _build(year: int, month: int, day: int, original: str) -> date:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UserError(
            f"`{original}` is outside the dates I work with (years {FIRST_YEAR} to {LAST_YEAR})."
        )
    try:
        return date(year, month, day)
    except ValueError:
        raise UserError(f"`{original}` is not a real date.") from None


def _month(name: str, original: str) -> int:
    if name not in MONTHS:
        raise UserError(f"`{original}` is not a date I understand; {HELP}.")
    return MONTHS[name]


def _next_day_month(today: date, month: int, day: int, original: str) -> date:
    """The next ``day month`` on or after today (29 Feb waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise UserError(f"`{original}` is not a real date.")


def parse_date(text: str, today: date) -> date:
    """One date, relative forms resolved against ``today`` (weekday/day-month: on or after it)."""
    original = text
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise UserError(f"Give a date; {HELP}.")
    if cleaned == "today":
        return today
    if cleaned in TOMORROW_WORDS:
        return today + timedelta(days=1)
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    if match := _ISO.match(cleaned):
        return _build(int(match[1]), int(match[2]), int(match[3]), original)
    if cleaned in WEEKDAY_ALIASES:
        return today + timedelta(days=(WEEKDAY_ALIASES[cleaned] - today.weekday()) % 7)
    if cleaned.startswith("next ") and cleaned.removeprefix("next ") in WEEKDAY_ALIASES:
        # "next fri" is the Friday of the following week (Monday to Sunday), so it never
        # means the same day as "fri" said on a Monday to Thursday.
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=WEEKDAY_ALIASES[cleaned.removeprefix("next ")])
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        if match := pattern.match(cleaned):
            month = _month(match[month_group], original)
            day = int(match[day_group])
            if match[3]:
                return _build(int(match[3]), month, day, original)
            return _next_day_month(today, month, day, original)
    raise UserError(f"`{original}` is not a date I understand; {HELP}.")


def parse_date_time(text: str, today: date) -> tuple[date, time | None]:
    """A date with an optional trailing time: ``fri 17:00``, ``2026-12-03 09:30``, ``17:00``
    alone means today at that time."""
    cleaned = text.strip()
    match = _TRAILING_TIME.match(cleaned)
    if not match:
        try:
            return parse_date(cleaned, today), None
        except UserError as error:
            # Say that a time may follow, which is what this form accepts beyond parse_date.
            if "not a date I understand" not in str(error):
                raise
            raise UserError(
                f"`{cleaned}` is not a date I understand; {HELP}, optionally followed by a time "
                "(`fri 17:00`, `tomorrow 9am`)."
            ) from None
    at = parse_hhmm(match[2])
    day_text = match[1].strip()
    return (parse_date(day_text, today) if day_text else today), at


def parse_month(text: str | None, today: date) -> date:
    """``2026-12``, ``Dec``, ``December 2026`` or nothing (this month) → the month's first day.
    A bare month name means the next such month (this one included)."""
    if text is None or not text.strip():
        return today.replace(day=1)
    cleaned = " ".join(text.strip().lower().split())
    if match := re.match(r"^(\d{4})-(\d{1,2})$", cleaned):
        return _build(int(match[1]), int(match[2]), 1, text)
    if match := re.match(r"^([a-z]+)\.?(?:\s+(\d{4}))?$", cleaned):
        if match[1] not in MONTHS:
            raise UserError(f"`{text}` is not a month; {MONTH_HELP}.")
        month = MONTHS[match[1]]
        if match[2]:
            return _build(int(match[2]), month, 1, text)
        year = today.year if month >= today.month else today.year + 1
        return date(year, month, 1)
    raise UserError(f"`{text}` is not a month; {MONTH_HELP}.")

"""The sandbox's clock: it runs like a wall clock from wherever it was last set, and the
console's ``clock`` command moves it (``clock +1d``, ``clock 2026-12-03 17:00``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from concord.clock import Clock

STEP: re.Pattern[str] = re.compile(r"([+-]?)(\d+)([wdhm])")
UNITS: dict[str, str] = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


class SandboxClock(Clock):
    """Wall-clock pace from a movable starting point."""

    def __init__(self, start: datetime | None = None) -> None:
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._since = time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._since)

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("SandboxClock needs an aware datetime")
        self._base = when.astimezone(UTC)
        self._since = time.monotonic()

    def advance(self, delta: timedelta) -> None:
        self._base += delta


def parse_clock(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """``+1d``, ``-2h``, ``+1d6h``, ``2026-12-03 17:00``, ``2026-12-03`` (09:00) or ``17:00``
    (today); wall times are in ``tz``. Raises ValueError with a readable message."""
    text = text.strip()
    if text and text[0] in "+-":
        steps = STEP.findall(text)
        if not steps or "".join("".join(s) for s in steps) != text:
            raise ValueError(f"cannot read {text!r}; try +1d, +2h, -30m or +1w")
        delta = timedelta()
        sign = "+"
        for given, amount, unit in steps:
            sign = given or sign  # "+1d6h": a step without a sign keeps the previous one
            step = timedelta(**{UNITS[unit]: int(amount)})
            delta += step if sign == "+" else -step
        return now + delta
    local_now = now.astimezone(tz)
    for layout in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%H:%M"):
        try:
            parsed = datetime.strptime(text, layout)
        except ValueError:
            continue
        if layout == "%H:%M":
            day: date = local_now.date()
            parsed = datetime.combine(day, parsed.time())
        elif layout == "%Y-%m-%d":
            parsed = parsed.replace(hour=9)
        return parsed.replace(tzinfo=tz).astimezone(UTC)
    raise ValueError(f"cannot read {text!r}; try 2026-12-03 17:00, 17:00 or +1d")

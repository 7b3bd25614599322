"""Rendering leave as Discord embeds and text, inside Discord's limits (title 256,
description 4096, 25 fields of 1024, 6000 per embed): long lists become pages."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import discord

from concord.core.leave import (
    Absence,
    Balance,
    Holiday,
    LeaveRequest,
    LeaveType,
    Portion,
    RequestStatus,
    describe_dates,
    describe_settings,
    format_amount,
    format_days,
    format_days_hours,
    is_working_day,
)
from concord.core.schedule import discord_time
from concord.core.text import clip, escape_markdown
from concord.db.leave import ApplyResult, RequestYear

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
PAGE_CHARACTERS = 3500  # leaves room for a header and a footer within the description
LINES_PER_PAGE = 15
STATUS_COLOURS: dict[RequestStatus, discord.Colour] = {
    RequestStatus.PENDING: discord.Colour.gold(),
    RequestStatus.APPROVED: discord.Colour.green(),
    RequestStatus.REJECTED: discord.Colour.red(),
    RequestStatus.CANCELLED: discord.Colour.light_grey(),
}
STATUS_ICONS: dict[RequestStatus, str] = {
    RequestStatus.PENDING: "⏳",
    RequestStatus.APPROVED: "✅",
    RequestStatus.REJECTED: "❌",
    RequestStatus.CANCELLED: "↩️",
}
NameOf = Callable[[int | None], str]


def local_time(moment: datetime, tz: ZoneInfo, today: date) -> str:
    """A decision's time as a Discord timestamp: each reader sees it in their own timezone
    (the time only when it was today in the office, else with the date)."""
    return discord_time(moment, "t" if moment.astimezone(tz).date() == today else "f")


def request_line(request: LeaveRequest, *, who: str | None = None) -> str:
    """``#12 · bob · Annual · Thu 3 Dec 2026 (full day) · 1 day · ✅ approved``."""
    parts = [f"`#{request.id}`"]
    if who:
        parts.append(who)
    parts += [
        request.leave_type,
        f"{describe_dates(request.start, request.end)} ({request.span.portion_text()})",
        format_amount(request.amount),
        f"{STATUS_ICONS[request.status]} {request.status.value}",
    ]
    return " · ".join(parts)


def paginate(
    title: str,
    lines: Sequence[str],
    *,
    colour: discord.Colour | None = None,
    header: str = "",
    empty: str = "Nothing to show.",
    per_page: int = LINES_PER_PAGE,
) -> list[discord.Embed]:
    """Embeds of at most ``per_page`` lines and PAGE_CHARACTERS characters each."""
    pages: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = clip(line, 1000)
        if pages[-1] and (len(pages[-1]) >= per_page or size + len(line) + 1 > PAGE_CHARACTERS):
            pages.append([])
            size = 0
        pages[-1].append(line)
        size += len(line) + 1
    embeds: list[discord.Embed] = []
    for number, chunk in enumerate(pages, start=1):
        body = "\n".join(chunk) if chunk else empty
        description = f"{header}\n{body}" if header else body
        embed = discord.Embed(
            title=clip(title, TITLE_LIMIT),
            description=clip(description, DESCRIPTION_LIMIT),
            colour=colour or discord.Colour.blurple(),
        )
        if len(pages) > 1:
            embed.set_footer(text=f"Page {number}/{len(pages)}")
        embeds.append(embed)
    return embeds


# -- the approval card -------------------------------------------------------------------------
@dataclass(frozen=True)
class CardContext:
    """What a card shows besides the request itself."""

    requester: str
    name_of: NameOf
    tz: ZoneInfo
    today: date
    years: Sequence[RequestYear]
    also_out: Sequence[Absence]


def balance_after_approval(request: LeaveRequest, years: Sequence[RequestYear]) -> str:
    tracked = [y for y in years if y.balance.tracked]
    if not request.deducts:
        return "not deducted"
    if not tracked:
        return "no balance kept for this type"
    lines = []
    for year in tracked:
        counted = year.amount if request.status is RequestStatus.PENDING else 0
        after = year.balance.available - counted
        lines.append(f"{year.year}: {format_amount(after)} of {request.leave_type} left")
    return "\n".join(lines)


def also_out_text(absences: Sequence[Absence], name_of: NameOf) -> str:
    if not absences:
        return "Nobody else"
    by_member: dict[int, list[Absence]] = {}
    for absence in absences:
        by_member.setdefault(absence.user_id, []).append(absence)
    lines = []
    for user_id, days in by_member.items():
        shown = ", ".join(
            f"{a.day.day} {a.day:%b}"
            + ("" if a.portion is Portion.FULL_DAY else f" {a.span.public_label()[4:]}")
            + (" (pending)" if a.status is RequestStatus.PENDING else "")
            for a in days[:6]
        )
        more = f" +{len(days) - 6} more" if len(days) > 6 else ""
        lines.append(f"{name_of(user_id)}: {shown}{more}")
    return clip("\n".join(lines), FIELD_LIMIT)


def decision_text(request: LeaveRequest, context: CardContext) -> str:
    name_of, tz, today = context.name_of, context.tz, context.today
    if request.status is RequestStatus.PENDING:
        return "⏳ Waiting for a manager"
    text = ""
    if request.decided_by and request.decided_at:
        verb = "Approved" if request.status is not RequestStatus.REJECTED else "Rejected"
        text = f"{verb} by {name_of(request.decided_by)} at {local_time(request.decided_at, tz, today)}"
    elif request.decided_at:
        text = "Approved automatically (no approval needed)"
    if request.decision_note:
        text += f": {request.decision_note}"
    if request.status is RequestStatus.CANCELLED and request.cancelled_at:
        cancelled = (
            f"Cancelled by {name_of(request.cancelled_by)} at "
            f"{local_time(request.cancelled_at, tz, today)}"
        )
        text = f"{cancelled}\n{text}" if text else cancelled
    icon = STATUS_ICONS[request.status]
    return clip(f"{icon} {text}", FIELD_LIMIT)


def card_embed(request: LeaveRequest, context: CardContext) -> discord.Embed:
    auto = request.decided_by is None and request.decided_at is not None
    title = f"Leave request #{request.id} · {request.leave_type}"
    if auto:
        title = f"Leave #{request.id} · {request.leave_type} (no approval needed)"
        if not request.deducts:
            title = f"{request.leave_type} #{request.id} (no approval needed)"
    embed = discord.Embed(
        title=clip(title, TITLE_LIMIT),
        description=clip(
            f"**{context.requester}**\n"
            f"{describe_dates(request.start, request.end)} · {request.span.portion_text()} · "
            f"{format_amount(request.amount)} (working days)",
            DESCRIPTION_LIMIT,
        ),
        colour=STATUS_COLOURS[request.status],
    )
    if request.reason:
        reason = clip(escape_markdown(request.reason), FIELD_LIMIT)
        embed.add_field(name="Reason", value=reason, inline=False)
    label = "Balance after approval" if request.status is RequestStatus.PENDING else "Balance"
    embed.add_field(
        name=label,
        value=clip(balance_after_approval(request, context.years), FIELD_LIMIT),
        inline=False,
    )
    embed.add_field(
        name="Also out then",
        value=also_out_text(context.also_out, context.name_of),
        inline=False,
    )
    if request.filed_by != request.user_id:
        embed.add_field(name="Filed by", value=context.name_of(request.filed_by), inline=False)
    embed.add_field(name="Status", value=decision_text(request, context), inline=False)
    requested = request.created_at.astimezone(context.tz)
    embed.set_footer(
        text=(
            f"Request #{request.id} · requested {describe_dates(requested.date(), requested.date())}"
            f" {requested:%H:%M} ({context.tz.key})"
        )
    )
    return embed


# -- replies -----------------------------------------------------------------------------------
def apply_embed(
    result: ApplyResult, requester: str, note: str | None, *, own: bool = True
) -> discord.Embed:
    """The requester's confirmation (or the manager's, when ``own`` is False: filed for
    someone else): what was asked, what it takes, and what happens next."""
    request = result.request
    told = "you get" if own else f"{requester} gets"
    title = (
        f"Request #{request.id} submitted for approval"
        if result.needs_approval
        # Work from home and the like are not leave: named by their type.
        else f"{'Leave' if request.deducts else request.leave_type} #{request.id} recorded "
        "(no approval needed)"
    )
    embed = discord.Embed(title=title, colour=STATUS_COLOURS[request.status])
    embed.add_field(name="Who", value=clip(requester, FIELD_LIMIT))
    embed.add_field(name="Type", value=clip(request.leave_type, FIELD_LIMIT))
    embed.add_field(
        name="Dates",
        value=f"{describe_dates(request.start, request.end)} · {request.span.portion_text()}",
        inline=False,
    )
    embed.add_field(name="Amount", value=f"{format_amount(request.amount)} (working days)")
    changes = [c for c in result.changes if c.before.tracked]
    if changes:
        embed.add_field(
            name="Balance (after pending requests)",
            value="\n".join(
                f"{c.year}: {format_days(c.before.after_pending)} → "
                f"**{format_days(c.after.after_pending)}** days"
                for c in changes
            ),
        )
    elif not request.deducts:
        embed.add_field(name="Balance", value="not deducted")
    else:
        embed.add_field(name="Balance", value="no balance kept for this type")
    embed.add_field(
        name="Approval",
        value=(
            f"Needs a manager's approval: {told} a DM when it is decided; "
            f"`/leave cancel request:{request.id}` withdraws it."
            if result.needs_approval
            else "Approved automatically"
        ),
        inline=False,
    )
    if note:
        embed.add_field(name="Note", value=clip(note, FIELD_LIMIT), inline=False)
    return embed


def balance_lines(balances: Sequence[Balance], workday_minutes: int) -> list[str]:
    lines = []
    for b in balances:
        if not b.tracked:
            lines.append(
                f"**{b.leave_type}** · no balance · {format_amount(b.recorded)} approved in {b.year}"
            )
            continue

        def part(value: Fraction) -> str:
            # Short decimals stay bare numbers; hours off read as hours ("2 h 20 min").
            if (value * 100).denominator == 1:
                return format_days(value)
            return format_days_hours(value, workday_minutes)

        parts = [
            f"entitlement {part(b.entitlement)}",
            f"carried over {part(b.carried)}",
            f"adjustments {part(b.adjustments)}",
            f"taken {part(b.taken)}",
            f"pending {part(b.pending)}",
        ]
        available = format_days_hours(b.available, workday_minutes)
        after = format_days_hours(b.after_pending, workday_minutes)
        lines.append(
            f"**{b.leave_type}** · **{available} available** ({after} after pending)\n  "
            + " · ".join(parts)
        )
    return lines


def balance_pages(
    name: str, year: int, balances: Sequence[Balance], workday_minutes: int
) -> list[discord.Embed]:
    return paginate(
        f"Leave balance · {name} · {year}",
        balance_lines(balances, workday_minutes),
        colour=discord.Colour.teal(),
        empty="No leave types yet.",
        per_page=8,
    )


def type_lines(types: Iterable[LeaveType]) -> list[str]:
    return [f"**{escape_markdown(t.name)}** · {describe_settings(t.settings)}" for t in types]


def holiday_lines(holidays: Iterable[Holiday]) -> list[str]:
    return [
        f"{describe_dates(h.day, h.day)} · {escape_markdown(h.name)}"
        + ("" if h.source == "manual" else f" · {h.source.removeprefix('import:')}")
        for h in holidays
    ]


def out_lines(absences: Sequence[Absence], name_of: NameOf) -> list[str]:
    """Public: portion only, never the type or the reason. Who is away first, then who works
    elsewhere (from home, on duty), so nobody working is taken for absent."""
    ordered = [a for a in absences if a.is_away] + [a for a in absences if not a.is_away]
    return [f"{name_of(a.user_id)} · {a.public_label()}" for a in ordered]


def pending_lines(requests: Sequence[LeaveRequest], name_of: NameOf, now: datetime) -> list[str]:
    lines = []
    for request in requests:
        waited = now - request.created_at
        hours = int(waited.total_seconds() // 3600)
        if hours >= 24:
            waiting = f"waiting {hours // 24} d {hours % 24} h"
        else:
            waiting = f"waiting {hours} h" if hours else "requested just now"
        reason = f"\n  “{escape_markdown(clip(request.reason, 200))}”" if request.reason else ""
        lines.append(
            f"`#{request.id}` **{name_of(request.user_id)}** · {request.leave_type} · "
            f"{describe_dates(request.start, request.end)} ({request.span.portion_text()}) · "
            f"{format_amount(request.amount)} · {waiting}{reason}"
        )
    return lines


# -- the month grid ----------------------------------------------------------------------------
GRID_NAME_WIDTH = 12
CALENDAR_MEMBERS_PER_PAGE = 40
GRID_SYMBOLS: dict[Portion, str] = {
    Portion.FULL_DAY: "F",
    Portion.HALF_DAY_AM: "A",
    Portion.HALF_DAY_PM: "P",
    Portion.OFF_DUTY: "H",
}
# Work from home and other types that take nothing: working, just not at the office.
ELSEWHERE_SYMBOL = "W"
CALENDAR_LEGEND = (
    "F full day · A morning · P afternoon · H hours off · W working elsewhere · "
    "lower case: pending · . working day · _ non-working day · # holiday"
)


def calendar_pages(
    month: date,
    absences: Sequence[Absence],
    holidays: Sequence[Holiday],
    workdays: frozenset[int],
    name_of: NameOf,
) -> list[discord.Embed]:
    """The team's month as a monospace grid, one row per member who is away that month."""
    days_in_month = month_calendar.monthrange(month.year, month.month)[1]
    days = [month + timedelta(days=n) for n in range(days_in_month)]
    holiday_days = frozenset(h.day for h in holidays)
    base = "".join(
        "#" if d in holiday_days else "." if is_working_day(d, workdays, holiday_days) else "_"
        for d in days
    )
    rows: dict[int, list[str]] = {}
    for absence in absences:
        row = rows.setdefault(absence.user_id, list(base))
        symbol = GRID_SYMBOLS[absence.portion] if absence.is_away else ELSEWHERE_SYMBOL
        if absence.status is RequestStatus.PENDING:
            symbol = symbol.lower()
        row[absence.day.day - 1] = symbol
    tens = "".join(str(d.day // 10) if d.day % 10 == 0 else " " for d in days)
    units = "".join(str(d.day % 10) for d in days)
    weekdays = "".join("MTWTFSS"[d.weekday()] for d in days)
    pad = " " * (GRID_NAME_WIDTH + 1)
    header = [
        pad + tens,
        pad + units,
        pad + weekdays,
        "Everyone".ljust(GRID_NAME_WIDTH)[:GRID_NAME_WIDTH] + " " + base,
    ]
    members = sorted(rows, key=lambda uid: name_of(uid).lower())
    chunks = [
        members[i : i + CALENDAR_MEMBERS_PER_PAGE]
        for i in range(0, len(members), CALENDAR_MEMBERS_PER_PAGE)
    ] or [[]]
    title = f"Team calendar · {month:%B %Y}"
    pages: list[discord.Embed] = []
    for number, chunk in enumerate(chunks, start=1):
        body = [
            clip(name_of(uid), GRID_NAME_WIDTH).ljust(GRID_NAME_WIDTH) + " " + "".join(rows[uid])
            for uid in chunk
        ]
        if not body:
            body = ["(nobody is away this month)"]
        grid = "\n".join(header + body)
        embed = discord.Embed(
            title=title,
            description=clip(f"```\n{grid}\n```\n{CALENDAR_LEGEND}", DESCRIPTION_LIMIT),
            colour=discord.Colour.blurple(),
        )
        if holidays:
            embed.add_field(
                name="Holidays",
                value=clip("\n".join(holiday_lines(holidays)), FIELD_LIMIT),
                inline=False,
            )
        if len(chunks) > 1:
            embed.set_footer(text=f"Page {number}/{len(chunks)}")
        pages.append(embed)
    return pages

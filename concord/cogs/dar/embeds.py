"""How DAR looks in Discord: plain specs from ``concord.core`` turned into embeds and views,
and the few embeds that only the cog needs (the panel, stats, missing). Everything stays within
Discord's limits because the specs already do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import discord

from concord.cogs.dar.views import BlockerTaskButton
from concord.core.dar import (
    Member,
    MemberStats,
    Roster,
    RosterEntry,
    format_day,
    format_rate,
)
from concord.core.dar_layout import (
    SUMMARY_COLOUR,
)
from concord.core.embed_pages import EmbedSpec, FieldSpec, Item, MessageSpec, chunk_lines, pack
from concord.core.text import escape_markdown

PANEL_TEXT = (
    "Press **Submit DAR** to file today's daily activity report: what you did, what comes "
    "next and anything blocking you. Pressing it again the same day edits your report."
)


def to_embed(spec: EmbedSpec) -> discord.Embed:
    embed = discord.Embed(
        title=spec.title,
        description=spec.description,
        colour=discord.Colour(spec.colour) if spec.colour is not None else None,
        url=spec.url,
    )
    for field in spec.fields:
        embed.add_field(name=field.name, value=field.value, inline=field.inline)
    if spec.footer:
        embed.set_footer(text=spec.footer)
    return embed


def to_view(message: MessageSpec) -> discord.ui.View | None:
    """The message's Make task buttons (persistent DynamicItems), or None without buttons."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in message.buttons:
        view.add_item(BlockerTaskButton.from_spec(button))
    return view


def panel_embed() -> discord.Embed:
    return discord.Embed(
        title="Daily activity report", description=PANEL_TEXT, colour=SUMMARY_COLOUR
    )


def _listed(name: str, entries: Sequence[RosterEntry]) -> list[Item]:
    lines = [f"<@{e.user_id}>" + (f" ({e.note})" if e.note else "") for e in entries]
    return [
        Item(FieldSpec(name if i == 0 else f"{name} (cont.)", chunk))
        for i, chunk in enumerate(chunk_lines(lines, 1024, ", "))
    ]


def missing_messages(
    day: date,
    roster: Roster,
    missing: Sequence[RosterEntry],
    not_due: Sequence[RosterEntry] = (),
) -> list[MessageSpec]:
    if roster.holiday:
        headline = f"Holiday ({escape_markdown(roster.holiday)}): nobody is expected to file."
    elif not roster.workday:
        headline = "Not a workday: nobody is expected to file."
    elif not missing:
        headline = f"Everyone expected has filed (**{len(roster.expected)}**)."
    else:
        due = len(roster.expected) - len(not_due)
        headline = f"**{len(missing)}** missing · {due - len(missing)} / {due} filed"
    if not_due:
        headline += f" · {len(not_due)} not due yet"
    items = _listed(f"Missing ({len(missing)})", missing) if missing else []
    if not_due:
        items += _listed(f"Not due yet ({len(not_due)})", not_due)
    if roster.on_leave:
        items += _listed(f"On leave ({len(roster.on_leave)})", roster.on_leave)
    return pack(f"Missing reports — {format_day(day)}", headline, items, colour=SUMMARY_COLOUR)


def stats_messages(
    start: date,
    end: date,
    stats: Sequence[MemberStats],
    names: dict[int, str],
    note: str | None = None,
) -> list[MessageSpec]:
    """Each member's current streak and on-time rate (the chart goes with the first message);
    ``note`` is added under the headline."""
    lines = [
        f"**{names.get(s.user_id, str(s.user_id))}** — streak {s.streak} · on time "
        f"{format_rate(s.on_time_rate)} ({s.on_time}/{s.expected}) · filed "
        f"{format_rate(s.filed_rate)}"
        for s in stats
    ]
    filed = sum(s.filed for s in stats)
    expected = sum(s.expected for s in stats)
    on_time = sum(s.on_time for s in stats)
    headline = (
        f"{filed} of {expected} expected reports filed, {on_time} on time "
        f"({format_rate(on_time / expected if expected else None)})."
    )
    if not expected and not filed:
        # Say why everything reads n/a: a weekend, a future range, or before the DAR was used.
        headline = (
            "No reports were expected or filed in this period (non-working days, days still "
            "to come, or before the first report). Streaks count up to today."
        )
    if note:
        headline += f"\n{note}"
    items = [
        Item(FieldSpec("Members" if i == 0 else "Members (cont.)", chunk))
        for i, chunk in enumerate(chunk_lines(lines, 1024))
    ]
    return pack(
        f"DAR stats — {format_day(start)} to {format_day(end)}",
        headline,
        items,
        colour=SUMMARY_COLOUR,
    )


def roster_members(guild: discord.Guild) -> list[Member]:
    """The guild's members as the roster rules see them (roles, bot flag, day they joined)."""
    return [
        Member(
            m.id,
            m.display_name,
            frozenset(r.id for r in m.roles),
            m.bot,
            m.joined_at.date() if m.joined_at else None,
        )
        for m in guild.members
    ]

"""Daily activity reports laid out for Discord, with no I/O: the day's summary, the manager
digest, a report and its follow-up, the reminder — composed into Discord-sized messages
(``embed_pages``) from the data ``core.dar`` defines, as ``task_board`` does for tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta

from concord.core.dar import (
    DigestData,
    OpenBlocker,
    OverdueTask,
    PendingLeave,
    Report,
    RosterEntry,
    SummaryData,
    format_day,
    format_hours,
    short_day,
)
from concord.core.embed_pages import (
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBED_CHARS,
    ButtonSpec,
    EmbedSpec,
    FieldSpec,
    Item,
    MessageSpec,
    chunk_lines,
    first_lines,
    pack,
    pack_sections,
)
from concord.core.text import ELLIPSIS, clip, escape_markdown

SUMMARY_COLOUR = 0x5865F2
DIGEST_COLOUR = 0xFEE75C
# How much of a report the summary shows: the first lines of Done, the blockers in bold.
SUMMARY_DONE_LINES = 3
SUMMARY_DONE_CHARS = 350
SUMMARY_BLOCKER_CHARS = 300
_MORE_NOTE_ROOM: int = len("\n… and 99999 more")


def blocker_custom_id(report_id: int) -> str:
    return f"dar:blocker:{report_id}"


def _name(names: Mapping[int, str], user_id: int) -> str:
    return names.get(user_id) or f"member {user_id}"


def summary_field(report: Report, data: SummaryData) -> FieldSpec:
    """One report condensed: member and flags as the name, Done's first lines, Blockers bold."""
    return report_field(
        report,
        _name(data.names, report.user_id),
        data.roster.note_for(report.user_id),
        data.overdue.get(report.user_id, 0),
    )


def report_field(report: Report, name: str, note: str | None, overdue: int) -> FieldSpec:
    flags = [name]
    if report.minutes is not None:
        flags.append(format_hours(report.minutes))
    if report.late:
        flags.append("late")
    if note:
        flags.append(note)
    if overdue:
        flags.append(f"{overdue} overdue task{'s' if overdue != 1 else ''}")
    value = escape_markdown(first_lines(report.done, SUMMARY_DONE_LINES, SUMMARY_DONE_CHARS))
    if report.blockers:
        blocker = clip(" ".join(report.blockers.split()), SUMMARY_BLOCKER_CHARS)
        value += f"\n**Blockers: {escape_markdown(blocker)}**"
    return FieldSpec(name=" · ".join(flags), value=clip(value, FIELD_VALUE_MAX))


def compose_follow_up(report: Report, name: str, note: str | None = None) -> MessageSpec:
    """The line added to a posted summary when a member who was not due yet then files."""
    button = None
    if report.blockers:
        button = ButtonSpec(blocker_custom_id(report.id), f"Make task: {name}")
    return pack(
        f"Filed after the summary — {format_day(report.day)}",
        f"<@{report.user_id}> filed their report for {format_day(report.day)}: it was not due "
        "yet when the summary went out.",
        [Item(report_field(report, name, note, 0), button)],
        colour=SUMMARY_COLOUR,
    )[0]


def _listed(name: str, entries: Sequence[str], separator: str = ", ") -> list[Item]:
    """A list section as one or more fields (``Missing (40)``, ``Missing (cont.)``)."""
    chunks = chunk_lines(entries, FIELD_VALUE_MAX, separator)
    return [
        Item(FieldSpec(name if i == 0 else f"{name} (cont.)", chunk))
        for i, chunk in enumerate(chunks)
    ]


def _mention(entry: RosterEntry) -> str:
    return f"<@{entry.user_id}>" + (f" ({entry.note})" if entry.note else "")


def summary_headline(data: SummaryData) -> str:
    roster = data.roster
    filed_ids = {r.user_id for r in data.reports}
    expected = roster.expected_ids - {e.user_id for e in data.not_due}
    filed_expected = len(expected & filed_ids)
    parts = [f"**{filed_expected} / {len(expected)}** expected reports filed"]
    if data.not_due:
        parts.append(f"{len(data.not_due)} not due yet")
    late = sum(1 for r in data.reports if r.late)
    if late:
        parts.append(f"{late} late")
    extra = len(filed_ids - expected)
    if extra:
        parts.append(f"{extra} more from members not expected today")
    if roster.on_leave:
        parts.append(f"{len(roster.on_leave)} on leave")
    line = " · ".join(parts)
    if roster.holiday:
        line += f"\nHoliday: {escape_markdown(roster.holiday)}"
    elif not roster.workday:
        line += "\nNot a workday."
    return line


def late_note(scheduled: time, zone: str) -> str:
    """The line a scheduled post carries when it went out after its time (the bot was down);
    the time is the office's, so the text names the zone."""
    return f"*Posted late: I was offline at {scheduled:%H:%M} ({zone} time).*"


def compose_summary(data: SummaryData, note: str | None = None) -> list[MessageSpec]:
    """The day's summary as messages within Discord's limits (one Make task button per blocker);
    ``note`` is added under the headline."""
    filed_ids = {r.user_id for r in data.reports}
    waiting = {e.user_id for e in data.not_due} | {e.user_id for e in data.skipped}
    missing = [
        e for e in data.roster.expected if e.user_id not in filed_ids and e.user_id not in waiting
    ]
    items: list[Item] = []
    if missing:
        items += _listed(f"Missing ({len(missing)})", [_mention(e) for e in missing])
    if data.not_due:
        items += _listed(f"Not due yet ({len(data.not_due)})", [_mention(e) for e in data.not_due])
    if data.skipped:
        items += _listed(f"Skipped ({len(data.skipped)})", [_mention(e) for e in data.skipped])
    if data.roster.on_leave:
        items += _listed(
            f"On leave ({len(data.roster.on_leave)})", [_mention(e) for e in data.roster.on_leave]
        )
    ordered = sorted(data.reports, key=lambda r: (_name(data.names, r.user_id).lower(), r.id))
    for report in ordered:
        button = None
        if report.blockers:
            button = ButtonSpec(
                blocker_custom_id(report.id), f"Make task: {_name(data.names, report.user_id)}"
            )
        items.append(Item(summary_field(report, data), button))
    completed_lines = [
        f"<@{user_id}>: " + ", ".join(labels)
        for user_id, labels in sorted(
            data.completed.items(), key=lambda kv: _name(data.names, kv[0]).lower()
        )
        if labels
    ]
    if completed_lines:
        total = sum(len(v) for v in data.completed.values())
        items += _listed(f"Tasks completed ({total})", completed_lines, "\n")
    headline = summary_headline(data) + (f"\n{note}" if note else "")
    return pack(
        f"Daily reports — {format_day(data.day)}",
        headline,
        items,
        colour=SUMMARY_COLOUR,
    )


def format_age(age: timedelta) -> str:
    """``3 d 4 h``, ``5 h``, ``12 min``."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def _overdue_lines(tasks: Sequence[OverdueTask]) -> list[str]:
    by_member: dict[int | None, list[OverdueTask]] = {}
    for task in tasks:
        by_member.setdefault(task.assignee_id, []).append(task)
    ordered = sorted(
        by_member.items(),
        key=lambda kv: (-len(kv[1]), kv[0] is None, kv[0] or 0),
    )
    lines: list[str] = []
    for assignee, member_tasks in ordered:
        member_tasks.sort(key=lambda t: (-t.days_overdue, t.task_id))
        who = f"<@{assignee}>" if assignee is not None else "Unassigned"
        shown = [
            f"#{t.task_id} {escape_markdown(clip(t.title, 60))} ({t.days_overdue} d)"
            for t in member_tasks[:3]
        ]
        more = len(member_tasks) - len(shown)
        tail = f" +{more} more" if more else ""
        lines.append(f"{who} ({len(member_tasks)}): " + "; ".join(shown) + tail)
    return lines


def _pending_line(pending: PendingLeave) -> str:
    if pending.count == 0:
        return "None waiting."
    line = f"**{pending.count}** waiting"
    if pending.oldest_age is not None:
        line += f", the oldest for {format_age(pending.oldest_age)}"
    if pending.link:
        line += f" — [open]({pending.link})"
    return line


def _blocker_line(blocker: OpenBlocker) -> str:
    text = escape_markdown(clip(" ".join(blocker.text.split()), 140))
    line = f"<@{blocker.user_id}> ({short_day(blocker.day)}): {text}"
    if blocker.task_id is not None:
        line += f" → task #{blocker.task_id}"
    return line


def _share_budget(needs: Sequence[int], budget: int) -> list[int]:
    """Split ``budget`` between sections needing ``needs`` characters: nobody gets more than
    they need, and what a small section leaves over goes to the bigger ones."""
    shares = [0] * len(needs)
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    remaining = budget
    for position, index in enumerate(order):
        fair = remaining // (len(order) - position)
        shares[index] = min(needs[index], fair)
        remaining -= shares[index]
    return shares


def _section_fields(name: str, lines: Sequence[str], budget: int, empty: str) -> list[FieldSpec]:
    """A section as fields spending at most ``budget`` characters (names included); what does
    not fit is counted in a closing "… and N more"."""
    if not lines:
        return [FieldSpec(name, empty)]
    fields: list[FieldSpec] = []
    field_name, used = name, 0
    current: list[str] = []
    spent = len(name)
    for index, raw in enumerate(lines):
        line = clip(raw, FIELD_VALUE_MAX - _MORE_NOTE_ROOM)
        add = len(line) + (1 if current else 0)
        if used + add > FIELD_VALUE_MAX - _MORE_NOTE_ROOM:
            next_name = f"{name} (cont.)"
            if spent + len(next_name) + len(line) + _MORE_NOTE_ROOM > budget:
                current.append(f"{ELLIPSIS} and {len(lines) - index} more")
                break
            fields.append(FieldSpec(field_name, "\n".join(current)))
            field_name, current, used = next_name, [line], len(line)
            spent += len(next_name) + len(line)
            continue
        if spent + add + _MORE_NOTE_ROOM > budget:
            current.append(f"{ELLIPSIS} and {len(lines) - index} more")
            break
        current.append(line)
        used += add
        spent += add
    fields.append(FieldSpec(field_name, "\n".join(current)))
    return fields


def digest_headline(data: DigestData) -> str:
    parts = [
        f"{len(data.out_today)} out today",
        f"{data.pending.count} leave request{'s' if data.pending.count != 1 else ''} pending",
        f"{len(data.overdue)} overdue task{'s' if len(data.overdue) != 1 else ''}",
        f"{len(data.missing)} missing report{'s' if len(data.missing) != 1 else ''}",
        f"{len(data.blockers)} open blocker{'s' if len(data.blockers) != 1 else ''}",
    ]
    return " · ".join(parts)


def compose_digest(data: DigestData, note: str | None = None) -> MessageSpec:
    """The morning digest as one message within Discord's limits, whatever the team's size;
    ``note`` is added under the headline."""
    title = f"Manager digest — {format_day(data.day)}"
    tomorrow = data.day + timedelta(days=1)
    next_day = data.next_day or tomorrow
    next_label = "Out tomorrow" if next_day == tomorrow else "Out next working day"
    description = digest_headline(data) + (f"\n{note}" if note else "")
    sections: list[tuple[str, list[str], str]] = [
        (
            f"Out today ({len(data.out_today)})",
            [_mention(e) for e in data.out_today],
            "Nobody.",
        ),
        (
            f"{next_label}, {short_day(next_day)} ({len(data.out_tomorrow)})",
            [_mention(e) for e in data.out_tomorrow],
            "Nobody.",
        ),
        ("Pending leave requests", [_pending_line(data.pending)], "None waiting."),
        (
            f"Overdue tasks ({len(data.overdue)})",
            _overdue_lines(data.overdue),
            "None.",
        ),
        (
            f"Missing reports, {short_day(data.missing_day)} ({len(data.missing)})"
            if data.missing_day
            else "Missing reports",
            [_mention(e) for e in data.missing],
            "None." if data.missing_day else "Nothing to check yet.",
        ),
        (
            f"Open blockers ({len(data.blockers)})",
            [_blocker_line(b) for b in data.blockers],
            "None.",
        ),
    ]
    if data.checkins:  # an office with check-ins of its own: how the past week's went
        sections.append(("Check-ins, past week", list(data.checkins), "None."))
    budget = MESSAGE_EMBED_CHARS - len(title) - len(description)
    # What each section would take in full (a "(cont.)" name per field it spills into).
    needs = [
        max(len(name) + len(empty), len(name) + sum(len(line) + 1 for line in lines))
        + (len(lines) * 200 // FIELD_VALUE_MAX + 1) * (len(name) + _MORE_NOTE_ROOM + 8)
        for name, lines, empty in sections
    ]
    fields: list[FieldSpec] = []
    for (name, lines, empty), share in zip(sections, _share_budget(needs, budget), strict=True):
        fields += _section_fields(name, lines, share, empty)
    fields = fields[:FIELDS_MAX]
    embed = EmbedSpec(
        title=title, description=description, fields=tuple(fields), colour=DIGEST_COLOUR
    )
    return MessageSpec(embeds=(embed,))


def report_messages(report: Report, name: str, note: str | None = None) -> list[MessageSpec]:
    """One report in full (Done, Plan, Blockers), as many messages as its length needs."""
    facts = [f"Filed <t:{int(report.submitted_at.timestamp())}:f>"]
    if report.late:
        facts.append("late (after the day's summary)")
    if report.edits:
        facts.append(
            f"edited {report.edits} time{'s' if report.edits != 1 else ''}, "
            f"last <t:{int(report.updated_at.timestamp())}:R>"
        )
    if report.minutes is not None:
        facts.append(format_hours(report.minutes))
    if note:
        facts.append(note)
    head = EmbedSpec(
        title=f"Daily report — {name} — {format_day(report.day)}",
        description=" · ".join(facts),
        colour=SUMMARY_COLOUR,
    )
    sections = [("Done", escape_markdown(report.done)), ("Plan", escape_markdown(report.plan))]
    if report.blockers:
        sections.append(("Blockers", escape_markdown(report.blockers)))
    return pack_sections(head, sections, colour=SUMMARY_COLOUR)


def reminder_text(day: date, note: str | None, overdue: Sequence[str], *, guild_name: str) -> str:
    """The DM sent to a member whose report for ``day`` is not in yet."""
    text = (
        f"Your daily report for **{format_day(day)}** in {guild_name} isn't in yet. "
        "Press **Submit DAR** to file it (it takes a minute)."
    )
    if note:
        text += f"\n(Noted: {note} today.)"
    if overdue:
        text += (
            f"\nYou also have {len(overdue)} overdue task{'s' if len(overdue) != 1 else ''}: "
            + ", ".join(escape_markdown(label) for label in overdue[:5])
            + (f" +{len(overdue) - 5} more" if len(overdue) > 5 else "")
        )
    return clip(text, 2000)

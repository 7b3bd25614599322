"""What an office hits in its first month (issue 16), end to end through the emulator: members
with their own timezone, the digest's next working day, past summaries from task history,
stats that agree about today, catch-up order after downtime, the edit window in working days,
and daily jobs that wait for setup instead of using up the day."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from concord.core.dar import DayPoint
from concord.sandbox.driver import Message, Sandbox
from tests.cogs.test_dar_e2e import (
    TUE,
    at,
    create_task,
    digests,
    file_report,
    reminders,
    scheduled,
    summaries,
    take_leave,
)


def report_posts(sandbox: Sandbox) -> list[str]:
    """Titles of the bot's posts in the reports channel, in order."""
    return [
        m.embeds[0].get("title") or ""
        for m in sandbox.messages("reports")
        if m.embeds and not m.ephemeral
    ]


def titles_starting(messages: list[Message], prefix: str) -> list[Message]:
    return [m for m in messages if m.embeds and (m.embeds[0].get("title") or "").startswith(prefix)]


# -- 11: catch-up after downtime -----------------------------------------------------------
async def test_catch_up_runs_in_scheduled_order_without_reminders_past_the_summary(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    await scheduled(sandbox, at(8))
    await sandbox.restart()  # down from 08:00 until 20:00: the digest, reminder, summary missed
    await scheduled(sandbox, at(20))
    posts = report_posts(sandbox)
    assert [p.split(" — ")[0] for p in posts] == ["Manager digest", "Daily reports"]
    # The summary already lists who is missing: no "your report isn't in yet" after it.
    for who in ("alice", "bob", "carol", "dave"):
        assert reminders(sandbox, who) == [], who
    await scheduled(sandbox, at(20, 5))
    assert all(reminders(sandbox, who) == [] for who in ("bob", "carol"))
    # Back before the summary time, the missed reminder still goes out (late, once).
    await sandbox.restart()
    wed = TUE + timedelta(days=1)
    await scheduled(sandbox, at(18, 30, wed))
    assert len(reminders(sandbox, "carol")) == 1


# -- 14: jobs that wait for setup ----------------------------------------------------------
async def test_a_digest_that_waited_for_setup_runs_at_its_new_time(sandbox: Sandbox) -> None:
    # A fresh server: no reports channel, default times in UTC (the clock is 09:00 UTC).
    await scheduled(sandbox, at(9, 30))
    assert digests(sandbox) == []
    assert await sandbox.bot.job_ledger.runs(sandbox.guild.id, "digest") == []
    sandbox.clock.set(at(9, 40))  # type: ignore[attr-defined]
    reply = await sandbox.slash("owner", "concord setup", reports_channel="reports", digest="09:41")
    assert reply.text.startswith("Saved"), reply.text
    await scheduled(sandbox, at(9, 40) + timedelta(seconds=30))
    assert digests(sandbox) == []
    await scheduled(sandbox, at(9, 41))
    [digest] = digests(sandbox)
    assert "Manager digest — Tue 1 Dec 2026" in digest.text and "Posted late" not in digest.text


async def test_reminder_and_summary_that_waited_for_setup_run_that_day(sandbox: Sandbox) -> None:
    await scheduled(sandbox, at(19, 5))  # fresh server: past the default 17:00 and 19:00
    assert all(sandbox.dms(who) == [] for who in ("alice", "bob", "carol", "dave", "owner"))
    sandbox.clock.set(at(19, 6))  # type: ignore[attr-defined]
    reply = await sandbox.slash(
        "owner",
        "concord setup",
        staff_role="Staff",
        reports_channel="reports",
        dar_reminder="19:10",
        dar_summary="19:20",
    )
    assert reply.text.startswith("Saved"), reply.text
    await scheduled(sandbox, at(19, 10))
    for who in ("bob", "carol", "dave"):
        assert len(reminders(sandbox, who)) == 1, who
    assert reminders(sandbox, "owner") == []
    await scheduled(sandbox, at(19, 20))
    [summary] = summaries(sandbox)
    assert "Daily reports — Tue 1 Dec 2026" in summary.text and "Posted late" not in summary.text
    # Only the reports channel was missing at the summary time: it runs on the next pass.
    await sandbox.configure(reports_channel=None)
    wed = TUE + timedelta(days=1)
    await scheduled(sandbox, at(19, 25, wed))
    await sandbox.configure(reports_channel="reports")
    await scheduled(sandbox, at(19, 30, wed))
    assert "Daily reports — Wed 2 Dec 2026" in summaries(sandbox)[-1].text
    assert "Posted late" not in summaries(sandbox)[-1].text


# -- 12: the edit window counts working days -----------------------------------------------
async def test_the_edit_window_counts_the_offices_working_days(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # mon-fri, dar_edit_days 2
    sandbox.clock.set(at(10, day=date(2026, 12, 7)))  # type: ignore[attr-defined]
    filed = await file_report(sandbox, "bob", date="fri")  # Friday's report on Monday
    assert "Your report for **Fri 4 Dec 2026** is filed" in filed.content
    assert "(until Tue 8 Dec 2026)" in filed.content
    sandbox.clock.set(at(10, day=date(2026, 12, 9)))  # type: ignore[attr-defined]
    refused = await sandbox.slash("carol", "dar submit", date="2026-12-04")
    assert refused.modal is None
    assert "too far back: reports can be filed up to 2 working days after their date" in (
        refused.text
    )
    # A holiday is not a working day either: with Monday off, Wednesday is still in time.
    added = await sandbox.slash("alice", "leave holiday add", date="2026-12-07", name="Closed")
    assert "Closed" in added.text
    late = await file_report(sandbox, "carol", date="2026-12-04")
    assert "Your report for **Fri 4 Dec 2026** is filed" in late.content
    assert "(until the end of today)" in late.content


# -- 2: the digest's "tomorrow" ------------------------------------------------------------
async def test_the_digest_looks_ahead_to_the_next_working_day(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await take_leave(sandbox, "dave", "2026-12-07")  # Monday
    await take_leave(sandbox, "carol", "2026-12-09")  # Wednesday
    added = await sandbox.slash("alice", "leave holiday add", date="2026-12-08", name="Closed")
    assert "Closed" in added.text
    await scheduled(sandbox, at(9, day=date(2026, 12, 4)))  # Friday
    friday = digests(sandbox)[-1].text
    assert "Out next working day, Mon 7 Dec (1)" in friday and "@Dave (full day)" in friday
    assert "Sat" not in friday and "Out tomorrow" not in friday
    await scheduled(sandbox, at(9, day=date(2026, 12, 7)))  # Monday; Tuesday is a holiday
    monday = digests(sandbox)[-1].text
    assert "Out next working day, Wed 9 Dec (1)" in monday and "@Carol (full day)" in monday
    await scheduled(sandbox, at(9, day=date(2026, 12, 9)))
    assert "Out tomorrow, Thu 10 Dec (0)" in digests(sandbox)[-1].text


# -- 7: stats text and chart agree about today ---------------------------------------------
def totals(text: str) -> tuple[int, int]:
    """(filed, expected) from the stats headline "N of M expected reports filed"."""
    head = text.split(" expected reports filed")[0].split()
    return int(head[-3]), int(head[-1])


async def test_stats_text_and_chart_count_today_alike(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    charted: list[list[DayPoint]] = []
    # The module the running bot loaded (extensions are imported afresh at every start).
    cog_module = sys.modules[type(sandbox.bot.get_cog("Dar")).__module__]
    real_chart = cog_module.render_dar_chart

    def spy(points: list[DayPoint], title: str) -> bytes:
        charted.append(list(points))
        return real_chart(points, title)

    monkeypatch.setattr(cog_module, "render_dar_chart", spy)
    await sandbox.configure_office()
    for offset in range(3):  # Tue, Wed, Thu: bob and carol file every day at noon
        sandbox.clock.set(at(12, day=TUE + timedelta(days=offset)))  # type: ignore[attr-defined]
        await file_report(sandbox, "bob")
        await file_report(sandbox, "carol")
    # Thursday noon: today is not over, so neither the text nor the chart counts it yet.
    before = await sandbox.slash("alice", "dar stats", start="2026-12-01", end="2026-12-03")
    points = charted[-1]
    chart = (sum(p.filed for p in points), sum(p.expected for p in points))
    assert totals(before.text) == chart == (4, 8)
    assert "Today (Thu 3 Dec) counts from 19:00" in before.text
    assert "**Bob** — streak 3 · on time 100% (2/2)" in before.text
    # After the summary time today counts in both: alice and dave missed it.
    sandbox.clock.set(at(19, 30, TUE + timedelta(days=2)))  # type: ignore[attr-defined]
    after = await sandbox.slash("alice", "dar stats", start="2026-12-01", end="2026-12-03")
    points = charted[-1]
    chart = (sum(p.filed for p in points), sum(p.expected for p in points))
    assert totals(after.text) == chart == (6, 12)
    assert "counts from" not in after.text
    assert "**Dave** — streak 0 · on time 0% (0/3)" in after.text


# -- 6: past summaries from task history ---------------------------------------------------
async def test_a_past_summary_shows_overdue_tasks_as_they_were_that_day(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(10, day=date(2026, 11, 30)))  # type: ignore[attr-defined]
    invoice = await create_task(sandbox, title="Old invoice", assignee="bob", due="today")
    sign = await create_task(sandbox, title="Fix the sign", assignee="carol", due="today")
    sandbox.clock.set(at(10))  # type: ignore[attr-defined]
    for title in ("Call IT", "Book a room"):  # due Wednesday: not overdue on Tuesday
        await create_task(sandbox, title=title, assignee="bob", due="2026-12-02")
    await file_report(sandbox, "bob")
    await file_report(sandbox, "carol")
    tuesday = await sandbox.slash("alice", "dar summary")
    assert "Bob · 7.5 h · 1 overdue task" in tuesday.text
    assert "Carol · 7.5 h · 1 overdue task" in tuesday.text
    # Wednesday: the invoice is done, the sign handed to bob.
    sandbox.clock.set(at(10, day=date(2026, 12, 2)))  # type: ignore[attr-defined]
    done = await sandbox.slash("bob", "task status", task=f"#{invoice}", status="done")
    assert "Done" in done.text or "done" in done.text, done.text
    handed = await sandbox.slash("alice", "task assign", task=f"#{sign}", member="bob")
    assert f"#{sign}" in handed.text, handed.text
    # Thursday: Tuesday's summary still reads as it did on Tuesday.
    sandbox.clock.set(at(10, day=date(2026, 12, 3)))  # type: ignore[attr-defined]
    again = await sandbox.slash("alice", "dar summary", date="2026-12-01")
    assert "Bob · 7.5 h · 1 overdue task" in again.text
    assert "Carol · 7.5 h · 1 overdue task" in again.text


# -- 1: members with their own timezone ----------------------------------------------------
def manila(hour: int, minute: int = 0, day: date = TUE) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo("Asia/Manila"))


def new_york(hour: int, minute: int = 0, day: date = TUE) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo("America/New_York"))


async def test_a_remote_member_is_judged_on_their_own_clock(sandbox: Sandbox) -> None:
    await sandbox.configure_office(timezone="Asia/Manila", dar_summary="18:30")
    sandbox.clock.set(manila(8))  # type: ignore[attr-defined]
    await sandbox.slash("dave", "concord timezone", timezone="America/New_York")
    sandbox.clock.set(manila(12))  # type: ignore[attr-defined]
    for who in ("alice", "bob", "carol"):
        await file_report(sandbox, who)
    await scheduled(sandbox, manila(18, 30))
    [summary] = summaries(sandbox)
    assert "**3 / 3** expected reports filed · 1 not due yet" in summary.text
    assert "Not due yet (1)" in summary.text and "Missing" not in summary.text
    missing = await sandbox.slash("alice", "dar missing")
    assert "Not due yet (1)" in missing.text and "@Dave" in missing.text
    assert "Missing (" not in missing.text
    # His reminder comes at 17:00 in New York, for his Tuesday, before his own summary time.
    await scheduled(sandbox, new_york(16, 59))
    assert reminders(sandbox, "dave") == []
    await scheduled(sandbox, new_york(17))
    [dm] = reminders(sandbox, "dave")
    assert "**Tue 1 Dec 2026**" in dm.content
    # Filed at 18:00 New York (07:00 Manila the next day): on time on his clock.
    sandbox.clock.set(new_york(18))  # type: ignore[attr-defined]
    filed = await file_report(sandbox, "dave", done="Night shift notes")
    assert "Your report for **Tue 1 Dec 2026** is filed" in filed.content
    assert "marked late" not in filed.content
    [follow_up] = titles_starting(sandbox.messages("reports"), "Filed after the summary")
    assert "Filed after the summary — Tue 1 Dec 2026" in follow_up.text
    assert "@Dave" in follow_up.text and "Night shift notes" in follow_up.text
    assert "late" not in follow_up.embeds[0]["fields"][0]["name"]
    # Filing again (an edit) adds nothing more.
    await file_report(sandbox, "dave", done="Night shift notes, edited")
    assert len(titles_starting(sandbox.messages("reports"), "Filed after the summary")) == 1
    # A report after his own summary time is late, on his clock too.
    wed = TUE + timedelta(days=1)
    sandbox.clock.set(new_york(19, day=wed))  # type: ignore[attr-defined]
    late = await file_report(sandbox, "dave")
    assert "Wed 2 Dec 2026" in late.content and "marked late" in late.content

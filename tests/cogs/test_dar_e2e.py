"""The DAR cog end to end through the emulator and the real bot: every /dar command, the modal
and its prefill from tasks, the panel button across a restart, exports read back, the chart,
the scheduled reminder / summary / digest (exactly once, catch-up, DST, two guilds), paging
for 300 members, blockers turned into tasks, and bad input for every option."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from concord.core.dar import validate_report
from concord.core.embed_pages import MESSAGE_EMBED_CHARS
from concord.db.dar import DarManager
from concord.sandbox.driver import Message, Reply, Sandbox
from concord.sandbox.emulator.world import Guild, User

TUE = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: date = TUE) -> datetime:
    """A moment on ``day`` in London (UTC in December)."""
    return datetime.combine(day, time(hour, minute), UTC)


def dar(sandbox: Sandbox) -> DarManager:
    return sandbox.bot.get_cog("Dar").dar_store  # type: ignore[union-attr]


async def file_report(
    sandbox: Sandbox,
    who: str,
    done: str = "Fixed the printer",
    plan: str = "Order toner",
    blockers: str = "",
    hours: str = "7.5",
    **options: str,
) -> Reply:
    reply = await sandbox.slash(who, "dar submit", **options)
    assert reply.modal is not None, reply.text
    return await sandbox.submit(
        who, reply.modal, done=done, plan=plan, blockers=blockers, hours=hours
    )


async def scheduled(sandbox: Sandbox, when: datetime) -> None:
    sandbox.clock.set(when)  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())


def reminders(sandbox: Sandbox, who: str) -> list[Message]:
    """The DAR reminders among a member's DMs (leave and task DMs go there too)."""
    return [m for m in sandbox.dms(who) if "isn't in yet" in m.content]


def summaries(sandbox: Sandbox, channel: object = "reports") -> list[Message]:
    return [
        m
        for m in sandbox.messages(channel)  # type: ignore[arg-type]
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Daily reports")
    ]


def digests(sandbox: Sandbox) -> list[Message]:
    return [
        m
        for m in sandbox.messages("reports")
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Manager digest")
    ]


def message_size(message: Message) -> int:
    total = 0
    for embed in message.embeds:
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += len((embed.get("footer") or {}).get("text") or "")
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
    return total


async def add_staff(sandbox: Sandbox, count: int, guild: Guild | None = None) -> list[User]:
    """More Staff members; the bot restarts to load them as a big guild (member chunks)."""
    world = sandbox.emulator.world
    target = guild or sandbox.guild
    staff = next(r for r in target.roles.values() if r.name == "Staff")
    users = []
    for number in range(count):
        user = world.add_user(f"member{number:03d}", f"Member {number:03d}")
        world.add_member(target, user, [staff])
        users.append(user)
    await sandbox.restart()
    discord_guild = sandbox.bot.get_guild(target.id)
    assert discord_guild is not None and len(discord_guild.members) >= count
    return users


# -- /dar submit -----------------------------------------------------------------------------
async def test_submit_files_then_edits_with_the_current_text(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    first = await sandbox.slash("bob", "dar submit")
    assert first.modal is not None and first.modal.title == "Daily report — Tue 1 Dec"
    reply = await sandbox.submit(
        "bob", first.modal, done="Fixed the printer", plan="Order toner", blockers="", hours="7.5"
    )
    assert reply.ephemeral and "Your report for **Tue 1 Dec 2026** is filed" in reply.content
    assert "Fixed the printer" in reply.text and "7.5 h" in reply.text
    again = await sandbox.slash("bob", "dar submit")
    assert again.modal is not None and again.modal.title == "Edit report — Tue 1 Dec"
    assert again.modal.field("done").value == "Fixed the printer"
    assert again.modal.field("hours").value == "7:30"
    edited = await sandbox.submit("bob", again.modal, done="Fixed the printer twice")
    assert "updated (edit 1)" in edited.content
    report = await dar(sandbox).get(sandbox.guild.id, sandbox.member("bob").id, TUE)
    assert report is not None and report.done == "Fixed the printer twice" and report.edits == 1
    assert [v.done for v in await dar(sandbox).versions(report.id)] == ["Fixed the printer"]


async def test_submit_after_the_summary_is_late_and_yesterday_can_be_filed(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(20))  # type: ignore[attr-defined]
    late = await file_report(sandbox, "bob")
    assert "marked late" in late.content
    sandbox.clock.set(at(9, day=TUE + timedelta(days=1)))  # type: ignore[attr-defined]
    back = await file_report(sandbox, "carol", date="yesterday")
    assert "Tue 1 Dec 2026" in back.content and "marked late" in back.content


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("someday", "`date`: `someday` is not a date I understand"),
        ("2026-02-30", "is not a real date"),
        ("2026-12-02", "hasn't happened yet"),
        ("2026-11-20", "too far back: reports can be filed up to 2 working days after their date"),
    ],
)
async def test_submit_refuses_bad_dates(sandbox: Sandbox, option: str, message: str) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("bob", "dar submit", date=option)
    assert reply.modal is None and reply.ephemeral and message in reply.text
    assert await sandbox.db.fetchall("SELECT id FROM dar_reports") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hours": "25"}, "use a number from 0 to 24"),
        ({"hours": "lots"}, "`lots` is not a number of hours"),
        ({"done": "   "}, "Done can't be empty"),
        ({"plan": "  "}, "Plan can't be empty"),
    ],
)
async def test_bad_report_input_is_refused_and_nothing_is_lost(
    sandbox: Sandbox, fields: dict[str, str], message: str
) -> None:
    await sandbox.configure_office()
    opened = await sandbox.slash("bob", "dar submit")
    assert opened.modal is not None
    values = {"done": "Did things", "plan": "More things", "blockers": "", "hours": "7", **fields}
    reply = await sandbox.submit("bob", opened.modal, **values)
    assert reply.ephemeral and message in reply.text
    assert await sandbox.db.fetchall("SELECT id FROM dar_reports") == []
    again = await sandbox.click("bob", reply, "Fix and resubmit")
    assert again.modal is not None
    assert again.modal.field("done").value == values["done"]
    assert again.modal.field("hours").value == values["hours"]
    fixed = await sandbox.submit("bob", again.modal, done="Did things", plan="Next", hours="7")
    assert "is filed" in fixed.content


# -- /dar view, /dar missing -----------------------------------------------------------------
async def test_view_own_others_and_permissions(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="Waiting for the VPN token")
    own = await sandbox.slash("bob", "dar view")
    assert own.ephemeral and "Daily report — Bob — Tue 1 Dec 2026" in own.text
    assert "Waiting for the VPN token" in own.text and "Order toner" in own.text
    refused = await sandbox.slash("carol", "dar view", member="bob")
    assert "You need the Manager role" in refused.text
    manager = await sandbox.slash("alice", "dar view", member="bob", date="today")
    assert "Fixed the printer" in manager.text
    none = await sandbox.slash("alice", "dar view", member="carol")
    assert "has no report for **Tue 1 Dec 2026**." in none.text
    weekend = await sandbox.slash("alice", "dar view", member="carol", date="2026-11-29")
    assert "not expected to file that day" in weekend.text
    bad = await sandbox.slash("alice", "dar view", date="nope")
    assert "`date`: `nope` is not a date" in bad.text


async def test_missing_lists_expected_members_without_a_report(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob")
    reply = await sandbox.slash("alice", "dar missing")
    assert "Missing reports — Tue 1 Dec 2026" in reply.text
    assert "@Carol" in reply.text and "@Dave" in reply.text and "@Alice" in reply.text
    assert "@Bob" not in reply.text
    refused = await sandbox.slash("bob", "dar missing")
    assert "You need the Manager role" in refused.text
    weekend = await sandbox.slash("alice", "dar missing", date="sat")
    assert "Not a workday" in weekend.text
    bad = await sandbox.slash("alice", "dar missing", date="31 Feb")
    assert "is not a real date" in bad.text


# -- /dar summary ----------------------------------------------------------------------------
async def test_summary_for_members_and_managers_who_can_post_it(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="Waiting for the VPN token")
    await file_report(sandbox, "carol")
    member_view = await sandbox.slash("dave", "dar summary")
    assert "Daily reports — Tue 1 Dec 2026" in member_view.text
    assert "**2 / 4** expected reports filed" in member_view.embeds[0]["description"]
    assert all(not m.buttons for m in member_view.messages)
    manager_view = await sandbox.slash("alice", "dar summary")
    buttons = [b for m in manager_view.messages for b in m.buttons]
    assert [b.label for b in buttons] == ["Make task: Bob", "Post in #reports"]
    post_prompt = manager_view.messages[-1]
    posted = await sandbox.click("alice", post_prompt, "Post in #reports")
    assert "Posted the summary for Tue 1 Dec 2026" in posted.text
    public = sandbox.last_message("reports")
    assert not public.ephemeral and "Waiting for the VPN token" in public.text
    assert public.button("Make task: Bob")
    bad = await sandbox.slash("alice", "dar summary", date="13/45")
    assert "`date`:" in bad.text


# -- /dar panel ------------------------------------------------------------------------------
async def test_panel_button_works_after_a_restart_and_a_new_panel_replaces_the_old(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    refused = await sandbox.slash("bob", "dar panel")
    assert "You need the Manager role" in refused.text
    reply = await sandbox.slash("alice", "dar panel", _channel="general")
    assert "Posted the Submit DAR panel" in reply.text
    panel = sandbox.last_message("general")
    assert panel.button("Submit DAR").custom_id == "dar:submit"
    await sandbox.restart()
    opened = await sandbox.click("carol", panel, "Submit DAR")
    assert opened.modal is not None and opened.modal.title == "Daily report — Tue 1 Dec"
    filed = await sandbox.submit("carol", opened.modal, done="Panel works", plan="More")
    assert "is filed" in filed.content
    await sandbox.slash("alice", "dar panel", _channel="general")
    panels = [m for m in sandbox.messages("general") if m.buttons]
    assert len(panels) == 1 and panels[0].id != panel.id and panel.deleted


# -- /dar export -----------------------------------------------------------------------------
async def seed_three_reports(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", done="=SUM(A1:A3)\n- second line", blockers="VPN")
    sandbox.clock.set(at(20))  # type: ignore[attr-defined]
    await file_report(sandbox, "carol", hours="")
    sandbox.clock.set(at(12, day=TUE + timedelta(days=1)))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", done="Wednesday work")


async def test_export_csv_for_a_manager_reads_back(sandbox: Sandbox) -> None:
    await seed_three_reports(sandbox)
    reply = await sandbox.slash(
        "alice", "dar export", start="2026-12-01", end="2026-12-02", format="csv"
    )
    assert reply.ephemeral and "3 reports from Tue 1 Dec 2026 to Wed 2 Dec 2026" in reply.text
    [(name, data)] = reply.files
    assert name == "dar-2026-12-01-to-2026-12-02.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "date",
        "member",
        "done",
        "plan",
        "blockers",
        "hours",
        "submitted at",
        "late",
        "on leave",
    ]
    assert [(r["date"], r["member"]) for r in rows] == [
        ("2026-12-01", "Bob"),
        ("2026-12-01", "Carol"),
        ("2026-12-02", "Bob"),
    ]
    assert rows[0]["done"] == "'=SUM(A1:A3)\n- second line"  # never a formula
    assert (rows[0]["blockers"], rows[0]["hours"], rows[0]["late"]) == ("VPN", "7.5", "no")
    assert (rows[1]["hours"], rows[1]["late"]) == ("", "yes")
    assert rows[0]["submitted at"] == "2026-12-01T12:00:00+00:00"


async def test_export_xlsx_of_ones_own_reports_reads_back(sandbox: Sandbox) -> None:
    await seed_three_reports(sandbox)
    reply = await sandbox.slash("bob", "dar export", start="1 Dec", end="today", format="xlsx")
    [(name, data)] = reply.files
    assert name == "dar-2026-12-01-to-2026-12-02-Bob.xlsx"
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("date", "member", "done")
    assert [r[1] for r in rows[1:]] == ["Bob", "Bob"]
    assert rows[1][2] == "=SUM(A1:A3)\n- second line" and rows[1][5] == 7.5


@pytest.mark.parametrize(
    ("who", "options", "message"),
    [
        ("bob", {"member": "carol"}, "Only managers can export other members' reports"),
        (
            "alice",
            {"start": "2026-12-02", "end": "2026-12-01"},
            "The end date (Tue 1 Dec 2026) is before the start date (Wed 2 Dec 2026)",
        ),
        ("alice", {"start": "2025-01-01", "end": "2026-12-01"}, "Export at most 366 days"),
        ("alice", {"start": "soon"}, "`start`: `soon` is not a date"),
        ("alice", {"end": "2026-13-01"}, "`end`:"),
        ("alice", {"start": "2026-11-01", "end": "2026-11-02"}, "No reports from"),
    ],
)
async def test_export_refuses_bad_input(
    sandbox: Sandbox, who: str, options: dict[str, str], message: str
) -> None:
    await seed_three_reports(sandbox)
    values = {"start": "2026-12-01", "end": "2026-12-02", "format": "csv", **options}
    reply = await sandbox.slash(who, "dar export", **values)
    assert reply.ephemeral and message in reply.text and not reply.files


# -- /dar stats ------------------------------------------------------------------------------
def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def test_stats_chart_streaks_and_rates(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    for offset in range(3):  # Tue, Wed, Thu: bob on time, carol late on Wednesday
        day = TUE + timedelta(days=offset)
        sandbox.clock.set(at(12, day=day))  # type: ignore[attr-defined]
        await file_report(sandbox, "bob")
        sandbox.clock.set(at(20 if offset == 1 else 12, day=day))  # type: ignore[attr-defined]
        await file_report(sandbox, "carol")
    reply = await sandbox.slash("alice", "dar stats", start="2026-12-01", end="2026-12-03")
    [(name, data)] = reply.files
    assert name == "dar-stats.png" and png_size(data) == (1000, 450)
    assert reply.embeds[0]["image"]["url"] == "attachment://dar-stats.png"
    # Thursday is today, before its summary: it counts for nobody yet (streaks do include it).
    assert "**Bob** — streak 3 · on time 100% (2/2)" in reply.text
    assert "**Carol** — streak 3 · on time 50% (1/2)" in reply.text
    assert "**Dave** — streak 0 · on time 0% (0/2)" in reply.text
    own = await sandbox.slash("carol", "dar stats")
    assert "**Carol**" in own.text and "**Bob**" not in own.text
    refused = await sandbox.slash("carol", "dar stats", member="bob")
    assert "Only managers can see the stats of other members' reports" in refused.text
    bad = await sandbox.slash("alice", "dar stats", start="2026-12-05", end="2026-12-01")
    assert "The end date (Tue 1 Dec 2026) is before the start date (Sat 5 Dec 2026)" in bad.text
    too_long = await sandbox.slash("alice", "dar stats", start="2024-01-01")
    assert "at most 366 days" in too_long.text


# -- the scheduled jobs ----------------------------------------------------------------------
async def test_reminders_go_once_to_expected_members_without_a_report(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob")
    await scheduled(sandbox, at(16, 59))
    assert sandbox.dms("carol") == []
    await scheduled(sandbox, at(17, 0))
    for who in ("alice", "carol", "dave"):
        [dm] = sandbox.dms(who)
        assert "daily report for **Tue 1 Dec 2026**" in dm.content
        assert dm.button("Submit DAR").custom_id == f"dar:submit:{sandbox.guild.id}:2026-12-01"
    assert sandbox.dms("bob") == [] and sandbox.dms("owner") == []
    for minute in range(1, 5):
        await scheduled(sandbox, at(17, minute))
    assert len(sandbox.dms("carol")) == 1
    # The DM's button files the report for that day, even the next morning after a restart.
    await sandbox.restart()
    sandbox.clock.set(at(9, day=TUE + timedelta(days=1)))  # type: ignore[attr-defined]
    opened = await sandbox.click("carol", sandbox.dms("carol")[0], "Submit DAR")
    assert opened.modal is not None and opened.modal.title == "Daily report — Tue 1 Dec"
    filed = await sandbox.submit("carol", opened.modal, done="Late but here", plan="On")
    assert "Tue 1 Dec 2026" in filed.content and "marked late" in filed.content


async def test_reminders_exactly_once_with_restarts_around_the_job_time(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    for minute in range(58, 64):  # 16:58 … 17:03, a restart before every pass
        await sandbox.restart()
        await scheduled(sandbox, at(16, 0) + timedelta(minutes=minute))
        await scheduled(sandbox, at(16, 0) + timedelta(minutes=minute, seconds=30))
    for who in ("alice", "bob", "carol", "dave"):
        assert len(sandbox.dms(who)) == 1, who
    runs = await sandbox.bot.job_ledger.runs(sandbox.guild.id, "dar_reminder")
    assert [(r["local_date"], r["status"], r["late"]) for r in runs] == [("2026-12-01", "done", 0)]


async def test_a_reminder_missed_while_down_is_sent_late_the_same_day(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await scheduled(sandbox, at(16, 30))
    await sandbox.restart()  # "down" over 17:00; back at 18:40
    await scheduled(sandbox, at(18, 40))
    assert len(sandbox.dms("carol")) == 1
    [run] = await sandbox.bot.job_ledger.runs(sandbox.guild.id, "dar_reminder")
    assert run["late"] == 1
    # Down for the whole rest of the day: no reminder for a day that is over.
    await scheduled(sandbox, at(0, 30, TUE + timedelta(days=2)))
    assert len(sandbox.dms("carol")) == 1


async def test_reminders_respect_leave_own_timezones_and_closed_dms(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("bob", "concord timezone", timezone="Asia/Tokyo")
    await scheduled(sandbox, datetime(2026, 12, 1, 7, 59, tzinfo=UTC))
    assert sandbox.dms("bob") == []
    await scheduled(sandbox, datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # 17:00 in Tokyo
    [dm] = sandbox.dms("bob")
    assert "Tue 1 Dec 2026" in dm.content
    await scheduled(sandbox, at(17))
    assert len(sandbox.dms("bob")) == 1  # not again at London's 17:00
    assert len(sandbox.dms("carol")) == 1
    # On Saturday in Tokyo nobody expects a report: looked up once, then left alone.
    saturday = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    await scheduled(sandbox, saturday)
    assert len(sandbox.dms("bob")) == 1
    claims = await sandbox.db.fetchall(
        "SELECT key FROM notifications_sent WHERE kind = 'dar.reminder' AND key LIKE ?",
        (f"{sandbox.member('bob').id}:%",),
    )
    assert sorted(r["key"].split(":")[1] for r in claims) == ["2026-12-01", "2026-12-05"]


async def test_closed_dms_are_not_retried_and_do_not_stop_the_others(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.member("carol").accepts_dms = False
    with sandbox.expect_errors() as caught:
        await scheduled(sandbox, at(17))
    assert [r.status for r in caught.requests] == [403]  # Discord's "cannot DM this user"
    assert not caught.logs  # logged at info level only: nothing anyone must act on
    assert sandbox.dms("carol") == [] and len(reminders(sandbox, "dave")) == 1
    [run] = await sandbox.bot.job_ledger.runs(sandbox.guild.id, "dar_reminder")
    assert run["status"] == "done"  # closed DMs are final, not a failure to retry
    sandbox.member("carol").accepts_dms = True
    await scheduled(sandbox, at(17, 30))
    assert sandbox.dms("carol") == []


async def test_a_failed_page_is_retried_without_repeating_the_sent_ones(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob")
    await scheduled(sandbox, at(18, 50))  # the morning digest catches up first
    sandbox.emulator.inject_error(
        "POST /channels/{channel_id}/messages", 403, code=50013, message="Missing Permissions"
    )
    with sandbox.expect_errors():
        await scheduled(sandbox, at(19))
    assert summaries(sandbox) == []
    [run] = await sandbox.bot.job_ledger.runs(sandbox.guild.id, "dar_summary")
    assert run["status"] == "failed"
    await scheduled(sandbox, at(19, 1))
    assert len(summaries(sandbox)) == 1
    await scheduled(sandbox, at(19, 2))
    assert len(summaries(sandbox)) == 1


async def test_summary_is_posted_in_the_reports_channel_once(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="Waiting for the VPN token")
    await file_report(sandbox, "carol", done="Line one\nLine two\nLine three\nLine four")
    await scheduled(sandbox, at(18, 59))
    assert summaries(sandbox) == []
    await scheduled(sandbox, at(19, 0))
    [summary] = summaries(sandbox)
    text = summary.text
    assert "Daily reports — Tue 1 Dec 2026" in text and "**2 / 4** expected" in text
    assert "Missing (2)" in text and "@Alice" in text and "@Dave" in text
    assert "**Blockers: Waiting for the VPN token**" in text
    assert "Line three" in text and "Line four" not in text
    assert summary.button("Make task: Bob").custom_id.startswith("dar:blocker:")
    assert "Posted late" not in text
    # The morning digest had not run (the test started after 09:00): it caught up, marked late.
    assert "Posted late: I was offline at 09:00 (Europe/London time)." in digests(sandbox)[0].text
    await sandbox.restart()
    await scheduled(sandbox, at(19, 5))
    assert len(summaries(sandbox)) == 1


async def test_no_summary_on_a_weekend_nobody_worked(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await scheduled(sandbox, at(19, 0, date(2026, 12, 5)))
    assert summaries(sandbox) == []


async def test_summary_and_digest_page_within_limits_for_300_members(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    users = await add_staff(sandbox, 300)
    manager = dar(sandbox)
    for index, user in enumerate(users[:240]):
        blockers = "Waiting for the supplier to confirm the order " * 3 if index % 4 == 0 else None
        draft = validate_report(
            "Worked on the quarterly numbers\n" * 6, "More numbers", blockers, "8"
        )
        await manager.submit(sandbox.guild.id, user.id, draft, at(12))
    await scheduled(sandbox, at(19))
    pages = summaries(sandbox)
    assert len(pages) > 1
    for page in pages:
        assert message_size(page) <= MESSAGE_EMBED_CHARS
        assert len(page.embeds) <= 10 and len(page.buttons) <= 25
    text = "\n".join(p.text for p in pages)
    assert "**240 / 304** expected reports filed" in text
    assert sum(len(p.buttons) for p in pages) == 60
    assert "Member 299" in text and "Missing (64)" in text
    await scheduled(sandbox, at(9, day=TUE + timedelta(days=1)))
    digest = digests(sandbox)[-1]
    assert "Manager digest — Wed 2 Dec 2026" in digest.text
    assert message_size(digest) <= MESSAGE_EMBED_CHARS and len(digest.embeds) == 1
    assert "Missing reports, Tue 1 Dec (64)" in digest.text
    assert "Open blockers (60)" in digest.text and "more" in digest.text


async def test_digest_content_and_once_a_day(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="The VPN is down")
    await scheduled(sandbox, at(9, day=TUE + timedelta(days=1)))
    [digest] = digests(sandbox)
    text = digest.text
    assert "Manager digest — Wed 2 Dec 2026" in text
    assert "Out today (0)" in text and "Nobody." in text
    assert "Pending leave requests" in text and "None waiting." in text
    assert "Missing reports, Tue 1 Dec (3)" in text
    assert "Open blockers (1)" in text and "The VPN is down" in text
    await sandbox.restart()
    await scheduled(sandbox, at(9, 30, TUE + timedelta(days=1)))
    assert len(digests(sandbox)) == 1
    await scheduled(sandbox, at(9, day=date(2026, 12, 5)))  # Saturday: no digest
    assert len(digests(sandbox)) == 1


@pytest.mark.parametrize(
    ("start", "label"),
    [
        # London springs forward at 01:00 UTC on Sun 28 Mar 2027: 01:30 local does not exist.
        (datetime(2027, 3, 28, 0, 40, tzinfo=UTC), "spring-forward"),
        # London falls back at 01:00 UTC on Sun 31 Oct 2027: 01:30 local happens twice.
        (datetime(2027, 10, 31, 0, 10, tzinfo=UTC), "fall-back"),
    ],
)
async def test_dst_changes_neither_skip_nor_repeat_a_reminder(
    sandbox: Sandbox, start: datetime, label: str
) -> None:
    await sandbox.configure_office(workdays="mon-sun", dar_reminder="01:30")
    for step in range(0, 150, 5):
        await scheduled(sandbox, start + timedelta(minutes=step))
    for who in ("alice", "bob", "carol", "dave"):
        assert len(sandbox.dms(who)) == 1, (label, who)


async def test_two_guilds_in_different_zones_each_get_their_own_jobs(sandbox: Sandbox) -> None:
    world = sandbox.emulator.world
    owner = sandbox.member("owner")
    second = world.add_guild("Tokyo Office", owner)
    staff = world.add_role(second, "Staff")
    reports = world.add_channel(second, "reports")
    bot_role = world.add_role(second, "Concord", 0x7FFFFFFFF, bot_id=sandbox.emulator.bot_user.id)
    world.add_member(second, sandbox.emulator.bot_user, [bot_role])
    kenji = world.add_user("kenji", "Kenji")
    world.add_member(second, kenji, [staff])
    await sandbox.restart()
    await sandbox.configure_office()
    await sandbox.bot.guild_settings.update(
        second.id,
        owner.id,
        {"staff_role_id": staff.id, "reports_channel_id": reports.id, "timezone": "Asia/Tokyo"},
    )
    await scheduled(sandbox, datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # 17:00 Tokyo, 08:00 London
    assert len(sandbox.dms(kenji)) == 1 and sandbox.dms("carol") == []
    await scheduled(sandbox, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # 19:00 Tokyo
    assert "Daily reports — Tue 1 Dec 2026" in summaries(sandbox, reports)[-1].text
    await scheduled(sandbox, at(17))
    assert len(sandbox.dms("carol")) == 1 and len(sandbox.dms(kenji)) == 1
    runs = await sandbox.bot.job_ledger.runs(second.id, "dar_reminder")
    assert [r["local_date"] for r in runs] == ["2026-12-01"]


# -- leave: nobody is nagged or listed missing while away ------------------------------------
async def take_leave(sandbox: Sandbox, who: str, start: str, **options: str) -> None:
    options.setdefault("leave_type", "Annual")
    reply = await sandbox.slash(who, "leave apply", start=start, **options)
    assert "#" in reply.text, reply.text
    card = sandbox.last_message("approvals")
    if card.buttons:
        await sandbox.click("alice", card, "Approve")


async def test_leave_excuses_reminders_and_shows_in_summary_and_digest(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await take_leave(sandbox, "carol", "2026-12-01")
    await take_leave(sandbox, "dave", "2026-12-01", portion="half_day_am")
    await take_leave(sandbox, "bob", "2026-12-01", leave_type="Work from home")
    await take_leave(sandbox, "dave", "2026-12-02")
    pending = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-10")
    assert "submitted" in pending.text.lower() or "#" in pending.text
    await scheduled(sandbox, at(17))
    assert reminders(sandbox, "carol") == []  # on leave all day: never nagged
    assert "(Noted: AM off today.)" in reminders(sandbox, "dave")[0].content
    assert len(reminders(sandbox, "bob")) == 1  # working from home is working
    await scheduled(sandbox, at(19))
    summary = summaries(sandbox)[0].text
    assert "On leave (1)" in summary and "@Carol (full day)" in summary
    assert "@Dave (AM off)" in summary and "Annual" not in summary
    await scheduled(sandbox, at(9, day=TUE + timedelta(days=1)))
    digest = digests(sandbox)[-1].text
    assert "Out today (1)" in digest and "@Dave (full day)" in digest
    assert "Missing reports, Tue 1 Dec (3)" in digest and "@Carol" not in digest.split("Missing")[1]
    assert "**1** waiting, the oldest for 1 d" in digest
    assert (
        f"https://discord.com/channels/{sandbox.guild.id}/{sandbox.channel('approvals').id}/"
        in digest
    )
    missing = await sandbox.slash("alice", "dar missing", date="2026-12-01")
    assert "@Carol" not in missing.text.split("On leave")[0]
    view = await sandbox.slash("alice", "dar view", member="carol", date="2026-12-01")
    assert "(on leave: full day)" in view.text


async def test_a_holiday_means_no_reminders_and_no_summary(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    added = await sandbox.slash(
        "alice", "leave holiday add", date="2026-12-01", name="Founders' Day"
    )
    assert "Founders' Day" in added.text
    await scheduled(sandbox, at(17))
    await scheduled(sandbox, at(19))
    assert reminders(sandbox, "bob") == [] and summaries(sandbox) == []
    reply = await sandbox.slash("alice", "dar missing")
    assert "Holiday (Founders' Day)" in reply.text


# -- tasks: the prefill, blockers made into tasks, hand-over on leave ------------------------
async def create_task(sandbox: Sandbox, by: str = "alice", **options: str) -> int:
    reply = await sandbox.slash(by, "task create", **options)
    assert "Created task #" in reply.text, reply.text
    return int(reply.text.split("Created task #")[1].split()[0])


def task_card(sandbox: Sandbox, task_id: int) -> Message:
    for message in reversed(sandbox.messages("tasks")):
        if message.embeds and message.embeds[0].get("footer", {}).get("text") == f"Task #{task_id}":
            return message
    raise AssertionError(f"no card of task #{task_id}")


async def test_a_new_report_is_prefilled_from_the_members_tasks(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    finished = await create_task(sandbox, title="Fix the printer", assignee="bob", due="today")
    started = await create_task(sandbox, title="Order toner", assignee="bob")
    tomorrow = await create_task(sandbox, title="Call the landlord", assignee="bob", due="tomorrow")
    await create_task(sandbox, title="Someday", assignee="bob", due="2026-12-20")
    await create_task(sandbox, title="Carol's job", assignee="carol", due="tomorrow")
    await sandbox.click("bob", task_card(sandbox, finished), "Done")
    await sandbox.click("bob", task_card(sandbox, started), "Start")
    reply = await sandbox.slash("bob", "dar submit")
    assert reply.modal is not None
    assert reply.modal.field("done").value == f"- #{finished} Fix the printer"
    assert reply.modal.field("plan").value == (
        f"- #{started} Order toner\n- #{tomorrow} Call the landlord (due tomorrow)"
    )
    assert reply.modal.field("blockers").value in (None, "")
    filed = await sandbox.submit("bob", reply.modal)  # as prefilled
    assert "is filed" in filed.content
    # Tasks done that day show in the summary under their assignee.
    await scheduled(sandbox, at(19))
    assert f"@Bob: #{finished} Fix the printer" in summaries(sandbox)[0].text


async def test_make_task_from_a_blocker(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="Waiting for the VPN token\nIT says Friday")
    await scheduled(sandbox, at(19))
    [summary] = summaries(sandbox)
    refused = await sandbox.click("carol", summary, "Make task: Bob")
    assert "You need the Manager role" in refused.text
    opened = await sandbox.click("alice", summary, "Make task: Bob")
    modal = opened.modal
    assert modal is not None and modal.title == "Task from a blocker"
    assert modal.field("title").value == "Unblock Bob: Waiting for the VPN token"
    assert "IT says Friday" in (modal.field("description").value or "")
    created = await sandbox.submit("alice", modal, due="fri")
    assert "Created task #1" in created.text
    card = task_card(sandbox, 1)
    assert "Unblock Bob" in card.text
    task = await sandbox.db.fetchone("SELECT assignee_id, source_url FROM tasks WHERE id = 1")
    assert task is not None and task["assignee_id"] == sandbox.member("alice").id
    assert task["source_url"].endswith(f"/{summary.id}")
    report = await dar(sandbox).get(sandbox.guild.id, sandbox.member("bob").id, TUE)
    assert report is not None and await dar(sandbox).blocker_task(report.id) == 1
    again = await sandbox.click("alice", summary, "Make task: Bob")
    assert "Task #1 was already made from these blockers" in again.text
    assert await sandbox.db.fetchone("SELECT COUNT(*) AS n FROM tasks") is not None
    await scheduled(sandbox, at(9, day=TUE + timedelta(days=1)))
    assert "→ task #1" in digests(sandbox)[-1].text
    # Once that task is done the blocker is closed, and another task may be made if needed.
    await sandbox.click("alice", task_card(sandbox, 1), "Done")
    opened_again = await sandbox.click("alice", summary, "Make task: Bob")
    assert opened_again.modal is not None
    # Blockers edited away: nothing left to make a task of.
    edit = await sandbox.slash("bob", "dar submit", date="yesterday")
    assert edit.modal is not None
    await sandbox.submit("bob", edit.modal, blockers="")
    gone = await sandbox.click("alice", summary, "Make task: Bob")
    assert "That report lists no blockers any more" in gone.text


async def test_the_approval_card_lists_tasks_due_while_away_and_hands_them_over(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    first = await create_task(sandbox, title="Send the invoices", assignee="bob", due="2026-12-03")
    second = await create_task(sandbox, title="Book the venue", assignee="bob", due="2026-12-04")
    later = await create_task(sandbox, title="Plan Q1", assignee="bob", due="2026-12-10")
    applied = await sandbox.slash(
        "bob", "leave apply", leave_type="Annual", start="2026-12-03", end="2026-12-04"
    )
    assert "#1" in applied.text
    card = sandbox.last_message("approvals")
    assert "Open tasks due while away (2)" in card.text
    assert f"#{first} Send the invoices" in card.text and "Plan Q1" not in card.text
    approved = await sandbox.click("alice", card, "Approve")
    [prompt] = [m for m in approved.messages if m.selects]
    assert prompt.ephemeral and "has 2 open tasks due while away" in prompt.text
    [menu] = prompt.selects
    assert menu.placeholder == "Hand these 2 tasks over to…"
    refused = await sandbox.select("alice", prompt, values=["bob"])
    assert "Pick someone other than the member who is going on leave" in refused.text
    handed = await sandbox.select("alice", prompt, values=["carol"])
    assert f"Handed #{first}, #{second} over to" in handed.text
    carol = sandbox.member("carol").id
    for task_id in (first, second):
        saved = await sandbox.db.fetchone("SELECT assignee_id FROM tasks WHERE id = ?", (task_id,))
        assert saved is not None and saved["assignee_id"] == carol
        note = await sandbox.db.fetchone(
            "SELECT note FROM task_events WHERE task_id = ? AND kind = 'assigned'"
            " ORDER BY id DESC LIMIT 1",
            (task_id,),
        )
        assert note is not None and "on leave (request #1)" in note["note"]
    kept = await sandbox.db.fetchone("SELECT assignee_id FROM tasks WHERE id = ?", (later,))
    assert kept is not None and kept["assignee_id"] == sandbox.member("bob").id
    assert any("handed you a task" in m.text for m in sandbox.dms("carol"))
    assert prompt.selects[0].disabled


async def test_no_hand_over_offer_without_tasks_due(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-03")
    card = sandbox.last_message("approvals")
    assert "Open tasks due while away" not in card.text
    approved = await sandbox.click("alice", card, "Approve")
    assert all(not m.selects for m in approved.messages)

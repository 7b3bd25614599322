"""Check-ins end to end through the emulator (issue 21): /dar checkin create / edit / pause /
delete / list, /dar questions (five lines, the modal's limit), a form built from the
questions with Done prefilled from tasks, reports posted as they arrive and edited in place, the
check-in's DM at its time (never to someone on leave), its summary, Skip today on the reminder,
and each member's own reminder time and workdays."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from concord.sandbox.driver import Sandbox

TUE = date(2026, 12, 1)
FRI = date(2026, 12, 4)


def at(hour: int, minute: int = 0, day: date = TUE) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


async def scheduled(sandbox: Sandbox, when: datetime) -> None:
    sandbox.clock.set(when)  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())


async def retro(sandbox: Sandbox, **options: str) -> None:
    """A Friday retro at 16:00 in #general, each report posted as it arrives."""
    await sandbox.configure_office()
    sandbox.clock.set(at(9))  # type: ignore[attr-defined]
    reply = await sandbox.slash(
        "alice",
        "dar checkin create",
        name="Friday retro",
        channel="general",
        schedule="weekly",
        days="fri",
        time="16:00",
        post="each+summary",
        **options,
    )
    assert "Check-in **Friday retro** is set up: weekly, Fri at 16:00" in reply.text, reply.text
    form = await sandbox.slash("alice", "dar questions", checkin="Friday retro")
    assert (
        form.modal is not None and form.modal.field("question1").value == "Update; long; required"
    )
    saved = await sandbox.submit(
        "alice",
        form.modal,
        question1="What went well; long; done",
        question2="Mood; choice 1/2/3/4/5",
        question3="Blockers; short; optional; blockers",
        question4="Focus hours; number h; optional",
        question5="",
    )
    assert "1. What went well; long; required; done" in saved.text
    assert "2. Mood; choice 1/2/3/4/5; required" in saved.text


async def test_a_weekly_check_in_with_its_own_questions_is_asked_filed_and_posted(
    sandbox: Sandbox,
) -> None:
    await retro(sandbox)
    listing = await sandbox.slash("bob", "dar checkin list")
    assert "**Daily report**" in listing.text and "**Friday retro**" in listing.text
    assert "What went well, Mood, Blockers, Focus hours" in listing.text
    # Not asked on Thursday; asked on Friday at 16:00, once.
    await scheduled(sandbox, at(16, day=FRI - timedelta(days=1)))
    assert not [m for m in sandbox.dms("bob") if "Friday retro" in m.content]
    await scheduled(sandbox, at(15, 59, day=FRI))
    assert not [m for m in sandbox.dms("bob") if "Friday retro" in m.content]
    await scheduled(sandbox, at(16, day=FRI))
    await scheduled(sandbox, at(16, 5, day=FRI))
    asked = [m for m in sandbox.dms("bob") if "Friday retro" in m.content]
    assert len(asked) == 1 and "What went well, Mood" in asked[0].content
    form = await sandbox.click("bob", asked[0], "Fill in")
    assert form.modal is not None and [f.label for f in form.modal.fields] == [
        "What went well",
        "Mood",
        "Blockers",
        "Focus hours",
    ]
    refused = await sandbox.submit(
        "bob", form.modal, **{"What went well": "Shipped", "Mood": "7", "Focus hours": "3"}
    )
    assert "**Mood**: answer one of 1, 2, 3, 4, 5" in refused.text
    form = await sandbox.click("bob", asked[0], "Fill in")
    assert form.modal is not None
    filed = await sandbox.submit(
        "bob", form.modal, **{"What went well": "Shipped", "Mood": "4", "Focus hours": "3,5"}
    )
    assert "Your **Friday retro** for **Fri 4 Dec 2026** is filed" in filed.text
    [posted] = [
        m
        for m in sandbox.messages("general")
        if m.embeds and "Friday retro" in (m.embeds[0].get("title") or "")
    ]
    fields = {f["name"]: f["value"] for f in posted.embeds[0]["fields"]}
    assert fields == {"What went well": "Shipped", "Mood": "4", "Focus hours": "3.5 h"}
    # Filing again edits the posted report in place.
    again = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert again.modal is not None and again.modal.field("Mood").value == "4"
    await sandbox.submit("bob", again.modal, Mood="5")
    [posted] = [
        m
        for m in sandbox.messages("general")
        if m.embeds and "Friday retro" in (m.embeds[0].get("title") or "")
    ]
    assert {f["name"]: f["value"] for f in posted.embeds[0]["fields"]}["Mood"] == "5"
    # The summary at the summary time: who answered and who did not.
    await scheduled(sandbox, at(19, 1, day=FRI))
    [summary] = [
        m
        for m in sandbox.messages("general")
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Friday retro — Fri")
    ]
    assert summary.embeds[0]["description"].startswith("1 / ")
    assert "Not answered" in str(summary.embeds[0]["fields"])


async def test_renamed_questions_keep_their_old_label_on_old_answers(sandbox: Sandbox) -> None:
    await retro(sandbox)
    sandbox.clock.set(at(17, day=FRI))  # type: ignore[attr-defined]
    form = await sandbox.slash("bob", "dar submit", checkin="friday retro")
    assert form.modal is not None
    await sandbox.submit("bob", form.modal, **{"What went well": "Shipped", "Mood": "3"})
    questions = await sandbox.slash("alice", "dar questions", checkin="Friday retro")
    assert questions.modal is not None
    await sandbox.submit("alice", questions.modal, question1="Wins; long; done")
    async with sandbox.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT a.label, a.value FROM dar_answers a JOIN dar_entries e ON e.id = a.entry_id"
            " JOIN dar_checkins c ON c.id = e.checkin_id WHERE c.name = 'Friday retro'"
            " ORDER BY a.question_id"
        )
        history = await conn.execute_fetchall(
            "SELECT l.label FROM dar_question_labels l JOIN dar_questions q ON q.id = l.question_id"
            " WHERE q.position = 1 AND q.role = 'done' AND q.removed_at IS NULL ORDER BY l.since"
        )
    assert [tuple(r) for r in rows] == [("What went well", "Shipped"), ("Mood", "3")]
    # The Daily report's edit window holds: two working days.
    opened = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert opened.modal is not None
    sandbox.clock.set(at(9, day=FRI + timedelta(days=5)))  # type: ignore[attr-defined]
    refused = await sandbox.submit("bob", opened.modal, Mood="4")  # opened in time, sent late
    assert "can no longer be edited" in refused.text
    late = await sandbox.slash("bob", "dar submit", checkin="Friday retro", date="2026-12-04")
    assert late.modal is None and "can no longer be edited" in late.text
    assert [r[0] for r in history][-2:] == ["What went well", "Wins"]


@pytest.mark.parametrize(
    ("who", "options", "message"),
    [
        ("bob", {"name": "Standup"}, "Only managers can change check-ins"),
        ("alice", {"name": "Daily report"}, "There is already a check-in called **Daily report**"),
        ("alice", {"name": "Retro", "schedule": "weekly"}, "A weekly check-in needs its day"),
        ("alice", {"name": "Retro", "schedule": "once"}, "A one-off check-in needs a `date`"),
        ("alice", {"name": "Retro", "days": "someday"}, "`days`: `someday` is not a list"),
        ("alice", {"name": "Retro", "time": "25:00"}, "`time`:"),
    ],
)
async def test_checkin_create_refuses_bad_input(
    sandbox: Sandbox, who: str, options: dict[str, str], message: str
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "dar checkin list")  # the Daily report exists from first use
    reply = await sandbox.slash(who, "dar checkin create", **options)
    assert message in reply.text, reply.text
    async with sandbox.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT name FROM dar_checkins")
    assert [r[0] for r in rows] == ["Daily report"]


async def test_pause_edit_and_delete_a_check_in(sandbox: Sandbox) -> None:
    await retro(sandbox)
    refused = await sandbox.slash("bob", "dar checkin pause", checkin="Friday retro")
    assert "Only managers" in refused.text
    paused = await sandbox.slash("alice", "dar checkin pause", checkin="Friday retro")
    assert "**Friday retro** is paused" in paused.text
    await scheduled(sandbox, at(16, 30, day=FRI))
    assert not [m for m in sandbox.dms("bob") if "Friday retro" in m.content]
    await sandbox.slash("alice", "dar checkin pause", checkin="Friday retro", resume=True)
    edited = await sandbox.slash(
        "alice", "dar checkin edit", checkin="Friday retro", name="Retro", time="17:00"
    )
    assert "**Retro**: weekly, Fri at 17:00" in edited.text
    await scheduled(sandbox, at(17, 1, day=FRI))
    assert [m for m in sandbox.dms("bob") if "Retro" in m.content]
    default = await sandbox.slash("alice", "dar checkin delete", checkin="Daily report")
    assert "can't be deleted; pause it instead" in default.text
    gone = await sandbox.slash("alice", "dar checkin delete", checkin="Retro")
    assert "Deleted the check-in **Retro**" in gone.text
    listing = await sandbox.slash("alice", "dar checkin list")
    assert "Retro" not in listing.text


async def test_questions_form_refuses_a_bad_line_and_the_daily_report_keeps_its_own(
    sandbox: Sandbox,
) -> None:
    await retro(sandbox)
    form = await sandbox.slash("alice", "dar questions", checkin="Friday retro")
    assert form.modal is not None
    bad = await sandbox.submit("alice", form.modal, question2="Mood; colour blue")
    assert "`colour blue` is not a kind" in bad.text
    two = await sandbox.submit("alice", form.modal, question2="Again; long; done", question3="")
    assert "Only one question can be the done question" in two.text
    daily = await sandbox.slash("alice", "dar questions", checkin="Daily report")
    assert "The Daily report keeps its Done, Plan, Blockers and Hours" in daily.text


async def test_skip_today_on_the_reminder_is_not_missing(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await scheduled(sandbox, at(17))
    [reminder] = [m for m in sandbox.dms("bob") if "isn't in yet" in m.content]
    modal = await sandbox.click("bob", reminder, "Skip today")
    assert modal.modal is not None
    done = await sandbox.submit("bob", modal.modal, reason="At the client all day")
    assert "Skipped your report for **Tue 1 Dec 2026**" in done.text
    again = await sandbox.click("bob", reminder, "Skip today")
    assert again.modal is not None
    twice = await sandbox.submit("bob", again.modal)
    assert "already filed or skipped" in twice.text
    missing = await sandbox.slash("alice", "dar missing")
    assert "Bob" not in missing.text and "Carol" in missing.text
    await scheduled(sandbox, at(19, 1))
    summary = [
        m
        for m in sandbox.messages("reports")
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Daily reports")
    ]
    text = str(summary[0].embeds)
    assert "Skipped (1)" in text and "At the client all day" in text


async def test_own_reminder_time_and_workdays(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(9))  # type: ignore[attr-defined]
    mine = await sandbox.slash("bob", "dar remind", time="15:30")
    assert "You'll be reminded at **15:30** your time" in mine.text
    shown = await sandbox.slash("bob", "dar remind")
    assert "**15:30**" in shown.text and "Mon–Fri" in shown.text
    off = await sandbox.slash("carol", "dar remind", days="wed-fri")
    assert "on Wed–Fri only" in off.text
    bad = await sandbox.slash("carol", "dar remind", time="noonish")
    assert "`time`:" in bad.text
    await scheduled(sandbox, at(15, 31))
    assert [m for m in sandbox.dms("bob") if "isn't in yet" in m.content]
    await scheduled(sandbox, at(17, 1))
    assert len([m for m in sandbox.dms("bob") if "isn't in yet" in m.content]) == 1
    # Carol works Wednesday to Friday: no reminder on Tuesday.
    assert not [m for m in sandbox.dms("carol") if "isn't in yet" in m.content]
    await scheduled(sandbox, at(17, 1, day=TUE + timedelta(days=1)))
    assert [m for m in sandbox.dms("carol") if "isn't in yet" in m.content]


async def test_export_has_one_column_per_question_and_keeps_old_labels(sandbox: Sandbox) -> None:
    await retro(sandbox)
    sandbox.clock.set(at(17, day=FRI))  # type: ignore[attr-defined]
    form = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit("bob", form.modal, **{"What went well": "=1+1", "Mood": "3"})
    questions = await sandbox.slash("alice", "dar questions", checkin="Friday retro")
    assert questions.modal is not None
    await sandbox.submit("alice", questions.modal, question2="Energy; choice 1/2/3/4/5")
    form = await sandbox.slash("carol", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit("carol", form.modal, **{"What went well": "Docs", "Energy": "5"})
    reply = await sandbox.slash(
        "alice", "dar export", start="1 Dec", end="today", format="csv", checkin="Friday retro"
    )
    [(name, data)] = reply.files
    assert name == "Friday_retro-2026-12-01-to-2026-12-04.csv"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [
        "date",
        "member",
        "What went well",
        "Energy",
        "Mood",
        "Blockers",
        "Focus hours",
        "submitted at",
        "late",
        "skipped",
    ]
    assert rows[1][:7] == ["2026-12-04", "Bob", "'=1+1", "", "3", "", ""]
    assert rows[2][:7] == ["2026-12-04", "Carol", "Docs", "5", "", "", ""]
    xlsx = await sandbox.slash(
        "bob", "dar export", start="1 Dec", end="today", format="xlsx", checkin="Friday retro"
    )
    sheet = load_workbook(io.BytesIO(xlsx.files[0][1])).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert [r[1] for r in values[1:]] == ["Bob"] and values[1][2] == "=1+1"


async def test_reports_go_into_one_thread_per_day_that_the_bot_opens(sandbox: Sandbox) -> None:
    await retro(sandbox)
    await sandbox.slash("alice", "dar checkin edit", checkin="Friday retro", post="thread")
    sandbox.clock.set(at(17, day=FRI))  # type: ignore[attr-defined]
    for who, mood in (("bob", "4"), ("carol", "2")):
        form = await sandbox.slash(who, "dar submit", checkin="Friday retro")
        assert form.modal is not None
        await sandbox.submit(who, form.modal, **{"What went well": f"{who} shipped", "Mood": mood})
    world = sandbox.emulator.world
    threads = [c for c in sandbox.guild.channels.values() if c.type == 11]
    assert [(t.name, t.parent_id) for t in threads] == [
        ("Friday retro — Fri 4 Dec 2026", sandbox.channel("general").id)
    ]
    thread = threads[0]
    bot_thread = sandbox.bot.get_channel(thread.id)
    assert bot_thread is not None and getattr(bot_thread, "parent_id", None) == thread.parent_id
    posted = world.channel_messages(thread.id)
    assert [m.embeds[0]["title"] for m in posted] == [
        "Friday retro — Bob",
        "Friday retro — Carol",
    ]
    assert not [m for m in sandbox.messages("general") if m.embeds]  # all in the thread
    # An edit updates the report in the thread.
    form = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit("bob", form.modal, Mood="5")
    posted = world.channel_messages(thread.id)
    assert len(posted) == 2
    assert {f["name"]: f["value"] for f in posted[0].embeds[0]["fields"]}["Mood"] == "5"
    # The next Friday opens a new thread.
    sandbox.clock.set(at(17, day=FRI + timedelta(days=7)))  # type: ignore[attr-defined]
    form = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit("bob", form.modal, **{"What went well": "More", "Mood": "3"})
    assert len([c for c in sandbox.guild.channels.values() if c.type == 11]) == 2


async def test_stats_and_the_digest_give_rates_per_check_in_and_member(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(8))  # type: ignore[attr-defined]
    await sandbox.slash(
        "alice", "dar checkin create", name="Standup", schedule="daily", days="mon-fri"
    )
    # Tue: Bob answers on time, Carol late; Wed: Bob answers, Carol skips nothing (missing).
    for day, who, hour in ((TUE, "bob", 10), (TUE, "carol", 20), (TUE + timedelta(1), "bob", 9)):
        sandbox.clock.set(at(hour, day=day))  # type: ignore[attr-defined]
        form = await sandbox.slash(who, "dar submit", checkin="Standup")
        assert form.modal is not None
        await sandbox.submit(who, form.modal, Update="Working")
    sandbox.clock.set(at(8, day=TUE + timedelta(2)))  # type: ignore[attr-defined]
    reply = await sandbox.slash(
        "alice", "dar stats", start="2026-12-01", end="today", checkin="Standup"
    )
    assert "**Standup**: 3 / " in reply.text
    assert "**Bob** — answered 2/2, on time 2, skipped 0" in reply.text
    assert "**Carol** — answered 1/2, on time 0, skipped 0" in reply.text
    own = await sandbox.slash(
        "bob", "dar stats", start="2026-12-01", end="today", checkin="Standup"
    )
    assert "**Bob** — answered 2/2" in own.text and "Carol" not in own.text
    daily = await sandbox.slash("alice", "dar stats", start="2026-12-01", end="today")
    assert "Check-ins:" in daily.text and "**Standup**: 3 / " in daily.text
    await scheduled(sandbox, at(9, 1, day=TUE + timedelta(2)))
    [digest] = [
        m
        for m in sandbox.messages("reports")
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Manager digest")
    ]
    fields = {f["name"]: f["value"] for f in digest.embeds[0]["fields"]}
    assert fields["Check-ins, past week"].startswith("**Standup**: 3 / ")


async def test_the_blockers_question_keeps_make_task(sandbox: Sandbox) -> None:
    await retro(sandbox)
    sandbox.clock.set(at(17, day=FRI))  # type: ignore[attr-defined]
    form = await sandbox.slash("bob", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit(
        "bob",
        form.modal,
        **{"What went well": "Shipped", "Mood": "2", "Blockers": "Waiting for the VPN token"},
    )
    [posted] = [m for m in sandbox.messages("general") if m.embeds]
    refused = await sandbox.click("carol", posted, "Make task")
    assert "Only managers can make tasks from blockers" in refused.text
    opened = await sandbox.click("alice", posted, "Make task")
    assert opened.modal is not None
    assert opened.modal.field("title").value == "Unblock Bob: Waiting for the VPN token"
    created = await sandbox.submit("alice", opened.modal, due="mon")
    assert "Created task #1" in created.text
    task = await sandbox.db.fetchone("SELECT assignee_id, source_url FROM tasks WHERE id = 1")
    assert task is not None and task["assignee_id"] == sandbox.member("alice").id
    assert task["source_url"].endswith(f"/{posted.id}")


async def test_the_daily_report_can_be_renamed_or_paused_but_follows_dar_setup(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(9))  # type: ignore[attr-defined]
    refused = await sandbox.slash("alice", "dar checkin edit", checkin="Daily report", time="08:00")
    assert "The Daily report follows `/dar setup`" in refused.text
    await sandbox.slash("alice", "dar checkin pause", checkin="Daily report")
    await scheduled(sandbox, at(17, 1))
    assert not [m for m in sandbox.dms("bob") if "isn't in yet" in m.content]
    await sandbox.slash("alice", "dar checkin pause", checkin="Daily report", resume=True)
    renamed = await sandbox.slash("alice", "dar checkin edit", checkin="Daily report", name="DAR")
    assert "**DAR**" in renamed.text
    await scheduled(sandbox, at(17, 1, day=TUE + timedelta(days=1)))
    assert [m for m in sandbox.dms("bob") if "isn't in yet" in m.content]


async def test_a_check_in_never_asks_outside_a_members_own_workdays(sandbox: Sandbox) -> None:
    await retro(sandbox)
    await sandbox.slash("carol", "dar remind", days="mon-thu")
    # Dave answers before the retro's time: he is not asked any more.
    sandbox.clock.set(at(11, day=FRI))  # type: ignore[attr-defined]
    form = await sandbox.slash("dave", "dar submit", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit("dave", form.modal, **{"What went well": "Early", "Mood": "5"})
    await scheduled(sandbox, at(16, 1, day=FRI))
    await scheduled(sandbox, at(16, 2, day=FRI))
    assert len([m for m in sandbox.dms("bob") if "Friday retro" in m.content]) == 1
    assert not [m for m in sandbox.dms("carol") if "Friday retro" in m.content]
    assert not [m for m in sandbox.dms("dave") if "Friday retro" in m.content]
    # The next pass looks up nobody again: Bob was asked, Dave answered.
    store = sandbox.bot.get_cog("Dar").checkins  # type: ignore[union-attr]
    retro_id = (await store.by_name(sandbox.guild.id, "Friday retro", at(17, day=FRI))).id
    settled = await store.settled(sandbox.guild.id, retro_id, FRI, "dar.checkin")
    assert {sandbox.member("bob").id, sandbox.member("dave").id} <= settled


async def test_the_daily_report_can_post_each_report_as_it_arrives(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(9))  # type: ignore[attr-defined]
    changed = await sandbox.slash(
        "alice", "dar checkin edit", checkin="Daily report", post="thread"
    )
    assert "each report in a thread per day" in changed.text and "summary" not in changed.text
    form = await sandbox.slash("bob", "dar submit")
    assert form.modal is not None
    await sandbox.submit(
        "bob", form.modal, done="Fixed the printer", plan="Toner", blockers="VPN", hours="7"
    )
    [thread] = [c for c in sandbox.guild.channels.values() if c.type == 11]
    assert thread.parent_id == sandbox.channel("reports").id
    [posted] = sandbox.emulator.world.channel_messages(thread.id)
    assert "Fixed the printer" in str(posted.embeds) and "Make task" in str(posted.components)
    again = await sandbox.slash("bob", "dar submit")
    assert again.modal is not None
    await sandbox.submit("bob", again.modal, done="Fixed the printer twice")
    [posted] = sandbox.emulator.world.channel_messages(thread.id)
    assert "Fixed the printer twice" in str(posted.embeds)
    # No summary at the summary time: the reports were posted as they came.
    await scheduled(sandbox, at(19, 1))
    assert not [
        m
        for m in sandbox.messages("reports")
        if m.embeds and (m.embeds[0].get("title") or "").startswith("Daily reports")
    ]


async def test_a_one_off_check_in_asks_on_its_date_never_anyone_on_leave_and_prefills_done(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(8))  # type: ignore[attr-defined]
    made = await sandbox.slash(
        "alice",
        "dar checkin create",
        name="Q4 review",
        schedule="once",
        date="2026-12-02",
        time="10:00",
    )
    assert "once, 2026-12-02 at 10:00" in made.text, made.text
    questions = await sandbox.slash("alice", "dar questions", checkin="Q4 review")
    assert questions.modal is not None
    await sandbox.submit("alice", questions.modal, question1="Shipped this quarter; long; done")
    reply = await sandbox.slash("carol", "leave apply", leave_type="Annual", start="2026-12-02")
    assert "#" in reply.text, reply.text
    await sandbox.click("alice", sandbox.last_message("approvals"), "Approve")
    task = await sandbox.slash("alice", "task create", title="Fix the printer", assignee="bob")
    assert "Created task #1" in task.text
    await scheduled(sandbox, at(10, 1))  # Tuesday: not its date
    assert not [m for m in sandbox.dms("bob") if "Q4 review" in m.content]
    sandbox.clock.set(at(9, day=TUE + timedelta(days=1)))  # type: ignore[attr-defined]
    card = next(
        m
        for m in reversed(sandbox.messages("tasks"))
        if m.embeds and m.embeds[0].get("footer", {}).get("text") == "Task #1"
    )
    await sandbox.click("bob", card, "Done")
    await scheduled(sandbox, at(10, 1, day=TUE + timedelta(days=1)))
    [asked] = [m for m in sandbox.dms("bob") if "Q4 review" in m.content]
    assert not [m for m in sandbox.dms("carol") if "Q4 review" in m.content]  # on leave
    form = await sandbox.click("bob", asked, "Fill in")
    assert form.modal is not None
    assert form.modal.field("Shipped this quarter").value == "- #1 Fix the printer"
    await scheduled(sandbox, at(10, 1, day=TUE + timedelta(days=2)))
    assert len([m for m in sandbox.dms("bob") if "Q4 review" in m.content]) == 1

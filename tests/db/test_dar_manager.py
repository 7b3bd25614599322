"""DarManager against a real SQLite file, with Leave and Tasks given as plain in-memory sources
(the same shapes LeaveManager and TaskManager return)."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from concord.core.dar import Member, validate_report
from concord.db.dar import DarManager
from concord.db.dar.records import day_bounds_utc
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.errors import NotFound, UserError

GUILD = 1
STAFF = 50
ALICE, BOB, CAROL, DAVE = 11, 12, 13, 14
TUE = date(2026, 12, 1)
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# -- the sources -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeAbsence:
    user_id: int
    day: date
    portion: str
    request_id: int
    from_time: time | None = None
    to_time: time | None = None
    deducts: bool = True


@dataclass(frozen=True)
class FakeHoliday:
    day: date
    name: str


@dataclass(frozen=True)
class FakeRequest:
    id: int
    user_id: int
    created_at: datetime
    deducts: bool = True
    card_channel_id: int | None = None
    card_message_id: int | None = None


@dataclass
class FakeLeave:
    absences_: list[FakeAbsence] = field(default_factory=list)
    holidays_: list[FakeHoliday] = field(default_factory=list)
    requests: list[FakeRequest] = field(default_factory=list)
    pending: list[FakeRequest] = field(default_factory=list)

    def away(
        self,
        user_id: int,
        day: date,
        portion: str = "full_day",
        *,
        deducts: bool = True,
        span: tuple[time, time] | None = None,
    ) -> None:
        request_id = len(self.requests) + 1
        self.requests.append(FakeRequest(request_id, user_id, NOON, deducts))
        start, end = span or (None, None)
        self.absences_.append(FakeAbsence(user_id, day, portion, request_id, start, end, deducts))

    async def absences(
        self, guild_id: int, start: date, end: date, statuses: Sequence[str] = ("approved",)
    ) -> list[FakeAbsence]:
        return [a for a in self.absences_ if start <= a.day <= end]

    async def holidays(self, guild_id: int, start: date, end: date) -> list[FakeHoliday]:
        return [h for h in self.holidays_ if start <= h.day <= end]

    async def pending_requests(self, guild_id: int) -> list[FakeRequest]:
        return list(self.pending)

    async def requests_between(
        self,
        guild_id: int,
        start: date,
        end: date,
        *,
        user_id: int | None = None,
        statuses: Sequence[str] = ("pending", "approved"),
    ) -> list[FakeRequest]:
        return list(self.requests)


@dataclass(frozen=True)
class FakeTask:
    id: int
    title: str
    assignee_id: int | None
    status: str = "open"
    due_date: date | None = None
    completed_at: datetime | None = None
    creator_id: int = ALICE


@dataclass
class FakeTasks:
    tasks: list[FakeTask] = field(default_factory=list)

    async def completed_between(
        self, guild_id: int, start_utc: datetime, end_utc: datetime
    ) -> list[FakeTask]:
        return [
            t
            for t in self.tasks
            if t.status == "done"
            and t.completed_at is not None
            and start_utc <= t.completed_at < end_utc
        ]

    async def completion_times(
        self, guild_id: int, start_utc: datetime, end_utc: datetime, assignee_id: int | None
    ) -> list[datetime]:
        return [
            t.completed_at
            for t in await self.completed_between(guild_id, start_utc, end_utc)
            if t.completed_at is not None and assignee_id in (None, t.assignee_id)
        ]

    async def live_for(self, guild_id: int, user_id: int) -> list[FakeTask]:
        return [
            t
            for t in self.tasks
            if t.assignee_id == user_id and t.status in ("open", "in_progress", "blocked")
        ]

    async def overdue_at(self, guild_id: int, moment: datetime) -> list[FakeTask]:
        return await self.overdue(guild_id, moment)  # the fakes keep no history

    async def overdue(self, guild_id: int, now: datetime) -> list[FakeTask]:
        today = now.date()
        return [
            t
            for t in self.tasks
            if t.status in ("open", "in_progress", "blocked")
            and t.due_date is not None
            and t.due_date < today
        ]

    async def open_due_between(
        self, guild_id: int, user_id: int, start: date, end: date
    ) -> list[FakeTask]:
        return [
            t
            for t in await self.live_for(guild_id, user_id)
            if t.due_date is not None and start <= t.due_date <= end
        ]

    async def get(self, task_id: int, guild_id: int | None = None) -> FakeTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise NotFound(f"There is no task #{task_id}.")


# -- fixtures --------------------------------------------------------------------------------
@dataclass
class World:
    db: Database
    settings: GuildSettings
    leave: FakeLeave
    tasks: FakeTasks
    dar: DarManager
    members: list[Member]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await Database.open(tmp_path / "concord.db")
    settings = GuildSettings(db)
    await settings.update(GUILD, ALICE, {"staff_role_id": STAFF, "timezone": "Europe/London"})
    leave, tasks = FakeLeave(), FakeTasks()
    members = [
        Member(ALICE, "alice", frozenset({STAFF})),
        Member(BOB, "bob", frozenset({STAFF})),
        Member(CAROL, "carol", frozenset({STAFF})),
        Member(DAVE, "dave", frozenset({STAFF})),
        Member(99, "owner", frozenset()),
    ]
    try:
        yield World(db, settings, leave, tasks, DarManager(db, settings, leave, tasks), members)
    finally:
        await db.close()


def draft(done: str = "fixed the printer", blockers: str | None = None, hours: str | None = "7.5"):  # type: ignore[no-untyped-def]
    return validate_report(done, "order toner", blockers, hours)


# -- filing and editing ----------------------------------------------------------------------
async def test_file_then_edit_keeps_history_and_the_late_flag(world: World) -> None:
    first = await world.dar.submit(GUILD, BOB, draft(), NOON)
    assert first.created and not first.report.late
    assert first.report.day == TUE and first.report.minutes == 450
    later = NOON + timedelta(hours=8)  # after the 19:00 summary: an edit is not "late"
    second = await world.dar.submit(GUILD, BOB, draft("fixed it properly"), later)
    assert not second.created and second.report.id == first.report.id
    assert second.report.done == "fixed it properly" and second.report.edits == 1
    assert not second.report.late
    [version] = await world.dar.versions(first.report.id)
    assert version.done == "fixed the printer" and version.replaced_by == BOB
    audit = await world.db.fetchall(
        "SELECT action FROM audit_log WHERE subject = ? ORDER BY id", (f"dar:{first.report.id}",)
    )
    assert [r["action"] for r in audit] == ["dar.submit", "dar.edit"]


async def test_filed_after_the_summary_is_late(world: World) -> None:
    result = await world.dar.submit(GUILD, BOB, draft(), datetime(2026, 12, 1, 19, 1, tzinfo=UTC))
    assert result.report.late
    on_time = await world.dar.submit(
        GUILD, CAROL, draft(), datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    )
    assert not on_time.report.late


async def test_the_members_timezone_sets_the_date(world: World) -> None:
    await world.settings.set_member_timezone(GUILD, BOB, "Asia/Tokyo")
    late_evening = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # 05:00 on the 2nd in Tokyo
    result = await world.dar.submit(GUILD, BOB, draft(), late_evening)
    assert result.report.day == date(2026, 12, 2)
    assert await world.dar.member_today(GUILD, BOB, late_evening) == date(2026, 12, 2)
    assert await world.dar.member_today(GUILD, CAROL, late_evening) == TUE


async def test_edit_window_and_future_dates(world: World) -> None:
    await world.dar.submit(GUILD, BOB, draft(), NOON)
    three_days_later = NOON + timedelta(days=3)
    with pytest.raises(UserError, match="can no longer be edited"):
        await world.dar.submit(GUILD, BOB, draft("again"), three_days_later, TUE)
    with pytest.raises(UserError, match="too far back"):
        await world.dar.submit(GUILD, CAROL, draft(), three_days_later, TUE)
    with pytest.raises(UserError, match="hasn't happened yet"):
        await world.dar.submit(GUILD, CAROL, draft(), NOON, TUE + timedelta(days=1))
    # Within the window a missed day can still be filed (it is late).
    back = await world.dar.submit(GUILD, CAROL, draft(), NOON + timedelta(days=2), TUE)
    assert back.created and back.report.late
    # The window follows the guild's setting.
    await world.settings.update(GUILD, ALICE, {"dar_edit_days": 5})
    edited = await world.dar.submit(GUILD, BOB, draft("again"), three_days_later, TUE)
    assert edited.report.done == "again"
    report = await world.dar.get(GUILD, BOB, TUE)
    assert report is not None and report.edits == 1
    # Nothing changed by the refusals.
    assert len(await world.dar.versions(report.id)) == 1


async def test_concurrent_first_filings_make_one_report(world: World) -> None:
    results = await asyncio.gather(
        *(world.dar.submit(GUILD, BOB, draft(f"take {i}"), NOON) for i in range(10))
    )
    assert sum(r.created for r in results) == 1
    rows = await world.db.fetchall("SELECT COUNT(*) AS n FROM dar_reports")
    assert rows[0]["n"] == 1
    report = results[-1].report
    assert report.edits == 9 and len(await world.dar.versions(report.id)) == 9


async def test_get_by_id_is_scoped_to_the_guild(world: World) -> None:
    result = await world.dar.submit(GUILD, BOB, draft(), NOON)
    assert (await world.dar.get_by_id(GUILD, result.report.id)).user_id == BOB
    with pytest.raises(NotFound):
        await world.dar.get_by_id(GUILD + 1, result.report.id)


# -- prefill ---------------------------------------------------------------------------------
async def test_prefill_from_tasks_then_from_the_report(world: World) -> None:
    start, _ = day_bounds_utc(TUE, ZoneInfo("Europe/London"))
    world.tasks.tasks += [
        FakeTask(1, "Fix the printer", BOB, "done", completed_at=start + timedelta(hours=10)),
        FakeTask(2, "Yesterday's job", BOB, "done", completed_at=start - timedelta(hours=1)),
        FakeTask(3, "Carol's job", CAROL, "done", completed_at=start + timedelta(hours=10)),
        FakeTask(4, "Order toner", BOB, "in_progress"),
        FakeTask(5, "Call the landlord", BOB, "open", due_date=TUE + timedelta(days=1)),
        FakeTask(6, "Someday", BOB, "open"),
    ]
    fresh = await world.dar.prefill(GUILD, BOB, TUE)
    assert not fresh.editing
    assert fresh.done == "- #1 Fix the printer"
    assert fresh.plan == "- #4 Order toner\n- #5 Call the landlord (due tomorrow)"
    await world.dar.submit(GUILD, BOB, draft("my own words", "the VPN", "7:20"), NOON)
    editing = await world.dar.prefill(GUILD, BOB, TUE)
    assert editing.editing
    assert (editing.done, editing.blockers, editing.hours) == ("my own words", "the VPN", "7:20")


# -- roster, missing, summary, digest --------------------------------------------------------
async def test_missing_skips_leave_and_counts_partial_days(world: World) -> None:
    world.leave.away(CAROL, TUE)  # full day
    world.leave.away(DAVE, TUE, "half_day_am")
    world.leave.away(ALICE, TUE, deducts=False)  # working from home: still expected
    await world.dar.submit(GUILD, BOB, draft(), NOON)
    result = await world.dar.missing(GUILD, TUE, world.members)
    assert [(e.user_id, e.note) for e in result.missing] == [(ALICE, None), (DAVE, "AM off")]
    assert result.roster.on_leave_ids == {CAROL}
    world.leave.holidays_.append(FakeHoliday(TUE, "Founders' Day"))
    holiday = await world.dar.missing(GUILD, TUE, world.members)
    assert holiday.missing == () and holiday.roster.holiday == "Founders' Day"


async def test_summary_data_joins_reports_tasks_and_overdue(world: World) -> None:
    start, _ = day_bounds_utc(TUE, ZoneInfo("Europe/London"))
    world.tasks.tasks += [
        FakeTask(1, "Fix the printer", BOB, "done", completed_at=start + timedelta(hours=9)),
        FakeTask(2, "Unassigned thing", None, "done", completed_at=start + timedelta(hours=9)),
        FakeTask(3, "Late thing", BOB, "open", due_date=TUE - timedelta(days=3)),
    ]
    await world.dar.submit(GUILD, BOB, draft(blockers="the VPN"), NOON)
    data = await world.dar.summary(GUILD, TUE, world.members, NOON)
    assert [r.user_id for r in data.reports] == [BOB]
    assert data.completed == {BOB: ("#1 Fix the printer",), ALICE: ("#2 Unassigned thing",)}
    assert data.overdue == {BOB: 1}
    assert data.names[BOB] == "bob"


async def test_digest_data(world: World) -> None:
    wed = TUE + timedelta(days=1)
    world.leave.away(CAROL, wed)
    world.leave.away(DAVE, wed + timedelta(days=1), "off_duty", span=(time(14), time(16)))
    world.leave.pending = [
        FakeRequest(7, BOB, NOON - timedelta(days=2), card_channel_id=5, card_message_id=6),
        FakeRequest(8, DAVE, NOON),
    ]
    world.tasks.tasks.append(
        FakeTask(3, "Late thing", BOB, "open", due_date=TUE - timedelta(days=3))
    )
    await world.dar.submit(GUILD, BOB, draft(blockers="waiting on IT"), NOON)
    await world.dar.submit(GUILD, ALICE, draft(), NOON)
    digest = await world.dar.digest(GUILD, wed, world.members, NOON + timedelta(days=1))
    assert [(e.user_id, e.note) for e in digest.out_today] == [(CAROL, "full day")]
    assert [(e.user_id, e.note) for e in digest.out_tomorrow] == [(DAVE, "off 14:00–16:00")]
    assert digest.pending.count == 2
    assert digest.pending.oldest_age == timedelta(days=3)
    assert digest.pending.link == f"https://discord.com/channels/{GUILD}/5/6"
    assert [(t.task_id, t.days_overdue) for t in digest.overdue] == [(3, 4)]
    assert digest.missing_day == TUE
    assert {e.user_id for e in digest.missing} == {CAROL, DAVE}
    [blocker] = digest.blockers
    assert (blocker.user_id, blocker.text, blocker.task_id) == (BOB, "waiting on IT", None)
    # A task made from the blocker is shown; once it is done the blocker is closed.
    await world.dar.link_blocker_task(GUILD, blocker.report_id, 40, ALICE, NOON)
    world.tasks.tasks.append(FakeTask(40, "Unblock bob", ALICE, "open"))
    again = await world.dar.digest(GUILD, wed, world.members, NOON + timedelta(days=1))
    assert again.blockers[0].task_id == 40
    world.tasks.tasks[-1] = FakeTask(40, "Unblock bob", ALICE, "done")
    closed = await world.dar.digest(GUILD, wed, world.members, NOON + timedelta(days=1))
    assert closed.blockers == ()


async def test_the_missing_day_of_a_monday_digest_is_friday(world: World) -> None:
    await world.dar.submit(GUILD, BOB, draft(), NOON)  # the DAR is in use since Tuesday
    monday = date(2026, 12, 7)
    digest = await world.dar.digest(GUILD, monday, world.members, NOON + timedelta(days=6))
    assert digest.missing_day == date(2026, 12, 4)


async def test_the_digest_blames_nobody_before_the_first_report(world: World) -> None:
    wed = TUE + timedelta(days=1)
    first = await world.dar.digest(GUILD, wed, world.members, NOON + timedelta(days=1))
    assert first.missing_day is None and first.missing == ()
    await world.dar.submit(GUILD, BOB, draft(), NOON + timedelta(days=1), wed)
    still = await world.dar.digest(GUILD, wed, world.members, NOON + timedelta(days=1))
    assert still.missing_day is None  # the first report is today's: yesterday was before it
    thu = await world.dar.digest(GUILD, wed + timedelta(days=1), world.members, NOON)
    assert thu.missing_day == wed and {e.user_id for e in thu.missing} >= {CAROL, DAVE}


async def test_a_newer_report_without_blockers_closes_the_old_blocker(world: World) -> None:
    await world.dar.submit(GUILD, BOB, draft(blockers="waiting on IT"), NOON)
    await world.dar.submit(GUILD, BOB, draft(), NOON + timedelta(days=1))
    assert (
        await world.dar.open_blockers(GUILD, TUE - timedelta(days=7), TUE + timedelta(days=1)) == ()
    )


async def test_link_blocker_task_refuses_another_guilds_report(world: World) -> None:
    result = await world.dar.submit(GUILD, BOB, draft(blockers="x"), NOON)
    with pytest.raises(NotFound):
        await world.dar.link_blocker_task(GUILD + 1, result.report.id, 1, ALICE, NOON)
    assert await world.dar.blocker_task(result.report.id) is None


async def test_panels_replace_the_previous_one(world: World) -> None:
    assert await world.dar.save_panel(GUILD, 5, 100, ALICE, NOON) is None
    assert await world.dar.save_panel(GUILD, 5, 101, ALICE, NOON) == 100


# -- stats -----------------------------------------------------------------------------------
async def test_stats_points_streaks_and_rates(world: World) -> None:
    zone = ZoneInfo("Europe/London")
    mon = date(2026, 11, 30)
    week = [mon + timedelta(days=k) for k in range(5)]
    for day in week:
        at = datetime.combine(day, time(17), zone)
        await world.dar.submit(GUILD, BOB, draft(), at, day)
    # carol: Mon on time, Tue late, Wed missed, Thu and Fri on time.
    for day, hour in ((week[0], 17), (week[1], 20), (week[3], 12), (week[4], 12)):
        await world.dar.submit(GUILD, CAROL, draft(), datetime.combine(day, time(hour), zone), day)
    world.leave.away(DAVE, week[2])
    start, _ = day_bounds_utc(week[1], zone)
    world.tasks.tasks.append(
        FakeTask(1, "t", BOB, "done", completed_at=start + timedelta(hours=10))
    )
    stats = await world.dar.stats(GUILD, mon, week[4] + timedelta(days=2), world.members, week[4])
    assert [(p.expected, p.filed, p.tasks_completed) for p in stats.points] == [
        (4, 2, 0),
        (4, 2, 1),
        (3, 1, 0),
        (4, 2, 0),
        (4, 2, 0),
        (0, 0, 0),
        (0, 0, 0),
    ]
    by_member = {s.user_id: s for s in stats.members}
    assert (by_member[BOB].streak, by_member[BOB].on_time_rate) == (5, 1.0)
    assert (by_member[CAROL].streak, by_member[CAROL].expected, by_member[CAROL].on_time) == (
        2,
        5,
        3,
    )
    # Friday is today and over (no ``now``): dave missed it, in the points and the rates alike.
    assert by_member[DAVE].expected == 4 and by_member[DAVE].filed == 0
    assert sum(p.expected for p in stats.points) == sum(s.expected for s in stats.members)
    # At noon on Friday, before the summary, Friday counts for nobody yet.
    noon = datetime.combine(week[4], time(12), zone)
    early = await world.dar.stats(GUILD, mon, week[4], world.members, week[4], now=noon)
    assert [(p.expected, p.filed) for p in early.points][-1] == (0, 0) and not early.today_counted
    early_by_member = {s.user_id: s for s in early.members}
    assert early_by_member[DAVE].expected == 3 and early_by_member[BOB].expected == 4
    assert early_by_member[BOB].streak == 5
    assert 99 not in by_member  # not staff
    one = await world.dar.stats(GUILD, mon, week[4], world.members, week[4], user_id=CAROL)
    assert [p.filed for p in one.points] == [1, 1, 0, 1, 1]
    assert [s.user_id for s in one.members] == [CAROL]


async def test_stats_refuse_bad_ranges(world: World) -> None:
    with pytest.raises(UserError, match="before the start"):
        await world.dar.stats(GUILD, TUE, TUE - timedelta(days=1), world.members, TUE)
    with pytest.raises(UserError, match="at most 366 days"):
        await world.dar.stats(GUILD, TUE - timedelta(days=400), TUE, world.members, TUE)


# -- export ----------------------------------------------------------------------------------
async def seed_export(world: World) -> None:
    await world.dar.submit(GUILD, BOB, draft("- bullet\n=1+1", None, "7.5"), NOON)
    await world.dar.submit(
        GUILD, CAROL, draft('done, with "quotes"', "b", None), NOON + timedelta(hours=8)
    )
    world.leave.away(CAROL, TUE, "half_day_pm")
    await world.dar.submit(GUILD, BOB, draft("wednesday"), NOON + timedelta(days=1))


async def test_export_csv_reads_back(world: World) -> None:
    await seed_export(world)
    out = io.BytesIO()
    names = {m.user_id: m.name for m in world.members}
    rows = await world.dar.export(GUILD, TUE, TUE + timedelta(days=1), "csv", out, names)
    assert rows == 3
    text = out.getvalue().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [
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
    assert table[1] == [
        "2026-12-01",
        "bob",
        "- bullet\n=1+1",
        "order toner",
        "",
        "7.5",
        "2026-12-01T12:00:00+00:00",
        "no",
        "",
    ]
    assert table[2][1:3] == ["carol", 'done, with "quotes"']
    assert (table[2][4], table[2][5], table[2][7], table[2][8]) == ("b", "", "yes", "PM off")
    assert table[3][0] == "2026-12-02"
    only_bob = io.BytesIO()
    assert await world.dar.export(GUILD, TUE, TUE, "csv", only_bob, names, user_id=BOB) == 1


async def test_export_csv_starts_with_one_bom_and_streams_to_the_file(world: World) -> None:
    """Excel needs the BOM to read UTF-8; it is written by hand before plain UTF-8 text."""
    await seed_export(world)
    out = io.BytesIO()
    names = {m.user_id: m.name for m in world.members}
    await world.dar.export(GUILD, TUE, TUE + timedelta(days=1), "csv", out, names)
    data = out.getvalue()
    assert data.startswith(codecs.BOM_UTF8) and data.count(codecs.BOM_UTF8) == 1
    assert data[len(codecs.BOM_UTF8) :].startswith(b"date,member,done")
    assert not out.closed  # the caller's file stays open for the caller


async def test_export_xlsx_reads_back(world: World) -> None:
    await seed_export(world)
    out = io.BytesIO()
    names = {m.user_id: m.name for m in world.members}
    assert await world.dar.export(GUILD, TUE, TUE + timedelta(days=1), "xlsx", out, names) == 3
    out.seek(0)
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "date" and rows[0][8] == "on leave"
    assert rows[1][1] == "bob" and rows[1][2] == "- bullet\n=1+1"  # text, not a formula
    assert rows[1][5] == 7.5 and rows[1][7] is False
    assert rows[1][6] == datetime(2026, 12, 1, 12, 0)
    assert rows[2][8] == "PM off" and rows[2][7] is True
    assert len(rows) == 4


async def test_export_refuses_bad_input(world: World) -> None:
    out = io.BytesIO()
    with pytest.raises(UserError, match="not an export format"):
        await world.dar.export(GUILD, TUE, TUE, "pdf", out, {})
    with pytest.raises(UserError, match="before the start"):
        await world.dar.export(GUILD, TUE, TUE - timedelta(days=1), "csv", out, {})
    with pytest.raises(UserError, match="at most 366 days"):
        await world.dar.export(GUILD, TUE - timedelta(days=366), TUE, "csv", out, {})
    assert out.getvalue() == b""


async def test_unreminded_skips_filed_and_already_reminded(world: World) -> None:
    await world.dar.submit(GUILD, BOB, draft(), NOON)
    await world.db.write(
        lambda conn: conn.execute(
            "INSERT INTO notifications_sent (guild_id, kind, key, sent_at) VALUES (?, ?, ?, ?)",
            (GUILD, "dar.reminder", f"{CAROL}:{TUE.isoformat()}", "2026-12-01T17:00:00+00:00"),
        )
    )
    waiting = await world.dar.unreminded(GUILD, TUE, [ALICE, BOB, CAROL, DAVE], "dar.reminder")
    assert sorted(waiting) == [ALICE, DAVE]


async def test_is_workday(world: World) -> None:
    assert await world.dar.is_workday(GUILD, TUE)
    assert not await world.dar.is_workday(GUILD, date(2026, 12, 5))
    world.leave.holidays_.append(FakeHoliday(TUE, "Founders' Day"))
    assert not await world.dar.is_workday(GUILD, TUE)


async def test_stats_count_nothing_before_the_first_report_or_a_members_joining(
    world: World,
) -> None:
    mon = date(2026, 11, 30)
    world.members.append(Member(77, "newcomer", frozenset({STAFF}), joined=TUE + timedelta(days=1)))
    empty = await world.dar.stats(GUILD, mon, mon + timedelta(days=4), world.members, TUE)
    assert all(p.expected == 0 for p in empty.points)
    await world.dar.submit(GUILD, BOB, draft(), NOON)  # the first report: Tuesday
    stats = await world.dar.stats(
        GUILD, mon, mon + timedelta(days=4), world.members, mon + timedelta(days=4)
    )
    assert [p.expected for p in stats.points] == [0, 4, 5, 5, 5]
    newcomer = next(s for s in stats.members if s.user_id == 77)
    assert newcomer.expected == 3  # Wednesday to Friday (today, over without a `now`)

"""Leave as a new user meets it, end to end: shorthand dates and 12-hour times, confirmations
that read as sentences, and nobody working from home shown as out."""

from __future__ import annotations

from datetime import date, timedelta

from concord.core.actor import Actor
from concord.core.leave import Portion
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card, request_row
from tests.cogs.test_dar_e2e import add_staff


async def test_shorthand_dates_and_twelve_hour_times(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026
    reply = await apply(sandbox, start="tmrw")
    assert reply.ephemeral and "Wed 2 Dec 2026" in reply.text
    hours = await apply(
        sandbox, start="thu", portion="off_duty", from_time="2pm", to_time="4:30 pm"
    )
    assert "off duty 14:00–16:30" in hours.text
    row = await request_row(sandbox, 2)
    assert (row["from_time"], row["to_time"]) == ("14:00", "16:30")


async def test_working_from_home_is_not_out(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await apply(sandbox, "bob", leave_type="Work from home", start="2026-12-03")
    out = await sandbox.slash("carol", "leave out", date="2026-12-03")
    assert not out.ephemeral and "Bob · Working elsewhere (full day)" in out.text
    assert "Nobody is out." in out.text and "Out (" not in out.text
    assert "Work from home" not in out.text  # the type stays private
    await apply(sandbox, "dave", start="2026-12-03", portion="half_day_pm")
    await sandbox.click("alice", card(sandbox, 2), "Approve")
    both = await sandbox.slash("carol", "leave out", date="2026-12-03")
    lines = both.embeds[0]["description"].splitlines()
    assert lines == ["Dave · Out (PM)", "Bob · Working elsewhere (full day)"]
    calendar = await sandbox.slash("carol", "leave calendar", month="2026-12")
    grid = calendar.embeds[0]["description"]
    bob_row = next(line for line in grid.splitlines() if line.startswith("Bob"))
    assert bob_row.split()[-1][2] == "W" and "W working elsewhere" in grid
    # A manager deciding on leave sees who is away then, not who works from home.
    await apply(sandbox, "carol", start="2026-12-03")
    also_out = {f["name"]: f["value"] for f in card(sandbox, 3).embeds[0]["fields"]}
    assert "Dave" in also_out["Also out then"] and "Bob" not in also_out["Also out then"]


async def test_manager_confirmations_read_as_sentences(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    minus = await sandbox.slash(
        "alice", "leave adjust", member="bob", leave_type="Annual", days=-1, reason="Unpaid day"
    )
    assert "Adjusted Bob's Annual by -1 day (Unpaid day). Available in 2026: 13 days." in (
        minus.text
    )
    await apply(sandbox, "bob", leave_type="Unpaid", start="2026-12-03")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    past = await sandbox.slash("alice", "leave balance", member="bob", year=2025)
    assert "**Unpaid** · no balance · 0 days approved in 2025" in past.text
    now = await sandbox.slash("bob", "leave balance")
    assert "**Unpaid** · no balance · 1 day approved in 2026" in now.text
    export = await sandbox.slash("alice", "leave export", format="CSV")  # any case, as typed
    assert export.text.startswith("The team's leave from Thu 1 Jan 2026")


async def test_leave_on_a_day_off_says_which_kind(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave holiday add", date="25 Dec", name="Christmas Day")
    holiday = await apply(sandbox, start="25 dec", portion="half_day_am")
    assert holiday.ephemeral and holiday.text == (
        "Fri 25 Dec 2026 is a holiday here, so there is no leave to take that day."
    )
    weekend = await apply(sandbox, start="sat")
    assert weekend.text == (
        "Sat 5 Dec 2026 is not a working day here (the office works Mon–Fri), so there is no "
        "leave to take that day."
    )


async def test_an_export_of_an_empty_period_says_so_without_a_file(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await apply(sandbox, "bob", start="2026-12-03")
    empty = await sandbox.slash(
        "alice", "leave export", format="csv", start="2030-01-01", end="2030-01-31"
    )
    assert empty.ephemeral and not empty.files
    assert empty.text == (
        "No leave requests from Tue 1 Jan 2030 to Thu 31 Jan 2030 (pending or approved): "
        "nothing to export."
    )
    mine = await sandbox.slash("carol", "leave export", format="csv")  # ics: the team feed
    assert (
        mine.text.startswith("No leave requests for Carol from Thu 1 Jan 2026") and not mine.files
    )
    one = await sandbox.slash("bob", "leave export", format="csv")
    assert one.text.startswith("Bob's leave from Thu 1 Jan 2026 to Thu 31 Dec 2026: 1 request,")
    assert len(one.files) == 1


async def test_the_confirmation_says_what_happens_next(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    own = await apply(sandbox, "bob", start="2026-12-03")
    assert (
        "Needs a manager's approval: you get a DM when it is decided; "
        "`/leave cancel request:1` withdraws it." in own.text
    )
    for_dave = await apply(sandbox, "alice", start="2026-12-04", member="dave")
    assert "Dave gets a DM when it is decided" in for_dave.text


async def test_the_card_dates_read_like_the_rest(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await apply(sandbox, "bob", start="2026-12-03")
    footer = card(sandbox, 1).embeds[0]["footer"]["text"]
    assert footer == "Request #1 · requested Tue 1 Dec 2026 09:00 (Europe/London)"


async def test_a_month_with_many_people_out_pages_within_limits(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    users = await add_staff(sandbox, 90)
    leave = sandbox.bot.get_cog("Leave").leave  # type: ignore[union-attr]
    owner = sandbox.member("owner").id
    for number, user in enumerate(users):
        start = date(2026, 12, 1 + number % 20)
        await leave.apply(
            sandbox.guild.id,
            actor=Actor(owner, True),
            user_id=user.id,
            leave_type="Work from home" if number % 3 == 0 else "Annual",
            start=start,
            end=start + timedelta(days=2),
            portion=Portion.FULL_DAY,
            from_time=None,
            to_time=None,
            reason=None,
            now=sandbox.clock.now(),
        )
    reply = await sandbox.slash("carol", "leave calendar", month="Dec")
    assert reply.message is not None and not reply.ephemeral
    pages = 1
    seen = set(reply.text.split())
    while (button := reply.message.button("Next ▶")) is not None and not button.disabled:
        reply = await sandbox.click("carol", reply.message, "Next ▶")
        assert reply.message is not None
        seen |= set(reply.text.split())
        pages += 1
    assert pages == 3  # 90 members, 40 a page; the emulator refuses anything over the limits
    assert {"Member", "000", "089"} <= seen
    out = await sandbox.slash("carol", "leave out", date="2026-12-03")
    # The Annual requests are still pending: only those working from home are listed.
    assert out.text.count("Working elsewhere (full day)") == 5 and "Nobody is out." in out.text

"""A new user's review of issues 20 (leave teams) and 21 (check-ins), through the emulator: user
text in answers is escaped, and bad input gets a clear ephemeral error with nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from concord.sandbox.driver import Sandbox
from concord.web.app import create_app
from concord.web.store import ReadOnlyStore


async def test_a_team_name_is_escaped_in_the_refusals_that_repeat_it(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    made = await sandbox.slash("alice", "leave team create", name="*Ops*")
    assert "Created team **\\*Ops\\***" in made.text, made.text
    again = await sandbox.slash("alice", "leave team create", name="*ops*")
    assert "There is already a team called **\\*Ops\\***" in again.text, again.text
    assert again.ephemeral
    await sandbox.slash("alice", "leave team create", name="_Sales_")
    renamed = await sandbox.slash("alice", "leave team edit", team="_Sales_", rename="*OPS*")
    assert "There is already a team called **\\*Ops\\***" in renamed.text, renamed.text
    unknown = await sandbox.slash("alice", "leave team delete", team="Nope")
    assert "Teams here: \\*Ops\\*, \\_Sales\\_" in unknown.text, unknown.text
    await sandbox.slash("alice", "leave team add", team="*Ops*", member="bob")
    added = await sandbox.slash(
        "alice",
        "leave blackout add",
        start="2026-12-14",
        end="2026-12-15",
        team="*Ops*",
        reason="__launch__",
    )
    assert "· \\*Ops\\* · \\_\\_launch\\_\\_" in added.text, added.text
    blocked = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-15")
    assert "for \\*Ops\\*: \\_\\_launch\\_\\_" in blocked.text, blocked.text


async def test_a_check_in_name_is_escaped_in_the_refusals_that_repeat_it(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.slash("alice", "dar checkin create", name="*Retro*")
    again = await sandbox.slash("alice", "dar checkin create", name="*retro*")
    assert "There is already a check-in called **\\*retro\\***" in again.text, again.text
    unknown = await sandbox.slash("alice", "dar checkin pause", checkin="__Standup__")
    assert "There is no check-in called **\\_\\_Standup\\_\\_**" in unknown.text, unknown.text
    assert unknown.ephemeral


async def test_a_one_off_check_in_in_the_past_is_refused(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.slash("alice", "dar checkin list")
    past = await sandbox.slash(
        "alice", "dar checkin create", name="Plan", schedule="once", date="2026-11-30"
    )
    assert "`date`:" in past.text and "has passed" in past.text, past.text
    async with sandbox.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT name FROM dar_checkins")
    assert [r[0] for r in rows] == ["Daily report"]


async def test_team_edit_refuses_contradictory_or_empty_options(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave team create", name="Support", approver_role="Manager")
    both = await sandbox.slash(
        "alice", "leave team edit", team="Support", approver_role="Staff", clear_approver_role=True
    )
    assert "not both" in both.text and both.ephemeral, both.text
    empty = await sandbox.slash("alice", "leave team edit", team="Support")
    assert "Nothing to change" in empty.text, empty.text
    async with sandbox.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT approver_role_id FROM leave_teams")
        edits = await conn.execute_fetchall(
            "SELECT 1 FROM audit_log WHERE action = 'leave.team.edit'"
        )
    assert [r[0] for r in rows] == [sandbox.role("Manager").id]
    assert list(edits) == []


async def test_check_in_options_that_would_be_ignored_are_refused(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    dated = await sandbox.slash("alice", "dar checkin create", name="Retro", date="2026-12-10")
    assert "`date` is only for a one-off check-in" in dated.text, dated.text
    await sandbox.slash("alice", "dar checkin create", name="Retro")
    empty = await sandbox.slash("alice", "dar checkin edit", checkin="Retro")
    assert "Nothing to change" in empty.text and empty.ephemeral, empty.text
    stale = await sandbox.slash("alice", "dar checkin edit", checkin="Retro", date="2026-12-10")
    assert "`date` is only for a one-off check-in" in stale.text, stale.text
    once = await sandbox.slash(
        "alice", "dar checkin edit", checkin="Retro", schedule="once", date="2026-12-10"
    )
    assert "once, 2026-12-10" in once.text, once.text
    daily = await sandbox.slash("alice", "dar checkin edit", checkin="Retro", schedule="daily")
    assert "daily, Mon–Fri" in daily.text, daily.text
    async with sandbox.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT kind, on_date FROM dar_checkins WHERE name = 'Retro'"
        )
        edits = await conn.execute_fetchall(
            "SELECT count(*) FROM audit_log WHERE action = 'dar.checkin.edit'"
        )
    assert [tuple(r) for r in rows] == [("daily", None)]
    assert [r[0] for r in edits] == [2]


async def test_remind_refuses_clear_with_a_time_or_days(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("bob", "dar remind", time="08:00")
    both = await sandbox.slash("bob", "dar remind", time="09:00", clear=True)
    assert "not both" in both.text and both.ephemeral, both.text
    mine = await sandbox.slash("bob", "dar remind")
    assert "**08:00**" in mine.text, mine.text


@pytest.mark.sandbox(settings={"public_url": "https://desk.example/concord"})
async def test_feed_answers_escape_the_team_name(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave team create", name="*Ops*")
    made = await sandbox.slash("bob", "leave feed", kind="team", team="*Ops*")
    assert "**Leave · \\*Ops\\***: who of \\*Ops\\* is out" in made.text, made.text
    again = await sandbox.slash("bob", "leave feed", kind="team", team="*Ops*")
    assert "(who of \\*Ops\\* is out" in again.text, again.text
    unknown = await sandbox.slash("bob", "leave feed", kind="team", team="_Nope_")
    assert "There is no team called **\\_Nope\\_**" in unknown.text, unknown.text


async def test_a_posted_check_in_report_escapes_its_name_and_labels(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.slash(
        "alice", "dar checkin create", name="*Retro*", channel="general", post="each"
    )
    form = await sandbox.slash("alice", "dar questions", checkin="*Retro*")
    assert form.modal is not None
    await sandbox.submit("alice", form.modal, question1="__Wins__; long")
    filing = await sandbox.slash("bob", "dar submit", checkin="*Retro*")
    assert filing.modal is not None
    await sandbox.submit("bob", filing.modal, **{"__Wins__": "shipped"})
    [posted] = [m for m in sandbox.messages("general") if m.embeds]
    assert posted.embeds[0]["title"] == "\\*Retro\\* — Bob", posted.embeds[0]
    assert [f["name"] for f in posted.embeds[0]["fields"]] == ["\\_\\_Wins\\_\\_"]


async def test_a_short_done_question_is_prefilled_on_one_line(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.slash("alice", "dar checkin create", name="Standup")
    form = await sandbox.slash("alice", "dar questions", checkin="Standup")
    assert form.modal is not None
    await sandbox.submit("alice", form.modal, question1="Done; short; done")
    for title in ("Fix the printer", "Order paper"):
        await sandbox.slash("alice", "task create", title=title, assignee="bob")
    for number in (1, 2):
        card = next(
            m
            for m in reversed(sandbox.messages("tasks"))
            if m.embeds and m.embeds[0].get("footer", {}).get("text") == f"Task #{number}"
        )
        await sandbox.click("bob", card, "Done")
    filing = await sandbox.slash("bob", "dar submit", checkin="Standup")
    assert filing.modal is not None
    value = filing.modal.field("Done").value
    assert value is not None and "\n" not in value, value
    assert "#1 Fix the printer" in value and "#2 Order paper" in value, value


async def test_the_questions_form_has_room_for_the_longest_saved_question(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "dar checkin create", name="Mood")
    form = await sandbox.slash("alice", "dar questions", checkin="Mood")
    assert form.modal is not None
    # 393 characters as typed (the form takes 400); saved, it reads back with "; required".
    options = "/".join(f"{n}" * 31 + f"{n:02d}" for n in range(10))
    line = f"{'L' * 45}; choice {options}"
    assert len(line) == 393
    saved = await sandbox.submit("alice", form.modal, question1=line)
    assert "asks:" in saved.text, saved.text
    again = await sandbox.slash("alice", "dar questions", checkin="Mood")
    assert again.modal is not None
    field = again.modal.field("question1")
    assert field.value is not None and len(field.value) <= field.max_length, field


@pytest.mark.sandbox(settings={"public_url": "https://desk.example/concord"})
async def test_deleting_a_team_ends_its_feed_links_and_says_so(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave team create", name="Ops")
    made = await sandbox.slash("bob", "leave feed", kind="team", team="Ops")
    found = re.search(r"/feed/([A-Za-z0-9_-]+)\.ics", made.text)
    assert found, made.text
    client = create_app(ReadOnlyStore(sandbox.db_path), clock=sandbox.clock).test_client()
    assert client.get(f"/feed/{found[1]}.ics").status_code == 200
    gone = await sandbox.slash("alice", "leave team delete", team="Ops")
    assert "links to its calendar feed stop working" in gone.text, gone.text
    assert client.get(f"/feed/{found[1]}.ics").status_code == 404

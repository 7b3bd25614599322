"""`concord sandbox`: the console (parsing, rendering, buttons, modals, the clock, jobs,
completion), script mode and the shipped tour."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import discord
import pytest

from concord import cli
from concord.core.settings import GuildConfig
from concord.sandbox.clock import SandboxClock, parse_clock
from concord.sandbox.console import Console
from concord.sandbox.driver import Sandbox
from concord.sandbox.session import Options, run_script
from tests.sandbox_probe import add_probe

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.sandbox"


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
async def console(sandbox: Sandbox, lines: list[str]) -> Console:
    await sandbox.configure_office()
    await add_probe(sandbox)
    sandbox.strict = False
    return Console(sandbox, lines.append)


async def run(console: Console, line: str) -> str:
    await console.execute(line)
    return "\n".join(console.last_output)


# -- parsing --------------------------------------------------------------------------------
async def test_slash_options_are_converted_by_their_synced_type(
    console: Console, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello")
    command, options = console.parse_slash(
        f'/probe echo text:"two words" count:3 ratio:0.5 flag:yes who:@carol where:#approvals file:{note}'
    )
    assert command == "probe echo"
    assert options == {
        "text": "two words",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "who": "@carol",
        "where": "#approvals",
        "file": ("note.txt", b"hello"),
    }
    out = await run(
        console, f"/probe echo text:hi who:@carol where:#approvals size:large file:{note}"
    )
    assert "who=carol where=approvals" in out and "file=note.txt:hello" in out
    assert "size=l" in out
    assert "only you can see this" in out


async def test_bad_lines_are_errors_not_crashes(console: Console) -> None:
    assert "unknown command" in await run(console, "dance")
    assert console.failed
    assert "takes a number" in await run(console, "/probe echo text:x count:many")
    assert "no option 'nope'" in await run(console, "/probe echo text:x nope:1")
    assert "options are written name:value" in await run(console, "/probe echo text:x loose")
    assert "no member" in await run(console, "as zed")


# -- buttons, selects, modals ---------------------------------------------------------------
async def test_cards_buttons_and_modals_from_the_console(console: Console) -> None:
    out = await run(console, "/probe card")
    assert "posted" in out and "#general · Concord Desk" in out
    assert "[1 Approve] [2 Reject] [– Later]" in out  # the card appeared in the channel
    await run(console, "as alice")
    out = await run(console, "channel general")
    assert "Leave request from Bob" in out
    await run(console, "click 2")
    assert console.pending is not None and console.pending.title == "Why reject?"
    questions = [q.prompt for q in console.questions()]
    assert questions == ["  Reason: ", "  Note (optional; Enter keeps 'none'): "]
    await console.submit(["Team offsite", ""])
    out = "\n".join(console.last_output)
    assert "Rejected: Team offsite (none)" in out and "edited" in out
    assert not console.failed


async def test_a_label_that_says_optional_is_not_told_so_twice(console: Console) -> None:
    await run(console, "as bob")
    await run(console, "/leave apply leave_type:annual start:2026-12-03 portion:half_day_pm")
    await run(console, "as alice")
    await run(console, "channel approvals 1")
    await run(console, "click 2")  # Reject: a form with one optional reason
    assert [q.prompt for q in console.questions()] == [
        "  Reason (optional, shown to the requester): "
    ]


async def test_select_menus_by_number(console: Console) -> None:
    await run(console, "/probe card")
    out = await run(console, "select 3 Small Large")
    assert "sizes ['l', 's']" in out
    await run(console, "channel general")
    assert "is a select menu" in await run(console, "click 3")


async def test_problems_the_emulator_finds_are_shown(console: Console) -> None:
    out = await run(console, "/probe toolong")
    assert "⚠ emulator rejected" in out and "2000 or fewer" in out
    assert console.failed


async def test_dms_and_member_messages(console: Console) -> None:
    await run(console, "as bob")
    out = await run(console, "/probe dm")
    assert "DM to bob" in out and "a reminder" in out and "[1 Count 10]" in out
    out = await run(console, "click 1")
    assert "count 11" in out
    assert "a reminder" not in await run(console, "dms carol")
    out = await run(console, "say good morning")
    assert "bob said it in #general" in out
    assert "good morning" in await run(console, "channel general")


# -- time and jobs --------------------------------------------------------------------------
def test_clock_arguments() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    london = ZoneInfo("Europe/London")
    assert parse_clock("+1d", now, london) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert parse_clock("+1d6h", now, london) == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert parse_clock("-30m", now, london) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert parse_clock("17:00", now, ZoneInfo("Asia/Kolkata")) == datetime(
        2026, 12, 1, 11, 30, tzinfo=UTC
    )
    assert parse_clock("2026-07-01 17:00", now, london) == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert parse_clock("2026-12-03", now, london) == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    for bad in ("+1x", "tomorrow", "+1d junk", "25:00"):
        with pytest.raises(ValueError, match="cannot read"):
            parse_clock(bad, now, london)


def test_the_sandbox_clock_keeps_running_from_where_it_was_set() -> None:
    clock = SandboxClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert datetime(2030, 1, 1, tzinfo=UTC) <= clock.now() < datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    assert clock.now().date() == date(2030, 1, 2)


async def test_clock_run_and_jobs(console: Console, sandbox: Sandbox) -> None:
    async def digest(config: GuildConfig, local_date: date, late: bool) -> None:
        channel = sandbox.bot.get_channel(config.reports_channel_id or 0)
        assert channel is not None and hasattr(channel, "send")
        await channel.send(f"digest for {local_date}{' (late)' if late else ''}")  # type: ignore[union-attr]

    sandbox.bot.scheduler.add_daily("probe-digest", lambda config: time(10, 0), digest)
    out = await run(console, "jobs")
    assert "probe-digest" in out and "daily at 10:00 Europe/London" in out
    out = await run(console, "run probe-digest")
    assert "ran probe-digest for 2026-12-01: done" in out and "digest for 2026-12-01" in out
    assert "already ran" in await run(console, "run probe-digest")
    out = await run(console, "clock 2026-12-02 10:05")
    assert "Wed 2026-12-02 10:05 Europe/London" in out and "digest for 2026-12-02" in out
    assert "nothing was due" in await run(console, "tick")
    refused = await run(console, "run nope")
    assert "run JOB, one of:" in refused and "probe-digest" in refused


# -- completion -----------------------------------------------------------------------------
async def test_completion_of_commands_options_and_names(console: Console) -> None:
    complete = console.complete
    assert await complete("/pro", "/pro") == ["/probe "]
    assert "echo " in await complete("/probe ", "")
    assert await complete("/probe more ", "") == ["deep "]
    options = await complete("/probe echo ", "")
    assert "text:" in options and "who:" in options
    assert "text:" not in await complete("/probe echo text:hi ", "")
    assert await complete("/probe echo who:ca", "who:ca") == ["who:carol"]
    assert await complete("/probe echo size:", "size:") == ["size:Small", "size:Large"]
    assert await complete("cl", "cl") == ["click ", "clock "]
    assert await complete("as a", "a") == ["alice "]
    assert "approvals " in await complete("channel ", "")


async def test_completion_quotes_choices_with_spaces(console: Console) -> None:
    """Item 18: a choice with spaces completes in quotes, also when typing inside them."""
    line = "/leave apply portion:"
    assert '"portion:"Half day (morning)"' not in await console.complete(line, "portion:")
    assert 'portion:"Half day (morning)"' in await console.complete(line, "portion:")
    assert await console.complete(line + "Half", "portion:Half") == [
        'portion:"Half day (morning)"',
        'portion:"Half day (afternoon)"',
    ]
    # readline's word starts after the last space, inside the quotes: complete the rest.
    assert await console.complete(line + '"Half day (a', "(a") == ['(afternoon)"']
    assert await console.complete('menu "Cr', '"Cr') == ['"Create task" ']


async def test_autocomplete_options_ask_the_bot(console: Console) -> None:
    """Item 18: leave_type, timezone, task, request and country complete with the bot's
    suggestions; a picked suggestion sends its value, as in Discord."""
    complete = console.complete
    [annual] = await complete("/leave apply leave_type:Ann", "leave_type:Ann")
    assert annual.startswith('leave_type:"Annual ·')
    assert "timezone:Asia/Manila" in await complete(
        "/concord timezone timezone:Manila", "timezone:Manila"
    )
    assert 'country:"Philippines (PH)"' in await complete(
        "/leave holiday import country:Philipp", "country:Philipp"
    )
    # Suggestions that continue the text win, so readline never shortens what was typed.
    zones = await complete("/concord timezone timezone:Asia/Ma", "timezone:Asia/Ma")
    assert "timezone:Asia/Manila" in zones and "timezone:Asia/Amman" not in zones
    assert all(zone.startswith("timezone:Asia/Ma") for zone in zones)
    await run(console, "as bob")
    await run(console, '/task create title:"Print the quarterly report"')
    found = await complete("/task status task:quarterly", "task:quarterly")
    assert found == ['task:"#1 Print the quarterly report"']
    out = await run(console, f"/task status {found[0]} status:Done")
    assert "Done" in out and not console.failed
    await run(console, "/leave apply leave_type:Annual start:2026-12-03")
    suggested = await complete("/leave cancel request:", "request:")
    assert len(suggested) == 1 and suggested[0].startswith('request:"#1 ·')
    out = await run(console, f"/leave cancel {suggested[0]}")
    assert not console.failed, out


# -- script mode and the tour ---------------------------------------------------------------
async def test_a_script_on_a_new_office_starts_on_the_sandbox_day(tmp_path: Path) -> None:
    """Whatever the date: a script's office (its people's join day included) starts at
    2026-12-01 09:00 UTC, so a script moving to its own dates never lands before they joined
    (the tour failed from 5 Dec 2026 on: nobody was expected to file a report on 4 Dec)."""
    script = tmp_path / "day.sandbox"
    script.write_text("clock\nmembers\n", encoding="utf-8")
    transcript: list[str] = []
    options = Options(db_path=tmp_path / "day.db", script=script, fresh=True)
    assert await run_script(options, transcript.append) == 0
    text = "\n".join(transcript)
    assert "clock: Tue 2026-12-01 09:00" in text
    assert "joined 2026-12-01" in text and datetime.now(UTC).date() > date(2026, 12, 1)


async def test_the_tour_runs_green(tmp_path: Path) -> None:
    api_base = discord.http.Route.BASE
    transcript: list[str] = []
    code = await run_script(
        Options(db_path=tmp_path / "sandbox.db", script=TOUR, fresh=True), transcript.append
    )
    text = "\n".join(transcript)
    assert code == 0, text
    assert "✓ Saved 3 settings" in text and "✗" not in text
    assert "✓ Approved by Alice" in text and "✓ is overdue" in text
    assert (tmp_path / "sandbox.world.json").exists()
    assert api_base == discord.http.Route.BASE  # the sandbox puts discord.py's endpoint back


async def test_a_failing_script_stops_with_exit_code_1(tmp_path: Path) -> None:
    script = tmp_path / "bad.sandbox"
    script.write_text("/concord settings\nexpect Mars/Olympus\n/concord status\n")
    transcript: list[str] = []
    code = await run_script(Options(db_path=tmp_path / "s.db", script=script), transcript.append)
    assert code == 1
    assert transcript[-1].startswith("✗ stopped:") and "expect Mars/Olympus" in transcript[-1]
    assert not any("/concord status" in line for line in transcript)


async def test_the_sandbox_keeps_its_office_between_runs(tmp_path: Path) -> None:
    first = tmp_path / "one.sandbox"
    first.write_text("/concord setup workdays:sun-thu\n")
    second = tmp_path / "two.sandbox"
    second.write_text("/concord settings\nexpect Sun–Thu\n")
    db = tmp_path / "sandbox.db"
    assert await run_script(Options(db_path=db, script=first), [].append) == 0
    transcript: list[str] = []
    assert await run_script(Options(db_path=db, script=second), transcript.append) == 0, transcript
    fresh: list[str] = []
    assert await run_script(Options(db_path=db, script=second, fresh=True), fresh.append) == 1


def test_the_cli_runs_a_script(tmp_path: Path) -> None:
    script = tmp_path / "hello.sandbox"
    script.write_text("as alice\n/concord settings\nexpect @Manager\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "concord",
            "sandbox",
            "--script",
            str(script),
            "--db",
            str(tmp_path / "s.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alice@#general> /concord settings" in result.stdout
    assert (tmp_path / "s.log").exists() and not (tmp_path / "data").exists()


def test_the_cli_refuses_a_missing_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sandbox", "--script", str(tmp_path / "nope")]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert cli.main(["sandbox", "--clock", "soon", "--db", str(tmp_path / "s.db")]) == 2
    assert "--clock: cannot read 'soon'" in capsys.readouterr().err
    assert cli.main(["sandbox", "--as", "zed", "--db", str(tmp_path / "s.db")]) == 2
    assert "--as zed: not a member" in capsys.readouterr().err


# -- issue 16 -------------------------------------------------------------------------------
async def test_members_and_their_join_dates_survive_a_restart(tmp_path: Path) -> None:
    """Item 4: report history (who was expected, who is missing) for past days survives."""
    db = tmp_path / "sandbox.db"
    first = tmp_path / "one.sandbox"
    first.write_text("as carol\n/dar submit\nFiled on Tuesday\nMore\n\n7\nexpect is filed\n")
    started = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert await run_script(Options(db_path=db, script=first, start=started), [].append) == 0
    second = tmp_path / "two.sandbox"
    second.write_text(
        "members\nexpect joined 2026-12-01\n"
        "as alice\n/dar missing date:2026-12-01\nexpect Dave\n"
        "/dar view member:carol date:2026-12-01\nexpect Filed on Tuesday\n"
    )
    transcript: list[str] = []
    later = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    code = await run_script(Options(db_path=db, script=second, start=later), transcript.append)
    assert code == 0, "\n".join(transcript)


async def test_the_clock_resumes_where_the_last_run_left_it(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    script = tmp_path / "clock.sandbox"
    script.write_text("clock\n")
    future = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    assert await run_script(Options(db_path=db, script=script, start=future), [].append) == 0
    transcript: list[str] = []
    assert await run_script(Options(db_path=db, script=script), transcript.append) == 0
    assert any("2030-03-04" in line for line in transcript), transcript


async def test_saved_members_keep_roles_nick_and_join_date(tmp_path: Path) -> None:
    from concord.sandbox.emulator import Emulator
    from concord.sandbox.office import build_office
    from concord.sandbox.persist import load_state, save_state

    moment = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    first = Emulator(clock=lambda: moment)
    office = build_office(first)
    dave = office.guild.members[office.users["dave"].id]
    dave.roles = [office.roles["Manager"].id]
    dave.nick = "Big Dave"
    save_state(first, tmp_path / "world.json")
    later = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
    second = Emulator(clock=lambda: later)
    office2 = build_office(second)
    assert load_state(second, tmp_path / "world.json")
    restored = office2.guild.members[office2.users["dave"].id]
    assert restored.roles == [office2.roles["Manager"].id]
    assert restored.nick == "Big Dave" and restored.joined_at == moment


async def test_a_blank_required_modal_field_is_asked_again(console: Console) -> None:
    """Item 20: the form stays open with what was typed; only the blank field is asked."""
    await run(console, "/probe card")
    await run(console, "click 2")
    await console.submit(["", "kept note"])
    assert "Reason: required; asking again" in "\n".join(console.last_output)
    assert not console.failed and console.pending is not None
    assert [q.prompt for q in console.questions()] == ["  Reason: "]
    await console.submit(["Team offsite"])
    assert "Rejected: Team offsite (kept note)" in "\n".join(console.last_output)
    assert console.pending is None and not console.failed


async def test_a_script_answers_a_blank_required_field_on_the_next_line(tmp_path: Path) -> None:
    script = tmp_path / "dar.sandbox"
    script.write_text(
        "as carol\n/dar submit\nCleared the queue\n\n\n7\nFinish the review\n"
        "expect is filed\n/dar view\nexpect Cleared the queue\nexpect Finish the review\n"
    )
    transcript: list[str] = []
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    code = await run_script(
        Options(db_path=tmp_path / "s.db", script=script, start=start), transcript.append
    )
    text = "\n".join(transcript)
    assert code == 0, text
    assert "Plan: required; asking again" in text


async def test_a_message_menu_from_the_console(tmp_path: Path) -> None:
    """Item 19: messages in the output are numbered (m1, m2…) and `menu "NAME" mN` opens the
    app's menu on one of them."""
    script = tmp_path / "menu.sandbox"
    script.write_text(
        "as bob\nsay Please order more toner for floor 2\nchannel general 1\n"
        "expect m1 · #general · Bob\n"
        "as alice\nmenu\nexpect Create task\n"
        'menu "Create task" m1\nOrder toner\n\n\n\n\nexpect Created task #1\n'
        "/task show task:1\nexpect Order toner\n"
    )
    transcript: list[str] = []
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    code = await run_script(
        Options(db_path=tmp_path / "s.db", script=script, start=start), transcript.append
    )
    assert code == 0, "\n".join(transcript)


async def test_menus_on_members_and_bad_message_numbers(console: Console) -> None:
    await run(console, "as bob")
    assert "there is no message m7" in await run(console, 'menu "Quote" m7')
    assert "waved at dave" in await run(console, 'menu "Wave" dave')
    assert 'menu "Quote" mN' in await run(console, "menu")


def readme_first_example() -> list[str]:
    """The console lines the README offers first: `/leave apply …`, then `as alice` and
    `click 1`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`(/leave apply [^`]+)`, then `(as \w+)` and `(click \d+)`", text)
    assert found is not None, "the README's first example moved; update this test"
    return list(found.groups())


@pytest.mark.parametrize("day", range(7))
async def test_the_readme_first_example_works_on_any_day(tmp_path: Path, day: int) -> None:
    """Item 21: tried on a Friday, `start:tomorrow` asked for leave on a Saturday."""
    script = tmp_path / "readme.sandbox"
    script.write_text("\n".join([*readme_first_example(), "expect Approved by Alice", ""]))
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC) + timedelta(days=day)  # Mon 7 Dec + day
    transcript: list[str] = []
    code = await run_script(
        Options(db_path=tmp_path / "s.db", script=script, start=start), transcript.append
    )
    assert code == 0, "\n".join(transcript)


def test_the_readme_tour_command_runs_again_and_again(tmp_path: Path) -> None:
    """The README's tour command works on a database that has seen the tour before."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`concord (sandbox [^`]*--script examples/tour\.sandbox)`", text)
    assert found is not None
    argv = [str(TOUR) if a == "examples/tour.sandbox" else a for a in found[1].split()]
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "concord", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr


async def test_timestamps_show_in_the_acting_members_zone(console: Console) -> None:
    """Item 17: as a Discord client does, the console shows <t:…> in the reader's timezone."""
    await run(console, "as bob")
    await run(console, "/leave apply leave_type:Annual start:2026-12-03")
    await run(console, "as alice")
    await run(console, "channel approvals 1")
    assert "Approved by Alice at 09:00 Europe/London" in await run(console, "click 1")
    await run(console, "/concord timezone timezone:Asia/Kolkata")
    assert "Approved by Alice at 14:30 Asia/Kolkata" in await run(console, "channel approvals 1")


async def test_moving_the_clock_over_an_evening_runs_its_jobs_on_the_way(tmp_path: Path) -> None:
    """`clock +1d` from Friday noon lives through Friday evening as a bot that stayed up would:
    the reminders (Dave's at 17:00 in his own zone) and the 19:00 summary go out in order; the
    scheduler alone only catches up the day the clock lands on."""
    script = tmp_path / "evening.sandbox"
    script.write_text(
        "as dave\n/concord timezone timezone:America/New_York\n"
        "clock +1d\nexpect Daily reports — Fri 4 Dec 2026\nexpect Not due yet (1)\n"
        "dms bob\nexpect Submit DAR\ndms dave\nexpect Fri 4 Dec 2026\n"
    )
    transcript: list[str] = []
    friday_noon = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    options = Options(db_path=tmp_path / "s.db", script=script, start=friday_noon)
    assert await run_script(options, transcript.append) == 0, "\n".join(transcript)
    shown = "\n".join(transcript)
    assert shown.index("DAILY REPORTS — FRI 4 DEC") < shown.index("DM to dave")

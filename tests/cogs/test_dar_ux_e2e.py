"""DAR and the schedule as a new office meets them, end to end: the first digest after the bot
joins blames nobody, date ranges that are refused say which dates, times typed the 12-hour way."""

from __future__ import annotations

from datetime import timedelta

from concord.sandbox.driver import Sandbox
from tests.cogs.test_dar_e2e import TUE, at, digests, file_report, scheduled


async def test_the_first_digest_blames_nobody_for_the_day_before_the_bot(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()  # set up on Tuesday morning, the digest at 09:00
    await scheduled(sandbox, at(9))
    first = digests(sandbox)[-1].text
    assert "0 missing reports" in first and "Missing reports: Nothing to check yet." in first
    assert "@Bob" not in first
    # Tuesday the bot reminds everyone at 17:00; only carol files. Wednesday's digest counts.
    await scheduled(sandbox, at(17))
    await file_report(sandbox, "carol")
    await scheduled(sandbox, at(9, day=TUE + timedelta(days=1)))
    second = digests(sandbox)[-1].text
    assert "Missing reports, Tue 1 Dec (3)" in second
    assert "@Carol" not in second.split("Missing reports")[1]


async def test_stats_from_a_future_start_say_to_give_an_end(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("alice", "dar stats", start="2027-01-04")
    assert reply.ephemeral and reply.text == (
        "The start Mon 4 Jan 2027 is after today, the default end; give an `end` as well."
    )
    assert not reply.files


async def test_times_typed_the_twelve_hour_way(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("owner", "concord setup", dar_reminder="4:30pm", digest="8am")
    assert reply.ephemeral and "Saved 2 settings" in reply.text
    assert "DAR reminder: 16:30" in reply.text and "Manager digest: 08:00" in reply.text


async def test_stats_with_no_data_say_why(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("alice", "dar stats", start="2027-01-04", end="2027-01-08")
    assert reply.ephemeral and reply.files  # the (empty) chart still comes
    assert "No reports were expected or filed in this period" in reply.text
    assert "0 of 0 expected" not in reply.text


async def test_a_filed_report_says_how_long_it_can_be_changed(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # edit window: 2 days
    today = await file_report(sandbox, "bob")
    assert today.content.splitlines() == [
        "Your report for **Tue 1 Dec 2026** is filed. Thank you!",
        "To change it, run `/dar submit` again (until Thu 3 Dec 2026).",
    ]
    sandbox.clock.set(at(10, day=TUE + timedelta(days=2)))  # type: ignore[attr-defined]
    late = await file_report(sandbox, "carol", date="2026-12-01")
    assert late.content.endswith(
        "To change it, run `/dar submit date:2026-12-01` again (until the end of today)."
    )

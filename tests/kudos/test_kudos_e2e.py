"""The example module end to end: registered by its descriptor alone (tests/kudos/__init__.py),
it gets its settings in /kudos setup and /concord settings, its daily job on the scheduler, its
button after a restart and its place in the cross-guild checks — with no shared file changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concord.cogs.modkit import builtin_modules
from concord.sandbox.driver import Sandbox
from tests.kudos import DAILY_JOB
from tests.reliability.checks import ErrorSpy
from tests.reliability.test_cross_guild import Refusals, fill_office, forged_card
from tests.reliability.two_guilds import acting_in, invite_to_second_office

pytestmark = pytest.mark.sandbox(cogs=[*builtin_modules(), "tests.kudos"])


def fields(reply: object) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}  # type: ignore[attr-defined]


async def cheers(sandbox: Sandbox) -> list[int]:
    rows = await sandbox.db.fetchall("SELECT cheers FROM kudos ORDER BY id", ())
    return [row["cheers"] for row in rows]


async def test_its_settings_are_in_its_setup_and_in_concord_settings(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("owner", "kudos setup", kudos_channel="kudos", kudos_time="4pm")
    assert reply.ephemeral and reply.content == "Saved 2 settings."
    assert fields(reply)["Kudos channel"] == f"<#{sandbox.channel('kudos').id}>"
    assert fields(reply)["Kudos of the day"] == "16:00"
    shown = await sandbox.slash("bob", "concord settings")
    assert fields(shown)["Kudos of the day"] == "16:00"
    assert fields(shown)["Timezone"] == "UTC"  # the built-in modules' settings are all there
    bad = await sandbox.slash("owner", "kudos setup", kudos_time="25:00")
    assert "25:00" in bad.text
    refused = await sandbox.slash("bob", "kudos setup", kudos_time="10:00")
    assert refused.text == "You need the Manage Server permission to change the setup."
    config = await sandbox.bot.guild_settings.get(sandbox.guild.id)
    assert config.extra("kudos_time") == "16:00"
    assert config.extra("kudos_channel") == sandbox.channel("kudos").id
    # It is not one of /concord setup's options.
    names = {o["name"] for o in sandbox.command_options("owner", "concord setup")}
    assert not names & {"kudos_channel", "kudos_time"}
    audit = await sandbox.db.fetchall(
        "SELECT after FROM audit_log WHERE action = ?", ("settings.update",)
    )
    assert (
        audit[0]["after"]
        == f'{{"kudos_channel": {sandbox.channel("kudos").id}, "kudos_time": "16:00"}}'
    )


async def test_its_daily_job_runs_once_at_its_time(sandbox: Sandbox) -> None:
    await sandbox.configure_office(kudos_time="10:00")  # 09:00 in London now
    given = await sandbox.slash("alice", "kudos give", member="bob", reason="fixed the printer")
    assert given.text == "Kudos sent to #kudos."
    assert DAILY_JOB in sandbox.bot.scheduler.daily_jobs
    await sandbox.run(sandbox.bot.run_scheduled())
    assert not any("Kudos of" in m.text for m in sandbox.messages("kudos"))
    sandbox.clock.set(datetime(2026, 12, 1, 10, 1, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())
    await sandbox.run(sandbox.bot.run_scheduled())
    summaries = [m.text for m in sandbox.messages("kudos") if "Kudos of" in m.text]
    assert len(summaries) == 1, summaries
    assert "Kudos of 2026-12-01: 1 kudos" in summaries[0]
    assert "fixed the printer" in summaries[0]


async def test_its_button_works_after_a_restart(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "kudos give", member="bob", reason="covered my shift")
    card = sandbox.last_message("kudos")
    assert "covered my shift" in card.text
    await sandbox.restart()
    reply = await sandbox.click("carol", card, "+1")
    assert reply.ephemeral and reply.text == "You cheered. 1 cheer so far."
    assert await cheers(sandbox) == [1]


async def test_the_other_office_cannot_cheer_its_kudos(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = await invite_to_second_office(sandbox)
    first = await fill_office(sandbox, "Alpha", "alice", "carol")
    with acting_in(sandbox, second):
        other = await fill_office(sandbox, "Bravo", "frank", "grace")
    assert first.ids["kudos"] and other.ids["kudos"]
    kudos_buttons = [c for c in other.forged() if c.startswith("kudos:")]
    assert kudos_buttons == [f"kudos:cheer:{i}" for i in other.ids["kudos"]]
    refusals = Refusals(sandbox, ErrorSpy(sandbox, monkeypatch), other)
    for custom_id in kudos_buttons:
        card = forged_card(sandbox, sandbox.channel("kudos"), custom_id)
        await refusals.expect(custom_id, sandbox.click("alice", card, custom_id=custom_id))
    assert await cheers(sandbox) == [0, 0]
    # Each office's summary holds its own kudos only.
    sandbox.clock.set(datetime(2026, 12, 1, 17, 31, tzinfo=UTC))  # type: ignore[attr-defined]
    await sandbox.run(sandbox.bot.run_scheduled())
    for side, there in ((first, other), (other, first)):
        with acting_in(sandbox, side.office):
            summary = sandbox.last_message("kudos").text
        assert f"{side.marker} thanks" in summary and there.marker not in summary

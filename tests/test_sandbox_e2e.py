"""The sandbox driver and the emulator through the real discord.py client: every interaction
kind (slash with each option type, subcommand groups, autocomplete, buttons, selects, modals,
context menus, DMs, files, persistent dynamic buttons) with a test-only cog."""

from __future__ import annotations

import asyncio

import pytest

from concord.sandbox.driver import Sandbox, SandboxError, UsageError
from concord.sandbox.emulator import ManualMonotonic
from tests.sandbox_probe import Counter, add_probe


async def test_every_option_type_reaches_the_command(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash(
        "bob",
        "probe echo",
        text="hi",
        count=3,
        ratio=0.5,
        flag=True,
        who="carol",
        where="approvals",
        role="Staff",
        size="Large",
        file=("note.txt", b"hello"),
    )
    assert reply.ephemeral and not reply.deferred
    assert reply.text == (
        "text=hi count=3 ratio=0.5 flag=True who=carol where=approvals role=Staff size=l "
        "file=note.txt:hello"
    )


async def test_options_are_checked_against_the_synced_commands(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    with pytest.raises(UsageError, match="no option 'colour'"):
        await sandbox.slash("bob", "probe echo", text="hi", colour="red")
    with pytest.raises(UsageError, match="missing required option"):
        await sandbox.slash("bob", "probe echo")
    with pytest.raises(UsageError, match="from 1 to 10"):
        await sandbox.slash("bob", "probe echo", text="hi", count=11)
    with pytest.raises(UsageError, match="needs a subcommand"):
        await sandbox.slash("bob", "probe more")
    with pytest.raises(UsageError, match="no command 'nope'"):
        await sandbox.slash("bob", "nope")


async def test_subcommand_groups_and_public_replies(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe more deep", value="down")
    assert reply.text == "deep down" and not reply.ephemeral
    assert sandbox.last_message("general").text == "deep down"
    assert reply.message is not None and reply.message.author == "concorddesk"


async def test_autocomplete_returns_the_choices(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    choices = await sandbox.autocomplete("bob", "probe echo", "text", "ap")
    assert choices == [("Apple", "apple"), ("Apricot", "apricot")]


async def test_the_first_answer_replaces_the_thinking_message(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("bob", "probe think")
    assert reply.deferred and reply.ephemeral
    assert [m.text for m in reply.messages] == ["thought about it", "and one more thing"]
    assert not any(m.loading for m in reply.messages)
    public = await sandbox.slash("bob", "probe think", public=True)
    first, second = public.messages
    assert not first.ephemeral and second.ephemeral
    assert sandbox.last_message("general").text == "thought about it"
    assert not sandbox.emulator.requests_to("POST /webhooks/{webhook_id}/{webhook_token}")[
        0
    ].deprecated


async def test_a_followup_still_resolves_it_but_is_flagged_deprecated(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    with sandbox.expect_errors() as caught:
        reply = await sandbox.slash("bob", "probe think", legacy=True)
    (flagged,) = caught.requests
    assert flagged.status == 200 and flagged.deprecated is not None
    assert [m.text for m in reply.messages] == ["thought about it", "and one more thing"]
    assert not any(m.loading for m in reply.messages)


async def test_buttons_update_the_card_and_open_modals(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe card", _channel="approvals")
    assert reply.text == "posted"
    card = sandbox.last_message("approvals")
    assert [b.label for b in card.buttons] == ["Approve", "Reject", "Later"]
    with pytest.raises(UsageError, match="disabled"):
        await sandbox.click("alice", card, "Later")
    modal = (await sandbox.click("alice", card, "Reject")).modal
    assert modal is not None and modal.title == "Why reject?"
    assert [f.label for f in modal.fields] == ["Reason", "Note"]
    with pytest.raises(UsageError, match="required"):
        await sandbox.submit("alice", modal)
    reply = await sandbox.submit("alice", modal, reason="Team offsite")
    assert reply.type == 4 and reply.ephemeral and reply.text == "Noted."
    assert card.text == "Rejected: Team offsite (none)" and card.buttons == []
    assert card.edited


async def test_button_by_custom_id_and_select_menu(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("alice", "probe card")
    card = sandbox.last_message("general")
    reply = await sandbox.select("bob", card, ["Small", "l"])
    assert reply.deferred and reply.text == "sizes ['l', 's']"
    reply = await sandbox.click("bob", card, custom_id="probe:approve")
    assert reply.message == card
    assert card.text == "Approved by bob"


async def test_user_select_resolves_members(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe people")
    picked = await sandbox.select("alice", reply, [str(sandbox.member("bob").id), "carol"])
    assert picked.text == "people ['bob', 'carol']"


async def test_modal_with_labels_from_a_slash_command(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    modal = (await sandbox.slash("bob", "probe ask")).modal
    assert modal is not None
    reply = await sandbox.submit(modal, colour=["Blue"], words="sky")
    assert reply.text == "colour=['b'] words=sky"


async def test_context_menus(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("alice", "probe more deep", value="quote me")
    message = sandbox.last_message("general")
    reply = await sandbox.context_menu("bob", "Quote", message)
    assert reply.text == "quoted: deep quote me"
    reply = await sandbox.context_menu("bob", "Wave", "dave")
    assert reply.text == "waved at dave"


async def test_dynamic_buttons_survive_a_restart_and_work_in_dms(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("bob", "probe counter")
    message = sandbox.last_message("general")
    await sandbox.click("carol", message, "Count 0")
    assert message.text == "count 1"
    await sandbox.restart()
    sandbox.bot.add_dynamic_items(Counter)
    await sandbox.click("carol", message, "Count 1")
    assert message.text == "count 2"
    await add_probe(sandbox)
    await sandbox.slash("bob", "probe dm")
    (dm,) = sandbox.dms("bob")
    assert dm.text == "a reminder" and dm.channel == "dm:bob"
    with pytest.raises(UsageError, match="someone else's DMs"):
        await sandbox.click("carol", dm, "Count 10")
    await sandbox.click("bob", dm, "Count 10")
    assert dm.text == "count 11"


async def test_files_are_kept_with_their_bytes(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("bob", "probe export")
    assert reply.files == [("export.csv", b"a,b\n1,2\n")]
    assert reply.ephemeral and reply.text == "here it is"


async def test_history_and_member_messages(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.post("carol", "general", "good morning")
    await sandbox.slash("alice", "probe more deep", value="one")
    reply = await sandbox.slash("bob", "probe history")
    assert reply.text == "good morning | deep one"


async def test_unanswered_and_rejected_interactions_fail(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    with pytest.raises(SandboxError, match="did not answer"):
        await sandbox.slash("bob", "probe silent")
    with pytest.raises(SandboxError, match="2000 or fewer"):
        await sandbox.slash("bob", "probe toolong")
    with sandbox.expect_errors() as caught:
        await sandbox.slash("bob", "probe toolong")
    assert caught.requests[0].status == 400
    assert any("Ignoring exception" in m or "toolong" in m for m in caught.log_messages)


@pytest.mark.sandbox(dev_guild=True)
async def test_guild_scoped_commands_carry_the_guild_id(sandbox: Sandbox) -> None:
    guild_routes = sandbox.emulator.requests_to(
        "PUT /applications/{application_id}/guilds/{guild_id}/commands"
    )
    assert len(guild_routes) == 1
    reply = await sandbox.slash("owner", "concord settings")
    assert reply.interaction.payload["data"]["guild_id"] == str(sandbox.guild.id)
    assert "Concord Desk settings" in reply.text


async def test_default_member_permissions_hide_commands(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    assert (await sandbox.slash("alice", "audit")).text == "audit log"
    assert (await sandbox.slash("owner", "audit")).text == "audit log"
    with pytest.raises(UsageError, match="bob has no command 'audit'"):
        await sandbox.slash("bob", "audit")


async def test_delayed_deletions_do_not_keep_the_sandbox_waiting(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("bob", "probe flash")
    assert reply.text == "gone in 30 s" and reply.message is not None
    assert not reply.message.deleted  # the 30 s timer is pending; stopping the bot ends it


@pytest.mark.sandbox(monotonic=ManualMonotonic())
async def test_an_answer_after_three_seconds_is_refused(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    probe = await add_probe(sandbox)
    with sandbox.expect_errors() as caught:
        pending = asyncio.create_task(sandbox.slash("bob", "probe slow"))
        await probe.entered.wait()
        sandbox.emulator.monotonic.advance(3.5)  # type: ignore[attr-defined]
        probe.gate.set()
        reply = await pending
    assert not reply.responded
    # The late answer is refused with "Unknown interaction"; the bot's error path logs that as
    # a warning naming the command, and sends no apology that could not arrive either.
    assert [r.error["code"] for r in caught.requests if r.error] == [10062]
    assert caught.logs == []
    assert any(r.levelname == "WARNING" and "probe slow" in r.getMessage() for r in caplog.records)

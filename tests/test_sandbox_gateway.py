"""The real bot against the emulator's gateway and faults: dropped connections and op 7 resume
without losing an interaction, op 9 re-identifies, rate limits and 5xx are survived, refused
tokens and intents end `concord run` with a clear message, member chunks and member events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import discord
import pytest

from concord.config import Settings
from concord.errors import ExitError
from concord.runner import run_bot
from concord.sandbox.driver import Sandbox, SandboxError
from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.gateway import GUILD_MEMBERS, GUILDS
from concord.sandbox.office import build_office

MESSAGES = "POST /channels/{channel_id}/messages"
CALLBACK = "POST /interactions/{webhook_id}/{webhook_token}/callback"


async def wait_for_resume(sandbox: Sandbox, count: int) -> None:
    gateway = sandbox.emulator.gateway
    await gateway.wait_until(lambda: gateway.resume_count >= count and gateway.connected)


async def test_an_interaction_sent_while_disconnected_arrives_after_resume(
    sandbox: Sandbox,
) -> None:
    gateway = sandbox.emulator.gateway
    await gateway.drop()
    # The interaction is created while the bot is away; RESUME replays it.
    reply = await sandbox.slash("owner", "concord settings")
    assert reply.embeds[0]["title"] == "Concord Desk settings"
    await wait_for_resume(sandbox, 1)
    assert gateway.identify_count == 1 and gateway.connect_count == 2
    assert gateway.heartbeats >= 2  # discord.py beats at once on every HELLO
    assert sandbox.bot.is_ready()


async def test_a_closed_connection_is_resumed(sandbox: Sandbox) -> None:
    gateway = sandbox.emulator.gateway
    await gateway.drop(code=4000)
    await wait_for_resume(sandbox, 1)
    assert (await sandbox.slash("bob", "concord settings")).responded
    assert gateway.identify_count == 1


async def test_op7_reconnect_resumes_on_the_resume_url(sandbox: Sandbox) -> None:
    gateway = sandbox.emulator.gateway
    await gateway.request_reconnect()
    reply = await sandbox.slash("bob", "concord settings")
    assert reply.responded
    await wait_for_resume(sandbox, 1)
    assert gateway.identify_count == 1
    # The bot resumed on the resume URL (its shard's socket, seen from the emulator's side).
    assert gateway.current is not None and gateway.current.request is not None
    assert gateway.current.request.path == "/gateway/resume"


async def test_op9_invalid_session_identifies_again(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    # discord.py waits 5 s before a re-IDENTIFY; that pause is not what is tested here.
    monkeypatch.setattr(sandbox.bot, "before_identify_hook", no_identify_delay)
    gateway = sandbox.emulator.gateway
    await gateway.invalidate_session(resumable=False)
    await gateway.wait_until(lambda: gateway.identify_count == 2 and gateway.connected)
    await sandbox.bot.wait_until_ready()
    reply = await sandbox.slash("bob", "concord settings")
    assert reply.responded
    assert gateway.resume_count == 0


async def test_a_rate_limited_reply_is_retried(sandbox: Sandbox) -> None:
    fault = sandbox.emulator.inject_rate_limit(CALLBACK, retry_after=0.01)
    reply = await sandbox.slash("owner", "concord settings")
    assert reply.responded and fault.hits == 1
    statuses = [r.status for r in sandbox.emulator.requests_to(CALLBACK)]
    assert statuses == [429, 200]


async def test_a_server_error_on_a_channel_message_is_retried(sandbox: Sandbox) -> None:
    channel = sandbox.bot.get_channel(sandbox.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sandbox.emulator.inject_error(MESSAGES, 502)
    message = await sandbox.run(channel.send("after a hiccup"))
    assert message.content == "after a hiccup"
    assert [r.status for r in sandbox.emulator.requests_to(MESSAGES)] == [502, 200]
    assert sandbox.last_message("general").text == "after a hiccup"


async def test_an_unretried_server_error_reaches_the_bot(sandbox: Sandbox) -> None:
    channel = sandbox.bot.get_channel(sandbox.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    sandbox.emulator.inject_error(MESSAGES, 503, message="Service Unavailable")
    with pytest.raises(discord.DiscordServerError):
        await channel.send("never")
    assert sandbox.messages("general") == []


async def test_member_chunks_and_member_events(sandbox: Sandbox) -> None:
    guild = sandbox.bot.get_guild(sandbox.guild.id)
    assert guild is not None and guild.chunked and guild.member_count == 6
    members = await guild.chunk()
    assert sorted(m.name for m in members) == [
        "alice",
        "bob",
        "carol",
        "concorddesk",
        "dave",
        "owner",
    ]
    found = await guild.query_members("ca")
    assert [m.name for m in found] == ["carol"]
    emulator = sandbox.emulator
    erin = emulator.world.add_user("erin", "Erin")
    await sandbox.run(emulator.add_member(sandbox.guild, erin, [sandbox.role("Staff")]))
    member = guild.get_member(erin.id)
    assert member is not None and [r.name for r in member.roles][-1] == "Staff"
    reply = await sandbox.slash("erin", "concord settings")
    assert reply.responded
    await sandbox.run(emulator.remove_member(sandbox.guild, erin))
    assert guild.get_member(erin.id) is None


async def test_the_bot_is_sent_no_message_events(sandbox: Sandbox) -> None:
    """Intents: the guild and its members only. Chat in the office and the bot's own cards
    are not sent to it (it would parse each one only to drop it)."""
    gateway = sandbox.emulator.gateway
    assert gateway.intents() == GUILDS | GUILD_MEMBERS
    session = gateway.current
    assert session is not None
    before = session.sequence
    await sandbox.configure_office()
    await sandbox.post("carol", "general", "good morning")
    await sandbox.slash("alice", "task create", title="Order toner", assignee="bob")
    assert sandbox.messages("tasks")  # the card was posted…
    events = [json.loads(frame)["t"] for number, frame in session.buffer if number > before]
    assert events == ["INTERACTION_CREATE"]  # …and only the interaction reached the bot


async def test_a_large_guild_is_chunked_like_on_discord(tmp_path: Path) -> None:
    """Over the IDENTIFY's large_threshold (250 from discord.py), GUILD_CREATE carries only the
    bot's own member; the bot asks for the rest and gets them 1000 per chunk before ready."""
    sandbox = Sandbox(tmp_path)
    world, office_guild = sandbox.emulator.world, sandbox.guild
    for number in range(2100):
        user = world.add_user(f"member{number:04d}", f"Member {number:04d}")
        world.add_member(office_guild, user, [sandbox.role("Staff")])
    await sandbox.start()
    try:
        gateway = sandbox.emulator.gateway
        session = gateway.current
        assert session is not None
        frames = [json.loads(frame) for _, frame in session.buffer]
        (created,) = [f["d"] for f in frames if f["t"] == "GUILD_CREATE"]
        assert created["large"] is True and created["member_count"] == 2106
        assert [m["user"]["id"] for m in created["members"]] == [str(sandbox.emulator.bot_user.id)]
        chunks = [f["d"] for f in frames if f["t"] == "GUILD_MEMBERS_CHUNK"]
        assert [(c["chunk_index"], c["chunk_count"]) for c in chunks] == [(0, 3), (1, 3), (2, 3)]
        assert [len(c["members"]) for c in chunks] == [1000, 1000, 106]
        assert gateway.chunk_requests == 1
        guild = sandbox.bot.get_guild(office_guild.id)
        assert guild is not None and guild.large and guild.chunked
        assert len(guild.members) == 2106
        reply = await sandbox.slash("member2099", "concord settings")
        assert reply.responded
    finally:
        await sandbox.stop()


# -- `concord run` refusing to start ------------------------------------------------------------
async def run_against(tmp_path: Path, emulator: Emulator, token: str) -> None:
    settings = Settings(
        discord_token=token,
        db_path=tmp_path / "concord.db",
        health_file=tmp_path / "health.json",
        api_base=emulator.api_base,
        gateway_url=emulator.gateway_url,
    )
    await asyncio.wait_for(run_bot(settings), 10)


async def test_a_refused_token_is_one_clear_error(tmp_path: Path) -> None:
    async with Emulator() as emulator:
        build_office(emulator)
        with pytest.raises(ExitError, match="DISCORD_TOKEN was refused"):
            await run_against(tmp_path, emulator, "x" * 30 + ".wrong")
        assert emulator.requests[0].status == 401


async def test_a_missing_members_intent_is_one_clear_error(tmp_path: Path) -> None:
    async with Emulator(privileged_intents=0) as emulator:
        build_office(emulator)
        with pytest.raises(ExitError, match="Server Members Intent"):
            await run_against(tmp_path, emulator, emulator.token)
        assert emulator.gateway.closed_codes == [4014]


async def test_a_route_the_emulator_does_not_know_fails_the_test(sandbox: Sandbox) -> None:
    guild = sandbox.bot.get_guild(sandbox.guild.id)
    assert guild is not None
    with pytest.raises(discord.NotFound):
        await guild.fetch_ban(discord.Object(id=1))
    with pytest.raises(SandboxError, match=r"GET /api/v10/guilds/\d+/bans/1 -> 404"):
        sandbox.check()


async def test_concord_sync_syncs_once_and_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator() as emulator:
        build_office(emulator)
        settings = Settings(
            discord_token=emulator.token,
            db_path=tmp_path / "concord.db",
            health_file=tmp_path / "health.json",
            api_base=emulator.api_base,
            gateway_url=emulator.gateway_url,
        )
        outputs = []
        for force in (False, False, True):
            await run_bot(settings, sync_only=True, force_sync=force)
            outputs.append(capsys.readouterr().out.strip())
        assert outputs == [
            "synced",
            "unchanged: nothing to sync (use --force to sync anyway)",
            "synced",
        ]
        assert len(emulator.requests_to("PUT /applications/{application_id}/commands")) == 2
        assert "concord" in [c.name for c in emulator.commands.list(None)]

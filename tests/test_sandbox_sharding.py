"""The emulator shards as Discord documents it (topics/gateway#sharding): IDENTIFY with
``shard: [id, count]`` gets the guilds with ``(guild_id >> 22) % count == id`` and their events
and interactions, DMs go to shard 0, an unsharded bot over the per-shard limit is closed with
4011, and GET /gateway/bot recommends a shard count and says the session start limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.gateway import GUILD_MEMBERS, GUILDS, shard_of
from concord.sandbox.emulator.interactions import APPLICATION_COMMAND
from concord.sandbox.emulator.world import Guild

INTENTS = GUILDS | GUILD_MEMBERS


def make_world(emulator: Emulator, guilds: int) -> list[Guild]:
    owner = emulator.world.add_user("owner", "Owner")
    made = []
    for number in range(guilds):
        guild = emulator.world.add_guild(f"Office {number}", owner)
        emulator.world.add_channel(guild, "general")
        made.append(guild)
    return made


class Shard:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.events: list[tuple[str, Any]] = []

    async def receive_until(self, event: str) -> Any:
        async with asyncio.timeout(5):
            while True:
                message = await self.socket.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket closed: {message.type} {self.socket.close_code}")
                frame = json.loads(message.data)
                if frame["op"] == 0:
                    self.events.append((frame["t"], frame["d"]))
                    if frame["t"] == event:
                        return frame["d"]

    async def closed_with(self) -> int | None:
        async with asyncio.timeout(5):
            while True:
                message = await self.socket.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return self.socket.close_code


@asynccontextmanager
async def connect(emulator: Emulator, shard: list[int] | None) -> AsyncIterator[Shard]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(emulator.gateway_url) as socket,
    ):
        hello = await socket.receive_json()
        assert hello["op"] == 10
        identify: dict[str, Any] = {
            "token": emulator.token,
            "intents": INTENTS,
            "properties": {"os": "linux", "browser": "test", "device": "test"},
        }
        if shard is not None:
            identify["shard"] = shard
        await socket.send_json({"op": 2, "d": identify})
        yield Shard(socket)


async def test_each_shard_gets_its_guilds_and_their_events() -> None:
    async with Emulator() as emulator:
        await each_shard_gets_its_guilds(emulator)


async def each_shard_gets_its_guilds(emulator: Emulator) -> None:
    guilds = make_world(emulator, 6)
    async with connect(emulator, [0, 2]) as zero, connect(emulator, [1, 2]) as one:
        ready = [await zero.receive_until("READY"), await one.receive_until("READY")]
        for index, shard in enumerate((zero, one)):
            expected = {str(g.id) for g in guilds if (g.id >> 22) % 2 == index}
            assert {g["id"] for g in ready[index]["guilds"]} == expected
            assert ready[index]["shard"] == [index, 2]
            for _ in expected:
                await shard.receive_until("GUILD_CREATE")
        assert {len([g for g in guilds if shard_of(g.id, 2) == i]) for i in (0, 1)} == {3}
        # A guild's events and interactions reach its shard only.
        target = next(g for g in guilds if shard_of(g.id, 2) == 1)
        await emulator.add_channel(target, "news")
        created = await one.receive_until("CHANNEL_CREATE")
        assert created["guild_id"] == str(target.id)
        owner = emulator.world.users[target.owner_id]
        channel = next(iter(target.channels.values()))
        record = emulator.new_interaction(
            kind=APPLICATION_COMMAND,
            user=owner,
            channel=channel,
            data={"id": "1", "name": "concord", "type": 1},
        )
        await emulator.send_interaction(record)
        interaction = await one.receive_until("INTERACTION_CREATE")
        assert interaction["guild_id"] == str(target.id)
        # A DM interaction goes to shard 0.
        dm = emulator.world.dm_channel(owner)
        record = emulator.new_interaction(
            kind=APPLICATION_COMMAND, user=owner, channel=dm, data={"id": "1", "name": "x"}
        )
        await emulator.send_interaction(record)
        assert "guild_id" not in await zero.receive_until("INTERACTION_CREATE")
        assert [t for t, _ in zero.events if t in ("CHANNEL_CREATE", "INTERACTION_CREATE")] == [
            "INTERACTION_CREATE"
        ]


async def test_an_unsharded_bot_over_the_limit_must_shard() -> None:
    async with Emulator(max_guilds_per_shard=4) as emulator:
        make_world(emulator, 6)
        async with connect(emulator, None) as unsharded:
            assert await unsharded.closed_with() == 4011
        async with connect(emulator, [0, 2]) as sharded:
            assert len((await sharded.receive_until("READY"))["guilds"]) == 3
        async with connect(emulator, [2, 2]) as wrong:
            assert await wrong.closed_with() == 4010


async def test_gateway_bot_recommends_shards_and_says_the_start_limit() -> None:
    async with Emulator(max_concurrency=4) as emulator:
        make_world(emulator, 2500)
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{emulator.api_base}/gateway/bot",
                headers={"Authorization": f"Bot {emulator.token}"},
            ) as response,
        ):
            body = await response.json()
        assert body["url"] == emulator.gateway_url
        assert body["shards"] == 3  # about one per 1,000 guilds
        limit = body["session_start_limit"]
        assert limit["max_concurrency"] == 4
        assert limit["total"] >= limit["remaining"] > 0 and limit["reset_after"] > 0

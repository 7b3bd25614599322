"""Discord's documented REST rate limits in the emulator, and the bot living with them.

- The limiter (on a manual clock): the five X-RateLimit-* headers on every answer, buckets per
  top-level resource (channel, guild, webhook id + token), shared buckets, 429 with the
  documented body and headers past a limit, the global limit and its exemption for
  interaction endpoints.
- Over HTTP: every answer of the emulator carries the headers (4xx too), a 429 carries
  ``Retry-After`` and ``X-RateLimit-Scope``, a refused request is not carried out.
- End to end: the real bot (unmodified discord.py) under tight limits posts every message,
  with no 429 on a per-route limit it was told about (it reads the headers), and recovers
  from global 429s (which no header announces) without an error or a lost message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator import Emulator, Limit, ManualMonotonic, RateLimits
from concord.sandbox.office import build_office

MESSAGES = "POST /channels/{channel_id}/messages"
EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"
HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


def limits(clock: ManualMonotonic, **options: Any) -> RateLimits:
    return RateLimits.discord(monotonic=clock, wall=lambda: 1_700_000_000.0, **options)


def check(
    rl: RateLimits, route: str = MESSAGES, *, interaction: bool = False, **params: str
) -> Any:
    return rl.check(
        route, params or {"channel_id": "1"}, interaction=interaction, authenticated=True
    )


# -- the limiter ------------------------------------------------------------------------------
def test_message_create_is_5_per_5_seconds_per_channel_with_the_documented_headers() -> None:
    clock = ManualMonotonic(0.0)
    rl = limits(clock)
    seen = [check(rl) for _ in range(5)]
    assert [v.refused for v in seen] == [None] * 5
    assert [v.headers["X-RateLimit-Remaining"] for v in seen] == ["4", "3", "2", "1", "0"]
    first = seen[0].headers
    assert set(HEADERS) <= set(first) and first["X-RateLimit-Limit"] == "5"
    assert first["X-RateLimit-Reset-After"] == "5.000"
    assert first["X-RateLimit-Reset"] == "1700000005.000"  # epoch seconds
    clock.advance(2)
    refused = check(rl)
    assert refused.refused == {
        "message": "You are being rate limited.",
        "retry_after": 3.0,
        "global": False,
    }
    assert refused.headers["Retry-After"] == "3" and refused.headers["X-RateLimit-Scope"] == "user"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Global" not in refused.headers
    # Another channel is another bucket; the same limit (same bucket id, without the channel).
    other = check(rl, channel_id="2")
    assert other.refused is None and other.headers["X-RateLimit-Remaining"] == "4"
    assert other.headers["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
    clock.advance(3)  # the window is over
    assert check(rl).refused is None


def test_routes_sharing_a_bucket_count_together_and_others_apart() -> None:
    clock = ManualMonotonic(0.0)
    rl = limits(clock)
    add = "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
    remove = "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
    params = {"channel_id": "1", "message_id": "5", "emoji": "x"}
    assert rl.check(add, params, interaction=False, authenticated=True).refused is None
    shared = rl.check(remove, params, interaction=False, authenticated=True)
    assert shared.refused is not None  # 1 per 0.25 s for adding and removing together
    # An edit in the same channel is a bucket of its own.
    edit = rl.check(
        EDITS, {"channel_id": "1", "message_id": "5"}, interaction=False, authenticated=True
    )
    assert (
        edit.refused is None
        and edit.headers["X-RateLimit-Bucket"] != shared.headers["X-RateLimit-Bucket"]
    )


def test_the_global_limit_spares_interaction_endpoints() -> None:
    clock = ManualMonotonic(0.0)
    rl = limits(clock, global_per_second=3)
    assert [check(rl, channel_id=str(i)).refused for i in range(3)] == [None] * 3
    refused = check(rl, channel_id="9")
    assert refused.refused == {
        "message": "You are being rate limited.",
        "retry_after": 1.0,
        "global": True,
    }
    assert refused.headers == {
        "Retry-After": "1",
        "X-RateLimit-Global": "true",
        "X-RateLimit-Scope": "global",
        "Via": "1.1 google",
    }
    callback = "POST /interactions/{webhook_id}/{webhook_token}/callback"
    spared = check(rl, callback, interaction=True, webhook_id="7", webhook_token="t")
    assert spared.refused is None and spared.headers["X-RateLimit-Limit"] == "50"
    clock.advance(1)
    assert check(rl, channel_id="9").refused is None


def test_relaxed_limits_keep_the_headers_and_never_refuse() -> None:
    rl = RateLimits.relaxed(monotonic=ManualMonotonic(0.0))
    seen = [check(rl) for _ in range(1000)]
    assert all(v.refused is None for v in seen)
    assert seen[-1].headers["X-RateLimit-Limit"] == "1000000"
    assert "global 1000000/s" in rl.describe()


# -- over HTTP --------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[tuple[Emulator, int]]:
    clock = ManualMonotonic(0.0)
    emulator = Emulator(monotonic=ManualMonotonic(), rate_limits=limits(clock))
    office = build_office(emulator)
    await emulator.start()
    try:
        yield emulator, office.channels["general"].id
    finally:
        await emulator.stop()


async def test_every_answer_carries_the_headers_and_a_refused_post_is_not_made(
    emulator: tuple[Emulator, int],
) -> None:
    emulator, channel_id = emulator
    auth = {"Authorization": f"Bot {emulator.token}"}
    url = f"{emulator.api_base}/channels/{channel_id}/messages"
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.get(f"{emulator.api_base}/users/@me") as response:
            assert response.status == 200 and set(HEADERS) <= set(response.headers)
        async with session.get(f"{emulator.api_base}/channels/1") as response:
            assert response.status == 404 and set(HEADERS) <= set(response.headers)
        statuses = []
        for index in range(6):
            async with session.post(url, json={"content": f"m{index}"}) as response:
                statuses.append(response.status)
                last = response
                body = await response.json()
        assert statuses == [200] * 5 + [429]
        assert last.headers["Content-Type"] == "application/json"
        assert last.headers["Retry-After"] == "5" and last.headers["X-RateLimit-Scope"] == "user"
        assert body["global"] is False and body["retry_after"] == 5.0
    posted = [m.content for m in emulator.world.messages.values() if m.channel_id == channel_id]
    assert posted == [f"m{index}" for index in range(5)]
    # A 429 is a rejection the harness reports, like the 404.
    assert [(p.status, p.route) for p in emulator.problems()] == [
        (404, "GET /channels/{channel_id}"),
        (429, MESSAGES),
    ]


# -- the bot under tight limits ----------------------------------------------------------------
@pytest.mark.sandbox(
    rate_limits=RateLimits(
        routes={MESSAGES: Limit(2, 0.3, "channel-messages-post")},
        default=Limit(1000, 1.0),
        global_per_second=1000,
    )
)
async def test_the_bot_reads_the_headers_and_never_runs_into_a_route_limit(
    sandbox: Sandbox,
) -> None:
    limiter = sandbox.emulator.rate_limits
    limiter.reset()
    channel = sandbox.bot.get_channel(sandbox.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    started = time.monotonic()
    await sandbox.run(asyncio.gather(*(channel.send(f"m{i}") for i in range(7))))
    elapsed = time.monotonic() - started
    assert sorted(m.content for m in sandbox.messages("general")[-7:]) == [
        f"m{i}" for i in range(7)
    ]
    # 7 posts at 2 per 0.3 s: at least 3 windows waited, and never a 429 (run() fails on one).
    assert elapsed >= 0.85 and limiter.refused == 0
    posts = sandbox.emulator.requests_to(MESSAGES)
    assert [r.status for r in posts[-7:]] == [200] * 7


@pytest.mark.sandbox(rate_limits=RateLimits(routes={}, default=Limit(1000, 1.0)))
async def test_the_bot_recovers_from_global_429s_without_losing_a_message(
    sandbox: Sandbox,
) -> None:
    # Tight once the bot is up (discord.py gives up at once on a 429 for GET /gateway/bot).
    limiter = sandbox.emulator.rate_limits
    limiter.global_per_second, limiter.global_window = 3, 0.2
    limiter.reset()
    names = ("general", "approvals", "tasks")
    channels = [sandbox.bot.get_channel(sandbox.channel(name).id) for name in names]
    sends = [
        c.send(f"{name} {i}")
        for name, c in zip(names, channels, strict=True)
        if isinstance(c, discord.TextChannel)
        for i in range(3)
    ]
    with sandbox.expect_errors() as caught:
        await sandbox.run(asyncio.gather(*sends))
    # Only global 429s were answered (no header announces that limit), and each was retried.
    assert caught.requests and {r.status for r in caught.requests} == {429}
    assert not caught.logs and limiter.refused == len(caught.requests)
    for name in names:
        texts = sorted(m.content for m in sandbox.messages(name) if m.content.startswith(name))
        assert texts == [f"{name} {i}" for i in range(3)]

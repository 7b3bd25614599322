"""What the bot's metrics hooks cost per call, measured alone: the complement of
``bench_interactions.py --metrics-rounds``, whose on/off ratio of a whole bot's CPU moves by
several points with the load of a shared machine.

    .venv/bin/python bench/bench_metrics_hooks.py [--repeat 7] [--bot-cpu-ms 1.0]
        [--requests 1.25] [--writes 1.0]

Each figure is the fastest of ``--repeat`` runs (the one least disturbed by other processes),
with the hook and without it, in this process, on its own event loop:

- the INTERACTION_CREATE wrapper (concord/monitoring.py): a parse that makes a handler task
  and an ``on_interaction`` listener task, as discord.py's does, half slash commands and half
  buttons, until both tasks are done; with the wrapper, the interaction is labelled, followed
  and counted with its answer latency;
- the REST middleware, through aiohttp's own ``build_client_middlewares`` as each request does,
  on a third each of channel paths (cached templates), interaction callbacks and webhook
  followups (a fresh token each), every one acknowledging its interaction;
- the database observer calls of one write (queue wait, transaction, group commit).

The sum per interaction uses ``--requests`` REST requests and ``--writes`` writes per
interaction (the mixed workload of bench_interactions.py made 1.23 requests an interaction in
a profile of 2,000), and is also given as a share of ``--bot-cpu-ms``, the bot's CPU per
interaction with metrics off (bench_interactions.py prints it). Not measured here: what the
hooks cost the rest of the process (garbage collection, caches), which only the whole-bot
comparison sees.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import benchlib
import discord
from aiohttp.client_middlewares import build_client_middlewares
from yarl import URL

from concord.metrics import BotMetrics
from concord.monitoring import BotMonitoring, rest_middleware
from concord.telemetry import current_interaction

TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWg"
PAYLOADS: list[dict[str, Any]] = [
    {
        "type": 2,
        "guild_id": "1",
        "data": {"name": "task", "type": 1, "options": [{"type": 1, "name": "create"}]},
    },
    {"type": 3, "data": {"custom_id": "task:start:12", "component_type": 2}},
]


class _Tree:
    def get_command(self, name: str, **_: Any) -> Any:
        return types.SimpleNamespace(name=name)


def _wrapped(original: Callable[[Any], None]) -> Callable[[Any], None]:
    """``original`` behind the bot's INTERACTION_CREATE wrapper."""
    parsers = {"INTERACTION_CREATE": original}
    bot = types.SimpleNamespace(tree=_Tree(), _connection=types.SimpleNamespace(parsers=parsers))
    monitoring = BotMonitoring.__new__(BotMonitoring)
    monitoring.bot, monitoring.metrics = bot, BotMetrics()  # pyright: ignore
    monitoring._wrap_interaction_parser()
    return parsers["INTERACTION_CREATE"]


async def interactions(count: int, hooked: bool) -> float:
    """CPU seconds per interaction parsed and handled."""
    loop = asyncio.get_running_loop()
    client = types.SimpleNamespace()

    async def on_interaction(_interaction: Any) -> None:
        pass

    async def handler() -> None:
        await asyncio.sleep(0)

    tasks: list[asyncio.Task[None]] = []

    def parse(_data: Any) -> None:
        tasks.append(loop.create_task(handler(), name="CommandTree-invoker"))
        listener = discord.Client._run_event(client, on_interaction, "on_interaction", None)  # pyright: ignore
        tasks.append(loop.create_task(listener, name="discord.py: on_interaction"))

    run = _wrapped(parse) if hooked else parse
    started = time.process_time()
    for index in range(count):
        run(PAYLOADS[index & 1])
        for _ in range(3):  # the handler's two steps and the listener's one
            await asyncio.sleep(0)
        tasks.clear()
    return (time.process_time() - started) / count


async def requests(count: int, hooked: bool) -> float:
    """CPU seconds per REST request (the hook's part; the request itself is a stub)."""
    response = types.SimpleNamespace(status=200)

    async def send(_request: Any) -> Any:
        return response

    middlewares = (rest_middleware(BotMetrics()),)
    base = "http://127.0.0.1:5000/api/v10"
    paths = [
        f"{base}/channels/123456789012345678/messages",
        f"{base}/interactions/{{}}/{TOKEN}{{}}/callback",
        f"{base}/webhooks/987654321098765432/{TOKEN}{{}}/messages/@original",
    ]
    urls = [paths[i % 3].format(10**17 + i, i) for i in range(count)]
    state = BotMetrics().interaction_received("command", "task create")
    token = current_interaction.set(state)
    started = time.process_time()
    for url in urls:
        state.acked = False  # each callback acknowledges an interaction
        request = types.SimpleNamespace(method="POST", url=URL(url))
        handler = build_client_middlewares(send, middlewares) if hooked else send
        await handler(request)
    elapsed = time.process_time() - started
    current_interaction.reset(token)
    return elapsed / count


def writes(count: int) -> float:
    """CPU seconds of the observer calls of one write, with the clock reads they need."""
    metrics = BotMetrics()
    started = time.process_time()
    for _ in range(count):
        began = time.monotonic()
        metrics.write_waited(0.0004)
        metrics.transaction_ran(time.monotonic() - began)
        metrics.group_committed(1, time.monotonic() - began)
    return (time.process_time() - started) / count


async def measure(repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(repeat):
        keep("interaction_off", await interactions(5000, False))
        keep("interaction_on", await interactions(5000, True))
        keep("request_off", await requests(20000, False))
        keep("request_on", await requests(20000, True))
        keep("write", writes(50000))
    return {name: seconds * 1e6 for name, seconds in best.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--bot-cpu-ms", type=float, default=1.0, help="metrics off, each")
    parser.add_argument("--requests", type=float, default=1.25, help="per interaction")
    parser.add_argument("--writes", type=float, default=1.0, help="per interaction")
    args = parser.parse_args(argv)
    benchlib.header("Metrics hooks: CPU per call, the fastest of each, without the rest of a bot")
    us = asyncio.run(measure(args.repeat))
    parts = {
        "interaction": us["interaction_on"] - us["interaction_off"],
        "request": us["request_on"] - us["request_off"],
        "write": us["write"],
    }
    each = parts["interaction"] + args.requests * parts["request"] + args.writes * parts["write"]
    share = each / (args.bot_cpu_ms * 1000)
    print(
        benchlib.table(
            ["hook", "us per call", "calls per interaction", "us per interaction"],
            [
                [name, round(parts[key], 2), count, round(count * parts[key], 2)]
                for name, key, count in (
                    ("INTERACTION_CREATE wrapper", "interaction", 1.0),
                    ("REST middleware", "request", args.requests),
                    ("database observer (a write)", "write", args.writes),
                )
            ],
        )
    )
    print(
        f"all of them, the hooks' own CPU per interaction: {each:.1f} us, x{1 + share:.4f} of "
        f"{args.bot_cpu_ms} ms (the bot's CPU per interaction with metrics off)"
    )
    benchlib.emit(
        "metrics_hooks",
        {
            "us": {name: round(value, 3) for name, value in us.items()},
            "us_per_call": {name: round(value, 3) for name, value in parts.items()},
            "us_per_interaction": round(each, 2),
            "share_of_bot_cpu": round(share, 4),
            "bot_cpu_ms": args.bot_cpu_ms,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The bot side of the benchmarks: the real ConcordBot in a process of its own, connected to an
emulator running in another (the benchmark's) process, as it would be to Discord.

Then the figures of the bot's process — time to ready, memory, CPU — are its own and not the
emulator's, and the bot has a core to itself as it would in production.

    python bench/botproc.py --api-base URL --gateway-url URL --token T --db PATH
                            [--configure] [--ping] [--metrics] [--guild-ready-timeout S]

It speaks JSON lines on stdout: ``{"event": "ready", ...}`` once discord.py's ``on_ready`` has
run (with the seconds from opening the database to ready, and VmRSS then); after ``stop`` (or
end of input) on stdin it closes the bot and prints ``{"event": "stopped", ...}`` with every
ERROR the bot logged, its CPU seconds and peak memory; ``cpu`` asks for the CPU seconds so
far (``{"event": "cpu", ...}``); with ``--metrics``, ``hooks on`` / ``hooks off`` switch the
per-interaction metrics work (``{"event": "hooks", ...}``). :class:`BotProcess` runs it from the
benchmark's side. With ``CONCORD_BENCH_PROFILE=PATH`` the process runs under cProfile and
writes ``PATH.metrics.prof`` or ``PATH.plain.prof``; with ``--metrics`` also its state at each
hooks switch, ``PATH.metrics.N.prof``, so that one run's profile is the difference of two
files (hooks off: ``.1`` less ``.0``; hooks on: the final file less ``.1``, with
``--metrics-rounds 1 --metrics-segment 2000``: one switch each way). With
``CONCORD_BENCH_WRAP`` (a command line), the process runs under it, e.g.
``valgrind --tool=callgrind --instr-atstart=no`` for instruction counts per interaction, which
the machine's load does not move (``callgrind_control -i on|off``, ``-z``, ``-d`` around a run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib

LAUNCHED = time.perf_counter()  # before the heavy imports below (discord.py, the cogs)
SCRIPT = str(Path(__file__).resolve())


@dataclass
class BotProcess:
    """The benchmark's handle on a bot process (see the module docstring)."""

    process: asyncio.subprocess.Process
    launched: float
    ready: dict[str, Any] = field(default_factory=dict)
    stopped: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def start(
        cls,
        *,
        api_base: str,
        gateway_url: str,
        token: str,
        db: Path,
        configure: bool = False,
        ping: bool = False,
        metrics: bool = False,
        guild_ready_timeout: float | None = None,
        bytecode_cache: Path | None = None,
        wait: float = 60.0,
    ) -> BotProcess:
        """Launch and wait (up to ``wait`` s) until ready, and prepared if asked. With
        ``bytecode_cache``, the process caches compiled modules there (PYTHONPYCACHEPREFIX)
        even where PYTHONDONTWRITEBYTECODE is set, so a restart loads bytecode as an
        installed bot does instead of compiling every module again."""
        command = [
            sys.executable,
            SCRIPT,
            "--api-base",
            api_base,
            "--gateway-url",
            gateway_url,
            "--token",
            token,
            "--db",
            str(db),
        ]
        if configure:
            command.append("--configure")
        if ping:
            command.append("--ping")
        if metrics:
            command.append("--metrics")
        if guild_ready_timeout is not None:
            command += ["--guild-ready-timeout", str(guild_ready_timeout)]
        env = dict(os.environ)
        if bytecode_cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
        launched = time.perf_counter()
        wrap = os.environ.get("CONCORD_BENCH_WRAP")
        if wrap:  # e.g. valgrind: many times slower to start
            command = wrap.split() + command
            wait *= 10
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )
        bot = cls(process, launched)
        try:
            bot.ready = await asyncio.wait_for(bot._event("ready"), wait)
            bot.ready["launch_to_ready_s"] = time.perf_counter() - launched
            if configure or ping:
                await asyncio.wait_for(bot._event("prepared"), wait)
        except BaseException:
            await bot.kill()
            raise
        return bot

    async def _event(self, name: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                code = await self.process.wait()
                raise RuntimeError(f"the bot process ended (exit code {code}) before '{name}'")
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing something)
            if isinstance(event, dict) and event.get("event") == name:
                return event

    async def cpu_seconds(self) -> float:
        """The bot process's CPU time so far (user + system)."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"cpu\n")
        await self.process.stdin.drain()
        return float((await self._event("cpu"))["cpu_s"])

    async def hooks(self, on: bool) -> None:
        """With ``--metrics``: switch the per-interaction metrics work on or off."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"hooks on\n" if on else b"hooks off\n")
        await self.process.stdin.drain()
        await self._event("hooks")

    async def stop(self, wait: float = 30.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        self.process.stdin.close()
        self.stopped = await asyncio.wait_for(self._event("stopped"), wait)
        await asyncio.wait_for(self.process.wait(), wait)
        return self.stopped

    async def kill(self) -> None:
        """Whatever state it is in (a benchmark failing half way): make sure it is gone."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


# -- the bot process ---------------------------------------------------------------------------
class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            line += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.lines.append(line)


class _MetricsHooks:
    """Switches off and on, in the running bot, everything metrics do per interaction: the
    INTERACTION_CREATE parser wrapper, the REST middleware, the database observer. The same
    process then measures both, without the noise of two processes (the benchmark's
    ``--metrics-rounds``)."""

    def __init__(self, bot: Any) -> None:
        state = bot._connection
        self.parsers = state.parsers
        self.wrapped = self.parsers["INTERACTION_CREATE"]
        self.original = state.parse_interaction_create
        self.session = bot.http._HTTPClient__session
        self.middlewares = self.session._middlewares
        self.db = bot.db
        self.observer = bot.db.observer

    def switch(self, on: bool) -> None:
        self.parsers["INTERACTION_CREATE"] = self.wrapped if on else self.original
        self.session._middlewares = self.middlewares if on else ()
        self.db.observer = self.observer if on else None


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _say(event: str, **values: Any) -> None:
    print(json.dumps({"event": event, **values}), flush=True)


async def _configure(bot: Any) -> None:
    """The usual office setup, as ``Sandbox.configure_office`` writes it."""
    guild = bot.guilds[0]
    roles = {r.name: r.id for r in guild.roles}
    channels = {c.name: c.id for c in guild.text_channels}
    await bot.guild_settings.update(
        guild.id,
        guild.owner_id,
        {
            "manager_role_id": roles["Manager"],
            "staff_role_id": roles["Staff"],
            "approvals_channel_id": channels["approvals"],
            "reports_channel_id": channels["reports"],
            "tasks_channel_id": channels["tasks"],
            "timezone": "Europe/London",
        },
    )


async def _serve(args: argparse.Namespace) -> int:
    import discord
    from discord import app_commands
    from discord.ext import commands

    from concord.bot import ConcordBot, apply_endpoints
    from concord.clock import ManualClock
    from concord.config import Settings
    from concord.db.database import Database

    class Ping(commands.Cog):
        """The benchmarks' baseline command: the cheapest answer a bot can give."""

        @app_commands.command(name="ping", description="Answer at once (benchmark baseline)")
        async def ping(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

    errors = _Errors()
    logging.basicConfig(level=logging.ERROR)  # the counted errors; no voice warnings
    logging.getLogger().addHandler(errors)
    imported = time.perf_counter()
    settings = Settings(
        discord_token=args.token,
        db_path=Path(args.db),
        health_file=Path(args.db).with_suffix(".health.json"),
        api_base=args.api_base,
        gateway_url=args.gateway_url,
        # Prometheus /metrics on a free loopback port (the port is in the "ready" event).
        metrics_addr=("127.0.0.1", 0) if args.metrics else None,
    )
    apply_endpoints(settings)
    started = time.perf_counter()
    db = await Database.open(settings.db_path)
    options: dict[str, Any] = {"scheduler_seconds": None}
    if args.guild_ready_timeout is not None:
        options["guild_ready_timeout"] = args.guild_ready_timeout
    opened = time.perf_counter()
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # the sandbox's start
    # As the bot process runs it (concord/runner.py), collector tuned once ready.
    bot = ConcordBot(settings, db, clock=clock, tune_gc=True, **options)
    try:
        await bot.login(args.token)  # also runs setup_hook: the cogs, the command sync
        logged_in = time.perf_counter()
        connect = asyncio.create_task(bot.connect())
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, connect}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            connect.result()
            raise RuntimeError("the bot stopped before it was ready")
        ready_at = time.perf_counter()
        guild = bot.guilds[0] if bot.guilds else None
        _say(
            "ready",
            imports_s=imported - LAUNCHED,
            open_to_ready_s=ready_at - started,
            phases_s={
                "database": opened - started,
                "login_and_setup": logged_in - opened,
                "gateway_to_ready": ready_at - logged_in,
            },
            rss_mb=benchlib.rss_mb(),
            guilds=len(bot.guilds),
            members_cached=len(guild.members) if guild else 0,
            member_count=guild.member_count if guild else 0,
            chunked=guild.chunked if guild else False,
            metrics_port=(
                bot.monitoring.server.port
                if bot.monitoring is not None and bot.monitoring.server is not None
                else None
            ),
        )
        if args.ping:
            await bot.add_cog(Ping())
            await bot.sync_commands(force=True)
        if args.configure:
            await _configure(bot)
        if args.ping or args.configure:
            _say("prepared")
        loop = asyncio.get_running_loop()
        hooks = _MetricsHooks(bot) if args.metrics else None
        while True:  # "cpu" asks for the CPU seconds so far; "stop" or end of input stops
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line in ("hooks on", "hooks off") and hooks is not None:
                _profile_so_far()
                hooks.switch(line == "hooks on")
                _say("hooks", on=line == "hooks on")
                continue
            if line != "cpu":
                break
            _say("cpu", cpu_s=_cpu_seconds())
    finally:
        await bot.close()
        await db.close()
    _say(
        "stopped",
        errors=errors.lines,
        cpu_s=_cpu_seconds(),
        peak_rss_mb=benchlib.peak_rss_mb(),
        pid=os.getpid(),
    )
    return 0


_profiler: Any = None  # cProfile.Profile under CONCORD_BENCH_PROFILE
_profile_path: str = ""
_profile_dumps: int = 0


def _profile_so_far() -> None:
    """Under a profile, its state at each hooks switch (``PATH.metrics.N.prof``, cumulative):
    the difference of two consecutive files is one run, hooks on or off."""
    global _profile_dumps
    if _profiler is None:
        return
    _profiler.dump_stats(f"{_profile_path}.metrics.{_profile_dumps}.prof")
    _profiler.enable()
    _profile_dumps += 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--configure", action="store_true", help="the usual office settings")
    parser.add_argument("--ping", action="store_true", help="add the /ping baseline command")
    parser.add_argument("--metrics", action="store_true", help="serve /metrics (loopback)")
    parser.add_argument("--guild-ready-timeout", type=float, default=None)
    args = parser.parse_args(argv)
    profile = os.environ.get("CONCORD_BENCH_PROFILE")
    if profile:  # where the bot's CPU goes: python -m pstats <file>
        import cProfile

        global _profiler, _profile_path
        profiler = _profiler = cProfile.Profile()
        _profile_path = profile
        try:
            return profiler.runcall(asyncio.run, _serve(args))
        finally:
            profiler.dump_stats(f"{profile}.{'metrics' if args.metrics else 'plain'}.prof")
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

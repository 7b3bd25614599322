"""The bot's side of monitoring: feeds :class:`concord.metrics.BotMetrics` from discord.py,
serves ``/metrics``, writes CloudWatch EMF lines, and raises the bot's own alerts.

Hooks, public or documented by discord.py and aiohttp except where said (the REST middleware):
- REST requests and their statuses through an aiohttp client middleware on the session
  discord.py makes at login (or, with an aiohttp older than 3.12, the ``TraceConfig`` the
  client accepts as ``http_trace``): every attempt, so 429s and retries show, and interaction
  callbacks are matched to the interaction whose task sent them
  (:data:`concord.telemetry.current_interaction`).
- Interactions through the client's INTERACTION_CREATE parser: it records the arrival, sets
  the context variable while discord.py creates the handler tasks, and counts the interaction
  in the last step of the last of them (their coroutines wrapped by a task factory).
- Gateway connects, disconnects and resumes through the client's events.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from concord.alerts import Alerter, webhook_sender
from concord.core.settings import GuildConfig
from concord.metrics import BotMetrics, EmfWriter, MetricsServer
from concord.telemetry import InteractionState, component_label, current_interaction

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
emf_log = logging.getLogger("concord.metrics.emf")

EMF_SECONDS = 60.0
WATCH_SECONDS = 60.0
# Alert when a transaction waited this long for the writer (the 5 s).
WRITER_WAIT_ALERT = 5.0
# Alert when the last good backup is older than this (the 36 h: one missed night).
BACKUP_STALE_AFTER = timedelta(hours=36)
_CALLBACK_SUFFIX = "/callback"
MAX_FAILED_REMEMBERED = 1000


# Commands found by (name, type, guild id): the tree is searched once per command, not once per
# interaction. Only hits are kept (a command added later is found then); removing a command
# leaves its name here, which is the name members sent anyway. Bounded like route templates.
CommandCache = dict[tuple[str, Any, Any], str]
_COMMAND_CACHE_SIZE = 1024


def interaction_label(
    bot: ConcordBot, data: dict[str, Any], known: CommandCache | None = None
) -> tuple[str, str]:
    """(kind, name) for an INTERACTION_CREATE payload; names are bounded (known commands,
    custom id prefixes) so a forged payload cannot mint new series."""
    kind_code = data.get("type")
    body = data.get("data") or {}
    if kind_code in (2, 4):
        kind = "command" if kind_code == 2 else "autocomplete"
        return kind, _command_name(bot, body, data.get("guild_id"), {} if known is None else known)
    if kind_code == 3:
        return "component", component_label(str(body.get("custom_id", "")))
    if kind_code == 5:
        return "modal", component_label(str(body.get("custom_id", "")))
    return "other", "other"


def _command_name(bot: ConcordBot, body: dict[str, Any], guild_id: Any, known: CommandCache) -> str:
    root = str(body.get("name", ""))
    key = (root, body.get("type", 1), guild_id)
    name = known.get(key)
    if name is None:
        found = _find_command(bot, root, int(body.get("type", 1)), guild_id)
        if found is None:
            return "unknown"
        if len(known) >= _COMMAND_CACHE_SIZE:
            known.clear()
        name = known[key] = found
    parts = [name]
    options = body.get("options") or []
    while options and options[0].get("type") in (1, 2):  # subcommand (group)
        parts.append(str(options[0].get("name", ""))[:32])
        options = options[0].get("options") or []
    return " ".join(parts)


def _find_command(bot: ConcordBot, root: str, type_code: int, guild_id: Any) -> str | None:
    command_type = discord.AppCommandType(type_code)
    command = bot.tree.get_command(root, type=command_type)
    if command is None and guild_id is not None:
        command = bot.tree.get_command(root, guild=discord.Object(int(guild_id)), type=command_type)
    return None if command is None else command.name


# aiohttp's client middlewares (3.12+) see every request attempt for a few microseconds; a
# TraceConfig (discord.py's public ``http_trace``) costs ~20 us a request even when empty, which
# alone was 5-10 % of the bot's CPU per interaction. The trace is the fallback.
MIDDLEWARES_SUPPORTED: bool = hasattr(aiohttp, "ClientMiddlewareType")

# The code of the coroutine discord.py runs each event listener in (``Client._run_event``): the
# tasks made of it while an interaction is parsed are listeners, not its handlers.
_RUN_EVENT_CODE: Any = getattr(getattr(discord.Client, "_run_event", None), "__code__", None)


class _RestCounter:
    """Counts each REST attempt by route and status, and acknowledges interactions.

    A request answered 429 or 5xx, which discord.py sends again from the same task, is
    remembered: the next attempt of the same request is a retry."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics
        self.failed_before: set[tuple[int, str, str]] = set()

    def response(self, method: str, url: Any, status: int) -> None:
        failed = status == 429 or status >= 500
        retry = False
        if failed or self.failed_before:
            this = (id(asyncio.current_task()), method, str(url))
            retry = this in self.failed_before
            self.failed_before.discard(this)
            if failed:
                if len(self.failed_before) > MAX_FAILED_REMEMBERED:  # never retried
                    self.failed_before.clear()
                self.failed_before.add(this)
        path = url.raw_path  # not .path: no percent-decoding (a template has no escapes)
        self.metrics.request_done(method, path, status, retry)
        if status < 400 and path.endswith(_CALLBACK_SUFFIX):
            state = current_interaction.get(None)
            if state is not None:
                self.metrics.interaction_acked(state)

    def failure(self, method: str, url: Any) -> None:
        self.metrics.request_done(method, url.raw_path, 0, False)


def rest_middleware(metrics: BotMetrics) -> Callable[..., Any]:
    """An aiohttp client middleware feeding :class:`_RestCounter`."""
    counter = _RestCounter(metrics)

    async def count_request(request: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            response = await handler(request)
        except Exception:
            counter.failure(request.method, request.url)
            raise
        if response.status != 101:  # the gateway's websocket upgrade is not REST
            counter.response(request.method, request.url, response.status)
        return response

    return count_request


def install_rest_middleware(bot: ConcordBot, metrics: BotMetrics) -> bool:
    """Add :func:`rest_middleware` to the aiohttp session discord.py made at login (the one its
    REST calls, interaction callbacks and webhooks all use; discord.py's own Interaction reads
    it the same way). False when this aiohttp or discord.py does not allow it."""
    session = getattr(bot.http, "_HTTPClient__session", None)
    if not isinstance(session, aiohttp.ClientSession):
        return False
    current = getattr(session, "_middlewares", None)
    if not isinstance(current, tuple | list):
        return False
    session._middlewares = (*current, rest_middleware(metrics))  # pyright: ignore
    return True


def http_trace(metrics: BotMetrics) -> aiohttp.TraceConfig:
    """The fallback where aiohttp has no client middlewares: the same counts from a trace."""
    trace = aiohttp.TraceConfig()
    counter = _RestCounter(metrics)

    async def on_end(_session: Any, _ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status != 101:
            counter.response(params.method, params.url, params.response.status)

    async def on_error(
        _session: Any, _ctx: Any, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        counter.failure(params.method, params.url)

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace


class BotMonitoring:
    """Metrics, EMF and alerts of one bot; built by :class:`ConcordBot` when any is set."""

    def __init__(self, bot: ConcordBot, metrics: BotMetrics) -> None:
        self.bot = bot
        self.metrics = metrics
        self.server: MetricsServer | None = None
        self.alerter: Alerter | None = None
        url = bot.settings.alert_webhook_url
        if url:
            self.alerter = Alerter(webhook_sender(url), source=f"Concord Desk bot ({bot.commit})")
        self._tasks: list[asyncio.Task[None]] = []

    # -- start / stop ---------------------------------------------------------------------------
    def attach(self) -> None:
        """Wire the hooks; called from ``setup_hook`` (before the gateway connects)."""
        bot, metrics = self.bot, self.metrics
        bot.db.observer = metrics
        bot.job_ledger.on_claim = metrics.notification_sent
        bot.scheduler.observer = self
        metrics.write_queue.set_function(lambda: bot.db.write_queue_depth)
        metrics.gateway_latency.set_function(
            lambda: bot.latency if math.isfinite(bot.latency) else 0.0
        )
        metrics.guilds.set_function(lambda: len(bot.guilds))
        metrics.members.set_function(lambda: sum(g.member_count or 0 for g in bot.guilds))
        for event in ("connect", "disconnect", "resumed"):
            counter = metrics.gateway_events.labels(event)
            bot.add_listener(_counting(counter.inc), f"on_{event}")
        self._wrap_interaction_parser()
        if MIDDLEWARES_SUPPORTED and not install_rest_middleware(bot, metrics):
            log.warning(
                "Discord REST requests are not counted: discord.py's session is not reachable"
            )
        addr = bot.settings.metrics_addr
        if addr is not None:
            self.server = MetricsServer(metrics.registry, *addr)
            log.info("metrics on http://%s:%d/metrics", addr[0], self.server.port)
        if bot.settings.metrics_emf:
            self._tasks.append(asyncio.create_task(self._emf_loop(), name="concord-emf"))
        if self.alerter is not None or bot.backup_targets is not None:
            self._tasks.append(asyncio.create_task(self._watch_loop(), name="concord-watch"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.server is not None:
            await asyncio.to_thread(self.server.close)
            self.server = None

    # -- interactions ---------------------------------------------------------------------------
    def _wrap_interaction_parser(self) -> None:
        parsers = self.bot._connection.parsers
        original: Callable[[Any], None] = parsers["INTERACTION_CREATE"]
        bot, metrics = self.bot, self.metrics
        loop = asyncio.get_running_loop()
        known_commands: CommandCache = {}
        # While discord.py parses one interaction, a task factory (set for that call only)
        # catches the tasks it creates and wraps each handler's coroutine so that the
        # interaction is counted when the last one ends, inside that task's last step. A done
        # callback would cost the event loop one more pass per interaction (~1 % of the bot's
        # CPU per interaction). Event listeners (discord.py's ``_run_event``, e.g. the bot's
        # on_interaction) are not waited for.
        receiving: InteractionState | None = None
        outer: Callable[..., Any] | None = None

        async def counted(coro: Coroutine[Any, Any, Any], state: InteractionState) -> Any:
            try:
                return await coro
            finally:
                state.pending_tasks -= 1
                if state.pending_tasks == 0:
                    metrics.interaction_finished(state)

        def catch(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            if receiving is not None and getattr(coro, "cr_code", None) is not _RUN_EVENT_CODE:
                receiving.pending_tasks += 1
                coro = counted(coro, receiving)
            if outer is not None:  # someone else's factory: ours wraps it
                return outer(loop, coro, **kwargs)
            return asyncio.Task(coro, loop=loop, **kwargs)

        def parse_interaction_create(data: Any) -> None:
            nonlocal receiving, outer
            state = metrics.interaction_received(*interaction_label(bot, data, known_commands))
            outer = loop.get_task_factory()
            receiving = state
            loop.set_task_factory(catch)
            token = current_interaction.set(state)
            try:
                original(data)
            finally:
                current_interaction.reset(token)
                loop.set_task_factory(outer)
                receiving = outer = None
            if state.pending_tasks == 0:  # nothing handles it (a stale button, an unknown form)
                metrics.interaction_finished(state)

        parsers["INTERACTION_CREATE"] = parse_interaction_create

    # -- scheduler (SchedulerObserver) -------------------------------------------------------------
    def pass_took(self, seconds: float) -> None:
        self.metrics.pass_took(seconds)

    def job_ran(self, job: str, outcome: str) -> None:
        self.metrics.job_ran(job, outcome)

    async def job_result(
        self, config: GuildConfig, job: str, local_date: date, error: str | None, final: bool
    ) -> None:
        if self.alerter is None:
            return
        kind = f"job_failed:{job}:{config.guild_id}"
        now = self.bot.clock.now()
        if error is None:
            await asyncio.to_thread(
                self.alerter.resolve, kind, f"`{job}` ran for {local_date:%a %d %b}.", now
            )
        elif final:
            # Only the exception's type: its message may quote what a member typed.
            cause = error.split(":", 1)[0]
            await asyncio.to_thread(
                self.alerter.fire,
                kind,
                f"Daily job {job} failed",
                f"`{job}` failed for {local_date:%a %d %b} in server {config.guild_id} after "
                f"every retry ({cause}). The log has the traceback.",
                now,
            )

    # -- periodic ------------------------------------------------------------------------------
    async def _emf_loop(self) -> None:
        writer = EmfWriter(self.metrics.registry)
        while True:
            await asyncio.sleep(EMF_SECONDS)
            self.write_emf(writer)

    def write_emf(self, writer: EmfWriter) -> int:
        documents = writer.documents(int(time.time() * 1000))
        for document in documents:
            emf_log.info("metrics", extra={"emf": document})
        return len(documents)

    async def _watch_loop(self) -> None:
        while True:
            try:
                if self.bot.backup_targets is not None:
                    await self.check_backups()
                if self.alerter is not None:
                    await self.check_writer()
            except Exception:
                log.exception("a monitoring check failed")
            await asyncio.sleep(WATCH_SECONDS)

    async def check_backups(self) -> None:
        """Export when the last good backup was taken (``job_runs``, as ``/concord status``
        reads it) and alert when it is older than 36 h, or none succeeded in the 36 h since
        the bot started."""
        good, failure = await self.bot.job_ledger.last_outcomes("backup")
        if good is not None:
            self.metrics.last_backup = good.timestamp()
        if self.alerter is None:
            return
        now = self.bot.clock.now()
        age = now - (good or self.bot.started_at)
        if age <= BACKUP_STALE_AFTER:
            if good is not None:
                await asyncio.to_thread(
                    self.alerter.resolve,
                    "backup_stale",
                    f"A good backup was taken at {_utc(good)}.",
                    now,
                )
            return
        hours = int(age.total_seconds() // 3600)
        if good is not None:
            detail = f"The last good backup was taken at {_utc(good)}, {hours} h ago"
        else:
            detail = f"No backup has succeeded in the {hours} h since the bot started"
        if failure is not None:
            # Only the exception's type: the rest is for the log and `/concord status`.
            cause = failure[1].split(":", 1)[0]
            detail += f"; the last attempt failed at {_utc(failure[0])} ({cause})"
        await asyncio.to_thread(
            self.alerter.fire,
            "backup_stale",
            "Backups are stale",
            f"{detail}. `/concord status` and the bot's log say why.",
            now,
        )

    async def check_writer(self) -> None:
        """Alert when a transaction waited over 5 s for the writer since the last check."""
        assert self.alerter is not None
        longest = self.metrics.writer_waits.take()
        now = self.bot.clock.now()
        if longest > WRITER_WAIT_ALERT:
            await asyncio.to_thread(
                self.alerter.fire,
                "writer_queue",
                "Database writes are waiting",
                f"A write waited {longest:.1f} s for the database writer (over "
                f"{WRITER_WAIT_ALERT:.0f} s): commands that save are slow. Check the disk.",
                now,
            )
        else:
            await asyncio.to_thread(
                self.alerter.resolve,
                "writer_queue",
                f"The longest write wait in the last minute was {longest:.2f} s.",
                now,
            )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _counting(increment: Callable[[], None]) -> Callable[..., Any]:
    async def listener(*_args: Any) -> None:
        increment()

    return listener

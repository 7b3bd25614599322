"""ConcordBot: loads the cogs, syncs commands only when they changed, handles every app-command
error in one place, and writes the health heartbeat the deployer waits for."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import secrets
import traceback
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord import app_commands, gateway, http
from discord.ext import commands

from concord import __version__
from concord.clock import Clock
from concord.cogs.common import INTERACTION_GONE, MAYBE_LATE, safe_reply
from concord.cogs.modkit import Module, builtin_modules, install, module_at
from concord.config import Settings
from concord.db.backups import BackupError, BackupTargets, take_backup
from concord.db.database import Database, DatabaseUnavailable
from concord.db.guilds import GuildSettings
from concord.db.jobs import JobLedger, ShardFilter
from concord.errors import UserError
from concord.health import git_commit, iso, write_json_atomic
from concord.process_jobs import ProcessJobs, local_zone
from concord.scheduler import Scheduler
from concord.telemetry import TOO_LATE, UNEXPECTED_ERROR, USER_ERROR, mark_outcome

if TYPE_CHECKING:
    from concord.db.postgres import PostgresDatabase
    from concord.monitoring import BotMonitoring

    # The office's database: the SQLite file, or PostgreSQL (CONCORD_DATABASE_URL).
    BotDatabase = Database | PostgresDatabase

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable, try again in a moment."
HEARTBEAT_SECONDS = 30
SCHEDULER_SECONDS = 30
# How often a process looks for settings another process changed (GuildSettings.refresh): a
# /concord setup in one shard process is seen by the others within a second.
SETTINGS_POLL_SECONDS = 0.5
# Discord: one IDENTIFY per 5 seconds in each max_concurrency bucket (topics/gateway#sharding).
IDENTIFY_INTERVAL = 5.0
# discord.py declares the bot ready once no GUILD_CREATE has come for this long after READY
# (its default, 2 s, suits bots in thousands of guilds whose guilds stream in for seconds).
# An office bot is in one or a few guilds, which Discord sends right after READY, so 2 s was
# pure waiting on every start and deploy (bench/bench_startup.py); a guild arriving later
# still becomes available, only after on_ready.
GUILD_READY_TIMEOUT = 0.5
# An interaction no view, dynamic item or form of this process handles: a message's buttons or
# a form from before a restart, an old version's custom id, or a forged one.
UNHANDLED = "concord.unhandled"
# On shutdown, interactions already being handled get this long to finish before the HTTP
# session closes (an answer or DM sent after it fails with "Session is closed"). systemd waits
# 90 s (TimeoutStopSec) before it kills.
CLOSE_GRACE_SECONDS = 5.0
# The cyclic garbage collector's young-generation threshold once the bot is ready (CPython's
# default: 700 allocations). One interaction allocates thousands of short-lived objects
# (discord.py's payload parsing, the answer's embed and view), so at 700 the collector ran
# several times per interaction (bench/bench_interactions.py); at this threshold it runs about
# once every few interactions and holds at most that many more young objects.
GC_YOUNG_THRESHOLD = 20_000
# The names discord.py 2.7 gives the tasks that run a slash command, a button (view or dynamic
# item) or a form: no public API lists in-flight handlers.
HANDLER_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-dynamic-item-",
    "discord-ui-modal-dispatch-",
)
STALE_BUTTON = (
    "That button no longer works here (it is from an older message). Run the command again."
)
STALE_FORM = (
    "That form was opened before the bot restarted, so nothing was saved. Open it again and "
    "submit it once more."
)
# Typed values shorter than this are not masked in error logs: they would mask line numbers
# and words of the traceback, and say little about the member.
MASKED_MIN_LENGTH = 3


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py at another Discord-compatible API (the local emulator, a test server)."""
    if settings.api_base:
        http.Route.BASE = settings.api_base
    if settings.gateway_url:
        gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def bot_intents() -> discord.Intents:
    """Only what the bot uses: the guild with its channels and roles, which interactions are
    resolved against, and its members (names, who is staff). Interactions arrive whatever the
    intents. Everything else discord.py would parse only to drop: with the default intents
    every chat message, edit, reaction and typing notice in the office, and each card the bot
    posts or edits coming back to it (bench/bench_interactions.py)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True
    return intents


def command_tree_hash(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def typed_values(data: Any) -> list[str]:
    """Every value a member typed into an interaction: slash-command options (nested in
    subcommands), modal fields (also inside labels)."""
    if isinstance(data, list):
        return [value for item in data for value in typed_values(item)]
    if not isinstance(data, dict):
        return []
    found = [str(data["value"])] if "value" in data else []
    for key in ("options", "components", "component"):
        found += typed_values(data.get(key))
    return found


def interaction_label(interaction: discord.Interaction) -> str:
    """What an interaction was, by name only (never a typed value): the command with its
    option names, or a component's or form's custom id with its field ids."""
    if interaction.command is not None:
        data: Any = interaction.data or {}
        names = [str(o.get("name")) for o in option_list(data)]
        return f"/{interaction.command.qualified_name}" + (
            f" [{', '.join(names)}]" if names else ""
        )
    data = interaction.data or {}
    custom_id = str(data.get("custom_id", "?"))
    fields = [str(c.get("custom_id")) for c in field_list(data)]
    return custom_id + (f" [{', '.join(fields)}]" if fields else "")


def option_list(data: Any) -> list[dict[str, Any]]:
    """A command's leaf options (inside any subcommand or group)."""
    found: list[dict[str, Any]] = []
    for option in data.get("options", []) if isinstance(data, dict) else []:
        found += option_list(option) if "options" in option else [option]
    return found


def field_list(data: Any) -> list[dict[str, Any]]:
    """A form's fields (inside action rows or labels)."""
    if isinstance(data, list):
        return [field for item in data for field in field_list(item)]
    if not isinstance(data, dict):
        return []
    if "value" in data or "values" in data:
        return [data]
    return field_list(data.get("components")) + field_list(data.get("component"))


def masked_traceback(error: BaseException, values: Sequence[str]) -> str:
    """The traceback of ``error`` with every typed value masked (an exception's message often
    quotes the input that broke it)."""
    text = "".join(traceback.format_exception(error)).rstrip()
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= MASKED_MIN_LENGTH:
            text = text.replace(value, "‹typed›").replace(repr(value), "‹typed›")
    return text


def option_named_by_value(data: Any, value: Any) -> str | None:
    """The name of the (possibly nested) slash-command option whose raw value is ``value``."""
    if not isinstance(data, dict):
        return None
    for option in data.get("options", []):
        if "value" in option and str(option["value"]) == str(value):
            return option["name"]
        nested = option_named_by_value(option, value)
        if nested:
            return nested
    return None


def tune_collector() -> None:
    """Once the bot is ready, everything alive (modules, cogs, discord.py's cache of the
    guilds and their members) lives as long as the process: ``gc.freeze`` moves it out of the
    collector's sight, so full collections stop traversing it, and young collections run every
    GC_YOUNG_THRESHOLD allocations instead of 700. Only for a process that runs one bot: a
    test process starts many, and freezing would keep each one's garbage for good."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


class ConcordBot(commands.AutoShardedBot):
    def __init__(
        self,
        settings: Settings,
        db: BotDatabase,
        *,
        clock: Clock | None = None,
        cogs: Sequence[str] | None = None,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        force_sync: bool = False,
        scheduler_seconds: float | None = SCHEDULER_SECONDS,
        tune_gc: bool = False,
    ) -> None:
        metrics = None
        traced: dict[str, Any] = {}
        if settings.metrics_enabled or settings.alert_webhook_url:
            # Imported only when asked for: prometheus-client is not free to import.
            from concord.metrics import BotMetrics
            from concord.monitoring import MIDDLEWARES_SUPPORTED, http_trace

            metrics = BotMetrics()
            if not MIDDLEWARES_SUPPORTED:  # else a cheaper middleware, installed at setup_hook
                traced["http_trace"] = http_trace(metrics)
        # Sharding (docs/ARCHITECTURE.md, "Shards"): no count, as many shards as GET
        # /gateway/bot recommends, all in this process; ids, only those shards here.
        sharding: dict[str, Any] = {}
        if settings.shard_count is not None:
            sharding["shard_count"] = settings.shard_count
        if settings.shard_ids is not None:
            sharding["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            **traced,
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
            # Deny by default: text a member typed (a title, a reason) never pings anyone; a
            # message that must ping names exactly whom in its own allowed_mentions.
            allowed_mentions=discord.AllowedMentions.none(),
            # Installed to servers only: every command says so ("integration_types": [0])
            # instead of sending null for a field the docs do not make nullable.
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
            **sharding,
        )
        self.settings = settings
        self.health_file = settings.process_health_file
        self._identified: list[tuple[int, float]] = []  # (shard id, monotonic) of IDENTIFYs
        self._max_concurrency: int | None = None
        self.db = db
        self._replaying = False  # between a lost connection and RESUMED (see dispatch)
        self.clock = clock or Clock()
        self.guild_settings = GuildSettings(db)
        self.job_ledger = JobLedger(db)
        self.scheduler = Scheduler(self.guild_settings, self.job_ledger)
        self.process_jobs = ProcessJobs(self.job_ledger, local_zone())
        self._process_jobs_task: asyncio.Task[list[str]] | None = None
        self.backup_targets = BackupTargets.from_settings(settings)
        if self.backup_targets is not None and not isinstance(db, Database):
            # The scheduled backup copies the SQLite file; a PostgreSQL server has its own.
            log.warning(
                "scheduled backups are off on PostgreSQL: use RDS snapshots or pg_dump "
                "(deploy/README.md)"
            )
            self.backup_targets = None
        if self.backup_targets is not None:
            self.process_jobs.add_daily(
                "backup", settings.backup_schedule, self.scheduled_backup, expected=(BackupError,)
            )
        # Tests and the sandbox drive the scheduler by hand (scheduler_seconds=None).
        self.scheduler_seconds = scheduler_seconds
        # The bot process (concord/runner.py) tunes the garbage collector once ready; a test
        # process, which starts many bots, keeps CPython's defaults (see tune_collector).
        self.tune_gc = tune_gc
        # The modules by import path (None: the built-in ones, found in concord.cogs), each
        # declaring its cog, settings, buttons and jobs in its MODULE (concord/cogs/modkit.py).
        self.cog_modules = builtin_modules() if cogs is None else tuple(cogs)
        self.modules: tuple[Module, ...] = tuple(module_at(path) for path in self.cog_modules)
        self.heartbeat_seconds = heartbeat_seconds
        self.started_at = self.clock.now()
        self.ready_at: datetime | None = None
        self.commit = git_commit()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._scheduler_task: asyncio.Task[None] | None = None
        self._settings_task: asyncio.Task[None] | None = None
        self.tree.on_error = self.on_app_command_error
        self.force_sync = force_sync
        self.sync_calls = 0
        self.monitoring: BotMonitoring | None = None
        if metrics is not None:
            from concord.monitoring import BotMonitoring

            self.monitoring = BotMonitoring(self, metrics)

    # -- start-up --------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        if self.monitoring is not None:
            self.monitoring.attach()
        await self.load_modules()
        await self.sync_commands(force=self.force_sync)

    async def load_modules(self) -> None:
        """Every module in its order; one that fails to load stops the start (a half bot is
        worse than none)."""
        for module in self.modules:
            try:
                await install(self, module)
            except Exception:
                log.exception("failed to load module %s", module.name)
                raise

    def _sync_target(self) -> tuple[discord.Object | None, str]:
        guild_id = self.settings.dev_guild_id
        if guild_id is None:
            return None, "global"
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        return guild, f"guild:{guild_id}"

    async def sync_commands(self, *, force: bool) -> bool:
        """Sync the command tree when its definition changed since the last sync (or ``force``)."""
        guild, scope = self._sync_target()
        payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
        digest = command_tree_hash(payload)
        if not force and await self.guild_settings.synced_hash(scope) == digest:
            log.info("commands unchanged since the last sync (%s); not syncing", scope)
            return False
        await self.tree.sync(guild=guild)
        self.sync_calls += 1
        await self.guild_settings.record_sync(scope, digest)
        log.info("synced %d commands (%s)", len(payload), scope)
        return True

    async def on_ready(self) -> None:
        if self.ready_at is None:
            self.ready_at = self.clock.now()
            log.info("ready as %s in %d guilds", self.user, len(self.guilds))
            if self.tune_gc:
                tune_collector()
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(self._heartbeat(), name="concord-heartbeat")
        if self._settings_task is None:
            self._settings_task = asyncio.create_task(
                self._watch_settings(), name="concord-settings-watch"
            )
        if self._scheduler_task is None and self.scheduler_seconds is not None:
            self._scheduler_task = asyncio.create_task(
                self._run_scheduler(), name="concord-scheduler"
            )

    async def run_scheduled(self) -> None:
        """One scheduler pass at the clock's current time, over the guilds the bot is in."""
        now = self.clock.now()
        self.start_process_jobs(now)
        self.scheduler.shard = self.shard_filter()
        await self.scheduler.run_due(now, {guild.id for guild in self.guilds})

    def shard_filter(self) -> ShardFilter:
        """The guilds this process owns, for the scheduler's query."""
        count = self.shard_count or 1
        ids = tuple(sorted(self.shard_ids)) if self.shard_ids else tuple(range(count))
        if len(ids) >= count:
            return ShardFilter()
        return ShardFilter(count, ids)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord allows one IDENTIFY per 5 s in each bucket (``shard_id % max_concurrency``,
        from GET /gateway/bot's session_start_limit): wait only for the same bucket, instead of
        discord.py's 5 s before every shard after the first."""
        loop = asyncio.get_running_loop()
        shard = shard_id or 0
        if not initial:
            if self._max_concurrency is None:
                try:
                    limits = await self.fetch_session_start_limits()
                    self._max_concurrency = max(1, int(limits.max_concurrency))
                except (discord.HTTPException, discord.GatewayNotFound):
                    self._max_concurrency = 1
            concurrency = self._max_concurrency
            same = [
                at for other, at in self._identified if other % concurrency == shard % concurrency
            ]
            if same:
                await asyncio.sleep(max(0.0, max(same) + IDENTIFY_INTERVAL - loop.time()))
        self._identified.append((shard, loop.time()))

    def start_process_jobs(self, now: datetime) -> None:
        """Process-level jobs (the backup) in their own task: a long backup delays neither the
        guild jobs nor the next pass, and two passes never run them at once."""
        if not self.process_jobs.jobs:
            return
        if self._process_jobs_task is not None and not self._process_jobs_task.done():
            return
        self._process_jobs_task = asyncio.create_task(
            self.process_jobs.run_due(now), name="concord-process-jobs"
        )

    async def wait_process_jobs(self) -> None:
        """Wait for the process jobs started by the last pass (tests, shutdown)."""
        if self._process_jobs_task is not None:
            await asyncio.shield(self._process_jobs_task)

    async def scheduled_backup(self, local_date: date, late: bool) -> None:
        targets = self.backup_targets
        db = self.db
        assert targets is not None and isinstance(db, Database)  # SQLite only (see __init__)
        now = self.clock.now()
        # Off the event loop: copying, checking, compressing and uploading are blocking. A
        # failure (BackupError) is logged and recorded in job_runs by the process jobs.
        record = await asyncio.to_thread(take_backup, db.path, targets, now)
        log.info(
            "backup %s: %d bytes, schema %d, %.1f s%s",
            record.file,
            record.bytes,
            record.schema,
            record.duration_s,
            f", uploaded as {record.s3_key}" if record.s3_key else "",
        )

    async def _watch_settings(self) -> None:
        """Drop cached settings that another process changed (one indexed read a look; on
        PostgreSQL also right away on each NOTIFY)."""
        await self.guild_settings.watch(SETTINGS_POLL_SECONDS)

    async def _run_scheduler(self) -> None:
        assert self.scheduler_seconds is not None
        while not self.is_closed():
            try:
                await self.run_scheduled()
            except DatabaseUnavailable as error:  # logged by the backend; tried next pass
                log.warning("scheduler pass skipped: %s", error)
            except Exception:  # one bad pass must not stop the schedule
                log.exception("scheduler pass failed")
            await asyncio.sleep(self.scheduler_seconds)

    # -- health ----------------------------------------------------------------------------
    def health_payload(self, *, ready: bool) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "version": __version__,
            "commit": self.commit,
            "started_at": iso(self.started_at),
            "ready_at": iso(self.ready_at) if self.ready_at else None,
            "heartbeat_at": iso(self.clock.now()),
            "heartbeat_seconds": self.heartbeat_seconds,
            "guilds": len(self.guilds),
            "ready": ready,
            "shard_count": self.shard_count,
            "shard_ids": sorted(self.shard_ids) if self.shard_ids else None,
        }

    def write_health(self, *, ready: bool) -> None:
        try:
            write_json_atomic(self.health_file, self.health_payload(ready=ready))
        except OSError:
            log.exception("could not write the health file %s", self.health_file)

    async def _heartbeat(self) -> None:
        while not self.is_closed():
            self.write_health(ready=True)
            await asyncio.sleep(self.heartbeat_seconds)

    # -- shutdown --------------------------------------------------------------------------
    async def close(self) -> None:
        for task in (
            self._heartbeat_task,
            self._scheduler_task,
            self._process_jobs_task,
            self._settings_task,
        ):
            if task is not None:
                task.cancel()
        self._process_jobs_task = self._settings_task = None
        self._heartbeat_task = self._scheduler_task = None
        await self._let_handlers_finish()
        if self.monitoring is not None:
            await self.monitoring.close()
        if self.ready_at is not None:
            self.write_health(ready=False)
        if getattr(self, "_AutoShardedClient__queue", None) is None:
            # Closed without ever being started (a check that only loads the modules):
            # discord.py's AutoShardedClient.close ends by posting to the queue its start-up
            # creates.
            setattr(self, "_AutoShardedClient__queue", asyncio.PriorityQueue())  # noqa: B010
        await super().close()

    async def _let_handlers_finish(self) -> None:
        """Wait (at most CLOSE_GRACE_SECONDS) for the interactions being handled: a click
        whose change is saved still answers and sends its DMs instead of failing half-way."""
        me = asyncio.current_task()
        handlers = [
            task
            for task in asyncio.all_tasks()
            if task is not me
            and not task.done()
            and task.get_name().startswith(HANDLER_TASK_PREFIXES)
        ]
        if not handlers:
            return
        _, late = await asyncio.wait(handlers, timeout=CLOSE_GRACE_SECONDS)
        if late:
            log.warning("interactions still running at shutdown: %d; closing anyway", len(late))

    # -- interactions nothing handles -------------------------------------------------------
    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py drops an interaction no view or form handles, leaving the member with
        # "This interaction failed". The view store is consulted here, synchronously after
        # discord.py's own dispatch and before any handler ran (none can have finished yet).
        if event_name == "interaction" and args and not self.has_handler(args[0]):
            args[0].extras[UNHANDLED] = True
        # Between a lost connection and RESUMED, Discord replays what was missed: interactions
        # that may be past their 3 seconds. Those acknowledge first (acknowledge_later), so a
        # command too late does nothing rather than act without an answer.
        if event_name == "disconnect":
            self._replaying = True
        elif event_name in ("resumed", "ready"):
            self._replaying = False
        if event_name == "interaction" and args and self._replaying:
            args[0].extras[MAYBE_LATE] = True
        super().dispatch(event_name, *args, **kwargs)

    def has_handler(self, interaction: discord.Interaction) -> bool:
        """Whether a view, dynamic item or form of this process takes the interaction. It reads
        discord.py's view store (no public API says this; checked against discord.py 2.7): if
        that ever changes shape, every interaction counts as handled, as before."""
        try:
            return self._view_store_has(interaction)
        except (AttributeError, TypeError, ValueError):
            return True

    def _view_store_has(self, interaction: discord.Interaction) -> bool:
        store = self._connection._view_store
        data: Any = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit:
            return custom_id in store._modals
        if interaction.type is not discord.InteractionType.component:
            return True
        if any(pattern.fullmatch(custom_id) for pattern in store._dynamic_items):
            return True
        key = (int(data.get("component_type", 0)), custom_id)
        message_id = interaction.message.id if interaction.message is not None else None
        return key in store._views.get(message_id, {}) or key in store._views.get(None, {})

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.extras.get(UNHANDLED):
            modal = interaction.type is discord.InteractionType.modal_submit
            log.info("nothing handles %s; told the member", interaction_label(interaction))
            await safe_reply(interaction, STALE_FORM if modal else STALE_BUTTON)

    # -- errors ----------------------------------------------------------------------------
    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.report_error(interaction, error)

    async def report_error(self, interaction: discord.Interaction, error: BaseException) -> None:
        """The one error path for commands, buttons and modals."""
        original = getattr(error, "original", error)
        command = interaction_label(interaction)
        if isinstance(original, discord.HTTPException) and original.code in INTERACTION_GONE:
            # Discord stopped waiting for the answer (the bot was away, or too slow): nobody can
            # be told anything now, and no apology could arrive either. Commands defer before
            # they do anything; buttons finish their work without the answer (answer_in_time).
            mark_outcome(TOO_LATE)
            log.warning(
                "Discord no longer takes an answer to %s (guild %s, user %s): %s",
                command,
                interaction.guild_id,
                interaction.user.id,
                original.text,
            )
            return
        if isinstance(original, DatabaseUnavailable):
            # The server is down, failing over or too busy: a line in the log (the backend
            # logged its reason, password masked), never a traceback, and nothing to apologise
            # for with an error id: the member only has to try again.
            log.warning(
                "%s (guild %s, user %s): %s",
                command,
                interaction.guild_id,
                interaction.user.id,
                original,
            )
            await safe_reply(interaction, DATABASE_UNAVAILABLE)
            return
        if isinstance(original, UserError) or isinstance(
            error, app_commands.TransformerError | app_commands.CheckFailure
        ):
            mark_outcome(USER_ERROR)  # the member's input or rights, not a fault of the bot
        if isinstance(original, UserError):
            await safe_reply(interaction, str(original))
            return
        if isinstance(error, app_commands.TransformerError):
            option = option_named_by_value(interaction.data, error.value)
            where = f" for `{option}`" if option else ""
            await safe_reply(interaction, f"`{error.value}` is not a valid value{where}.")
            return
        if isinstance(error, app_commands.MissingPermissions):
            names = " and ".join(
                name.replace("_", " ").replace("guild", "server").title()
                for name in error.missing_permissions
            )
            await safe_reply(interaction, f"You need the {names} permission to do that.")
            return
        if isinstance(error, app_commands.MissingRole | app_commands.MissingAnyRole):
            await safe_reply(
                interaction, "You need the Manager role (or Manage Server) to do that."
            )
            return
        if isinstance(error, app_commands.NoPrivateMessage):
            await safe_reply(interaction, "That only works inside a server, not in DMs.")
            return
        if isinstance(error, app_commands.CommandOnCooldown):
            await safe_reply(interaction, f"Slow down: try again in {error.retry_after:.0f} s.")
            return
        if isinstance(error, app_commands.CheckFailure):
            await safe_reply(interaction, "You are not allowed to use that here.")
            return
        mark_outcome(UNEXPECTED_ERROR)
        error_id = secrets.token_hex(4)
        # The traceback goes in the message, masked: never what the member typed.
        log.error(
            "unexpected error %s in %s (guild %s, user %s)\n%s",
            error_id,
            command,
            interaction.guild_id,
            interaction.user.id,
            masked_traceback(original, typed_values(interaction.data)),
            extra={"error_id": error_id},
        )
        await safe_reply(
            interaction,
            f"Sorry, something went wrong on my side. Nothing was lost; tell your admin the error id `{error_id}`.",
        )

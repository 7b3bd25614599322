"""GuildSettings: per-guild configuration, members' own timezones, and the command-sync hashes."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from concord.core.schedule import format_hhmm, format_workdays, parse_hhmm, parse_workdays
from concord.core.settings import GuildConfig
from concord.db.database import DatabaseUnavailable
from concord.db.portable import POSTGRESQL, Conn, Db, DbRow

log: logging.Logger = logging.getLogger(__name__)

# The NOTIFY channel of settings changes on PostgreSQL (postgres/0014_job_due.sql's trigger).
SETTINGS_CHANNEL: str = "settings_changed"
# Looks woken by notifications start at least this far apart: a burst of changes (or of
# processes announcing them) costs one look per gap, not one each; well within the 1 s.
LOOK_GAP_S = 0.1

# Columns the setup commands may change; the values arrive already validated by core parsers.
SETTABLE = (
    "manager_role_id",
    "approver_role_id",
    "staff_role_id",
    "approvals_channel_id",
    "reports_channel_id",
    "tasks_channel_id",
    "timezone",
    "workdays",
    "workday_minutes",
    "dar_reminder",
    "dar_summary",
    "digest",
    "task_assign",
    "leave_reminder_hours",
    "leave_max_days",
    "dar_edit_days",
    "task_overdue_days",
)


def utcnow_iso(now: datetime | None = None) -> str:
    return _iso_utc(now or datetime.now(UTC))


@lru_cache(maxsize=64)
def _iso_utc(moment: datetime) -> str:
    """Cached: one transaction stamps every row it writes with the same ``now``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def config_from_row(guild_id: int, row: DbRow | None) -> GuildConfig:
    if row is None:
        return _default_config(guild_id)
    return _config_from_row(guild_id, row)


@lru_cache(maxsize=256)
def _default_config(guild_id: int) -> GuildConfig:
    """The settings of a guild that has set none (frozen, so one object serves every read)."""
    return GuildConfig(guild_id=guild_id)


@lru_cache(maxsize=256)
def _config_from_row(guild_id: int, row: DbRow) -> GuildConfig:
    """Cached by the row's values (changed settings are a different row): transaction
    functions read their guild's settings every time, and parsing them was a measurable part
    of a small write (bench/bench_write_path.py)."""
    return GuildConfig(
        guild_id=guild_id,
        manager_role_id=row["manager_role_id"],
        approver_role_id=row["approver_role_id"],
        staff_role_id=row["staff_role_id"],
        approvals_channel_id=row["approvals_channel_id"],
        reports_channel_id=row["reports_channel_id"],
        tasks_channel_id=row["tasks_channel_id"],
        timezone=row["timezone"],
        workdays=parse_workdays(row["workdays"]),
        workday_minutes=row["workday_minutes"],
        dar_reminder=parse_hhmm(row["dar_reminder"]),
        dar_summary=parse_hhmm(row["dar_summary"]),
        digest=parse_hhmm(row["digest"]),
        task_assign=row["task_assign"],
        leave_reminder_hours=row["leave_reminder_hours"],
        leave_max_days=row["leave_max_days"],
        dar_edit_days=row["dar_edit_days"],
        task_overdue_days=row["task_overdue_days"],
        configured=True,
    )


def to_column(name: str, value: Any) -> Any:
    """Storage form of a validated setting value."""
    if name == "workdays":
        return format_workdays(value)
    if name in ("dar_reminder", "dar_summary", "digest"):
        return format_hhmm(value)
    return value


def read_config(conn: Conn, guild_id: int) -> GuildConfig:
    """Synchronous read for use inside transaction functions of other managers."""
    row = conn.execute("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchone()
    return config_from_row(guild_id, row)


def read_extras(conn: Conn, guild_id: int) -> tuple[tuple[str, str], ...]:
    """The guild's ``module_settings`` (settings of modules without a column of their own)."""
    rows = conn.execute(
        "SELECT name, value FROM module_settings WHERE guild_id = ? ORDER BY name", (guild_id,)
    ).fetchall()
    return tuple((row["name"], row["value"]) for row in rows)


def read_full_config(conn: Conn, guild_id: int) -> GuildConfig:
    """The configuration with the modules' own settings (``read_config`` leaves them out: the
    transactions that read their guild's settings need only the columns)."""
    config = read_config(conn, guild_id)
    extras = read_extras(conn, guild_id)
    if not extras:
        return config
    return replace(config, extras=extras)


def guild_holidays(conn: Conn, guild_id: int, first: date, last: date) -> frozenset[date]:
    """The guild's holidays (the Leave module's ``/leave holiday`` list) in [first, last], for
    the other domains' working-day rules (task due dates, DAR gaps); works inside a transaction."""
    rows = conn.execute(
        "SELECT day FROM holidays WHERE guild_id = ? AND day BETWEEN ? AND ?",
        (guild_id, first.isoformat(), last.isoformat()),
    ).fetchall()
    return frozenset(date.fromisoformat(row["day"]) for row in rows)


# json.dumps(value, default=str, sort_keys=True), with the encoder made once: dumps builds a new
# JSONEncoder for every call that passes options, a measurable part of a small write.
_audit_json: Callable[[Any], str] = json.JSONEncoder(default=str, sort_keys=True).encode


class AuditJson(str):
    """Audit values already encoded, exactly as ``write_audit`` would encode them (sorted keys,
    ASCII, ``default=str``): the leave write path makes its audit rows' text itself, since
    encoding a small dict through JSONEncoder was a measurable part of each transaction."""

    __slots__ = ()


def _audit_text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is AuditJson:
        return str(value)  # the plain text (a driver need not know the subclass)
    return _audit_json(value)


def write_audit(
    conn: Conn,
    *,
    guild_id: int,
    actor_id: int,
    action: str,
    subject: str,
    before: Any = None,
    after: Any = None,
    now: datetime | None = None,
) -> None:
    """Append one audit row (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, subject, before, after, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            guild_id,
            actor_id,
            action,
            subject,
            _audit_text(before),
            _audit_text(after),
            utcnow_iso(now),
        ),
    )


def _update_settings(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    values: dict[str, Any],
    extras: dict[str, Any],
    now: str,
    seqs: list[int] | None = None,
) -> GuildConfig:
    before = read_full_config(conn, guild_id)
    unknown = set(values) - set(SETTABLE)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    if values or not before.configured:
        _upsert_columns(conn, guild_id, actor_id, values, before, now)
    for name, value in extras.items():
        conn.execute(
            "INSERT INTO module_settings (guild_id, name, value, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, name) DO UPDATE SET"
            " value = excluded.value, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            (guild_id, name, json.dumps(value), now, actor_id),
        )
    after = read_full_config(conn, guild_id)
    # The guild's daily jobs are worked out again at the next pass (a new time or timezone),
    # and every process drops its cached copy of these settings (GuildSettings.refresh).
    conn.execute(
        "UPDATE job_due SET due_at = '', local_date = NULL, version = version + 1"
        " WHERE guild_id = ?",
        (guild_id,),
    )
    row = conn.execute(
        "INSERT INTO settings_changes (guild_id, changed_at) VALUES (?, ?) RETURNING seq",
        (guild_id, now),
    ).fetchone()
    if seqs is not None and row is not None:
        seqs.append(int(row[0]))
    changed = {
        k: [to_column(k, getattr(before, k)), to_column(k, getattr(after, k))] for k in values
    }
    changed.update({k: [before.extra(k), after.extra(k)] for k in extras})
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="settings.update",
        subject=f"guild:{guild_id}",
        before={k: v[0] for k, v in changed.items()},
        after={k: v[1] for k, v in changed.items()},
    )
    return after


def _upsert_columns(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    values: dict[str, Any],
    before: GuildConfig,
    now: str,
) -> None:
    """The guild_settings row with ``values`` over ``before`` (created at the first setup)."""
    merged = {name: to_column(name, values.get(name, getattr(before, name))) for name in SETTABLE}
    conn.execute(
        "INSERT INTO guild_settings (guild_id, manager_role_id, approver_role_id, staff_role_id,"
        " approvals_channel_id, reports_channel_id, tasks_channel_id, timezone, workdays,"
        " workday_minutes, dar_reminder, dar_summary, digest, task_assign,"
        " leave_reminder_hours, leave_max_days, dar_edit_days, task_overdue_days,"
        " updated_at, updated_by)"
        " VALUES (:guild_id, :manager_role_id, :approver_role_id, :staff_role_id,"
        " :approvals_channel_id,"
        " :reports_channel_id, :tasks_channel_id, :timezone, :workdays, :workday_minutes,"
        " :dar_reminder, :dar_summary, :digest, :task_assign, :leave_reminder_hours,"
        " :leave_max_days, :dar_edit_days, :task_overdue_days, :now, :actor)"
        " ON CONFLICT (guild_id) DO UPDATE SET manager_role_id = excluded.manager_role_id,"
        " approver_role_id = excluded.approver_role_id,"
        " staff_role_id = excluded.staff_role_id,"
        " approvals_channel_id = excluded.approvals_channel_id,"
        " reports_channel_id = excluded.reports_channel_id,"
        " tasks_channel_id = excluded.tasks_channel_id, timezone = excluded.timezone,"
        " workdays = excluded.workdays, workday_minutes = excluded.workday_minutes,"
        " dar_reminder = excluded.dar_reminder, dar_summary = excluded.dar_summary,"
        " digest = excluded.digest, task_assign = excluded.task_assign,"
        " leave_reminder_hours = excluded.leave_reminder_hours,"
        " leave_max_days = excluded.leave_max_days, dar_edit_days = excluded.dar_edit_days,"
        " task_overdue_days = excluded.task_overdue_days, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        {**merged, "guild_id": guild_id, "now": now, "actor": actor_id},
    )


class _ConfigCache:
    """The guild configurations read so far from one database. Almost every command and button
    reads its guild's settings, and they change only through :meth:`GuildSettings.update`, so
    they are kept once read (bench/bench_interactions.py: a read per interaction saved).
    ``generation`` moves on every update, so a read that an update overtook is not kept."""

    def __init__(self) -> None:
        self.configs: dict[int, GuildConfig] = {}
        self.generation: int = 0
        # The highest settings_changes.seq seen (None: not looked yet); see GuildSettings.refresh.
        self.seen: int | None = None
        # settings_changes rows this process wrote (committed; its cache has their result):
        # refresh does not drop a guild for them (NOTIFY announces them back to us at once).
        self.own: set[int] = set()


# Per Database, shared by every GuildSettings on it (the bot's, the managers', the tests').
_CACHES: weakref.WeakKeyDictionary[Db, _ConfigCache] = weakref.WeakKeyDictionary()


class GuildSettings:
    """Reads and writes guild configuration."""

    def __init__(self, db: Db) -> None:
        self.db = db
        cache = _CACHES.get(db)
        if cache is None:
            cache = _CACHES[db] = _ConfigCache()
        self._cache: _ConfigCache = cache

    async def get(self, guild_id: int) -> GuildConfig:
        cache = self._cache
        config = cache.configs.get(guild_id)
        if config is not None:
            return config
        generation = cache.generation
        row = await self.db.fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        config = config_from_row(guild_id, row)
        extras = await self.db.fetchall(
            "SELECT name, value FROM module_settings WHERE guild_id = ? ORDER BY name",
            (guild_id,),
        )
        if extras:
            config = replace(config, extras=tuple((r["name"], r["value"]) for r in extras))
        if cache.generation == generation:
            cache.configs[guild_id] = config
        return config

    async def update(
        self,
        guild_id: int,
        actor_id: int,
        values: dict[str, Any],
        *,
        extras: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> GuildConfig:
        """Set the given (already validated) values in one transaction, audited at ``now``:
        ``values`` by column, ``extras`` (modules' own settings, JSON values) by name."""
        extras = extras or {}
        if not values and not extras:
            return await self.get(guild_id)
        cache = self._cache
        cache.generation += 1
        cache.configs.pop(guild_id, None)
        seqs: list[int] = []
        try:
            config = await self.db.write(
                _update_settings, guild_id, actor_id, values, extras, utcnow_iso(now), seqs
            )
        finally:
            cache.generation += 1  # whatever was read meanwhile may predate the commit
        cache.configs[guild_id] = config
        cache.own.update(seqs)
        return config

    async def refresh(self) -> int:
        """Drop the cached settings of guilds changed since the last look, by this process or
        another one on the same database (settings_changes); returns how many were dropped.
        One indexed read when nothing changed: :meth:`watch` calls it every half second."""
        cache = self._cache
        row = await self.db.fetchone("SELECT max(seq) AS seq FROM settings_changes")
        latest = int(row["seq"]) if row is not None and row["seq"] is not None else 0
        seen = cache.seen
        if seen is not None and latest <= seen:
            return 0
        if seen is None:  # the first look: whatever was cached may predate it
            dropped = len(cache.configs)
            cache.configs.clear()
        else:
            rows = await self.db.fetchall(
                "SELECT guild_id, seq FROM settings_changes WHERE seq > ? AND seq <= ?",
                (seen, latest),
            )
            dropped = 0
            own = cache.own
            for changed in rows:
                if int(changed["seq"]) in own:
                    continue
                if cache.configs.pop(int(changed["guild_id"]), None) is not None:
                    dropped += 1
        cache.own = {seq for seq in cache.own if seq > latest}
        cache.generation += 1
        cache.seen = latest
        return dropped

    async def watch(
        self, poll_seconds: float, *, looked: Callable[[int], object] | None = None
    ) -> None:
        """Run until cancelled: :meth:`refresh` every ``poll_seconds`` and, on PostgreSQL,
        right away on each ``NOTIFY settings_changed`` (a dedicated LISTEN connection, see
        ``PostgresDatabase.listen``), so every process sees a change well within a second. The
        poll stays as the fallback while that connection is lost. One look at a time, at most
        one per ``LOOK_GAP_S``; while the database is unavailable the looks fail at once (the
        backend's connections, not a wait) and the poll's pace stays. ``looked(dropped)`` is
        called after each look (tests wait on it)."""
        loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()
        wake: asyncio.Event = asyncio.Event()

        def notified() -> None:  # on the listener's thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

        listener: Any = None
        listen = getattr(self.db, "listen", None) if self.db.dialect == POSTGRESQL else None
        if listen is not None:
            try:
                listener = await listen(SETTINGS_CHANNEL, notified)
            except Exception:
                log.exception("could not listen for settings changes; polling only")
        next_poll = loop.time()
        last_look = next_poll - LOOK_GAP_S
        try:
            while True:
                wait_s = next_poll - loop.time()
                if wait_s > 0:
                    # A timer, not asyncio.wait_for: that runs wake.wait() as a new task each
                    # time, which the emulator (rightly) counts as the bot still busy.
                    timer = loop.call_later(wait_s, wake.set)
                    try:
                        await wake.wait()
                    finally:
                        timer.cancel()
                gap_s = last_look + LOOK_GAP_S - loop.time()
                if gap_s > 0:  # notifications in a burst: one look for all of them
                    await asyncio.sleep(gap_s)
                last_look = loop.time()
                # The poll keeps its pace between notifications.
                if loop.time() >= next_poll - 0.001:
                    next_poll = loop.time() + poll_seconds
                wake.clear()  # a notification during the look wakes the next one
                try:
                    dropped = await self.refresh()
                except DatabaseUnavailable:
                    pass  # the backend logged one line; the next look tries again
                except Exception:
                    log.exception("could not look for settings changes")
                else:
                    if looked is not None:
                        looked(dropped)
        finally:
            if listener is not None:
                await listener.close()

    async def get_many(self, guild_ids: Iterable[int]) -> dict[int, GuildConfig]:
        """The settings of many guilds (a scheduler pass at start-up): the uncached ones read
        in two queries per chunk instead of two each."""
        cache = self._cache
        found: dict[int, GuildConfig] = {}
        missing: list[int] = []
        for guild_id in guild_ids:
            config = cache.configs.get(guild_id)
            if config is None:
                missing.append(guild_id)
            else:
                found[guild_id] = config
        generation = cache.generation
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows, extras = await self.db.fetch_many(
                [
                    (f"SELECT * FROM guild_settings WHERE guild_id IN ({marks})", tuple(chunk)),  # noqa: S608 (placeholders only)
                    (
                        "SELECT guild_id, name, value FROM module_settings"  # noqa: S608 (placeholders only)
                        f" WHERE guild_id IN ({marks}) ORDER BY guild_id, name",
                        tuple(chunk),
                    ),
                ]
            )
            by_guild = {int(row["guild_id"]): row for row in rows}
            extra_by_guild: dict[int, list[tuple[str, str]]] = {}
            for row in extras:
                extra_by_guild.setdefault(int(row["guild_id"]), []).append(
                    (row["name"], row["value"])
                )
            for guild_id in chunk:
                config = config_from_row(guild_id, by_guild.get(guild_id))
                if guild_id in extra_by_guild:
                    config = replace(config, extras=tuple(extra_by_guild[guild_id]))
                found[guild_id] = config
                if cache.generation == generation:
                    cache.configs[guild_id] = config
        return found

    async def member_timezone(self, guild_id: int, user_id: int) -> str | None:
        row = await self.db.fetchone(
            "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return row["timezone"] if row else None

    async def member_timezones(self, guild_id: int) -> dict[int, str]:
        rows = await self.db.fetchall(
            "SELECT user_id, timezone FROM member_settings WHERE guild_id = ? AND timezone IS NOT NULL",
            (guild_id,),
        )
        return {r["user_id"]: r["timezone"] for r in rows}

    async def guilds_with_member_zones(self) -> set[int]:
        """Guilds where some member set a timezone of their own (index member_settings_own_zone):
        the only ones a per-member-zone tick job can have work in."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM member_settings WHERE timezone IS NOT NULL"
        )
        return {int(r["guild_id"]) for r in rows}

    async def set_member_timezone(self, guild_id: int, user_id: int, timezone: str | None) -> None:
        await self.db.write(_set_member_timezone, guild_id, user_id, timezone)

    async def synced_hash(self, scope: str) -> str | None:
        row = await self.db.fetchone("SELECT tree_hash FROM command_sync WHERE scope = ?", (scope,))
        return row["tree_hash"] if row else None

    async def record_sync(self, scope: str, tree_hash: str) -> None:
        await self.db.write(_record_sync, scope, tree_hash, utcnow_iso())


def _set_member_timezone(conn: Conn, guild_id: int, user_id: int, tz: str | None) -> None:
    before = conn.execute(
        "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchone()
    conn.execute(
        "INSERT INTO member_settings (guild_id, user_id, timezone) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET timezone = excluded.timezone",
        (guild_id, user_id, tz),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=user_id,
        action="member.timezone",
        subject=f"member:{user_id}",
        before=before["timezone"] if before else None,
        after=tz,
    )


def _record_sync(conn: Conn, scope: str, tree_hash: str, now: str) -> None:
    conn.execute(
        "INSERT INTO command_sync (scope, tree_hash, synced_at) VALUES (?, ?, ?)"
        " ON CONFLICT (scope) DO UPDATE SET tree_hash = excluded.tree_hash, synced_at = excluded.synced_at",
        (scope, tree_hash, now),
    )

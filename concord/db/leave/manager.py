"""``LeaveManager``: the async face over the transaction functions, and the reads."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, time
from fractions import Fraction
from typing import Any

from concord.adapters.public_holidays import public_holidays
from concord.core.actor import Actor
from concord.core.leave import (
    Absence,
    Balance,
    Holiday,
    LeaveRequest,
    LeaveType,
    Portion,
    RequestStatus,
    amounts_by_year,
    balance_as_of,
    fraction_from_text,
)
from concord.db.database import Database
from concord.db.guilds import read_config, utcnow_iso
from concord.db.leave.records import (
    SQL_ABSENCES,
    SQL_HOLIDAYS,
    SQL_REQUEST,
    SQL_TYPES,
    ApplyResult,
    Decision,
    HolidayImport,
    Query,
    RequestYear,
    _absence_from_row,
    _balances_for,
    _holiday_from_row,
    _member_leave,
    _member_queries,
    _request_from_row,
    _type_from_row,
)
from concord.db.leave.transactions import (
    ApplyInput,
    HeldChange,
    PolicyChange,
    _require_manager,
    _set_change_card,
    add_holiday,
    adjust_balance,
    apply_request,
    cancel_request,
    decide_change,
    decide_request,
    ensure_default_types,
    import_holidays,
    local_today,
    remove_holiday,
    set_allowance,
    set_card,
    upsert_policy,
)
from concord.errors import NotFound

log: logging.Logger = logging.getLogger(__name__)


class LeaveManager:
    """Leave for every guild, on one database. ``now`` is always passed in (the bot's clock)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # writes ----------------------------------------------------------------------------------
    async def apply(
        self,
        guild_id: int,
        *,
        actor: Actor,
        user_id: int,
        leave_type: str,
        start: date,
        end: date | None = None,
        portion: Portion = Portion.FULL_DAY,
        from_time: time | None = None,
        to_time: time | None = None,
        reason: str | None = None,
        now: datetime,
    ) -> ApplyResult:
        spec = ApplyInput(
            guild_id=guild_id,
            actor_id=actor.user_id,
            actor_is_manager=actor.is_manager,
            user_id=user_id,
            leave_type=leave_type,
            start=start,
            end=end,
            portion=portion,
            from_time=from_time,
            to_time=to_time,
            reason=reason,
        )
        result = await self.db.write(apply_request, spec, now)
        log.info(
            "leave request #%s by %s for %s: %s %s",
            result.request.id,
            actor.user_id,
            user_id,
            result.request.leave_type,
            result.request.status.value,
        )
        return result

    async def approve(
        self,
        guild_id: int,
        request_id: int,
        *,
        actor: Actor,
        now: datetime,
    ) -> Decision:
        return await self.db.write(
            decide_request,
            guild_id,
            request_id,
            actor.user_id,
            actor.decides_leave,
            True,
            None,
            now,
        )

    async def reject(
        self,
        guild_id: int,
        request_id: int,
        *,
        actor: Actor,
        note: str | None = None,
        now: datetime,
    ) -> Decision:
        return await self.db.write(
            decide_request,
            guild_id,
            request_id,
            actor.user_id,
            actor.decides_leave,
            False,
            note,
            now,
        )

    async def cancel(
        self,
        guild_id: int,
        request_id: int,
        *,
        actor: Actor,
        now: datetime,
    ) -> Decision:
        return await self.db.write(
            cancel_request, guild_id, request_id, actor.user_id, actor.is_manager, now
        )

    async def adjust(
        self,
        guild_id: int,
        *,
        actor: Actor,
        user_id: int,
        leave_type: str,
        days: Fraction,
        reason: str,
        now: datetime,
    ) -> Balance | HeldChange:
        return await self.db.write(
            adjust_balance,
            guild_id,
            actor.user_id,
            actor.is_manager,
            user_id,
            leave_type,
            days,
            reason,
            now,
        )

    async def set_allowance(
        self,
        guild_id: int,
        *,
        actor: Actor,
        user_id: int,
        leave_type: str,
        days: Fraction,
        now: datetime,
    ) -> Balance | HeldChange:
        return await self.db.write(
            set_allowance, guild_id, actor.user_id, actor.is_manager, user_id, leave_type, days, now
        )

    async def decide_change(
        self,
        guild_id: int,
        change_id: int,
        *,
        actor: Actor,
        approve: bool,
        now: datetime,
    ) -> tuple[HeldChange, Balance | None]:
        return await self.db.write(
            decide_change, guild_id, change_id, actor.user_id, actor.is_manager, approve, now
        )

    async def set_change_card(
        self, guild_id: int, change_id: int, channel_id: int, message_id: int
    ) -> None:
        await self.db.write(_set_change_card, guild_id, change_id, channel_id, message_id)

    async def set_policy(
        self,
        guild_id: int,
        name: str,
        change: PolicyChange,
        *,
        actor: Actor,
        now: datetime,
    ) -> tuple[LeaveType, bool]:
        return await self.db.write(
            upsert_policy, guild_id, actor.user_id, actor.is_manager, name, change, now
        )

    async def set_card(
        self, guild_id: int, request_id: int, channel_id: int, message_id: int
    ) -> None:
        await self.db.write(set_card, guild_id, request_id, channel_id, message_id)

    async def add_holiday(
        self,
        guild_id: int,
        day: date,
        name: str,
        *,
        actor: Actor,
        now: datetime,
    ) -> tuple[Holiday, Holiday | None]:
        return await self.db.write(
            add_holiday, guild_id, actor.user_id, actor.is_manager, day, name, now
        )

    async def remove_holiday(
        self, guild_id: int, day: date, *, actor: Actor, now: datetime
    ) -> Holiday:
        return await self.db.write(
            remove_holiday, guild_id, actor.user_id, actor.is_manager, day, now
        )

    async def import_holidays(
        self,
        guild_id: int,
        country: str,
        year: int,
        subdivision: str | None = None,
        *,
        actor: Actor,
        now: datetime,
    ) -> HolidayImport:
        _require_manager(actor.is_manager)
        found = public_holidays(country, year, subdivision)
        code = country.strip().upper()
        source = f"import:{code}-{subdivision.strip().upper()}" if subdivision else f"import:{code}"
        return await self.db.write(
            import_holidays, guild_id, actor.user_id, actor.is_manager, found, source, now
        )

    # reads -----------------------------------------------------------------------------------
    async def _query(self, queries: Sequence[Query]) -> list[list[sqlite3.Row]]:
        return await self.db.fetch_many(queries)

    async def types(
        self, guild_id: int, *, now: datetime, archived: bool = False
    ) -> list[LeaveType]:
        """The guild's leave types in use, or also the archived ones (the defaults are
        created the first time)."""
        rows = await self.db.fetchall(SQL_TYPES, (guild_id,))
        if not rows:
            await self.db.write(_ensure_defaults_now, guild_id, now)
            rows = await self.db.fetchall(SQL_TYPES, (guild_id,))
        types = [_type_from_row(row) for row in rows]
        return types if archived else [t for t in types if not t.archived]

    async def balances(
        self, guild_id: int, user_id: int, year: int, *, today: date
    ) -> list[Balance]:
        """Every type's balance of ``year`` for the member, as of ``today`` (see balance_as_of)."""
        member = _member_leave(await self._query(_member_queries(guild_id, user_id)))
        as_of = balance_as_of(year, today)
        return [
            member.balance(type_id, year, as_of)
            for type_id, ltype in member.types.items()
            if not ltype.archived
        ]

    async def get_request(self, guild_id: int, request_id: int) -> LeaveRequest:
        row = await self.db.fetchone(SQL_REQUEST, (guild_id, request_id))
        if row is None:
            raise NotFound(f"There is no leave request #{request_id} in this server.")
        return _request_from_row(row)

    async def request_balances(self, request: LeaveRequest, *, today: date) -> list[RequestYear]:
        """The member's balance of the request's type in each year the request touches, with
        what the request takes in that year."""
        rows = await self.db.fetchall(
            "SELECT day, amount FROM leave_request_days WHERE request_id = ? ORDER BY day",
            (request.id,),
        )
        days = [(date.fromisoformat(r["day"]), fraction_from_text(r["amount"])) for r in rows]
        member = _member_leave(
            await self._query(_member_queries(request.guild_id, request.user_id))
        )
        per_year = amounts_by_year(days)
        balances = _balances_for(member, request.type_id, days, today) if days else ()
        return [RequestYear(b.year, per_year[b.year], b) for b in balances]

    async def history(
        self,
        guild_id: int,
        user_id: int,
        *,
        year: int | None = None,
        status: RequestStatus | None = None,
    ) -> list[LeaveRequest]:
        """A member's requests, latest first (those touching ``year``, in ``status``)."""
        sql = "SELECT * FROM leave_requests WHERE guild_id = ? AND user_id = ?"
        params: list[Any] = [guild_id, user_id]
        if year is not None:
            sql += " AND start_date <= ? AND end_date >= ?"
            params += [f"{year}-12-31", f"{year}-01-01"]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        rows = await self.db.fetchall(sql + " ORDER BY start_date DESC, id DESC", tuple(params))
        return [_request_from_row(row) for row in rows]

    async def pending_requests(self, guild_id: int) -> list[LeaveRequest]:
        """Pending requests, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM leave_requests WHERE guild_id = ? AND status = 'pending'"
            " ORDER BY created_at, id",
            (guild_id,),
        )
        return [_request_from_row(row) for row in rows]

    async def guilds_with_pending(self, *, created_before: datetime) -> set[int]:
        """Guilds with a request pending since before ``created_before`` (index
        leave_requests_pending), for the reminder tick job."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM leave_requests WHERE status = 'pending'"
            " AND created_at <= ?",
            (utcnow_iso(created_before),),
        )
        return {int(r["guild_id"]) for r in rows}

    async def overdue_requests(
        self, guild_id: int, *, created_before: datetime
    ) -> list[LeaveRequest]:
        """Pending requests made before ``created_before``, oldest first (for reminders)."""
        rows = await self.db.fetchall(
            "SELECT * FROM leave_requests WHERE guild_id = ? AND status = 'pending'"
            " AND created_at <= ? ORDER BY created_at, id",
            (guild_id, utcnow_iso(created_before)),
        )
        return [_request_from_row(row) for row in rows]

    async def cancellable(
        self, guild_id: int, user_id: int, *, is_manager: bool, today: date, limit: int = 25
    ) -> list[LeaveRequest]:
        """What ``user_id`` may cancel: their pending and not yet started approved requests;
        a manager: any live request of others (their own, like anyone's). Soonest first."""
        if is_manager:
            rows = await self.db.fetchall(
                "SELECT * FROM leave_requests WHERE guild_id = ? AND status IN ('pending', 'approved')"
                " AND (user_id != ? OR status = 'pending' OR start_date > ?)"
                " ORDER BY user_id = ? DESC, start_date, id LIMIT ?",
                (guild_id, user_id, today.isoformat(), user_id, limit),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM leave_requests WHERE guild_id = ? AND user_id = ?"
                " AND (status = 'pending' OR (status = 'approved' AND start_date > ?))"
                " ORDER BY start_date, id LIMIT ?",
                (guild_id, user_id, today.isoformat(), limit),
            )
        return [_request_from_row(row) for row in rows]

    async def requests_between(
        self,
        guild_id: int,
        start: date,
        end: date,
        *,
        user_id: int | None = None,
        statuses: Sequence[str] = ("pending", "approved"),
    ) -> list[LeaveRequest]:
        """Requests touching [start, end], by start date (for exports)."""
        sql = (
            "SELECT * FROM leave_requests WHERE guild_id = ? AND start_date <= ? AND end_date >= ?"
            " AND status IN (SELECT value FROM json_each(?))"
        )
        params: list[Any] = [guild_id, end.isoformat(), start.isoformat(), _json_list(statuses)]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        rows = await self.db.fetchall(sql + " ORDER BY start_date, user_id, id", tuple(params))
        return [_request_from_row(row) for row in rows]

    async def export_requests(
        self, guild_id: int, start: date, end: date, *, user_id: int | None, limit: int
    ) -> list[LeaveRequest]:
        """Pending and approved requests touching [start, end], at most ``limit`` (by start
        date), read and turned into objects on a worker thread: an export of thousands of
        requests must not hold up the event loop."""
        return await self.db.read_in_thread(_export_requests, guild_id, start, end, user_id, limit)

    async def absences(
        self,
        guild_id: int,
        start: date,
        end: date,
        statuses: Sequence[str] = ("approved",),
    ) -> list[Absence]:
        """One entry per member per working day away in [start, end], by day then member."""
        for status in statuses:
            RequestStatus(status)  # refuse typos instead of silently matching nothing
        rows = await self.db.fetchall(
            SQL_ABSENCES, (guild_id, start.isoformat(), end.isoformat(), _json_list(statuses))
        )
        return [_absence_from_row(row) for row in rows]

    async def holidays(self, guild_id: int, start: date, end: date) -> list[Holiday]:
        rows = await self.db.fetchall(SQL_HOLIDAYS, (guild_id, start.isoformat(), end.isoformat()))
        return [_holiday_from_row(row) for row in rows]


def _ensure_defaults_now(conn: sqlite3.Connection, guild_id: int, now: datetime) -> None:
    ensure_default_types(conn, guild_id, local_today(now, read_config(conn, guild_id)).year, now)


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))


def _export_requests(
    conn: sqlite3.Connection,
    guild_id: int,
    start: date,
    end: date,
    user_id: int | None,
    limit: int,
) -> list[LeaveRequest]:
    sql = (
        "SELECT * FROM leave_requests WHERE guild_id = ? AND start_date <= ? AND end_date >= ?"
        " AND status IN ('pending', 'approved')"
    )
    params: list[Any] = [guild_id, end.isoformat(), start.isoformat()]
    if user_id is not None:
        sql += " AND user_id = ?"
        params.append(user_id)
    sql += " ORDER BY start_date, user_id, id LIMIT ?"
    params.append(limit)
    return [_request_from_row(row) for row in conn.execute(sql, tuple(params))]

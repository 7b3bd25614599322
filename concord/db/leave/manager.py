"""``LeaveManager``: the async face over the transaction functions, and the reads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time
from fractions import Fraction
from functools import partial
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
from concord.core.teams import Blackout, OverLimit, Routing, Team, blackouts_touching
from concord.db.guilds import read_config, utcnow_iso
from concord.db.leave import teams as team_db
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
from concord.db.leave.teams import TeamEdit
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
from concord.db.portable import Conn, Db, DbRow, in_list
from concord.errors import NotFound

log: logging.Logger = logging.getLogger(__name__)


class LeaveManager:
    """Leave for every guild, on one database. ``now`` is always passed in (the bot's clock)."""

    def __init__(self, db: Db) -> None:
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
        override_note: str | None = None,
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
            override_note=override_note,
        )
        result = await self.db.write(apply_request, spec, now)
        if log.isEnabledFor(logging.INFO):  # the arguments cost more than the disabled call
            request = result.request
            log.info(
                "leave request #%s by %s for %s: %s %s",
                request.id,
                actor.user_id,
                user_id,
                request.leave_type,
                request.status.value,
            )
        return result

    async def approve(
        self,
        guild_id: int,
        request_id: int,
        *,
        actor: Actor,
        now: datetime,
        override: bool = False,
    ) -> Decision:
        """Approve; ``override``: even over a team's ``max_out`` (Approve anyway, audited)."""
        return await self.db.write(
            partial(
                decide_request,
                is_manager=actor.is_manager,
                role_ids=actor.role_ids,
                override=override,
            ),
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
            partial(decide_request, is_manager=actor.is_manager, role_ids=actor.role_ids),
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

    # teams and blackouts (issue 20) -----------------------------------------------------------
    async def create_team(
        self,
        guild_id: int,
        name: str,
        *,
        approver_role_id: int | None = None,
        max_out: int | None = None,
        actor: Actor,
        now: datetime,
    ) -> Team:
        return await self.db.write(
            team_db.create_team,
            guild_id,
            actor.user_id,
            actor.is_manager,
            name,
            approver_role_id,
            max_out,
            now,
        )

    async def edit_team(
        self, guild_id: int, name: str, edit: TeamEdit, *, actor: Actor, now: datetime
    ) -> Team:
        return await self.db.write(
            team_db.edit_team, guild_id, actor.user_id, actor.is_manager, name, edit, now
        )

    async def delete_team(
        self, guild_id: int, name: str, *, actor: Actor, now: datetime
    ) -> tuple[Team, int]:
        return await self.db.write(
            team_db.delete_team, guild_id, actor.user_id, actor.is_manager, name, now
        )

    async def add_team_member(
        self,
        guild_id: int,
        name: str,
        user_id: int,
        *,
        as_approver: bool = False,
        actor: Actor,
        now: datetime,
    ) -> Team:
        return await self.db.write(
            team_db.add_team_member,
            guild_id,
            actor.user_id,
            actor.is_manager,
            name,
            user_id,
            as_approver,
            now,
        )

    async def remove_team_member(
        self, guild_id: int, name: str, user_id: int, *, actor: Actor, now: datetime
    ) -> tuple[Team, list[str]]:
        return await self.db.write(
            team_db.remove_team_member,
            guild_id,
            actor.user_id,
            actor.is_manager,
            name,
            user_id,
            now,
        )

    async def add_blackout(
        self,
        guild_id: int,
        *,
        team: str | None,
        start: date,
        end: date,
        reason: str | None,
        actor: Actor,
        now: datetime,
    ) -> Blackout:
        return await self.db.write(
            team_db.add_blackout,
            guild_id,
            actor.user_id,
            actor.is_manager,
            team,
            start,
            end,
            reason,
            now,
        )

    async def remove_blackout(
        self, guild_id: int, blackout_id: int, *, actor: Actor, now: datetime
    ) -> Blackout:
        return await self.db.write(
            team_db.remove_blackout, guild_id, actor.user_id, actor.is_manager, blackout_id, now
        )

    async def teams(self, guild_id: int) -> list[Team]:
        return await self.db.read_short(team_db.guild_teams, guild_id)

    async def routing(self, guild_id: int, user_id: int) -> Routing:
        """Who decides ``user_id``'s leave (their teams' approvers, else managers)."""
        return await self.db.read_short(team_db.routing, guild_id, user_id)

    async def blackouts(self, guild_id: int, *, since: date) -> list[Blackout]:
        """Blackouts ending on or after ``since``, soonest first."""
        return await self.db.read_short(team_db.list_blackouts, guild_id, since)

    async def card_team_reads(
        self, request: LeaveRequest
    ) -> tuple[Routing, OverLimit | None, list[Blackout]]:
        """What a pending request's card says of teams, in one read: :meth:`routing`, the team
        limit approving it would go over (approved leave counted) and the blackouts it
        touches."""
        return await self.db.read_short(_card_team_reads, request)

    # reads -----------------------------------------------------------------------------------
    async def _query(self, queries: Sequence[Query]) -> list[list[DbRow]]:
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

    async def pending_requests(
        self, guild_id: int, *, actor: Actor | None = None
    ) -> list[LeaveRequest]:
        """Pending requests, oldest first; with ``actor``, those they may decide (a team
        approver sees their teams' requests; a manager all)."""
        rows = await self.db.fetchall(
            "SELECT * FROM leave_requests WHERE guild_id = ? AND status = 'pending'"
            " ORDER BY created_at, id",
            (guild_id,),
        )
        requests = [_request_from_row(row) for row in rows]
        if actor is None or actor.is_manager or not requests:
            return requests
        return await self.db.read_short(_decidable_by, requests, actor)

    async def may_see_pending(self, guild_id: int, actor: Actor) -> bool:
        """A manager, the leave approver role, or an approver of some team."""
        if actor.decides_leave:
            return True
        return await self.db.read_short(
            team_db.approves_for_a_team, guild_id, actor.user_id, actor.role_ids
        )

    async def pending_page(
        self, guild_id: int, page: int, per_page: int
    ) -> tuple[int, int, list[LeaveRequest]]:
        """One page of the pending requests, oldest first: (how many are pending, the page
        shown — ``page`` within the pages there are —, its requests). Only that page's rows are
        read and made into requests: ``/leave pending`` shows a few, and reading every pending
        request for them was most of its time when many wait (bench/bench_interactions.py)."""
        count = "SELECT count(*) FROM leave_requests WHERE guild_id = ? AND status = 'pending'"
        rows_of = (
            "SELECT * FROM leave_requests WHERE guild_id = ? AND status = 'pending'"
            " ORDER BY created_at, id LIMIT ? OFFSET ?"
        )
        wanted = max(page, 0)
        counted, rows = await self.db.fetch_many(
            [(count, (guild_id,)), (rows_of, (guild_id, per_page, wanted * per_page))]
        )
        total = int(counted[0][0])
        shown = min(wanted, max(0, -(-total // per_page) - 1))
        if shown != wanted:  # past the last page (the list shrank): the last page
            rows = await self.db.fetchall(rows_of, (guild_id, per_page, shown * per_page))
        return total, shown, [_request_from_row(row) for row in rows]

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
        wanted, status_params = in_list(statuses)
        sql = (
            "SELECT * FROM leave_requests WHERE guild_id = ? AND start_date <= ?"  # noqa: S608
            f" AND end_date >= ? AND status IN {wanted}"  # (placeholders only)
        )
        params: list[Any] = [guild_id, end.isoformat(), start.isoformat(), *status_params]
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
        wanted, status_params = in_list(statuses)
        rows = await self.db.fetchall(
            SQL_ABSENCES.format(statuses=wanted),
            (guild_id, start.isoformat(), end.isoformat(), *status_params),
        )
        return [_absence_from_row(row) for row in rows]

    async def holidays(self, guild_id: int, start: date, end: date) -> list[Holiday]:
        rows = await self.db.fetchall(SQL_HOLIDAYS, (guild_id, start.isoformat(), end.isoformat()))
        return [_holiday_from_row(row) for row in rows]


def _decidable_by(conn: Conn, requests: list[LeaveRequest], actor: Actor) -> list[LeaveRequest]:
    routes: dict[int, Routing] = {}
    found = []
    for request in requests:
        if request.user_id not in routes:
            routes[request.user_id] = team_db.routing(conn, request.guild_id, request.user_id)
        if routes[request.user_id].may_decide(
            actor.user_id,
            is_manager=actor.is_manager,
            decides_leave=actor.decides_leave,
            role_ids=actor.role_ids,
        ):
            found.append(request)
    return found


def _card_team_reads(
    conn: Conn, request: LeaveRequest
) -> tuple[Routing, OverLimit | None, list[Blackout]]:
    over, touching = _team_warnings(conn, request)
    return team_db.routing(conn, request.guild_id, request.user_id), over, touching


def _team_warnings(conn: Conn, request: LeaveRequest) -> tuple[OverLimit | None, list[Blackout]]:
    if not request.deducts:
        return None, []
    days = [
        date.fromisoformat(row["day"])
        for row in conn.execute(
            "SELECT day FROM leave_request_days WHERE request_id = ? ORDER BY day", (request.id,)
        )
    ]
    if not days:
        return None, []
    over = team_db.over_limit(conn, request.guild_id, request.user_id, days)
    touching = blackouts_touching(
        team_db.blackouts_for(conn, request.guild_id, request.user_id, days[0], days[-1]), days
    )
    return over, touching


def _ensure_defaults_now(conn: Conn, guild_id: int, now: datetime) -> None:
    ensure_default_types(conn, guild_id, local_today(now, read_config(conn, guild_id)).year, now)


def _export_requests(
    conn: Conn,
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

"""LeaveManager: leave types and policies, allowances, requests, the balance ledger, approvals,
holidays and the queries other modules join (absences, pending requests).

Every change is one synchronous transaction function run by ``db.write`` (so the checks and the
write see the same state: twenty concurrent requests against five free days approve exactly
five), every state change is a conditional update checked by ``rowcount``, and every decision is
audited. Permissions are checked here, at the moment of the write, not only in the cog.

Balances are summed on read: entitlement and carry-over follow from the policy; the ledger holds
debits written in the approving transaction, the exact credits written when approved leave is
cancelled, and manual adjustments.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from concord.adapters.public_holidays import public_holidays
from concord.core.actor import Actor
from concord.core.leave import (
    DEFAULT_TYPES,
    ZERO,
    Absence,
    Accrual,
    Balance,
    Holiday,
    LeaveRequest,
    LeaveType,
    Policy,
    Portion,
    RequestStatus,
    Span,
    TypeSettings,
    YearActivity,
    already_decided,
    amounts_by_year,
    balance_as_of,
    build_span,
    compute_balance,
    day_amounts,
    describe_dates,
    find_overlap,
    format_amount,
    fraction_from_text,
    fraction_to_text,
    moved,
    shortfall,
    validate_reason,
    validate_type_name,
)
from concord.core.schedule import format_hhmm, parse_hhmm
from concord.core.settings import GuildConfig
from concord.db.database import Database
from concord.db.guilds import read_config, utcnow_iso, write_audit
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)

MANAGERS_ONLY = "Only managers can do that (the Manager role, Manage Server or the owner)."
MAX_ADJUST_REASON = 200
MAX_HOLIDAY_NAME = 100
Query = tuple[str, tuple[Any, ...]]
T = TypeVar("T")


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BalanceChange:
    """How one year's balance of the request's type moves with a request."""

    year: int
    amount: Fraction
    before: Balance
    after: Balance


@dataclass(frozen=True)
class Shift:
    """How a change moves a member's activity: +1 or -1 of the days into each column."""

    pending: int = 0
    taken: int = 0
    recorded: int = 0


@dataclass(frozen=True)
class BalanceView:
    """A member's balances of one type in each year some days fall in, worked out when first
    read. Transaction functions return these rather than balances, so the arithmetic runs after
    the commit, on the caller's side, instead of on the writer thread while it holds the write
    lock: the snapshot it works from was still read inside the transaction."""

    member: MemberLeave
    type_id: int
    days: tuple[tuple[date, Fraction], ...]
    today: date
    shift: Shift | None = None  # applied to the snapshot first (the balance after the change)

    def balances(self) -> tuple[Balance, ...]:
        member = self.member
        if self.shift is not None:
            member = member.shifted(
                self.type_id,
                amounts_by_year(self.days),
                pending=self.shift.pending,
                taken=self.shift.taken,
                recorded=self.shift.recorded,
            )
        return _balances_for(member, self.type_id, self.days, self.today)


@dataclass(frozen=True)
class ApplyResult:
    request: LeaveRequest
    amounts: dict[int, Fraction] = field(compare=False)  # what the request takes, by year
    before: BalanceView = field(repr=False, compare=False)
    after: BalanceView = field(repr=False, compare=False)

    @property
    def needs_approval(self) -> bool:
        return self.request.status is RequestStatus.PENDING

    @cached_property
    def changes(self) -> tuple[BalanceChange, ...]:
        """The balance of the request's type in each year it touches, before and after."""
        return tuple(
            BalanceChange(year=b.year, amount=self.amounts[b.year], before=b, after=a)
            for b, a in zip(self.before.balances(), self.after.balances(), strict=True)
        )


@dataclass(frozen=True)
class Decision:
    request: LeaveRequest
    previous: RequestStatus  # the status the decision or cancellation moved it from
    view: BalanceView = field(repr=False, compare=False)
    credited: Fraction = ZERO  # days given back (cancelling approved leave)

    @cached_property
    def balances(self) -> tuple[Balance, ...]:
        """The request's type, each year it touches, after the change."""
        return self.view.balances()


@dataclass(frozen=True)
class RequestYear:
    """One year a request touches: what it takes there and the member's balance."""

    year: int
    amount: Fraction
    balance: Balance


@dataclass(frozen=True)
class HolidayImport:
    added: tuple[Holiday, ...]
    skipped: tuple[Holiday, ...]  # dates that already had a holiday (kept as they were)


@dataclass(frozen=True)
class MemberLeave:
    """Everything needed for one member's balances: types, overrides and yearly activity."""

    types: dict[int, LeaveType]
    overrides: dict[int, Fraction]
    activity: dict[int, dict[int, YearActivity]] = field(default_factory=dict)

    def policy(self, type_id: int) -> Policy:
        return self.types[type_id].policy(self.overrides.get(type_id))

    def balance(self, type_id: int, year: int, as_of: date) -> Balance:
        name = self.types[type_id].name
        return compute_balance(
            name, self.policy(type_id), year, as_of, self.activity.get(type_id, {})
        )

    def shifted(
        self,
        type_id: int,
        per_year: dict[int, Fraction],
        *,
        pending: int = 0,
        taken: int = 0,
        recorded: int = 0,
    ) -> MemberLeave:
        """A copy with ``per_year`` added to (+1) or removed from (-1) the given columns, for
        the balance after a change without reading the database again."""
        years = dict(self.activity.get(type_id, {}))
        for year, amount in per_year.items():
            seen = years.get(year, YearActivity())
            years[year] = YearActivity(
                adjustments=seen.adjustments,
                taken=moved(seen.taken, taken, amount),
                pending=moved(seen.pending, pending, amount),
                recorded=moved(seen.recorded, recorded, amount),
            )
        return MemberLeave(self.types, self.overrides, {**self.activity, type_id: years})

    def shortfall(
        self,
        type_id: int,
        additions: dict[int, Fraction],
        as_of: dict[int, date],
        *,
        count_pending: bool,
    ) -> str | None:
        """Why taking ``additions`` would overdraw this member's balance (see core.shortfall)."""
        return shortfall(
            self.types[type_id].name,
            self.policy(type_id),
            self.activity.get(type_id, {}),
            additions,
            as_of,
            count_pending=count_pending,
        )


# -- rows → dataclasses ------------------------------------------------------------------------
def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@lru_cache(maxsize=512)
def _type_from_row(row: sqlite3.Row) -> LeaveType:
    """Cached by the row's values (a changed type is a different row): every balance reads
    all of a guild's types, and building them again each time was a measurable part of each
    leave transaction."""
    allowance = row["allowance"]
    return LeaveType(
        id=row["id"],
        guild_id=row["guild_id"],
        name=row["name"],
        settings=TypeSettings(
            allowance=None if allowance is None else fraction_from_text(allowance),
            accrual=Accrual(row["accrual"]),
            carryover_cap=fraction_from_text(row["carryover_cap"]),
            deducts=bool(row["deducts"]),
            requires_approval=bool(row["requires_approval"]),
            allow_negative=bool(row["allow_negative"]),
        ),
        since_year=row["since_year"],
        archived=row["archived_at"] is not None,
    )


def _request_from_row(row: sqlite3.Row) -> LeaveRequest:
    # One pass over the row: twenty lookups by name on a sqlite3.Row cost more than the SELECT.
    return _request_from_values(dict(zip(row.keys(), row, strict=True)))


def _request_from_values(row: Mapping[str, Any]) -> LeaveRequest:
    """A request from its stored column values (a row, or what was just inserted)."""
    created = _when(row["created_at"])
    assert created is not None
    return LeaveRequest(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        type_id=row["type_id"],
        leave_type=row["type_name"],
        span=Span(
            start=date.fromisoformat(row["start_date"]),
            end=date.fromisoformat(row["end_date"]),
            portion=Portion(row["portion"]),
            from_time=parse_hhmm(row["from_time"]) if row["from_time"] else None,
            to_time=parse_hhmm(row["to_time"]) if row["to_time"] else None,
        ),
        amount=fraction_from_text(row["amount"]),
        deducts=bool(row["deducts"]),
        reason=row["reason"],
        status=RequestStatus(row["status"]),
        filed_by=row["filed_by"],
        created_at=created,
        decided_by=row["decided_by"],
        decided_at=_when(row["decided_at"]),
        decision_note=row["decision_note"],
        cancelled_by=row["cancelled_by"],
        cancelled_at=_when(row["cancelled_at"]),
        card_channel_id=row["card_channel_id"],
        card_message_id=row["card_message_id"],
    )


def _absence_from_row(row: sqlite3.Row) -> Absence:
    return Absence(
        user_id=row["user_id"],
        day=date.fromisoformat(row["day"]),
        portion=Portion(row["portion"]),
        from_time=parse_hhmm(row["from_time"]) if row["from_time"] else None,
        to_time=parse_hhmm(row["to_time"]) if row["to_time"] else None,
        leave_type=row["type_name"],
        request_id=row["request_id"],
        status=RequestStatus(row["status"]),
        amount=fraction_from_text(row["amount"]),
        deducts=bool(row["deducts"]),
    )


def _holiday_from_row(row: sqlite3.Row) -> Holiday:
    return Holiday(day=date.fromisoformat(row["day"]), name=row["name"], source=row["source"])


def _request_audit(request: LeaveRequest) -> dict[str, Any]:
    """The audit form of a request: what was asked and its state."""
    return {
        "user_id": request.user_id,
        "type": request.leave_type,
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "portion": request.portion.value,
        "from_time": format_hhmm(request.span.from_time) if request.span.from_time else None,
        "to_time": format_hhmm(request.span.to_time) if request.span.to_time else None,
        "amount": fraction_to_text(request.amount),
        "status": request.status.value,
    }


def _settings_audit(settings: TypeSettings) -> dict[str, Any]:
    return {
        "allowance": None if settings.allowance is None else fraction_to_text(settings.allowance),
        "accrual": settings.accrual.value,
        "carryover_cap": fraction_to_text(settings.carryover_cap),
        "deducts": settings.deducts,
        "requires_approval": settings.requires_approval,
        "allow_negative": settings.allow_negative,
    }


# -- shared queries (run the same way on the writer and on a read connection) -----------------
SQL_TYPES = "SELECT * FROM leave_types WHERE guild_id = ? ORDER BY id"
SQL_TYPE_BY_NAME = "SELECT * FROM leave_types WHERE guild_id = ? AND name = ?"
SQL_REQUEST = "SELECT * FROM leave_requests WHERE guild_id = ? AND id = ?"
SQL_OVERRIDES = "SELECT type_id, allowance FROM leave_allowances WHERE guild_id = ? AND user_id = ?"
# A member's ledger and live days, counted by distinct amount: SQLite groups the rows, so the
# Python fold (exact Fractions, slow) runs once per distinct amount, not once per row of
# history.
SQL_LEDGER = (
    "SELECT type_id, year, kind, amount, count(*) AS n FROM leave_ledger"
    " WHERE guild_id = ? AND user_id = ? GROUP BY type_id, year, kind, amount"
)
SQL_LIVE_DAYS = (
    "SELECT r.type_id, r.status, r.deducts, CAST(substr(d.day, 1, 4) AS INTEGER) AS year,"
    " d.amount, count(*) AS n FROM leave_request_days d"
    " JOIN leave_requests r ON r.id = d.request_id"
    " WHERE r.guild_id = ? AND r.user_id = ? AND r.status IN ('pending', 'approved')"
    " GROUP BY r.type_id, r.status, r.deducts, year, d.amount"
)
# The same for one type: what a write transaction needs (it always concerns one type).
SQL_TYPE_BY_ID = "SELECT * FROM leave_types WHERE guild_id = ? AND id = ?"
SQL_TYPE_OVERRIDE = (
    "SELECT type_id, allowance FROM leave_allowances"
    " WHERE guild_id = ? AND user_id = ? AND type_id = ?"
)
SQL_TYPE_LEDGER = (
    "SELECT type_id, year, kind, amount, count(*) AS n FROM leave_ledger"
    " WHERE guild_id = ? AND user_id = ? AND type_id = ? GROUP BY type_id, year, kind, amount"
)
SQL_TYPE_LIVE_DAYS = (
    "SELECT r.type_id, r.status, r.deducts, CAST(substr(d.day, 1, 4) AS INTEGER) AS year,"
    " d.amount, count(*) AS n FROM leave_request_days d"
    # Without statistics the planner would pick the (guild, status) index here and walk every
    # live request of the guild; the member's index walks only theirs.
    " JOIN leave_requests r INDEXED BY leave_requests_member ON r.id = d.request_id"
    " WHERE r.guild_id = ? AND r.user_id = ? AND r.type_id = ?"
    " AND r.status IN ('pending', 'approved')"
    " GROUP BY r.type_id, r.status, r.deducts, year, d.amount"
)
SQL_ABSENCES = (
    "SELECT r.user_id, d.day, r.portion, r.from_time, r.to_time, r.type_name, r.id AS request_id,"
    " r.status, d.amount, r.deducts FROM leave_request_days d"
    " JOIN leave_requests r ON r.id = d.request_id"
    " WHERE r.guild_id = ? AND d.day BETWEEN ? AND ?"
    " AND r.status IN (SELECT value FROM json_each(?)) ORDER BY d.day, r.user_id, r.id"
)
SQL_HOLIDAYS = "SELECT * FROM holidays WHERE guild_id = ? AND day BETWEEN ? AND ? ORDER BY day"


def _member_queries(guild_id: int, user_id: int, type_id: int | None = None) -> list[Query]:
    """The queries :func:`_member_leave` folds: every type, or only ``type_id``."""
    if type_id is not None:
        return [
            (SQL_TYPE_BY_ID, (guild_id, type_id)),
            (SQL_TYPE_OVERRIDE, (guild_id, user_id, type_id)),
            (SQL_TYPE_LEDGER, (guild_id, user_id, type_id)),
            (SQL_TYPE_LIVE_DAYS, (guild_id, user_id, type_id)),
        ]
    return [
        (SQL_TYPES, (guild_id,)),
        (SQL_OVERRIDES, (guild_id, user_id)),
        (SQL_LEDGER, (guild_id, user_id)),
        (SQL_LIVE_DAYS, (guild_id, user_id)),
    ]


def _counted(row: sqlite3.Row) -> Fraction:
    """``amount`` times ``n`` of a grouped row."""
    amount = fraction_from_text(row["amount"])
    count = int(row["n"])
    return amount if count == 1 else amount * count


def _member_leave(results: Sequence[Sequence[sqlite3.Row]]) -> MemberLeave:
    """Fold the rows of :func:`_member_queries` into per-type, per-year activity."""
    type_rows, override_rows, ledger_rows, day_rows = results
    totals: dict[int, dict[int, dict[str, Fraction]]] = {}

    def add(type_id: int, year: int, key: str, amount: Fraction) -> None:
        bucket = totals.setdefault(type_id, {}).setdefault(year, {})
        bucket[key] = bucket[key] + amount if key in bucket else amount

    for row in ledger_rows:
        amount = _counted(row)
        if row["kind"] == "adjustment":
            add(row["type_id"], row["year"], "adjustments", amount)
        else:  # debits are negative, credits positive: taken is what is still debited
            add(row["type_id"], row["year"], "taken", -amount)
    for row in day_rows:
        amount = _counted(row)
        if row["status"] == RequestStatus.APPROVED.value:
            add(row["type_id"], row["year"], "recorded", amount)
        elif row["deducts"]:
            add(row["type_id"], row["year"], "pending", amount)
    activity = {
        type_id: {year: YearActivity(**values) for year, values in years.items()}
        for type_id, years in totals.items()
    }
    return MemberLeave(
        types={row["id"]: _type_from_row(row) for row in type_rows},
        overrides={row["type_id"]: fraction_from_text(row["allowance"]) for row in override_rows},
        activity=activity,
    )


def _run_queries(conn: sqlite3.Connection, queries: Iterable[Query]) -> list[list[sqlite3.Row]]:
    return [conn.execute(sql, params).fetchall() for sql, params in queries]


# -- synchronous helpers for transaction functions ---------------------------------------------
def local_today(now: datetime, config: GuildConfig) -> date:
    return now.astimezone(config.tz).date()


def ensure_default_types(conn: sqlite3.Connection, guild_id: int, year: int, now: datetime) -> None:
    """Create the default leave types the first time a guild uses leave."""
    if conn.execute("SELECT 1 FROM leave_types WHERE guild_id = ? LIMIT 1", (guild_id,)).fetchone():
        return
    for name, settings in DEFAULT_TYPES:
        _insert_type(conn, guild_id, name, settings, year, now)


def _insert_type(
    conn: sqlite3.Connection,
    guild_id: int,
    name: str,
    settings: TypeSettings,
    year: int,
    now: datetime,
) -> int:
    cur = conn.execute(
        "INSERT INTO leave_types (guild_id, name, allowance, accrual, carryover_cap, deducts,"
        " requires_approval, allow_negative, since_year, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guild_id,
            name,
            None if settings.allowance is None else fraction_to_text(settings.allowance),
            settings.accrual.value,
            fraction_to_text(settings.carryover_cap),
            int(settings.deducts),
            int(settings.requires_approval),
            int(settings.allow_negative),
            year,
            utcnow_iso(now),
            utcnow_iso(now),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def find_type(
    conn: sqlite3.Connection,
    guild_id: int,
    name: str,
    *,
    create_defaults: tuple[int, datetime] | None = None,
    archived_ok: bool = False,
) -> LeaveType:
    """The guild's type called ``name``. With ``create_defaults=(year, now)``, a guild that
    has no types yet gets the defaults first (on first use); checked only when the name is
    not found, so the usual case costs one query. An archived type is refused unless
    ``archived_ok``: nobody takes or is given leave of a retired type."""
    cleaned = " ".join(name.split())
    row = conn.execute(SQL_TYPE_BY_NAME, (guild_id, cleaned)).fetchone()
    if row is None and create_defaults is not None:
        ensure_default_types(conn, guild_id, *create_defaults)
        row = conn.execute(SQL_TYPE_BY_NAME, (guild_id, cleaned)).fetchone()
    if row is None:
        known = [
            r["name"]
            for r in conn.execute(SQL_TYPES, (guild_id,)).fetchall()
            if r["archived_at"] is None
        ]
        raise NotFound(
            f"There is no leave type called `{name}`. Types here: {', '.join(known) or 'none'}."
        )
    found = _type_from_row(row)
    if found.archived and not archived_ok:
        raise UserError(
            f"**{found.name}** is archived: it is no longer used. A manager can bring it back "
            f"with `/leave policy leave_type:{found.name} archive:False`."
        )
    return found


def _type_by_id(conn: sqlite3.Connection, type_id: int) -> LeaveType:
    row = conn.execute("SELECT * FROM leave_types WHERE id = ?", (type_id,)).fetchone()
    assert row is not None
    return _type_from_row(row)


def _holiday_set(
    conn: sqlite3.Connection, guild_id: int, start: date, end: date
) -> frozenset[date]:
    rows = conn.execute(SQL_HOLIDAYS, (guild_id, start.isoformat(), end.isoformat())).fetchall()
    return frozenset(date.fromisoformat(row["day"]) for row in rows)


def _live_spans(
    conn: sqlite3.Connection, guild_id: int, user_id: int, start: date, end: date
) -> list[tuple[int, Span]]:
    rows = conn.execute(
        "SELECT * FROM leave_requests WHERE guild_id = ? AND user_id = ?"
        " AND status IN ('pending', 'approved') AND start_date <= ? AND end_date >= ?",
        (guild_id, user_id, end.isoformat(), start.isoformat()),
    ).fetchall()
    return [(row["id"], _request_from_row(row).span) for row in rows]


def _load_request(conn: sqlite3.Connection, guild_id: int, request_id: int) -> LeaveRequest:
    row = conn.execute(SQL_REQUEST, (guild_id, request_id)).fetchone()
    if row is None:
        raise NotFound(f"There is no leave request #{request_id} in this server.")
    return _request_from_row(row)


def _request_days(conn: sqlite3.Connection, request_id: int) -> list[tuple[date, Fraction]]:
    rows = conn.execute(
        "SELECT day, amount FROM leave_request_days WHERE request_id = ? ORDER BY day",
        (request_id,),
    ).fetchall()
    return [(date.fromisoformat(r["day"]), fraction_from_text(r["amount"])) for r in rows]


def load_member_leave(
    conn: sqlite3.Connection, guild_id: int, user_id: int, type_id: int | None = None
) -> MemberLeave:
    """One member's types, overrides and activity (inside a transaction or a test); with
    ``type_id``, of that type only (a transaction reads no more than its rule needs)."""
    return _member_leave(_run_queries(conn, _member_queries(guild_id, user_id, type_id)))


def _require_manager(actor_is_manager: bool) -> None:
    if not actor_is_manager:
        raise PermissionDenied(MANAGERS_ONLY)


def _write_ledger(
    conn: sqlite3.Connection,
    request: LeaveRequest,
    kind: str,
    amounts: dict[int, Fraction],
    actor_id: int,
    now: datetime,
) -> None:
    for year, amount in amounts.items():
        conn.execute(
            "INSERT INTO leave_ledger (guild_id, user_id, type_id, year, kind, amount, request_id,"
            " actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.guild_id,
                request.user_id,
                request.type_id,
                year,
                kind,
                fraction_to_text(amount),
                request.id,
                actor_id,
                utcnow_iso(now),
            ),
        )


def _balances_for(
    member: MemberLeave, type_id: int, days: Sequence[tuple[date, Fraction]], today: date
) -> tuple[Balance, ...]:
    years = sorted({day.year for day, _ in days})
    return tuple(member.balance(type_id, year, _as_of(year, today, days)) for year in years)


def _as_of(year: int, today: date, days: Sequence[tuple[date, Fraction]]) -> date:
    return balance_as_of(year, today, max(day for day, _ in days if day.year == year))


# -- transaction functions ---------------------------------------------------------------------
# The columns a new request leaves to their defaults.
_UNSET_AT_REQUEST: dict[str, Any] = {
    "decision_note": None,
    "cancelled_by": None,
    "cancelled_at": None,
    "card_channel_id": None,
    "card_message_id": None,
}


@dataclass(frozen=True)
class ApplyInput:
    guild_id: int
    actor_id: int
    actor_is_manager: bool
    user_id: int
    leave_type: str
    start: date
    end: date | None = None
    portion: Portion = Portion.FULL_DAY
    from_time: time | None = None
    to_time: time | None = None
    reason: str | None = None


def apply_request(conn: sqlite3.Connection, spec: ApplyInput, now: datetime) -> ApplyResult:
    """Check and save a request; an auto-approved type is approved and debited at once."""
    if spec.user_id != spec.actor_id and not spec.actor_is_manager:
        raise PermissionDenied("Only managers can request leave for someone else.")
    config = read_config(conn, spec.guild_id)
    today = local_today(now, config)
    ltype = find_type(conn, spec.guild_id, spec.leave_type, create_defaults=(today.year, now))
    reason = validate_reason(spec.reason)
    span = build_span(
        spec.start,
        spec.end,
        spec.portion,
        spec.from_time,
        spec.to_time,
        today=today,
        max_days=config.leave_max_days,
    )
    holidays = _holiday_set(conn, spec.guild_id, span.start, span.end)
    days = day_amounts(span, config.workdays, holidays, config.workday_minutes)
    clash = find_overlap(span, _live_spans(conn, spec.guild_id, spec.user_id, span.start, span.end))
    if clash is not None:
        other = _load_request(conn, spec.guild_id, clash)
        whose = "your" if spec.user_id == spec.actor_id else "their"
        raise UserError(
            f"That overlaps {whose} {other.status.value} request #{other.id} "
            f"({other.span.describe()}). Cancel it first or pick other dates or hours."
        )
    member = load_member_leave(conn, spec.guild_id, spec.user_id, ltype.id)
    per_year = amounts_by_year(days)
    as_of = {year: _as_of(year, today, days) for year in per_year}
    problem = member.shortfall(ltype.id, per_year, as_of, count_pending=True)
    if problem:
        raise UserError(problem)
    auto = not ltype.settings.requires_approval
    # A manager's own request on a type whose approval they switched off waits for another
    # manager: otherwise switching it off, filing and switching it back approves one's own leave.
    held = (
        auto
        and spec.user_id == spec.actor_id
        and _approval_changed_by(conn, ltype.id) == spec.actor_id
    )
    auto = auto and not held
    status = RequestStatus.APPROVED if auto else RequestStatus.PENDING
    total = sum(per_year.values(), ZERO)
    stored: dict[str, Any] = {
        "guild_id": spec.guild_id,
        "user_id": spec.user_id,
        "type_id": ltype.id,
        "type_name": ltype.name,
        "start_date": span.start.isoformat(),
        "end_date": span.end.isoformat(),
        "portion": span.portion.value,
        "from_time": format_hhmm(span.from_time) if span.from_time else None,
        "to_time": format_hhmm(span.to_time) if span.to_time else None,
        "amount": fraction_to_text(total),
        "deducts": int(ltype.settings.deducts),
        "reason": reason,
        "status": status.value,
        "filed_by": spec.actor_id,
        "created_at": utcnow_iso(now),
        "decided_by": None,
        "decided_at": utcnow_iso(now) if auto else None,
    }
    cur = conn.execute(
        "INSERT INTO leave_requests (guild_id, user_id, type_id, type_name, start_date, end_date,"
        " portion, from_time, to_time, amount, deducts, reason, status, filed_by, created_at,"
        " decided_by, decided_at) VALUES (:guild_id, :user_id, :type_id, :type_name,"
        " :start_date, :end_date, :portion, :from_time, :to_time, :amount, :deducts, :reason,"
        " :status, :filed_by, :created_at, :decided_by, :decided_at)",
        stored,
    )
    assert cur.lastrowid is not None
    request_id = cur.lastrowid
    conn.executemany(
        "INSERT INTO leave_request_days (request_id, day, amount) VALUES (?, ?, ?)",
        [(request_id, day.isoformat(), fraction_to_text(amount)) for day, amount in days],
    )
    # The request as stored, from the values just written rather than read back.
    request = _request_from_values({**stored, **_UNSET_AT_REQUEST, "id": request_id})
    if auto and request.deducts:
        debits = {year: -amount for year, amount in per_year.items()}
        _write_ledger(conn, request, "debit", debits, spec.actor_id, now)
    write_audit(
        conn,
        guild_id=spec.guild_id,
        actor_id=spec.actor_id,
        action="leave.request",
        subject=f"leave:{request_id}",
        after={
            **_request_audit(request),
            "auto_approved": auto,
            **({"held": "approval switched off by the requester"} if held else {}),
        },
        now=now,
    )
    deducting = 1 if request.deducts else 0
    shift = Shift(taken=deducting, recorded=1) if auto else Shift(pending=deducting)
    frozen_days = tuple(days)
    return ApplyResult(
        request=request,
        amounts=per_year,
        before=BalanceView(member, ltype.id, frozen_days, today),
        after=BalanceView(member, ltype.id, frozen_days, today, shift),
    )


def decide_request(
    conn: sqlite3.Connection,
    guild_id: int,
    request_id: int,
    actor_id: int,
    actor_is_manager: bool,
    approve: bool,
    note: str | None,
    now: datetime,
) -> Decision:
    """Approve or reject a pending request, exactly once; approval debits in this transaction."""
    _require_manager(actor_is_manager)
    request = _load_request(conn, guild_id, request_id)
    if request.user_id == actor_id:
        raise PermissionDenied(
            f"Nobody decides their own leave: another manager has to "
            f"{'approve' if approve else 'reject'} request #{request_id}."
        )
    if request.status is not RequestStatus.PENDING:
        raise already_decided(request)
    note = validate_reason(note)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    days = _request_days(conn, request_id)
    per_year = amounts_by_year(days)
    member = load_member_leave(conn, guild_id, request.user_id, request.type_id)
    if approve and request.deducts:
        as_of = {year: _as_of(year, today, days) for year in per_year}
        problem = member.shortfall(request.type_id, per_year, as_of, count_pending=False)
        if problem:
            raise UserError(f"Cannot approve #{request_id}: {problem}")
    status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    updated = conn.execute(
        "UPDATE leave_requests SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?"
        " WHERE guild_id = ? AND id = ? AND status = 'pending'",
        (status.value, actor_id, utcnow_iso(now), note, guild_id, request_id),
    )
    if updated.rowcount != 1:
        raise already_decided(_load_request(conn, guild_id, request_id))
    decided = replace(
        request,
        status=status,
        decided_by=actor_id,
        decided_at=_when(utcnow_iso(now)),  # as stored: UTC, whole seconds
        decision_note=note,
    )
    if approve and decided.deducts:
        debits = {year: -amount for year, amount in per_year.items()}
        _write_ledger(conn, decided, "debit", debits, actor_id, now)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.approve" if approve else "leave.reject",
        subject=f"leave:{request_id}",
        before={"status": request.status.value},
        after={"status": status.value, "note": note},
        now=now,
    )
    deducting = 1 if decided.deducts else 0
    shift = (
        Shift(pending=-deducting, taken=deducting, recorded=1)
        if approve
        else Shift(pending=-deducting)
    )
    view = BalanceView(member, decided.type_id, tuple(days), today, shift)
    return Decision(decided, request.status, view)


def cancel_request(
    conn: sqlite3.Connection,
    guild_id: int,
    request_id: int,
    actor_id: int,
    actor_is_manager: bool,
    now: datetime,
) -> Decision:
    """Cancel a live request; an approved one gets back exactly what it took."""
    request = _load_request(conn, guild_id, request_id)
    own = request.user_id == actor_id
    if not own and not actor_is_manager:
        raise PermissionDenied("You can cancel only your own leave requests.")
    if not request.live:
        raise already_decided(request)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    # A manager's own started leave is theirs like anyone's: another manager cancels it.
    decides_for_others = actor_is_manager and not own
    if (
        request.status is RequestStatus.APPROVED
        and not decides_for_others
        and request.start <= today
    ):
        raise UserError(
            f"Request #{request_id} has already started ({request.span.describe()}); "
            "ask a manager to cancel it."
        )
    updated = conn.execute(
        "UPDATE leave_requests SET status = 'cancelled', cancelled_by = ?, cancelled_at = ?"
        " WHERE guild_id = ? AND id = ? AND status = ?",
        (actor_id, utcnow_iso(now), guild_id, request_id, request.status.value),
    )
    if updated.rowcount != 1:
        raise already_decided(_load_request(conn, guild_id, request_id))
    cancelled = _load_request(conn, guild_id, request_id)
    # The credit is whatever this request still has debited, year by year: exact by construction.
    rows = conn.execute(
        "SELECT year, amount FROM leave_ledger WHERE request_id = ? AND kind IN ('debit', 'credit')",
        (request_id,),
    ).fetchall()
    owed: dict[int, Fraction] = {}
    for row in rows:
        owed[row["year"]] = owed.get(row["year"], ZERO) - fraction_from_text(row["amount"])
    credits = {year: amount for year, amount in sorted(owed.items()) if amount}
    _write_ledger(conn, cancelled, "credit", credits, actor_id, now)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.cancel",
        subject=f"leave:{request_id}",
        before={"status": request.status.value},
        after={
            "status": RequestStatus.CANCELLED.value,
            "credited": {str(y): fraction_to_text(a) for y, a in credits.items()},
        },
        now=now,
    )
    days = _request_days(conn, request_id)
    member = load_member_leave(conn, guild_id, cancelled.user_id, cancelled.type_id)
    return Decision(
        cancelled,
        request.status,
        BalanceView(member, cancelled.type_id, tuple(days), today),
        credited=sum(credits.values(), ZERO),
    )


def adjust_balance(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    user_id: int,
    leave_type: str,
    days: Fraction,
    reason: str,
    now: datetime,
) -> Balance | HeldChange:
    """A manual ledger entry in this year's balance (positive adds days, negative removes).
    A manager's entry in their own balance is held for another manager (returned held)."""
    _require_manager(actor_is_manager)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    ltype = find_type(conn, guild_id, leave_type, create_defaults=(today.year, now))
    if not ltype.has_balance:
        raise UserError(f"{ltype.name} has no balance to adjust (no allowance, or not deducted).")
    if days == 0:
        raise UserError(
            "An adjustment of 0 days changes nothing; give a positive or negative number."
        )
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise UserError("Give a reason for the adjustment; it is kept in the ledger.")
    if len(cleaned) > MAX_ADJUST_REASON:
        raise UserError(f"The reason can be at most {MAX_ADJUST_REASON} characters long.")
    if user_id == actor_id:
        return _hold_change(conn, guild_id, actor_id, "adjust", ltype.name, days, cleaned, now)
    member = load_member_leave(conn, guild_id, user_id, ltype.id)
    before = member.balance(ltype.id, today.year, today)
    # Removing days is checked like taking them, this year and in the years it carries into.
    removal = {today.year: -days} if days < 0 else {}
    if member.shortfall(ltype.id, removal, {today.year: today}, count_pending=False):
        raise UserError(
            f"That would leave {ltype.name} below zero ({format_amount(before.available)} "
            f"available in {today.year}, counting leave booked ahead); {ltype.name} may not go "
            "negative."
        )
    conn.execute(
        "INSERT INTO leave_ledger (guild_id, user_id, type_id, year, kind, amount, reason,"
        " actor_id, created_at) VALUES (?, ?, ?, ?, 'adjustment', ?, ?, ?, ?)",
        (
            guild_id,
            user_id,
            ltype.id,
            today.year,
            fraction_to_text(days),
            cleaned,
            actor_id,
            utcnow_iso(now),
        ),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.adjust",
        subject=f"member:{user_id}",
        before={
            "type": ltype.name,
            "year": today.year,
            "available": fraction_to_text(before.available),
        },
        after={"days": fraction_to_text(days), "reason": cleaned},
        now=now,
    )
    return load_member_leave(conn, guild_id, user_id, ltype.id).balance(ltype.id, today.year, today)


def set_allowance(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    user_id: int,
    leave_type: str,
    days: Fraction,
    now: datetime,
) -> Balance | HeldChange:
    """A member's own allowance for a type (every year), replacing the type's. A manager's
    own allowance is held for another manager (returned held)."""
    _require_manager(actor_is_manager)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    ltype = find_type(conn, guild_id, leave_type, create_defaults=(today.year, now))
    if not ltype.has_balance:
        raise UserError(
            f"{ltype.name} has no balance (no allowance, or not deducted); give the type an "
            "allowance with `/leave policy` first."
        )
    if user_id == actor_id:
        return _hold_change(conn, guild_id, actor_id, "allowance", ltype.name, days, None, now)
    old = conn.execute(
        "SELECT allowance FROM leave_allowances WHERE guild_id = ? AND user_id = ? AND type_id = ?",
        (guild_id, user_id, ltype.id),
    ).fetchone()
    conn.execute(
        "INSERT INTO leave_allowances (guild_id, user_id, type_id, allowance, set_by, set_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, type_id) DO UPDATE SET"
        " allowance = excluded.allowance, set_by = excluded.set_by, set_at = excluded.set_at",
        (guild_id, user_id, ltype.id, fraction_to_text(days), actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.allowance",
        subject=f"member:{user_id}",
        before={"type": ltype.name, "allowance": old["allowance"] if old else None},
        after={"type": ltype.name, "allowance": fraction_to_text(days)},
        now=now,
    )
    return load_member_leave(conn, guild_id, user_id, ltype.id).balance(ltype.id, today.year, today)


# -- a manager's changes to their own leave ---------------------------------------------------
@dataclass(frozen=True)
class HeldChange:
    """A change a manager asked for in their own leave, waiting for another manager."""

    id: int
    guild_id: int
    user_id: int
    kind: str  # "adjust" (a ledger entry of ``days``) or "allowance" (``days`` a year)
    leave_type: str
    days: Fraction
    reason: str | None
    status: str  # pending, approved, rejected
    decided_by: int | None = None
    card_channel_id: int | None = None
    card_message_id: int | None = None


def _change_from_row(row: sqlite3.Row) -> HeldChange:
    return HeldChange(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        leave_type=row["type_name"],
        days=fraction_from_text(row["days"]),
        reason=row["reason"],
        status=row["status"],
        decided_by=row["decided_by"],
        card_channel_id=row["card_channel_id"],
        card_message_id=row["card_message_id"],
    )


def _approval_changed_by(conn: sqlite3.Connection, type_id: int) -> int | None:
    row = conn.execute(
        "SELECT approval_changed_by FROM leave_types WHERE id = ?", (type_id,)
    ).fetchone()
    return None if row is None else row["approval_changed_by"]


def _hold_change(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    kind: str,
    type_name: str,
    days: Fraction,
    reason: str | None,
    now: datetime,
) -> HeldChange:
    cur = conn.execute(
        "INSERT INTO leave_changes (guild_id, user_id, kind, type_name, days, reason,"
        " requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild_id, actor_id, kind, type_name, fraction_to_text(days), reason, utcnow_iso(now)),
    )
    change_id = cur.lastrowid
    assert change_id is not None
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.change_held",
        subject=f"leave_change:{change_id}",
        after={"kind": kind, "type": type_name, "days": fraction_to_text(days), "own": True},
        now=now,
    )
    return HeldChange(change_id, guild_id, actor_id, kind, type_name, days, reason, "pending")


def decide_change(
    conn: sqlite3.Connection,
    guild_id: int,
    change_id: int,
    actor_id: int,
    actor_is_manager: bool,
    approve: bool,
    now: datetime,
) -> tuple[HeldChange, Balance | None]:
    """Approve (make) or reject a held change, exactly once, by a manager other than the one
    whose leave it changes."""
    _require_manager(actor_is_manager)
    row = conn.execute(
        "SELECT * FROM leave_changes WHERE guild_id = ? AND id = ?", (guild_id, change_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no change #{change_id} here.")
    change = _change_from_row(row)
    if change.user_id == actor_id:
        raise PermissionDenied(
            f"Nobody decides a change to their own leave: another manager has to "
            f"{'approve' if approve else 'reject'} change #{change_id}."
        )
    status = "approved" if approve else "rejected"
    updated = conn.execute(
        "UPDATE leave_changes SET status = ?, decided_by = ?, decided_at = ?"
        " WHERE guild_id = ? AND id = ? AND status = 'pending'",
        (status, actor_id, utcnow_iso(now), guild_id, change_id),
    )
    if updated.rowcount != 1:
        raise UserError(f"Change #{change_id} was already {change.status}.")
    balance: Balance | HeldChange | None = None
    if approve and change.kind == "adjust":
        balance = adjust_balance(
            conn,
            guild_id,
            actor_id,
            True,
            change.user_id,
            change.leave_type,
            change.days,
            change.reason or "",
            now,
        )
    elif approve:
        balance = set_allowance(
            conn, guild_id, actor_id, True, change.user_id, change.leave_type, change.days, now
        )
    assert not isinstance(balance, HeldChange)  # made for someone else, never held again
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action=f"leave.change_{'approve' if approve else 'reject'}",
        subject=f"leave_change:{change_id}",
        before={"status": "pending"},
        after={"status": status, "for": change.user_id},
        now=now,
    )
    return replace(change, status=status, decided_by=actor_id), balance


def _set_change_card(
    conn: sqlite3.Connection, guild_id: int, change_id: int, channel_id: int, message_id: int
) -> None:
    conn.execute(
        "UPDATE leave_changes SET card_channel_id = ?, card_message_id = ?"
        " WHERE guild_id = ? AND id = ?",
        (channel_id, message_id, guild_id, change_id),
    )


@dataclass(frozen=True)
class PolicyChange:
    """Only the fields a manager gave; None leaves a field as it is (or the default)."""

    allowance: Fraction | None = None
    clear_allowance: bool = False  # "none": the type keeps no balance
    accrual: Accrual | None = None
    carryover_cap: Fraction | None = None
    deducts: bool | None = None
    requires_approval: bool | None = None
    allow_negative: bool | None = None
    rename: str | None = None  # a new name for an existing type
    archive: bool | None = None  # True retires the type, False brings it back

    def apply_to(self, settings: TypeSettings) -> TypeSettings:
        allowance = settings.allowance
        if self.clear_allowance:
            allowance = None
        elif self.allowance is not None:
            allowance = self.allowance
        return TypeSettings(
            allowance=allowance,
            accrual=_pick(self.accrual, settings.accrual),
            carryover_cap=_pick(self.carryover_cap, settings.carryover_cap),
            deducts=_pick(self.deducts, settings.deducts),
            requires_approval=_pick(self.requires_approval, settings.requires_approval),
            allow_negative=_pick(self.allow_negative, settings.allow_negative),
        )


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def upsert_policy(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    change: PolicyChange,
    now: datetime,
) -> tuple[LeaveType, bool]:
    """Create the type or update the given fields; returns (type, created)."""
    _require_manager(actor_is_manager)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    ensure_default_types(conn, guild_id, today.year, now)
    cleaned = validate_type_name(name)
    existing = conn.execute(SQL_TYPE_BY_NAME, (guild_id, cleaned)).fetchone()
    if existing is None and (change.rename is not None or change.archive is not None):
        find_type(conn, guild_id, cleaned)  # raises NotFound listing the types there are
    if existing is None:
        settings = change.apply_to(TypeSettings())
        type_id = _insert_type(conn, guild_id, cleaned, settings, today.year, now)
        before: dict[str, Any] | None = None
        created = True
    else:
        old = _type_from_row(existing)
        settings = change.apply_to(old.settings)
        type_id = old.id
        before = {**_settings_audit(old.settings), "name": old.name, "archived": old.archived}
        if settings.requires_approval != old.settings.requires_approval:
            conn.execute(
                "UPDATE leave_types SET approval_changed_by = ? WHERE id = ?", (actor_id, type_id)
            )
        conn.execute(
            "UPDATE leave_types SET allowance = ?, accrual = ?, carryover_cap = ?, deducts = ?,"
            " requires_approval = ?, allow_negative = ?, updated_at = ? WHERE id = ?",
            (
                None if settings.allowance is None else fraction_to_text(settings.allowance),
                settings.accrual.value,
                fraction_to_text(settings.carryover_cap),
                int(settings.deducts),
                int(settings.requires_approval),
                int(settings.allow_negative),
                utcnow_iso(now),
                type_id,
            ),
        )
        cleaned = _rename_type(conn, guild_id, old, change.rename, now)
        _archive_type(conn, old, change.archive, now)
        created = False
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.policy",
        subject=f"leave_type:{type_id}",
        before=before,
        after={
            "name": cleaned,
            "archived": _type_by_id(conn, type_id).archived,
            **_settings_audit(settings),
        },
        now=now,
    )
    return _type_by_id(conn, type_id), created


def _rename_type(
    conn: sqlite3.Connection, guild_id: int, old: LeaveType, rename: str | None, now: datetime
) -> str:
    """Give ``old`` a new name (names are unique whatever their case); the name it has now.
    Requests keep the name they were made with (their history reads as it happened)."""
    if rename is None:
        return old.name
    new_name = validate_type_name(rename)
    taken = conn.execute(SQL_TYPE_BY_NAME, (guild_id, new_name)).fetchone()
    if taken is not None and taken["id"] != old.id:
        raise UserError(f"There is already a leave type called **{taken['name']}**.")
    conn.execute(
        "UPDATE leave_types SET name = ?, updated_at = ? WHERE id = ?",
        (new_name, utcnow_iso(now), old.id),
    )
    return new_name


def _archive_type(
    conn: sqlite3.Connection, old: LeaveType, archive: bool | None, now: datetime
) -> None:
    if archive is None or archive == old.archived:
        return
    conn.execute(
        "UPDATE leave_types SET archived_at = ?, updated_at = ? WHERE id = ?",
        (utcnow_iso(now) if archive else None, utcnow_iso(now), old.id),
    )


def set_card(
    conn: sqlite3.Connection, guild_id: int, request_id: int, channel_id: int, message_id: int
) -> None:
    conn.execute(
        "UPDATE leave_requests SET card_channel_id = ?, card_message_id = ? WHERE guild_id = ? AND id = ?",
        (channel_id, message_id, guild_id, request_id),
    )


def add_holiday(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    day: date,
    name: str,
    now: datetime,
) -> tuple[Holiday, Holiday | None]:
    """Add a holiday (or rename the one on that date); returns (new, replaced)."""
    _require_manager(actor_is_manager)
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserError("Give the holiday a name, e.g. `Christmas Day`.")
    if len(cleaned) > MAX_HOLIDAY_NAME:
        raise UserError(f"A holiday name can be at most {MAX_HOLIDAY_NAME} characters long.")
    old = conn.execute(
        "SELECT * FROM holidays WHERE guild_id = ? AND day = ?", (guild_id, day.isoformat())
    ).fetchone()
    conn.execute(
        "INSERT INTO holidays (guild_id, day, name, source, added_by, added_at)"
        " VALUES (?, ?, ?, 'manual', ?, ?) ON CONFLICT (guild_id, day) DO UPDATE SET"
        " name = excluded.name, source = excluded.source, added_by = excluded.added_by,"
        " added_at = excluded.added_at",
        (guild_id, day.isoformat(), cleaned, actor_id, utcnow_iso(now)),
    )
    replaced = _holiday_from_row(old) if old else None
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.holiday.add",
        subject=f"holiday:{day.isoformat()}",
        before={"name": replaced.name} if replaced else None,
        after={"name": cleaned},
        now=now,
    )
    return Holiday(day, cleaned, "manual"), replaced


def remove_holiday(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    day: date,
    now: datetime,
) -> Holiday:
    _require_manager(actor_is_manager)
    old = conn.execute(
        "SELECT * FROM holidays WHERE guild_id = ? AND day = ?", (guild_id, day.isoformat())
    ).fetchone()
    if old is None:
        raise NotFound(f"There is no holiday on {describe_dates(day, day)}.")
    conn.execute("DELETE FROM holidays WHERE guild_id = ? AND day = ?", (guild_id, day.isoformat()))
    holiday = _holiday_from_row(old)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.holiday.remove",
        subject=f"holiday:{day.isoformat()}",
        before={"name": holiday.name, "source": holiday.source},
        now=now,
    )
    return holiday


def import_holidays(
    conn: sqlite3.Connection,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    found: list[tuple[date, str]],
    source: str,
    now: datetime,
) -> HolidayImport:
    """Add the given public holidays; dates that already have one are kept as they are."""
    _require_manager(actor_is_manager)
    added: list[Holiday] = []
    skipped: list[Holiday] = []
    for day, name in found:
        cur = conn.execute(
            "INSERT OR IGNORE INTO holidays (guild_id, day, name, source, added_by, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, day.isoformat(), name[:MAX_HOLIDAY_NAME], source, actor_id, utcnow_iso(now)),
        )
        (added if cur.rowcount == 1 else skipped).append(
            Holiday(day, name[:MAX_HOLIDAY_NAME], source)
        )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.holiday.import",
        subject=f"holidays:{source}",
        after={"added": [h.day.isoformat() for h in added], "skipped": len(skipped)},
        now=now,
    )
    return HolidayImport(tuple(added), tuple(skipped))


# -- the async face ----------------------------------------------------------------------------
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

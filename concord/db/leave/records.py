"""Leave's results (frozen dataclasses), row mapping and the member reads that the transaction
functions and ``LeaveManager`` share.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from functools import cached_property, lru_cache
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from concord.core.leave import (
    NO_ACTIVITY,
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
    amounts_by_year,
    balance_as_of,
    compute_balance,
    fraction_from_text,
    fraction_to_text,
    iso_day,
    moved,
    shortfall,
)
from concord.core.quick_init import quick_init
from concord.core.schedule import format_hhmm, parse_hhmm
from concord.db.guilds import AuditJson
from concord.db.portable import SQLITE, Conn, DbRow

log: logging.Logger = logging.getLogger(__name__)

Query = tuple[str, tuple[Any, ...]]


# -- results -----------------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class BalanceChange:
    """How one year's balance of the request's type moves with a request."""

    year: int
    amount: Fraction
    before: Balance
    after: Balance


@quick_init
@dataclass(frozen=True)
class Shift:
    """How a change moves a member's activity: +1 or -1 of the days into each column."""

    pending: int = 0
    taken: int = 0
    recorded: int = 0


@quick_init
@dataclass(frozen=True)
class BalanceView:
    """A member's balances of one type in each year some days fall in, worked out when first
    read. Transaction functions return these rather than balances, so the arithmetic runs after
    the commit, on the caller's side, instead of inside the transaction while it holds the write
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

    def balances_from(self, unshifted: tuple[Balance, ...]) -> tuple[Balance, ...]:
        """``balances()``, given the balances of the same member, type, days and day without
        the shift (the balance before a change, already worked out). Days in one year move
        that year's columns only, and a year's entitlement and carry-over depend on earlier
        years alone, so the balance after is the one before with the days moved: no second
        copy of the member's activity and no second balance to work out (this ran on the
        event loop for every ``/leave apply``, twice the work of the first)."""
        shift = self.shift
        if shift is None:
            return unshifted
        per_year = amounts_by_year(self.days)
        if len(per_year) != 1 or len(unshifted) != 1:
            return self.balances()
        ((year, amount),) = per_year.items()
        (seen,) = unshifted
        tracked = seen.tracked
        return (
            Balance(
                leave_type=seen.leave_type,
                year=year,
                tracked=tracked,
                allow_negative=seen.allow_negative,
                entitlement=seen.entitlement,
                carried=seen.carried,
                adjustments=seen.adjustments,
                taken=moved(seen.taken, shift.taken, amount) if tracked else ZERO,
                pending=moved(seen.pending, shift.pending, amount) if tracked else ZERO,
                recorded=moved(seen.recorded, shift.recorded, amount),
            ),
        )


@quick_init
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
        view, later = self.before, self.after
        before = view.balances()
        # ``after`` is ``before`` with the request's days moved, when both are views of the
        # same snapshot (as apply_request makes them).
        same = (
            later.member is view.member
            and later.type_id == view.type_id
            and later.days == view.days
            and later.today == view.today
            and view.shift is None
        )
        after = later.balances_from(before) if same else later.balances()
        if len(before) == 1:  # one year (most requests): no generator to make
            ((seen, then),) = zip(before, after, strict=True)
            return (BalanceChange(seen.year, self.amounts[seen.year], seen, then),)
        return tuple(
            BalanceChange(year=b.year, amount=self.amounts[b.year], before=b, after=a)
            for b, a in zip(before, after, strict=True)
        )

    def request_years(self) -> tuple[RequestYear, ...]:
        """What the request's card shows (:meth:`LeaveManager.request_balances`): each year
        it touches with the balance after it, from this result instead of a second read."""
        return tuple(RequestYear(c.year, c.amount, c.after) for c in self.changes)


@quick_init
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

    def request_years(self) -> tuple[RequestYear, ...]:
        """What the request's card shows after the decision (as ApplyResult.request_years)."""
        per_year = amounts_by_year(self.view.days)
        return tuple(RequestYear(b.year, per_year[b.year], b) for b in self.balances)


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


@quick_init
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
            seen = years.get(year, NO_ACTIVITY)
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
    return _parse_when(text) if text else None


@lru_cache(maxsize=1024)
def _parse_when(text: str) -> datetime:
    """Cached: a transaction stamps its rows with one ``now``, and a datetime is immutable."""
    return datetime.fromisoformat(text)


# The columns of a leave type that the type queries below select, in this order.
TYPE_COLUMNS: tuple[str, ...] = (
    "id",
    "guild_id",
    "name",
    "allowance",
    "accrual",
    "carryover_cap",
    "deducts",
    "requires_approval",
    "allow_negative",
    "since_year",
    "archived_at",
)


def _type_from_row(row: DbRow) -> LeaveType:
    """A type from a row of the type queries (``SQL_TYPES``, ``SQL_TYPE_BY_NAME``,
    ``SQL_TYPE_BY_ID``: :data:`TYPE_COLUMNS`, in order)."""
    values = tuple(row)
    if len(values) != len(TYPE_COLUMNS):
        raise ValueError(f"a leave type row has the columns {TYPE_COLUMNS}, not {len(values)}")
    return _type_from_values(values)


@lru_cache(maxsize=512)
def _type_from_values(values: tuple[Any, ...]) -> LeaveType:
    """Cached by the row's values (a changed type is a different row): every balance reads
    all of a guild's types, and building them again each time was a measurable part of each
    leave transaction. Keyed by the values rather than by the row: a ``sqlite3.Row``'s hash
    and equality take in its cursor's description (a 7-tuple per column, made anew by each
    query), about 16k instructions per lookup against 6k."""
    (
        type_id,
        guild_id,
        name,
        allowance,
        accrual,
        carryover_cap,
        deducts,
        requires_approval,
        allow_negative,
        since_year,
        archived_at,
    ) = values
    return LeaveType(
        id=type_id,
        guild_id=guild_id,
        name=name,
        settings=TypeSettings(
            allowance=None if allowance is None else fraction_from_text(allowance),
            accrual=Accrual(accrual),
            carryover_cap=fraction_from_text(carryover_cap),
            deducts=bool(deducts),
            requires_approval=bool(requires_approval),
            allow_negative=bool(allow_negative),
        ),
        since_year=since_year,
        archived=archived_at is not None,
    )


def _request_from_row(row: DbRow) -> LeaveRequest:
    # One pass over the row: twenty lookups by name on a DbRow cost more than the SELECT.
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
            portion=_PORTIONS.get(row["portion"]) or Portion(row["portion"]),
            from_time=parse_hhmm(row["from_time"]) if row["from_time"] else None,
            to_time=parse_hhmm(row["to_time"]) if row["to_time"] else None,
        ),
        amount=fraction_from_text(row["amount"]),
        deducts=bool(row["deducts"]),
        reason=row["reason"],
        status=_STATUSES.get(row["status"]) or RequestStatus(row["status"]),
        filed_by=row["filed_by"],
        created_at=created,
        decided_by=row["decided_by"],
        decided_at=_when(row["decided_at"]),
        decision_note=row["decision_note"],
        cancelled_by=row["cancelled_by"],
        cancelled_at=_when(row["cancelled_at"]),
        card_channel_id=row["card_channel_id"],
        card_message_id=row["card_message_id"],
        override_note=row.get("override_note"),
    )


# The columns of a request in the order ``_request_from_tuple`` reads them (LeaveRequest's
# fields, its span's five columns in its place).
REQUEST_COLUMNS: tuple[str, ...] = (
    "id",
    "guild_id",
    "user_id",
    "type_id",
    "type_name",
    "start_date",
    "end_date",
    "portion",
    "from_time",
    "to_time",
    "amount",
    "deducts",
    "reason",
    "status",
    "filed_by",
    "created_at",
    "decided_by",
    "decided_at",
    "decision_note",
    "cancelled_by",
    "cancelled_at",
    "card_channel_id",
    "card_message_id",
    "override_note",
)


def _request_from_tuple(values: Sequence[Any]) -> LeaveRequest:
    """``_request_from_values`` for the values of :data:`REQUEST_COLUMNS`, by position (a
    row of :data:`SQL_REQUEST_ROW`): no dict of the row by name, no lookups by name, and
    LeaveRequest's fields given in order (the writer reads a request in every decision)."""
    (
        request_id,
        guild_id,
        user_id,
        type_id,
        type_name,
        start_date,
        end_date,
        portion,
        from_time,
        to_time,
        amount,
        deducts,
        reason,
        status,
        filed_by,
        created_at,
        decided_by,
        decided_at,
        decision_note,
        cancelled_by,
        cancelled_at,
        card_channel_id,
        card_message_id,
        override_note,
    ) = values
    return LeaveRequest(
        request_id,
        guild_id,
        user_id,
        type_id,
        type_name,
        Span(
            date.fromisoformat(start_date),
            date.fromisoformat(end_date),
            _PORTIONS.get(portion) or Portion(portion),
            parse_hhmm(from_time) if from_time else None,
            parse_hhmm(to_time) if to_time else None,
        ),
        fraction_from_text(amount),
        bool(deducts),
        reason,
        _STATUSES.get(status) or RequestStatus(status),
        filed_by,
        _parse_when(created_at),
        decided_by,
        _parse_when(decided_at) if decided_at else None,
        decision_note,
        cancelled_by,
        _parse_when(cancelled_at) if cancelled_at else None,
        card_channel_id,
        card_message_id,
        override_note,
    )


# Stored values -> members, looked up directly: Enum(value) was a third of reading a year's
# absences for the DAR stats (bench/bench_dar.py). Unknown values still raise, through Enum.
_PORTIONS: dict[str, Portion] = {p.value: p for p in Portion}
_STATUSES: dict[str, RequestStatus] = {s.value: s for s in RequestStatus}


def _absence_from_row(row: DbRow) -> Absence:
    portion, status = row["portion"], row["status"]
    return Absence(
        user_id=row["user_id"],
        day=date.fromisoformat(row["day"]),
        portion=_PORTIONS.get(portion) or Portion(portion),
        from_time=parse_hhmm(row["from_time"]) if row["from_time"] else None,
        to_time=parse_hhmm(row["to_time"]) if row["to_time"] else None,
        leave_type=row["type_name"],
        request_id=row["request_id"],
        status=_STATUSES.get(status) or RequestStatus(status),
        amount=fraction_from_text(row["amount"]),
        deducts=bool(row["deducts"]),
    )


def _holiday_from_row(row: DbRow) -> Holiday:
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


def _json_text(text: str | None) -> str:
    """A string (or None) as JSON, as the audit encoder writes it (ASCII)."""
    return "null" if text is None else encode_basestring_ascii(text)


def _request_audit_json(request: LeaveRequest, auto_approved: bool, held: str | None) -> AuditJson:
    """``{**_request_audit(request), "auto_approved": auto_approved}`` (and ``"held": held``
    when given) as ``write_audit`` encodes it, keys sorted, made as text: every request writes
    one, inside the write transaction (tests/db/test_leave_audit_json.py compares the two)."""
    span = request.span
    from_time, to_time = span.from_time, span.to_time
    return AuditJson(
        f'{{"amount": {encode_basestring_ascii(fraction_to_text(request.amount))}, '
        f'"auto_approved": {"true" if auto_approved else "false"}, '
        f'"end": "{iso_day(span.end)}", '
        f'"from_time": {_json_text(format_hhmm(from_time) if from_time else None)}, '
        + (f'"held": {encode_basestring_ascii(held)}, ' if held is not None else "")
        + f'"portion": {encode_basestring_ascii(str.__str__(span.portion))}, '
        f'"start": "{iso_day(span.start)}", '
        f'"status": {encode_basestring_ascii(str.__str__(request.status))}, '
        f'"to_time": {_json_text(format_hhmm(to_time) if to_time else None)}, '
        f'"type": {encode_basestring_ascii(request.leave_type)}, '
        f'"user_id": {int(request.user_id)}}}'
    )


# A decision's audit values (``{"status": "pending"}`` before, ``{"status": …, "note": …}``
# after), made as write_audit encodes them.
PENDING_AUDIT: AuditJson = AuditJson('{"status": "pending"}')


def _decision_audit_json(status: str, note: str | None) -> AuditJson:
    return AuditJson(f'{{"note": {_json_text(note)}, "status": {encode_basestring_ascii(status)}}}')


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
# A type's columns, named in TYPE_COLUMNS' order (``_type_from_row`` reads them by position).
SQL_SELECT_TYPE: str = "SELECT " + ", ".join(TYPE_COLUMNS) + " FROM leave_types"  # noqa: S608 (constants)
SQL_TYPES: str = SQL_SELECT_TYPE + " WHERE guild_id = ? ORDER BY id"
SQL_TYPE_BY_NAME: str = SQL_SELECT_TYPE + " WHERE guild_id = ? AND name = ?"
SQL_REQUEST = "SELECT * FROM leave_requests WHERE guild_id = ? AND id = ?"
# The same request, its columns named in REQUEST_COLUMNS' order (read by position).
SQL_REQUEST_ROW: str = (
    "SELECT "  # noqa: S608 (the column names are constants)
    + ", ".join(REQUEST_COLUMNS)
    + " FROM leave_requests WHERE guild_id = ? AND id = ?"
)
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
SQL_TYPE_BY_ID: str = SQL_SELECT_TYPE + " WHERE guild_id = ? AND id = ?"
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
# PostgreSQL has no index hints (its planner keeps statistics): the same query without it.
SQL_TYPE_LIVE_DAYS_PG: str = SQL_TYPE_LIVE_DAYS.replace(" INDEXED BY leave_requests_member", "")
SQL_ABSENCES = (
    "SELECT r.user_id, d.day, r.portion, r.from_time, r.to_time, r.type_name, r.id AS request_id,"
    " r.status, d.amount, r.deducts FROM leave_request_days d"
    # The days first (their day index), then each day's request: without statistics SQLite
    # picked the (guild, status) index and walked every approved and pending request the guild
    # ever had, for each leave card (18 % of /leave apply's CPU, bench_interaction_kinds.py).
    # A CROSS JOIN keeps SQLite's join order (sqlite.org/optoverview.html#crossjoin);
    # PostgreSQL plans it as the inner join it is.
    " CROSS JOIN leave_requests r"
    " WHERE r.id = d.request_id AND r.guild_id = ? AND d.day BETWEEN ? AND ?"
    " AND r.status IN {statuses} ORDER BY d.day, r.user_id, r.id"
)
SQL_HOLIDAYS = "SELECT * FROM holidays WHERE guild_id = ? AND day BETWEEN ? AND ? ORDER BY day"


def _member_queries(
    guild_id: int, user_id: int, type_id: int | None = None, dialect: str = SQLITE
) -> list[Query]:
    """The queries :func:`_member_leave` folds: every type, or only ``type_id``."""
    if type_id is not None:
        live_days = SQL_TYPE_LIVE_DAYS if dialect == SQLITE else SQL_TYPE_LIVE_DAYS_PG
        return [
            (SQL_TYPE_BY_ID, (guild_id, type_id)),
            (SQL_TYPE_OVERRIDE, (guild_id, user_id, type_id)),
            (SQL_TYPE_LEDGER, (guild_id, user_id, type_id)),
            (live_days, (guild_id, user_id, type_id)),
        ]
    return [
        (SQL_TYPES, (guild_id,)),
        (SQL_OVERRIDES, (guild_id, user_id)),
        (SQL_LEDGER, (guild_id, user_id)),
        (SQL_LIVE_DAYS, (guild_id, user_id)),
    ]


@lru_cache(maxsize=1024)
def _counted(amount: str, count: int, sign: int) -> Fraction:
    """``sign`` times ``amount`` times ``count`` of a grouped row; cached, since a member's
    ledger groups into a few (amount, count) pairs and exact Fractions are slow to make."""
    value = fraction_from_text(amount)
    if count != 1:
        value = value * count
    return -value if sign < 0 else value


_APPROVED: str = RequestStatus.APPROVED.value


def _member_leave(
    results: Sequence[Sequence[DbRow]], types: dict[int, LeaveType] | None = None
) -> MemberLeave:
    """Fold the rows of :func:`_member_queries` into per-type, per-year activity. With
    ``types`` (a transaction that has already read its type), ``results`` are the rows of
    the queries after the types' (``_member_queries(...)[1:]``)."""
    if types is None:
        type_rows, override_rows, ledger_rows, day_rows = results
        types = {row["id"]: _type_from_row(row) for row in type_rows}
    else:
        override_rows, ledger_rows, day_rows = results
    # (type, year) -> [adjustments, taken, pending, recorded]; the rows are unpacked by
    # position (the queries' column order), which costs less than a lookup by name each. A
    # column still holding the ZERO it started with takes the amount as it is (no Fraction
    # arithmetic, not even a truth test: Fraction's are Python methods).
    totals: dict[tuple[int, int], list[Fraction]] = {}
    for type_id, year, kind, amount, count in ledger_rows:
        key = (type_id, year)
        bucket = totals.get(key)
        if bucket is None:
            bucket = totals[key] = [ZERO, ZERO, ZERO, ZERO]
        if kind == "adjustment":
            column, value = 0, _counted(amount, count, 1)
        else:  # debits are negative, credits positive: taken is what is still debited
            column, value = 1, _counted(amount, count, -1)
        held = bucket[column]
        bucket[column] = value if held is ZERO else held + value
    for type_id, status, deducts, year, amount, count in day_rows:
        if status == _APPROVED:
            column = 3
        elif deducts:
            column = 2
        else:
            continue
        key = (type_id, year)
        bucket = totals.get(key)
        if bucket is None:
            bucket = totals[key] = [ZERO, ZERO, ZERO, ZERO]
        value = _counted(amount, count, 1)
        held = bucket[column]
        bucket[column] = value if held is ZERO else held + value
    activity: dict[int, dict[int, YearActivity]] = {}
    for (type_id, year), (adjustments, taken, pending, recorded) in totals.items():
        activity.setdefault(type_id, {})[year] = YearActivity(adjustments, taken, pending, recorded)
    overrides: dict[int, Fraction] = {}
    for row in override_rows:
        overrides[row[0]] = fraction_from_text(row[1])  # (type_id, allowance)
    return MemberLeave(types, overrides, activity)


def _run_queries(conn: Conn, queries: Iterable[Query]) -> list[list[DbRow]]:
    return [conn.execute(sql, params).fetchall() for sql, params in queries]


def _balances_for(
    member: MemberLeave, type_id: int, days: Sequence[tuple[date, Fraction]], today: date
) -> tuple[Balance, ...]:
    as_of = _as_of_years(today, days)
    if len(as_of) == 1:  # one year: most requests (this runs for every /leave apply shown)
        ((year, point),) = as_of.items()
        return (member.balance(type_id, year, point),)
    return tuple(member.balance(type_id, year, as_of[year]) for year in sorted(as_of))


def _as_of_years(today: date, days: Sequence[tuple[date, Fraction]]) -> dict[int, date]:
    """For each year of ``days``, the date its balance is counted up to (``balance_as_of``
    with the last of the days in that year), in one pass over the days: each request and
    approval asks this inside its transaction."""
    last: dict[int, date] = {}
    for day, _ in days:
        year = day.year
        seen = last.get(year)
        if seen is None or day > seen:
            last[year] = day
    return {year: balance_as_of(year, today, day) for year, day in last.items()}

"""Leave's synchronous transaction functions, each run by ``db.write(fn, ...)`` in one
``BEGIN IMMEDIATE`` (so the checks and the write see the same state). Every state change is a
conditional update checked by ``rowcount``; every decision is audited; permissions are checked
here, at the moment of the write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from fractions import Fraction
from functools import lru_cache
from typing import Any, TypeVar

from concord.core.leave import (
    DEFAULT_TYPES,
    ZERO,
    Accrual,
    Balance,
    Holiday,
    LeaveRequest,
    LeaveType,
    Portion,
    RequestStatus,
    Span,
    TypeSettings,
    already_decided,
    amounts_by_year,
    build_span,
    day_amounts,
    describe_dates,
    find_overlap,
    format_amount,
    fraction_from_text,
    fraction_to_text,
    iso_day,
    validate_reason,
    validate_type_name,
)
from concord.core.quick_init import quick_init
from concord.core.schedule import format_hhmm
from concord.core.settings import GuildConfig
from concord.core.teams import (
    MAX_OVERRIDE_NOTE,
    LimitReached,
    blackout_sentence,
    blackouts_touching,
    validate_note,
)
from concord.core.text import escape_markdown
from concord.db.guilds import read_config, utcnow_iso, write_audit
from concord.db.leave.records import (
    PENDING_AUDIT,
    REQUEST_COLUMNS,
    SQL_HOLIDAYS,
    SQL_REQUEST_ROW,
    SQL_SELECT_TYPE,
    SQL_TYPE_BY_ID,
    SQL_TYPE_BY_NAME,
    SQL_TYPE_LEDGER,
    SQL_TYPE_LIVE_DAYS,
    SQL_TYPE_LIVE_DAYS_PG,
    SQL_TYPE_OVERRIDE,
    SQL_TYPES,
    ApplyResult,
    BalanceView,
    Decision,
    HolidayImport,
    MemberLeave,
    Shift,
    _as_of_years,
    _decision_audit_json,
    _holiday_from_row,
    _member_leave,
    _member_queries,
    _parse_when,
    _request_audit_json,
    _request_from_row,
    _request_from_tuple,
    _run_queries,
    _settings_audit,
    _type_from_row,
)
from concord.db.leave.teams import blackouts_for, over_limit, routing
from concord.db.portable import SQLITE, Conn, DbRow, dialect
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)

MANAGERS_ONLY = "Only managers can do that (the Manager role, Manage Server or the owner)."
MAX_ADJUST_REASON = 200
MAX_HOLIDAY_NAME = 100
T = TypeVar("T")
# Stored status values (``RequestStatus.X.value`` is a property call through enum's descriptor).
_PENDING, _APPROVED, _REJECTED = "pending", "approved", "rejected"


# -- synchronous helpers for transaction functions ---------------------------------------------
def local_today(now: datetime, config: GuildConfig) -> date:
    return now.astimezone(config.tz).date()


def ensure_default_types(conn: Conn, guild_id: int, year: int, now: datetime) -> None:
    """Create the default leave types the first time a guild uses leave."""
    if conn.execute("SELECT 1 FROM leave_types WHERE guild_id = ? LIMIT 1", (guild_id,)).fetchone():
        return
    for name, settings in DEFAULT_TYPES:
        _insert_type(conn, guild_id, name, settings, year, now)


def _insert_type(
    conn: Conn,
    guild_id: int,
    name: str,
    settings: TypeSettings,
    year: int,
    now: datetime,
) -> int:
    cur = conn.execute(
        "INSERT INTO leave_types (guild_id, name, allowance, accrual, carryover_cap, deducts,"
        " requires_approval, allow_negative, since_year, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
    return int(cur.fetchone()["id"])


def find_type(
    conn: Conn,
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


def _type_by_id(conn: Conn, type_id: int) -> LeaveType:
    row = conn.execute(SQL_SELECT_TYPE + " WHERE id = ?", (type_id,)).fetchone()
    assert row is not None
    return _type_from_row(row)


def _holiday_set(conn: Conn, guild_id: int, start: date, end: date) -> frozenset[date]:
    rows = conn.execute(SQL_HOLIDAYS, (guild_id, iso_day(start), iso_day(end))).fetchall()
    if not rows:  # most requests: no generator to make
        return _NO_HOLIDAYS
    return frozenset(date.fromisoformat(row["day"]) for row in rows)


_NO_HOLIDAYS: frozenset[date] = frozenset()


def _live_spans(
    conn: Conn, guild_id: int, user_id: int, start: date, end: date
) -> list[tuple[int, Span]]:
    rows = conn.execute(
        "SELECT * FROM leave_requests WHERE guild_id = ? AND user_id = ?"
        " AND status IN ('pending', 'approved') AND start_date <= ? AND end_date >= ?",
        (guild_id, user_id, iso_day(end), iso_day(start)),
    ).fetchall()
    return [(row["id"], _request_from_row(row).span) for row in rows]


def _load_values(conn: Conn, guild_id: int, request_id: int) -> list[Any]:
    """A request's stored column values, in ``REQUEST_COLUMNS``' order."""
    row = conn.execute(SQL_REQUEST_ROW, (guild_id, request_id)).fetchone()
    if row is None:
        raise NotFound(f"There is no leave request #{request_id} in this server.")
    return list(row)


def _load_request(conn: Conn, guild_id: int, request_id: int) -> LeaveRequest:
    return _request_from_tuple(_load_values(conn, guild_id, request_id))


# Positions in REQUEST_COLUMNS of the values a decision reads or changes.
_USER_ID: int = REQUEST_COLUMNS.index("user_id")
_TYPE_ID: int = REQUEST_COLUMNS.index("type_id")
_DEDUCTS: int = REQUEST_COLUMNS.index("deducts")
_STATUS: int = REQUEST_COLUMNS.index("status")
_DECIDED_BY: int = REQUEST_COLUMNS.index("decided_by")
_DECIDED_AT: int = REQUEST_COLUMNS.index("decided_at")
_DECISION_NOTE: int = REQUEST_COLUMNS.index("decision_note")


def _request_days(conn: Conn, request_id: int) -> list[tuple[date, Fraction]]:
    rows = conn.execute(
        "SELECT day, amount FROM leave_request_days WHERE request_id = ? ORDER BY day",
        (request_id,),
    ).fetchall()
    return [(date.fromisoformat(day), fraction_from_text(amount)) for day, amount in rows]


def load_member_leave(
    conn: Conn,
    guild_id: int,
    user_id: int,
    type_id: int | None = None,
    *,
    ltype: LeaveType | None = None,
) -> MemberLeave:
    """One member's types, overrides and activity (inside a transaction or a test); with
    ``type_id``, of that type only (a transaction reads no more than its rule needs). With
    ``ltype`` (that type, already read in this transaction), its row is not read again."""
    if ltype is None and type_id is None:
        queries = _member_queries(guild_id, user_id, None, dialect(conn))
        return _member_leave(_run_queries(conn, queries))
    # One type: ``_member_queries(guild_id, user_id, type_id)``, run here directly (every
    # request, decision and adjustment reads them inside its transaction).
    if ltype is None:
        assert type_id is not None
        row = conn.execute(SQL_TYPE_BY_ID, (guild_id, type_id)).fetchone()
        types = {} if row is None else {type_id: _type_from_row(row)}
    else:
        type_id = ltype.id
        types = {type_id: ltype}
    key = (guild_id, user_id, type_id)
    live_days = SQL_TYPE_LIVE_DAYS if dialect(conn) == SQLITE else SQL_TYPE_LIVE_DAYS_PG
    return _member_leave(
        (
            conn.execute(SQL_TYPE_OVERRIDE, key).fetchall(),
            conn.execute(SQL_TYPE_LEDGER, key).fetchall(),
            conn.execute(live_days, key).fetchall(),
        ),
        types,
    )


def _require_manager(actor_is_manager: bool) -> None:
    if not actor_is_manager:
        raise PermissionDenied(MANAGERS_ONLY)


def _write_ledger(
    conn: Conn,
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


def _total(per_year: dict[int, Fraction]) -> Fraction:
    """The days of every year: most requests fall in one year, and adding that to a zero
    Fraction is a Fraction addition (slow in Python) inside the transaction for nothing."""
    if len(per_year) == 1:
        return next(iter(per_year.values()))
    return sum(per_year.values(), ZERO)


@lru_cache(maxsize=256)
def _negated(amount: Fraction) -> Fraction:
    """``-amount`` (a debit), cached: requests take a few distinct amounts (1, 1/2, hours),
    and making a Fraction is slow in Python."""
    return -amount


def _minute(value: time | None) -> time | None:
    """A time as stored (``HH:MM``): whole minutes."""
    return None if value is None else time(value.hour, value.minute)


# -- transaction functions ---------------------------------------------------------------------
@quick_init
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
    # Managers only: file over a blackout or a team's max_out anyway, saying why.
    override_note: str | None = None


def _team_rules(conn: Conn, spec: ApplyInput, days: list[date], note: str | None) -> list[str]:
    """Blackout days and team limits for leave that takes days (not work from home): the
    problems a manager's ``override_note`` overrides; refused otherwise, with the reason."""
    if not days:
        return []
    touching = blackouts_touching(
        blackouts_for(conn, spec.guild_id, spec.user_id, min(days), max(days)), days
    )
    problems = [blackout_sentence(b) for b in touching]
    over = over_limit(conn, spec.guild_id, spec.user_id, days)
    if over is not None:
        problems.append(over.sentence())
    if problems and note is None:
        text = ". ".join(escape_markdown(p) for p in problems) + "."
        if spec.actor_is_manager:
            text += " As a manager you can file it anyway: add `override_note:` saying why."
        raise UserError(text)
    return problems


def apply_request(conn: Conn, spec: ApplyInput, now: datetime) -> ApplyResult:
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
    note = validate_note(spec.override_note, what="override note", limit=MAX_OVERRIDE_NOTE)
    if note is not None and not spec.actor_is_manager:
        raise PermissionDenied(
            "Only managers can override blackout days and team limits (`override_note`)."
        )
    member = load_member_leave(conn, spec.guild_id, spec.user_id, ltype=ltype)
    per_year = amounts_by_year(days)
    problem = member.shortfall(ltype.id, per_year, _as_of_years(today, days), count_pending=True)
    if problem:
        raise UserError(problem)
    overridden = (
        _team_rules(conn, spec, [day for day, _ in days], note) if ltype.settings.deducts else []
    )
    if not overridden:
        note = None  # nothing was overridden: no note to keep
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
    total = _total(per_year)
    stamp = utcnow_iso(now)  # as stored: UTC, whole seconds
    # Positional parameters: binding by name looks each one up in a dict, for every request.
    cur = conn.execute(
        "INSERT INTO leave_requests (guild_id, user_id, type_id, type_name, start_date, end_date,"
        " portion, from_time, to_time, amount, deducts, reason, status, filed_by, created_at,"
        " decided_by, decided_at, override_note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            spec.guild_id,
            spec.user_id,
            ltype.id,
            ltype.name,
            iso_day(span.start),
            iso_day(span.end),
            span.portion.value,
            format_hhmm(span.from_time) if span.from_time else None,
            format_hhmm(span.to_time) if span.to_time else None,
            fraction_to_text(total),
            int(ltype.settings.deducts),
            reason,
            status.value,
            spec.actor_id,
            stamp,
            None,
            stamp if auto else None,
            note,
        ),
    )
    request_id = int(cur.fetchone()["id"])
    for day, amount in days:
        conn.execute(
            "INSERT INTO leave_request_days (request_id, day, amount) VALUES (?, ?, ?)",
            (request_id, iso_day(day), fraction_to_text(amount)),
        )
    # The request as stored, from what was just written rather than read back, and from the
    # objects the values were made from rather than parsed again from them (this ran for
    # every request inside its transaction): times are stored in whole minutes, stamps in
    # whole seconds of UTC.
    request = LeaveRequest(
        id=request_id,
        guild_id=spec.guild_id,
        user_id=spec.user_id,
        type_id=ltype.id,
        leave_type=ltype.name,
        span=span
        if span.from_time is None and span.to_time is None
        else Span(
            span.start, span.end, span.portion, _minute(span.from_time), _minute(span.to_time)
        ),
        amount=total,
        deducts=ltype.settings.deducts,
        reason=reason,
        status=status,
        filed_by=spec.actor_id,
        created_at=_parse_when(stamp),
        decided_at=_parse_when(stamp) if auto else None,
        override_note=note,
    )
    if auto and request.deducts:
        debits = {year: _negated(amount) for year, amount in per_year.items()}
        _write_ledger(conn, request, "debit", debits, spec.actor_id, now)
    write_audit(
        conn,
        guild_id=spec.guild_id,
        actor_id=spec.actor_id,
        action="leave.request",
        subject=f"leave:{request_id}",
        after=_request_audit_json(
            request, auto, "approval switched off by the requester" if held else None
        ),
        now=now,
    )
    if overridden:
        write_audit(
            conn,
            guild_id=spec.guild_id,
            actor_id=spec.actor_id,
            action="leave.override",
            subject=f"leave:{request_id}",
            after={"overridden": overridden, "note": note},
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
    conn: Conn,
    guild_id: int,
    request_id: int,
    actor_id: int,
    actor_decides: bool,
    approve: bool,
    note: str | None,
    now: datetime,
    *,
    is_manager: bool | None = None,
    role_ids: frozenset[int] = frozenset(),
    override: bool = False,
) -> Decision:
    """Approve or reject a pending request, exactly once; approval debits in this transaction.

    ``actor_decides``: the actor decides leave in general (a manager or the guild's leave
    approver role); ``is_manager`` (default: the same) and ``role_ids`` decide with the
    requester's teams: a request of a member whose teams name approvers is theirs or a
    manager's (see ``Routing``). Approving what would take a team over its ``max_out`` needs
    ``override`` (Approve anyway), which is audited."""
    manager = actor_decides if is_manager is None else is_manager
    # The stored values, checked as they are; the request object is made once, as decided
    # (making it and then a changed copy was a measurable part of an approval).
    values = _load_values(conn, guild_id, request_id)
    user_id, type_id, deducts = values[_USER_ID], values[_TYPE_ID], bool(values[_DEDUCTS])
    if user_id == actor_id:
        raise PermissionDenied(
            f"Nobody decides their own leave: another manager has to "
            f"{'approve' if approve else 'reject'} request #{request_id}."
        )
    route = routing(conn, guild_id, user_id)
    if not route.may_decide(
        actor_id, is_manager=manager, decides_leave=actor_decides, role_ids=role_ids
    ):
        raise PermissionDenied(route.refusal(request_id))
    if values[_STATUS] != _PENDING:
        raise already_decided(_request_from_tuple(values))
    note = validate_reason(note)
    config = read_config(conn, guild_id)
    today = local_today(now, config)
    days = _request_days(conn, request_id)
    per_year = amounts_by_year(days)
    member = load_member_leave(conn, guild_id, user_id, type_id)
    if approve and deducts:
        problem = member.shortfall(
            type_id, per_year, _as_of_years(today, days), count_pending=False
        )
        if problem:
            raise UserError(f"Cannot approve #{request_id}: {problem}")
    over = (
        over_limit(conn, guild_id, user_id, [day for day, _ in days], route.teams)
        if approve and deducts
        else None
    )
    if over is not None and not override:
        raise LimitReached(request_id, over)
    status_text = _APPROVED if approve else _REJECTED
    stamp = utcnow_iso(now)  # as stored: UTC, whole seconds
    updated = conn.execute(
        "UPDATE leave_requests SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?"
        " WHERE guild_id = ? AND id = ? AND status = 'pending'",
        (status_text, actor_id, stamp, note, guild_id, request_id),
    )
    if updated.rowcount != 1:
        raise already_decided(_load_request(conn, guild_id, request_id))
    values[_STATUS] = status_text
    values[_DECIDED_BY] = actor_id
    values[_DECIDED_AT] = stamp
    values[_DECISION_NOTE] = note
    decided = _request_from_tuple(values)
    if approve and decided.deducts:
        debits = {year: _negated(amount) for year, amount in per_year.items()}
        _write_ledger(conn, decided, "debit", debits, actor_id, now)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.approve" if approve else "leave.reject",
        subject=f"leave:{request_id}",
        before=PENDING_AUDIT,
        after=_decision_audit_json(status_text, note),
        now=now,
    )
    if over is not None:
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=actor_id,
            action="leave.limit_override",
            subject=f"leave:{request_id}",
            after={"over_limit": over.sentence()},
            now=now,
        )
    deducting = 1 if decided.deducts else 0
    shift = (
        Shift(pending=-deducting, taken=deducting, recorded=1)
        if approve
        else Shift(pending=-deducting)
    )
    view = BalanceView(member, decided.type_id, tuple(days), today, shift)
    return Decision(decided, RequestStatus.PENDING, view)


def cancel_request(
    conn: Conn,
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
    conn: Conn,
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
    member = load_member_leave(conn, guild_id, user_id, ltype=ltype)
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
    return load_member_leave(conn, guild_id, user_id, ltype=ltype).balance(
        ltype.id, today.year, today
    )


def set_allowance(
    conn: Conn,
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
    return load_member_leave(conn, guild_id, user_id, ltype=ltype).balance(
        ltype.id, today.year, today
    )


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


def _change_from_row(row: DbRow) -> HeldChange:
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


def _approval_changed_by(conn: Conn, type_id: int) -> int | None:
    row = conn.execute(
        "SELECT approval_changed_by FROM leave_types WHERE id = ?", (type_id,)
    ).fetchone()
    return None if row is None else row["approval_changed_by"]


def _hold_change(
    conn: Conn,
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
        " requested_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, actor_id, kind, type_name, fraction_to_text(days), reason, utcnow_iso(now)),
    )
    change_id = int(cur.fetchone()["id"])
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
    conn: Conn,
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
    conn: Conn, guild_id: int, change_id: int, channel_id: int, message_id: int
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
    conn: Conn,
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
    conn: Conn, guild_id: int, old: LeaveType, rename: str | None, now: datetime
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


def _archive_type(conn: Conn, old: LeaveType, archive: bool | None, now: datetime) -> None:
    if archive is None or archive == old.archived:
        return
    conn.execute(
        "UPDATE leave_types SET archived_at = ?, updated_at = ? WHERE id = ?",
        (utcnow_iso(now) if archive else None, utcnow_iso(now), old.id),
    )


def set_card(conn: Conn, guild_id: int, request_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "UPDATE leave_requests SET card_channel_id = ?, card_message_id = ? WHERE guild_id = ? AND id = ?",
        (channel_id, message_id, guild_id, request_id),
    )


def add_holiday(
    conn: Conn,
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
    conn: Conn,
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
    conn: Conn,
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
            "INSERT INTO holidays (guild_id, day, name, source, added_by, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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

"""Leave teams (migration 0011_leave_teams): teams and their approvers, members, ``max_out``
limits and blackout days. Transaction functions (run by ``db.write``; managers only, checked
here, every change audited) and the reads the request rules share: a member's teams (routing),
the team members already out on given days (the limit) and the blackouts a request touches.

A team is deleted outright: its members, approvers and blackouts go with it (ON DELETE
CASCADE); the audit log keeps what it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from concord.core.leave import iso_day
from concord.core.teams import (
    MAX_BLACKOUT_REASON,
    Blackout,
    OverLimit,
    Routing,
    Team,
    first_over_limit,
    validate_max_out,
    validate_note,
    validate_team_name,
)
from concord.core.text import escape_markdown
from concord.db.guilds import utcnow_iso, write_audit
from concord.db.portable import Conn, DbRow
from concord.errors import NotFound, PermissionDenied, UserError

MANAGERS_ONLY = "Only managers can do that (the Manager role, Manage Server or the owner)."


def _require_manager(actor_is_manager: bool) -> None:
    if not actor_is_manager:
        raise PermissionDenied(MANAGERS_ONLY)


# -- reads (inside a transaction or on a read connection) --------------------------------------
# Each table's SQL spelled out (no identifiers built into SQL text).
SQL_MEMBERS = (
    "SELECT t.team_id, t.user_id FROM leave_team_members t"
    " JOIN leave_teams lt ON lt.id = t.team_id WHERE lt.guild_id = ? ORDER BY t.added_at, t.user_id"
)
SQL_APPROVERS = (
    "SELECT t.team_id, t.user_id FROM leave_team_approvers t"
    " JOIN leave_teams lt ON lt.id = t.team_id WHERE lt.guild_id = ? ORDER BY t.added_at, t.user_id"
)
SQL_ADD = {
    False: "INSERT INTO leave_team_members (team_id, user_id, added_by, added_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (team_id, user_id) DO NOTHING",
    True: "INSERT INTO leave_team_approvers (team_id, user_id, added_by, added_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (team_id, user_id) DO NOTHING",
}
SQL_REMOVE = (
    ("member", "DELETE FROM leave_team_members WHERE team_id = ? AND user_id = ?"),
    ("approver", "DELETE FROM leave_team_approvers WHERE team_id = ? AND user_id = ?"),
)


def _teams(conn: Conn, guild_id: int, team_ids: list[int] | None) -> list[Team]:
    rows = conn.execute(
        "SELECT * FROM leave_teams WHERE guild_id = ? ORDER BY lower(name), id", (guild_id,)
    ).fetchall()
    if team_ids is not None:
        wanted = set(team_ids)
        rows = [row for row in rows if row["id"] in wanted]
    if not rows:
        return []
    members: dict[int, list[int]] = defaultdict(list)
    approvers: dict[int, list[int]] = defaultdict(list)
    for sql, into in ((SQL_MEMBERS, members), (SQL_APPROVERS, approvers)):
        for row in conn.execute(sql, (guild_id,)):
            into[row["team_id"]].append(row["user_id"])
    return [
        Team(
            id=row["id"],
            guild_id=row["guild_id"],
            name=row["name"],
            approver_role_id=row["approver_role_id"],
            max_out=row["max_out"],
            members=tuple(members[row["id"]]),
            approvers=tuple(approvers[row["id"]]),
        )
        for row in rows
    ]


def guild_teams(conn: Conn, guild_id: int) -> list[Team]:
    return _teams(conn, guild_id, None)


def member_teams(conn: Conn, guild_id: int, user_id: int) -> list[Team]:
    """The teams ``user_id`` is a member of (not those they only approve for)."""
    ids = [
        row["id"]
        for row in conn.execute(
            "SELECT lt.id FROM leave_teams lt JOIN leave_team_members m ON m.team_id = lt.id"
            " WHERE lt.guild_id = ? AND m.user_id = ?",
            (guild_id, user_id),
        )
    ]
    return _teams(conn, guild_id, ids) if ids else []


def routing(conn: Conn, guild_id: int, user_id: int) -> Routing:
    return Routing(user_id, tuple(member_teams(conn, guild_id, user_id)))


def approves_for_a_team(conn: Conn, guild_id: int, user_id: int, role_ids: frozenset[int]) -> bool:
    """Is ``user_id`` an approver of some team (by name, or through its approver role)?"""
    if conn.execute(
        "SELECT 1 FROM leave_team_approvers a JOIN leave_teams t ON t.id = a.team_id"
        " WHERE t.guild_id = ? AND a.user_id = ? LIMIT 1",
        (guild_id, user_id),
    ).fetchone():
        return True
    roles = {
        row["approver_role_id"]
        for row in conn.execute(
            "SELECT approver_role_id FROM leave_teams"
            " WHERE guild_id = ? AND approver_role_id IS NOT NULL",
            (guild_id,),
        )
    }
    return bool(roles & role_ids)


def find_team(conn: Conn, guild_id: int, name: str) -> Team:
    row = conn.execute(
        "SELECT id FROM leave_teams WHERE guild_id = ? AND lower(name) = lower(?)",
        (guild_id, " ".join(name.split())),
    ).fetchone()
    if row is None:
        known = [
            t["name"]
            for t in conn.execute(
                "SELECT name FROM leave_teams WHERE guild_id = ? ORDER BY lower(name)", (guild_id,)
            )
        ]
        raise NotFound(
            f"There is no team called **{escape_markdown(name[:MAX_BLACKOUT_REASON])}**. Teams "
            f"here: {escape_markdown(', '.join(known)) or 'none yet (`/leave team create`)'}."
        )
    (team,) = _teams(conn, guild_id, [row["id"]])
    return team


def others_out(conn: Conn, team_id: int, user_id: int, start: date, end: date) -> dict[date, int]:
    """How many other members of the team have approved leave (a type that takes days: not
    work from home) on each working day in [start, end]."""
    rows = conn.execute(
        "SELECT d.day, COUNT(DISTINCT r.user_id) AS n FROM leave_request_days d"
        " JOIN leave_requests r ON r.id = d.request_id"
        " JOIN leave_team_members m ON m.user_id = r.user_id AND m.team_id = ?"
        " JOIN leave_teams t ON t.id = m.team_id AND t.guild_id = r.guild_id"
        " WHERE r.status = 'approved' AND r.deducts = 1 AND r.user_id != ?"
        " AND d.day BETWEEN ? AND ? GROUP BY d.day",
        (team_id, user_id, start.isoformat(), end.isoformat()),
    ).fetchall()
    return {date.fromisoformat(row["day"]): int(row["n"]) for row in rows}


def over_limit(
    conn: Conn,
    guild_id: int,
    user_id: int,
    days: list[date],
    teams: Sequence[Team] | None = None,
) -> OverLimit | None:
    """The first team of the member a request on ``days`` would take over its ``max_out``
    (counting approved leave: pending requests are counted when they are approved).
    ``teams``: the member's teams, already read in this transaction (an approval reads them
    for its routing first), so they are not read again."""
    if not days:
        return None
    if teams is None:
        teams = member_teams(conn, guild_id, user_id)
    for team in teams:
        if team.max_out is None:
            continue
        out = others_out(conn, team.id, user_id, min(days), max(days))
        found = first_over_limit(team, days, out)
        if found is not None:
            return found
    return None


def _blackout_from_row(row: DbRow) -> Blackout:
    return Blackout(
        id=row["id"],
        guild_id=row["guild_id"],
        team_id=row["team_id"],
        team_name=row["team_name"],
        start=date.fromisoformat(row["start_date"]),
        end=date.fromisoformat(row["end_date"]),
        reason=row["reason"],
    )


SQL_BLACKOUTS_FOR = (
    "SELECT b.*, t.name AS team_name FROM leave_blackouts b"
    " LEFT JOIN leave_teams t ON t.id = b.team_id WHERE b.guild_id = ?"
    " AND b.start_date <= ? AND b.end_date >= ?"
    " AND (b.team_id IS NULL OR b.team_id IN"
    " (SELECT team_id FROM leave_team_members WHERE user_id = ?))"
    " ORDER BY b.start_date, b.id"
)
SQL_BLACKOUTS_SINCE = (
    "SELECT b.*, t.name AS team_name FROM leave_blackouts b"
    " LEFT JOIN leave_teams t ON t.id = b.team_id WHERE b.guild_id = ?"
    " AND b.end_date >= ? ORDER BY b.start_date, b.id"
)
SQL_BLACKOUT = (
    "SELECT b.*, t.name AS team_name FROM leave_blackouts b"
    " LEFT JOIN leave_teams t ON t.id = b.team_id WHERE b.guild_id = ? AND b.id = ?"
)


def blackouts_for(
    conn: Conn, guild_id: int, user_id: int, start: date, end: date
) -> list[Blackout]:
    """Blackouts of the whole office or of the member's teams touching [start, end]."""
    rows = conn.execute(
        SQL_BLACKOUTS_FOR,
        (guild_id, iso_day(end), iso_day(start), user_id),
    ).fetchall()
    return [_blackout_from_row(row) for row in rows]


def list_blackouts(conn: Conn, guild_id: int, since: date) -> list[Blackout]:
    rows = conn.execute(
        SQL_BLACKOUTS_SINCE,
        (guild_id, since.isoformat()),
    ).fetchall()
    return [_blackout_from_row(row) for row in rows]


# -- transactions ------------------------------------------------------------------------------
def _team_audit(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "approver_role_id": team.approver_role_id,
        "max_out": team.max_out,
        "members": list(team.members),
        "approvers": list(team.approvers),
    }


def create_team(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    approver_role_id: int | None,
    max_out: int | None,
    now: datetime,
) -> Team:
    _require_manager(actor_is_manager)
    cleaned = validate_team_name(name)
    validate_max_out(max_out)
    taken = conn.execute(
        "SELECT name FROM leave_teams WHERE guild_id = ? AND lower(name) = lower(?)",
        (guild_id, cleaned),
    ).fetchone()
    if taken is not None:
        raise UserError(f"There is already a team called **{escape_markdown(taken['name'])}**.")
    row = conn.execute(
        "INSERT INTO leave_teams (guild_id, name, approver_role_id, max_out, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, cleaned, approver_role_id, max_out, actor_id, utcnow_iso(now)),
    ).fetchone()
    team = Team(row["id"], guild_id, cleaned, approver_role_id, max_out)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.team.create",
        subject=f"leave_team:{team.id}",
        after=_team_audit(team),
        now=now,
    )
    return team


@dataclass(frozen=True)
class TeamEdit:
    """Only what a manager gave; None leaves it as it is."""

    max_out: int | None = None
    clear_max_out: bool = False
    approver_role_id: int | None = None
    clear_approver_role: bool = False
    rename: str | None = None


def edit_team(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    edit: TeamEdit,
    now: datetime,
) -> Team:
    _require_manager(actor_is_manager)
    old = find_team(conn, guild_id, name)
    if edit == TeamEdit():
        raise UserError(
            "Nothing to change: give `max_out`, `approver_role`, `clear_approver_role` or `rename`."
        )
    if edit.approver_role_id is not None and edit.clear_approver_role:
        raise UserError(
            "Give either `approver_role` (a new approver role) or `clear_approver_role:True` "
            "(no approver role), not both."
        )
    validate_max_out(edit.max_out)
    new_name = old.name
    if edit.rename is not None:
        new_name = validate_team_name(edit.rename)
        taken = conn.execute(
            "SELECT id, name FROM leave_teams WHERE guild_id = ? AND lower(name) = lower(?)",
            (guild_id, new_name),
        ).fetchone()
        if taken is not None and taken["id"] != old.id:
            raise UserError(f"There is already a team called **{escape_markdown(taken['name'])}**.")
    max_out = None if edit.clear_max_out else (edit.max_out or old.max_out)
    role = None if edit.clear_approver_role else (edit.approver_role_id or old.approver_role_id)
    conn.execute(
        "UPDATE leave_teams SET name = ?, max_out = ?, approver_role_id = ?"
        " WHERE guild_id = ? AND id = ?",
        (new_name, max_out, role, guild_id, old.id),
    )
    (team,) = _teams(conn, guild_id, [old.id])
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.team.edit",
        subject=f"leave_team:{old.id}",
        before=_team_audit(old),
        after=_team_audit(team),
        now=now,
    )
    return team


def delete_team(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    now: datetime,
) -> tuple[Team, int]:
    """Delete the team (its members, approvers and blackouts with it); returns the team as it
    was and how many blackouts went with it."""
    _require_manager(actor_is_manager)
    team = find_team(conn, guild_id, name)
    blackouts = conn.execute(
        "SELECT COUNT(*) AS n FROM leave_blackouts WHERE guild_id = ? AND team_id = ?",
        (guild_id, team.id),
    ).fetchone()["n"]
    deleted = conn.execute(
        "DELETE FROM leave_teams WHERE guild_id = ? AND id = ?", (guild_id, team.id)
    )
    if deleted.rowcount != 1:
        raise NotFound(f"Team **{escape_markdown(team.name)}** was already deleted.")
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.team.delete",
        subject=f"leave_team:{team.id}",
        before={**_team_audit(team), "blackouts": blackouts},
        now=now,
    )
    return team, int(blackouts)


def add_team_member(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    user_id: int,
    as_approver: bool,
    now: datetime,
) -> Team:
    """Add a member (or, ``as_approver``, an approver) to a team; adding twice is refused."""
    _require_manager(actor_is_manager)
    team = find_team(conn, guild_id, name)
    added = conn.execute(SQL_ADD[as_approver], (team.id, user_id, actor_id, utcnow_iso(now)))
    if added.rowcount != 1:
        what = "an approver" if as_approver else "a member"
        raise UserError(f"<@{user_id}> is already {what} of **{escape_markdown(team.name)}**.")
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.team.approver_add" if as_approver else "leave.team.member_add",
        subject=f"leave_team:{team.id}",
        after={"team": team.name, "user_id": user_id},
        now=now,
    )
    (after,) = _teams(conn, guild_id, [team.id])
    return after


def remove_team_member(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    name: str,
    user_id: int,
    now: datetime,
) -> tuple[Team, list[str]]:
    """Take someone out of a team: as a member and as an approver; returns the team and what
    they were (``member``, ``approver``)."""
    _require_manager(actor_is_manager)
    team = find_team(conn, guild_id, name)
    was: list[str] = []
    for role, sql in SQL_REMOVE:
        gone = conn.execute(sql, (team.id, user_id))
        if gone.rowcount == 1:
            was.append(role)
    if not was:
        raise UserError(
            f"<@{user_id}> is neither a member nor an approver of **{escape_markdown(team.name)}**."
        )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.team.member_remove",
        subject=f"leave_team:{team.id}",
        before={"team": team.name, "user_id": user_id, "was": was},
        now=now,
    )
    (after,) = _teams(conn, guild_id, [team.id])
    return after, was


def add_blackout(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    team_name: str | None,
    start: date,
    end: date,
    reason: str | None,
    now: datetime,
) -> Blackout:
    _require_manager(actor_is_manager)
    if end < start:
        raise UserError(f"The end {end.isoformat()} is before the start {start.isoformat()}.")
    if (end - start).days > 366:
        raise UserError("A blackout is at most a year long.")
    cleaned = validate_note(reason, what="reason", limit=MAX_BLACKOUT_REASON) or "blackout days"
    team = find_team(conn, guild_id, team_name) if team_name else None
    row = conn.execute(
        "INSERT INTO leave_blackouts (guild_id, team_id, start_date, end_date, reason,"
        " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            team.id if team else None,
            start.isoformat(),
            end.isoformat(),
            cleaned,
            actor_id,
            utcnow_iso(now),
        ),
    ).fetchone()
    blackout = Blackout(
        row["id"],
        guild_id,
        team.id if team else None,
        team.name if team else None,
        start,
        end,
        cleaned,
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.blackout.add",
        subject=f"leave_blackout:{blackout.id}",
        after=_blackout_audit(blackout),
        now=now,
    )
    return blackout


def _blackout_audit(blackout: Blackout) -> dict[str, Any]:
    return {
        "team": blackout.team_name,
        "start": blackout.start.isoformat(),
        "end": blackout.end.isoformat(),
        "reason": blackout.reason,
    }


def remove_blackout(
    conn: Conn,
    guild_id: int,
    actor_id: int,
    actor_is_manager: bool,
    blackout_id: int,
    now: datetime,
) -> Blackout:
    _require_manager(actor_is_manager)
    row = conn.execute(SQL_BLACKOUT, (guild_id, blackout_id)).fetchone()
    if row is None:
        raise NotFound(f"There is no blackout #{blackout_id} here.")
    blackout = _blackout_from_row(row)
    gone = conn.execute(
        "DELETE FROM leave_blackouts WHERE guild_id = ? AND id = ?", (guild_id, blackout_id)
    )
    if gone.rowcount != 1:
        raise NotFound(f"There is no blackout #{blackout_id} here.")
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="leave.blackout.remove",
        subject=f"leave_blackout:{blackout_id}",
        before=_blackout_audit(blackout),
        now=now,
    )
    return blackout

"""Leave calendar feeds and the wall chart's data: private links (``/leave feed``) served by
``concord web``, and the members' display names the web process shows.

A link carries a random token (``secrets.token_urlsafe``, 192 bits); the database keeps only
its SHA-256, so a copy of the database opens no feed. Each link is scoped to one guild, one
member and one feed (personal, office, or one team); one is live per scope, enforced by a
partial unique index. Issuing and revoking are audited.

The web process reads through :func:`feed_by_token` and :func:`feed_content` on a read-only
connection of its own; the bot writes through :class:`FeedManager`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from concord.core.actor import Actor
from concord.core.leave import Holiday, LeaveRequest
from concord.core.settings import GuildConfig
from concord.core.text import escape_markdown
from concord.db.guilds import read_config, utcnow_iso, write_audit
from concord.db.leave.records import SQL_HOLIDAYS, _holiday_from_row, _request_from_row
from concord.db.portable import Conn, Db, DbRow, long_transaction
from concord.errors import NotFound, UserError

TOKEN_BYTES = 24  # 192 bits of randomness
# What a feed holds at most (as one export): an office's two years fit many times over.
MAX_FEED_REQUESTS = 5000
MAX_NAME_LENGTH = 100
# Compared against when no row matches, so an unknown token costs what a known one does.
_DUMMY_HASH: str = hashlib.sha256(b"concord-desk: no such feed").hexdigest()


class FeedKind(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"
    OFFICE = "office"


@dataclass(frozen=True)
class Feed:
    id: int
    guild_id: int
    user_id: int
    kind: FeedKind
    team_id: int | None
    team_name: str | None
    manager: bool
    created_at: datetime

    @property
    def title(self) -> str:
        if self.kind is FeedKind.TEAM:
            return f"Leave · {self.team_name}"
        return "Leave · office" if self.kind is FeedKind.OFFICE else "My leave"

    def shows_details_of(self, user_id: int) -> bool:
        """Types and reasons: of the subscriber's own leave, and of everyone's for a manager."""
        return self.manager or user_id == self.user_id


@dataclass(frozen=True)
class IssuedFeed:
    """The result of ``/leave feed``: ``token`` is set when a new link was made (the only time
    it is known); otherwise ``feed`` is the live link made earlier."""

    feed: Feed
    token: str | None
    revoked: int = 0


@dataclass(frozen=True)
class FeedContent:
    """What a feed or chart shows for [first, last]."""

    feed: Feed
    config: GuildConfig
    requests: tuple[LeaveRequest, ...]
    holidays: tuple[Holiday, ...]
    names: dict[int, str]
    # The chart's rows, in order: the members in scope (with names), then anyone else with leave.
    members: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class FeedVersion:
    """Which state of the data a feed shows, read without building it: ``tag`` changes with
    anything the feed shows (strong: the same tag, the same bytes), ``last_modified`` is when
    that last changed."""

    tag: str
    last_modified: datetime


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


_FEED_SQL = (
    "SELECT f.*, t.name AS team_name FROM leave_feeds f LEFT JOIN leave_teams t ON t.id = f.team_id"
)


def _feed_from_row(row: DbRow) -> Feed:
    return Feed(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        kind=FeedKind(row["kind"]),
        team_id=row["team_id"],
        team_name=row["team_name"],
        manager=bool(row["manager"]),
        created_at=_when(row["created_at"]),
    )


# -- the bot's side: issue, revoke, names ------------------------------------------------------
def find_team(conn: Conn, guild_id: int, name: str) -> tuple[int, str]:
    row = conn.execute(
        "SELECT id, name FROM leave_teams WHERE guild_id = ? AND lower(name) = lower(?)",
        (guild_id, name.strip()),
    ).fetchone()
    if row is None:
        raise NotFound(
            f"There is no team called **{escape_markdown(name.strip())}** here "
            "(`/leave team list`)."
        )
    return int(row["id"]), str(row["name"])


def _live_feed(
    conn: Conn, guild_id: int, user_id: int, kind: FeedKind, team_id: int | None
) -> DbRow | None:
    return conn.execute(
        _FEED_SQL + " WHERE f.guild_id = ? AND f.user_id = ? AND f.kind = ?"
        " AND coalesce(f.team_id, 0) = ? AND f.revoked_at IS NULL",
        (guild_id, user_id, kind.value, team_id or 0),
    ).fetchone()


def _audit_feed(conn: Conn, action: str, actor_id: int, row: DbRow | Feed, now: datetime) -> None:
    feed = row if isinstance(row, Feed) else _feed_from_row(row)
    write_audit(
        conn,
        guild_id=feed.guild_id,
        actor_id=actor_id,
        action=action,
        subject=f"leave_feed:{feed.id}",
        after={
            "user_id": feed.user_id,
            "kind": feed.kind.value,
            "team": feed.team_name,
            "manager": feed.manager,
        },
        now=now,
    )


def _revoke(conn: Conn, row: DbRow, actor_id: int, now: datetime) -> bool:
    done = conn.execute(
        "UPDATE leave_feeds SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        (utcnow_iso(now), actor_id, row["id"]),
    ).rowcount
    if done:
        _audit_feed(conn, "leave.feed.revoke", actor_id, row, now)
    return bool(done)


@long_transaction
def issue_feed(
    conn: Conn,
    guild_id: int,
    actor: Actor,
    kind: FeedKind,
    team: str | None,
    now: datetime,
    rotate: bool,
    names: Sequence[tuple[int, str]] = (),
) -> IssuedFeed:
    """Transaction: the actor's live link for this feed, or a new one. With ``rotate`` the live
    link (if any) is revoked first and a new one made. Only the hash is stored. ``names``
    (the guild's members, as the bot sees them now) are stored in the same transaction, so a
    refused request changes nothing."""
    team_id: int | None = None
    if kind is FeedKind.TEAM:
        if not team or not team.strip():
            raise UserError("Name the team: `/leave feed kind:team team:NAME`.")
        team_id, _ = find_team(conn, guild_id, team)
    elif team:
        raise UserError("`team` goes with `kind:team` only.")
    live = _live_feed(conn, guild_id, actor.user_id, kind, team_id)
    store_member_names(conn, guild_id, names, now)
    revoked = 0
    if live is not None:
        if not rotate:
            return IssuedFeed(feed=_feed_from_row(live), token=None)
        revoked = int(_revoke(conn, live, actor.user_id, now))
    token = new_token()
    new_id = conn.execute(
        "INSERT INTO leave_feeds (guild_id, user_id, kind, team_id, token_hash, manager,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            actor.user_id,
            kind.value,
            team_id,
            token_hash(token),
            int(actor.is_manager),
            utcnow_iso(now),
        ),
    ).fetchone()[0]
    row = conn.execute(_FEED_SQL + " WHERE f.id = ?", (new_id,)).fetchone()
    _audit_feed(conn, "leave.feed.create", actor.user_id, row, now)
    return IssuedFeed(feed=_feed_from_row(row), token=token, revoked=revoked)


def set_member_role(conn: Conn, guild_id: int, user_id: int, manager: bool, now: datetime) -> int:
    """Transaction: a member's roles changed; their live links follow (audited)."""
    rows = conn.execute(
        _FEED_SQL + " WHERE f.guild_id = ? AND f.user_id = ? AND f.revoked_at IS NULL"
        " AND f.manager <> ?",
        (guild_id, user_id, int(manager)),
    ).fetchall()
    for row in rows:
        conn.execute(
            "UPDATE leave_feeds SET manager = ? WHERE id = ? AND manager <> ?",
            (int(manager), row["id"], int(manager)),
        )
        changed = replace(_feed_from_row(row), manager=manager)
        _audit_feed(conn, "leave.feed.role", user_id, changed, now)
    return len(rows)


def forget_member(conn: Conn, guild_id: int, user_id: int, now: datetime) -> int:
    """Transaction: a member left the server: their links stop working, their name goes."""
    rows = conn.execute(
        _FEED_SQL + " WHERE f.guild_id = ? AND f.user_id = ? AND f.revoked_at IS NULL",
        (guild_id, user_id),
    ).fetchall()
    revoked = sum(_revoke(conn, row, user_id, now) for row in rows)
    conn.execute("DELETE FROM member_names WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return revoked


def store_member_names(
    conn: Conn, guild_id: int, names: Sequence[tuple[int, str]], now: datetime
) -> int:
    """Transaction: upsert display names; ``updated_at`` moves only when a name changed."""
    changed = 0
    stamp = utcnow_iso(now)
    for user_id, name in names:
        changed += conn.execute(
            "INSERT INTO member_names (guild_id, user_id, display_name, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE"
            " SET display_name = excluded.display_name, updated_at = excluded.updated_at"
            " WHERE member_names.display_name <> excluded.display_name",
            (guild_id, user_id, name[:MAX_NAME_LENGTH], stamp),
        ).rowcount
    return changed


# -- the web's side: find a link, read what it shows -------------------------------------------
def feed_by_token(conn: Conn, token: str) -> Feed | None:
    """The live feed of ``token``, or None (unknown or revoked: the same answer, the same work:
    one hash, one indexed lookup, one constant-time comparison)."""
    digest = token_hash(token)
    row = conn.execute(
        _FEED_SQL + " WHERE f.token_hash = ? AND f.revoked_at IS NULL", (digest,)
    ).fetchone()
    stored = row["token_hash"] if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode("ascii"), digest.encode("ascii"))
    return _feed_from_row(row) if row is not None and matches else None


def _latest(values: Iterable[Any]) -> datetime:
    return max(datetime.fromisoformat(v) for v in values if v)


# Part of every tag: a release that writes feeds differently must not match an older tag.
FEED_FORMAT = "1"


def feed_version(conn: Conn, feed: Feed, first: date) -> FeedVersion:
    """Two indexed reads instead of building the feed: every change to leave, holidays, teams
    and settings writes an audit row (append-only, so its newest id only grows), a name change
    moves ``member_names.updated_at`` (a name removed changes the count), and a link's role
    change is audited too. With the window's first day and the format, that is all a feed
    depends on."""
    audit = conn.execute(
        "SELECT id, at FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT 1",
        (feed.guild_id,),
    ).fetchone()
    names = conn.execute(
        "SELECT count(*), max(updated_at) FROM member_names WHERE guild_id = ?", (feed.guild_id,)
    ).fetchone()
    parts = (
        FEED_FORMAT,
        feed.id,
        int(feed.manager),
        first.isoformat(),
        audit[0] if audit else 0,
        names[0],
        names[1] or "",
    )
    tag = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:40]
    changed = _latest([audit[1] if audit else None, names[1], feed.created_at.isoformat()])
    return FeedVersion(tag=tag, last_modified=changed)


def feed_content(conn: Conn, feed: Feed, first: date, last: date) -> FeedContent:
    """The feed's requests (pending and approved) touching [first, last], holidays in it, the
    names and the members in scope."""
    guild_id = feed.guild_id
    sql = (
        "SELECT * FROM leave_requests WHERE guild_id = ? AND start_date <= ? AND end_date >= ?"
        " AND status IN ('pending', 'approved')"
    )
    params: list[Any] = [guild_id, last.isoformat(), first.isoformat()]
    scope_ids: list[int] | None = None
    if feed.kind is FeedKind.PERSONAL:
        sql += " AND user_id = ?"
        params.append(feed.user_id)
        scope_ids = [feed.user_id]
    elif feed.kind is FeedKind.TEAM:
        sql += " AND user_id IN (SELECT user_id FROM leave_team_members WHERE team_id = ?)"
        params.append(feed.team_id)
        scope_ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT user_id FROM leave_team_members WHERE team_id = ?", (feed.team_id,)
            )
        ]
    sql += " ORDER BY start_date, user_id, id LIMIT ?"
    params.append(MAX_FEED_REQUESTS)
    requests = tuple(_request_from_row(row) for row in conn.execute(sql, tuple(params)))
    holidays = tuple(
        _holiday_from_row(row)
        for row in conn.execute(SQL_HOLIDAYS, (guild_id, first.isoformat(), last.isoformat()))
    )
    name_rows = conn.execute(
        "SELECT user_id, display_name, updated_at FROM member_names WHERE guild_id = ?",
        (guild_id,),
    ).fetchall()
    names = {int(r["user_id"]): str(r["display_name"]) for r in name_rows}
    in_scope = sorted(names) if scope_ids is None else scope_ids
    members = sorted(
        ((uid, names.get(uid, f"Member {uid}")) for uid in in_scope),
        key=lambda pair: (pair[1].casefold(), pair[0]),
    )
    listed = {uid for uid, _ in members}
    others = sorted({r.user_id for r in requests} - listed)
    members += [(uid, names.get(uid, f"Former member {uid}")) for uid in others]
    return FeedContent(
        feed=feed,
        config=read_config(conn, guild_id),
        requests=requests,
        holidays=holidays,
        names=names,
        members=tuple(members),
    )


# -- the async face --------------------------------------------------------------------------
class FeedManager:
    """Feed links and member names for the bot (``/leave feed``, member events)."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def issue(
        self,
        guild_id: int,
        actor: Actor,
        kind: FeedKind,
        team: str | None,
        *,
        now: datetime,
        rotate: bool = False,
        names: Sequence[tuple[int, str]] = (),
    ) -> IssuedFeed:
        return await self.db.write(
            issue_feed, guild_id, actor, kind, team, now, rotate, list(names)
        )

    async def set_member_role(
        self, guild_id: int, user_id: int, manager: bool, *, now: datetime
    ) -> int:
        # Most role changes concern members without a link: a read on the loop, no write.
        stale = await self.db.fetchone(
            "SELECT 1 FROM leave_feeds WHERE guild_id = ? AND user_id = ?"
            " AND revoked_at IS NULL AND manager <> ? LIMIT 1",
            (guild_id, user_id, int(manager)),
        )
        if stale is None:
            return 0
        return await self.db.write(set_member_role, guild_id, user_id, manager, now)

    async def forget_member(self, guild_id: int, user_id: int, *, now: datetime) -> int:
        known = await self.db.fetchone(
            "SELECT 1 FROM member_names WHERE guild_id = ? AND user_id = ? UNION ALL"
            " SELECT 1 FROM leave_feeds WHERE guild_id = ? AND user_id = ?"
            " AND revoked_at IS NULL LIMIT 1",
            (guild_id, user_id, guild_id, user_id),
        )
        if known is None:
            return 0
        return await self.db.write(forget_member, guild_id, user_id, now)

    async def store_names(
        self, guild_id: int, names: Sequence[tuple[int, str]], *, now: datetime
    ) -> int:
        return await self.db.write(store_member_names, guild_id, list(names), now)

    async def team_names(self, guild_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT name FROM leave_teams WHERE guild_id = ? ORDER BY lower(name)", (guild_id,)
        )
        return [str(row["name"]) for row in rows]

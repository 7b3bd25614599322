"""Feed links and member names in the database: one live link per member and feed, tokens
stored only as hashes, names updated only when they change, a team's links go with it."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from concord.core.actor import Actor
from concord.db.database import Database
from concord.db.leave.feeds import FeedKind, FeedManager, feed_by_token
from concord.db.portable import SQLITE
from concord.errors import UserError
from concord.web.store import ReadOnlyStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_one_live_link_per_member_and_feed(db: Database) -> None:
    feeds = FeedManager(db)
    first = await feeds.issue(1, Actor(7), FeedKind.OFFICE, None, now=NOW)
    again = await feeds.issue(1, Actor(7), FeedKind.OFFICE, None, now=NOW)
    assert first.token and again.token is None and again.feed.id == first.feed.id
    other_guild = await feeds.issue(2, Actor(7), FeedKind.OFFICE, None, now=NOW)
    assert other_guild.token and other_guild.feed.id != first.feed.id
    rotated = await feeds.issue(1, Actor(7), FeedKind.OFFICE, None, now=NOW, rotate=True)
    assert rotated.revoked == 1 and rotated.token not in (first.token, None)
    rows = await db.fetchall("SELECT token_hash, revoked_at FROM leave_feeds ORDER BY id")
    assert rows[0]["token_hash"] == hashlib.sha256(first.token.encode()).hexdigest()
    assert rows[0]["revoked_at"] is not None
    with pytest.raises(sqlite3.IntegrityError):  # the index, not only the code, says one
        await db.write(
            lambda conn: conn.execute(
                "INSERT INTO leave_feeds (guild_id, user_id, kind, token_hash, created_at)"
                " VALUES (1, 7, 'office', 'x', '2026-12-01T09:00:00+00:00')"
            )
        )


async def test_team_links_need_a_team_of_this_guild_and_go_with_it(db: Database) -> None:
    feeds = FeedManager(db)

    def make_team(conn: sqlite3.Connection, guild: int) -> int:
        return conn.execute(
            "INSERT INTO leave_teams (guild_id, name, created_by, created_at)"
            " VALUES (?, 'Support', 1, '2026-12-01') RETURNING id",
            (guild,),
        ).fetchone()[0]

    team = await db.write(make_team, 1)
    await db.write(make_team, 2)
    with pytest.raises(UserError, match="Name the team"):
        await feeds.issue(1, Actor(7), FeedKind.TEAM, None, now=NOW)
    with pytest.raises(UserError, match=r"no team called \*\*Sales\*\*"):
        await feeds.issue(1, Actor(7), FeedKind.TEAM, "Sales", now=NOW)
    with pytest.raises(UserError, match="kind:team"):
        await feeds.issue(1, Actor(7), FeedKind.OFFICE, "Support", now=NOW)
    issued = await feeds.issue(1, Actor(7), FeedKind.TEAM, "SUPPORT", now=NOW)
    assert issued.feed.team_id == team and issued.feed.title == "Leave · Support"
    await db.write(lambda conn: conn.execute("DELETE FROM leave_teams WHERE id = ?", (team,)))
    assert issued.token and await db.read_in_thread(feed_by_token, issued.token) is None
    if db.dialect == SQLITE:  # what `concord web` reads: the file, opened read-only
        with ReadOnlyStore(db.path).connect() as conn:
            assert feed_by_token(conn, issued.token) is None


async def test_names_change_only_when_they_change(db: Database) -> None:
    feeds = FeedManager(db)
    assert await feeds.store_names(1, [(7, "Bob"), (8, "Carol")], now=NOW) == 2
    later = NOW + timedelta(hours=1)
    assert await feeds.store_names(1, [(7, "Bob"), (8, "Caz")], now=later) == 1
    rows = await db.fetchall("SELECT user_id, display_name, updated_at FROM member_names")
    assert [(r["user_id"], r["display_name"], r["updated_at"][:13]) for r in rows] == [
        (7, "Bob", "2026-12-01T09"),
        (8, "Caz", "2026-12-01T10"),
    ]


async def test_a_role_change_and_leaving_follow_the_links(db: Database) -> None:
    feeds = FeedManager(db)
    assert await feeds.set_member_role(1, 7, True, now=NOW) == 0  # no link: nothing written
    issued = await feeds.issue(1, Actor(7), FeedKind.OFFICE, None, now=NOW)
    assert await feeds.set_member_role(1, 7, True, now=NOW) == 1
    assert await feeds.set_member_role(1, 7, True, now=NOW) == 0
    await feeds.store_names(1, [(7, "Bob")], now=NOW)
    assert await feeds.forget_member(1, 7, now=NOW) == 1
    assert await db.fetchall("SELECT * FROM member_names") == []
    actions = [r["action"] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["leave.feed.create", "leave.feed.role", "leave.feed.revoke"]
    assert issued.token

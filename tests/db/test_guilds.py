from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import time

import pytest

from concord.core.settings import GuildConfig, is_manager
from concord.db.database import Database
from concord.db.guilds import GuildSettings

GUILD = 1001


async def test_defaults_before_any_setup(db: Database) -> None:
    config = await GuildSettings(db).get(GUILD)
    assert config == GuildConfig(guild_id=GUILD)
    assert config.timezone == "UTC"
    assert config.workdays == frozenset({0, 1, 2, 3, 4})
    assert config.workday_hours == 8
    assert config.approvals_channel_id is None and config.tasks_channel_id is None


async def test_update_sets_only_what_is_given_and_audits(db: Database) -> None:
    settings = GuildSettings(db)
    await settings.update(
        GUILD, 7, {"timezone": "Asia/Kolkata", "workdays": frozenset({6, 0, 1, 2, 3})}
    )
    config = await settings.update(GUILD, 8, {"dar_summary": time(18, 30), "manager_role_id": 55})
    assert config.timezone == "Asia/Kolkata"
    assert config.workdays == frozenset({6, 0, 1, 2, 3})
    assert config.dar_summary == time(18, 30)
    assert config.manager_role_id == 55
    assert config.workday_minutes == 480  # untouched
    audit = await db.fetchall("SELECT actor_id, action, before, after FROM audit_log ORDER BY id")
    assert [(r["actor_id"], r["action"]) for r in audit] == [
        (7, "settings.update"),
        (8, "settings.update"),
    ]
    assert json.loads(audit[1]["before"]) == {"dar_summary": "19:00", "manager_role_id": None}
    assert json.loads(audit[1]["after"]) == {"dar_summary": "18:30", "manager_role_id": 55}


async def test_unknown_setting_changes_nothing(db: Database) -> None:
    settings = GuildSettings(db)
    with pytest.raises(ValueError, match="unknown"):
        await settings.update(GUILD, 7, {"timezone": "Europe/Paris", "evil": 1})
    assert (await settings.get(GUILD)).timezone == "UTC"
    assert await db.fetchall("SELECT * FROM audit_log") == []


async def test_guilds_are_isolated(db: Database) -> None:
    settings = GuildSettings(db)
    await settings.update(GUILD, 7, {"timezone": "Europe/Paris"})
    assert (await settings.get(GUILD + 1)).timezone == "UTC"


async def test_member_timezone_set_and_clear(db: Database) -> None:
    settings = GuildSettings(db)
    await settings.set_member_timezone(GUILD, 5, "Europe/Berlin")
    assert await settings.member_timezone(GUILD, 5) == "Europe/Berlin"
    assert await settings.member_timezones(GUILD) == {5: "Europe/Berlin"}
    await settings.set_member_timezone(GUILD, 5, None)
    assert await settings.member_timezone(GUILD, 5) is None
    assert await settings.member_timezone(GUILD + 1, 5) is None


async def test_sync_hash_round_trip(db: Database) -> None:
    settings = GuildSettings(db)
    assert await settings.synced_hash("global") is None
    await settings.record_sync("global", "abc")
    await settings.record_sync("global", "def")
    assert await settings.synced_hash("global") == "def"


async def test_audit_log_is_append_only(db: Database) -> None:
    await GuildSettings(db).update(GUILD, 7, {"timezone": "Europe/Paris"})

    def tamper(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM audit_log")

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.write(tamper)


@pytest.mark.parametrize(
    ("roles", "manage", "owner", "expected"),
    [
        ([], False, False, False),
        ([55], False, False, True),
        ([56], False, False, False),
        ([], True, False, True),
        ([], False, True, True),
    ],
)
def test_is_manager(roles: list[int], manage: bool, owner: bool, expected: bool) -> None:
    config = GuildConfig(guild_id=GUILD, manager_role_id=55)
    assert is_manager(config, role_ids=roles, manage_guild=manage, is_owner=owner) is expected


def test_no_manager_role_means_only_admins() -> None:
    config = GuildConfig(guild_id=GUILD)
    assert not is_manager(config, role_ids=[55], manage_guild=False, is_owner=False)


@pytest.mark.sqlite_only("opens a second Database on the same file")
async def test_settings_are_read_once_and_every_instance_sees_updates(db: Database) -> None:
    """Kept in memory per database once read; an update through any GuildSettings on the same
    database replaces them for all."""
    bot_side, cog_side = GuildSettings(db), GuildSettings(db)
    assert (await bot_side.get(GUILD)).timezone == "UTC"
    reads: list[str] = []
    original = db.fetchone

    async def counting(sql: str, params: tuple = ()) -> sqlite3.Row | None:
        reads.append(sql)
        return await original(sql, params)

    db.fetchone = counting  # type: ignore[method-assign]
    assert (await cog_side.get(GUILD)).timezone == "UTC"
    assert reads == []  # served from memory
    await cog_side.update(GUILD, 7, {"timezone": "Asia/Kolkata"})
    assert (await bot_side.get(GUILD)).timezone == "Asia/Kolkata"
    assert reads == []
    other = await Database.open(db.path)  # another database object: its own memory
    try:
        assert (await GuildSettings(other).get(GUILD)).timezone == "Asia/Kolkata"
    finally:
        await other.close()


async def test_a_read_overtaken_by_an_update_is_not_kept(db: Database) -> None:
    settings = GuildSettings(db)
    original = db.fetchone
    release = asyncio.Event()

    async def slow(sql: str, params: tuple = ()) -> sqlite3.Row | None:
        row = await original(sql, params)  # reads the old settings…
        await release.wait()  # …and returns only after the update has committed
        return row

    db.fetchone = slow  # type: ignore[method-assign]
    reading = asyncio.create_task(settings.get(GUILD))
    await asyncio.sleep(0.05)
    db.fetchone = original  # type: ignore[method-assign]
    await settings.update(GUILD, 7, {"timezone": "Asia/Kolkata"})
    release.set()
    assert (await reading).timezone == "UTC"  # that caller saw the old settings…
    assert (await settings.get(GUILD)).timezone == "Asia/Kolkata"  # …the memory has the new

"""``/leave feed`` end to end: the command through the emulator, then the link it gave fetched
from ``concord web``'s app on the same database (read-only), parsed with vobject (a second
iCalendar parser the project does not use at run time)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable
from typing import Any

import pytest
import vobject
from flask.testing import FlaskClient

from concord.sandbox.driver import Sandbox
from concord.web.app import create_app
from concord.web.store import ReadOnlyStore
from tests.cogs.leave_helpers import apply, card, rows

PUBLIC = "https://desk.example/concord"
LINK = re.compile(re.escape(PUBLIC) + r"/feed/([A-Za-z0-9_-]+)\.ics")

served = pytest.mark.sandbox(settings={"public_url": PUBLIC})


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office()


def web(sandbox: Sandbox) -> FlaskClient:
    return create_app(ReadOnlyStore(sandbox.db_path), clock=sandbox.clock).test_client()


async def feed_token(sandbox: Sandbox, member: str, **options: Any) -> str:
    reply = await sandbox.slash(member, "leave feed", **options)
    assert reply.ephemeral
    found = LINK.search(reply.text)
    assert found, reply.text
    assert f"{PUBLIC}/chart/{found.group(1)}" in reply.text
    return found.group(1)


def events(body: bytes) -> dict[str, Any]:
    """SUMMARY -> the event, as vobject reads the feed."""
    calendar = vobject.readOne(body.decode("utf-8"))
    return {event.summary.value: event for event in calendar.vevent_list}


async def gateway_event(sandbox: Sandbox, event: str, action: Awaitable[Any]) -> None:
    """Send a gateway event and wait until the bot has received it and finished what its
    listeners started (the event arrives over the websocket, after ``action`` returns)."""
    known = set(asyncio.all_tasks())
    received = asyncio.ensure_future(sandbox.bot.wait_for(event, timeout=10))
    await action
    await received
    await sandbox.settle(known - {received})


async def seed(sandbox: Sandbox) -> None:
    await sandbox.slash("alice", "leave holiday add", date="2026-12-25", name="Christmas Day")
    await apply(sandbox, "bob", start="2026-12-07", end="2026-12-08", reason="family visit")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    await apply(sandbox, "carol", start="2026-12-09", portion="half_day_am", reason="dentist")


async def test_without_concord_web_the_member_is_told_what_the_operator_must_do(
    sandbox: Sandbox,
) -> None:
    reply = await sandbox.slash("bob", "leave feed")
    assert reply.ephemeral
    assert "the operator must run `concord web`" in reply.text
    assert "CONCORD_PUBLIC_URL" in reply.text
    assert await rows(sandbox, "SELECT * FROM leave_feeds") == []


@served
async def test_a_personal_feed_is_the_members_own_leave_with_types_and_the_holidays(
    sandbox: Sandbox,
) -> None:
    await seed(sandbox)
    token = await feed_token(sandbox, "bob")
    (stored,) = await rows(sandbox, "SELECT * FROM leave_feeds")
    assert stored["kind"] == "personal" and stored["user_id"] == sandbox.member("bob").id
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(await rows(sandbox, "SELECT * FROM audit_log"))
    assert len(token) >= 22  # ≥ 128 bits in URL-safe base64
    response = web(sandbox).get(f"/feed/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    found = events(response.data)
    assert set(found) == {"Bob: Annual", "Holiday: Christmas Day"}
    assert found["Bob: Annual"].description.value == "family visit"
    assert str(found["Holiday: Christmas Day"].dtstart.value) == "2026-12-25"
    assert ("leave.feed.create", sandbox.member("bob").id) in [
        (r["action"], r["actor_id"])
        for r in await rows(sandbox, "SELECT action, actor_id FROM audit_log")
    ]


@served
async def test_office_feed_hides_types_and_reasons_unless_the_subscriber_is_a_manager(
    sandbox: Sandbox,
) -> None:
    await seed(sandbox)
    client = web(sandbox)
    carol_token = await feed_token(sandbox, "carol", kind="office")
    member_view = events(client.get(f"/feed/{carol_token}.ics").data)
    assert "Bob: Out" in member_view
    assert not any("Annual" in summary for summary in member_view if summary.startswith("Bob"))
    assert "description" not in member_view["Bob: Out"].contents
    assert "Carol: Annual (morning half day) (pending)" in member_view  # her own, in full
    manager_view = events(
        client.get(f"/feed/{await feed_token(sandbox, 'alice', kind='office')}.ics").data
    )
    assert manager_view["Bob: Annual"].description.value == "family visit"
    assert manager_view["Carol: Annual (morning half day) (pending)"].description.value == "dentist"


@served
async def test_asking_again_keeps_the_link_and_revoke_rotates_it(sandbox: Sandbox) -> None:
    client = web(sandbox)
    first = await feed_token(sandbox, "bob", kind="office")
    again = await sandbox.slash("bob", "leave feed", kind="office")
    assert "You already have an office feed link" in again.text
    assert not LINK.search(again.text)
    second = await feed_token(sandbox, "bob", kind="office", revoke=True)
    assert second != first
    assert client.get(f"/feed/{first}.ics").status_code == 404
    assert client.get(f"/chart/{first}").status_code == 404
    assert client.get(f"/feed/{second}.ics").status_code == 200
    actions = [r["action"] for r in await rows(sandbox, "SELECT action FROM audit_log")]
    assert actions.count("leave.feed.create") == 2 and actions.count("leave.feed.revoke") == 1
    # The personal feed is another scope: its own link, untouched by the office one.
    await feed_token(sandbox, "bob")
    assert client.get(f"/feed/{second}.ics").status_code == 200


@served
async def test_a_team_feed_shows_the_team_only_and_an_unknown_team_is_refused(
    sandbox: Sandbox,
) -> None:
    await seed(sandbox)
    carol = sandbox.member("carol").id
    guild = sandbox.guild.id

    def make_team(conn: Any) -> None:
        team = conn.execute(
            "INSERT INTO leave_teams (guild_id, name, created_by, created_at)"
            " VALUES (?, 'Support', 1, '2026-12-01T09:00:00+00:00') RETURNING id",
            (guild,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO leave_team_members (team_id, user_id, added_by, added_at)"
            " VALUES (?, ?, 1, '2026-12-01T09:00:00+00:00')",
            (team, carol),
        )

    await sandbox.db.write(make_team)
    refused = await sandbox.slash("dave", "leave feed", kind="team", team="Sales")
    assert "no team called **Sales**" in refused.text
    assert await rows(sandbox, "SELECT * FROM leave_feeds") == []
    assert await rows(sandbox, "SELECT * FROM member_names") == []  # refused: nothing changed
    choices = await sandbox.autocomplete("dave", "leave feed", "team", "sup")
    assert choices == [("Support", "Support")]
    token = await feed_token(sandbox, "dave", kind="team", team="support")
    found = events(web(sandbox).get(f"/feed/{token}.ics").data)
    assert "Carol: Out (morning half day) (pending)" in found
    assert not any(summary.startswith("Bob") for summary in found)


@served
async def test_a_member_who_leaves_loses_the_link_and_a_new_manager_sees_details(
    sandbox: Sandbox,
) -> None:
    await seed(sandbox)
    client = web(sandbox)
    dave_token = await feed_token(sandbox, "dave", kind="office")
    assert "Bob: Out" in events(client.get(f"/feed/{dave_token}.ics").data)
    emulator, guild = sandbox.emulator, sandbox.guild
    manager = sandbox.role("Manager")
    await gateway_event(
        sandbox,
        "member_update",
        emulator.set_member_roles(guild, sandbox.member("dave"), [manager]),
    )
    (live,) = await rows(sandbox, "SELECT manager FROM leave_feeds WHERE revoked_at IS NULL")
    assert live["manager"] == 1
    assert "Bob: Annual" in events(client.get(f"/feed/{dave_token}.ics").data)
    await gateway_event(
        sandbox, "raw_member_remove", emulator.remove_member(guild, sandbox.member("dave"))
    )
    assert await rows(sandbox, "SELECT * FROM leave_feeds WHERE revoked_at IS NULL") == []
    assert client.get(f"/feed/{dave_token}.ics").status_code == 404

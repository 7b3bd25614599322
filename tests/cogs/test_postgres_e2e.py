"""The bot on PostgreSQL end to end: the real bot through the local Discord emulator, with
``CONCORD_DATABASE_URL`` pointing at the session's throwaway server (tests/pg_server.py) —
leave apply → approve → balance, a repeating task created and done (the next one posted),
a DAR filed and summarised, a team's ``max_out`` refusing a request over it, a check-in's
report filed (its entry and answers written), a leave feed link issued — and a server that goes
away answered with one clear line. The same flows on SQLite: test_leave_e2e.py,
test_tasks_e2e.py, test_dar_e2e.py, test_leave_teams_e2e.py, test_dar_checkins_e2e.py,
test_leave_feed_e2e.py."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from concord.config import parse_database_url
from concord.db.postgres import CONNECT_RETRY_S
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, audit_actions, card, debits, leave_state
from tests.cogs.test_dar_e2e import at, file_report
from tests.cogs.test_tasks_e2e import card as task_card
from tests.cogs.test_tasks_e2e import create, fields
from tests.pg_server import ThrowawayPostgres

PUBLIC = "https://desk.example/concord"


@pytest.fixture
async def pg_sandbox(tmp_path: Path, pg_url: str) -> AsyncIterator[Sandbox]:
    settings = {"database_url": parse_database_url(pg_url), "public_url": PUBLIC}
    box = Sandbox(tmp_path, settings=settings)
    try:
        await box.start()
        await box.configure_office()
        yield box
        box.check()
    finally:
        await box.stop()


async def test_leave_apply_approve_balance(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    assert sandbox.db.dialect == "postgresql"
    reply = await apply(sandbox)
    assert "#1" in reply.text
    sandbox.clock.set(datetime(2026, 12, 1, 10, 2, tzinfo=UTC))  # type: ignore[attr-defined]
    posted = card(sandbox, 1)
    await sandbox.click("alice", posted, "Approve")
    assert "✅ Approved by Alice at 10:02" in posted.text
    assert "Balance: 2026: 13 days of Annual left" in posted.text
    assert await debits(sandbox, 1) == [{"kind": "debit", "year": 2026, "amount": "-1"}]
    assert await audit_actions(sandbox, "leave:1") == [
        ("leave.request", sandbox.member("bob").id),
        ("leave.approve", sandbox.member("alice").id),
    ]
    balance = await sandbox.slash("bob", "leave balance")
    assert "13" in balance.text


async def test_repeating_task_create_done_posts_the_next(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    task_id = await create(
        sandbox, assignee="bob", title="Check the backups", due="fri", repeat="weekdays"
    )
    reply = await sandbox.click("bob", task_card(sandbox, task_id), "Done")
    assert "next is #" in reply.text and "due Mon 7 Dec 2026" in reply.text
    next_id = task_id + 1
    assert fields(task_card(sandbox, task_id))["Next occurrence"] == f"#{next_id}"
    await sandbox.click("bob", task_card(sandbox, task_id), "Reopen")
    await sandbox.click("bob", task_card(sandbox, task_id), "Done")
    count = await sandbox.db.fetchone("SELECT count(*) AS n FROM tasks")
    assert count is not None and count["n"] == 2  # no second next occurrence
    listed = await sandbox.slash("bob", "task list", query="backups")
    assert "Check the backups" in listed.text


async def test_dar_submit_then_summary(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", blockers="Waiting for the VPN token")
    await file_report(sandbox, "carol")
    summary = await sandbox.slash("alice", "dar summary")
    assert "Daily reports — Tue 1 Dec 2026" in summary.text
    assert "**2 / 4** expected reports filed" in summary.embeds[0]["description"]
    assert "Waiting for the VPN token" in summary.text


async def test_a_team_with_max_out_refuses_a_request_over_it(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    created = await sandbox.slash("alice", "leave team create", name="Support", max_out=1)
    assert "Created team **Support**" in created.text
    for member in ("bob", "dave"):
        await sandbox.slash("alice", "leave team add", team="Support", member=member)
    await sandbox.slash("alice", "leave team add", team="Support", member="carol", approver=True)
    await apply(sandbox, "bob", start="2026-12-15")
    await sandbox.click("carol", card(sandbox, 1), "Approve")
    before = await leave_state(sandbox)
    refused = await apply(sandbox, "dave", start="2026-12-15")
    assert "2 of Support would be out on Tue 15 Dec — the limit is 1" in refused.text
    assert await leave_state(sandbox) == before  # nothing written
    teams = await sandbox.db.fetchall("SELECT name, max_out FROM leave_teams")
    assert [tuple(r) for r in teams] == [("Support", 1)]


async def test_a_checkin_report_is_filed_with_its_answers(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    sandbox.clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    made = await sandbox.slash(
        "alice",
        "dar checkin create",
        name="Friday retro",
        channel="general",
        schedule="weekly",
        days="fri",
        time="16:00",
    )
    assert "Check-in **Friday retro** is set up" in made.text, made.text
    form = await sandbox.slash("alice", "dar questions", checkin="Friday retro")
    assert form.modal is not None
    await sandbox.submit(
        "alice",
        form.modal,
        question1="What went well; long; done",
        question2="Mood; choice 1/2/3/4/5",
        question3="",
        question4="",
        question5="",
    )
    sandbox.clock.set(datetime(2026, 12, 4, 17, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    reply = await sandbox.slash("bob", "dar submit", checkin="friday retro")
    assert reply.modal is not None, reply.text
    await sandbox.submit("bob", reply.modal, **{"What went well": "Shipped", "Mood": "3"})
    entries = await sandbox.db.fetchall(
        "SELECT e.user_id, e.day, e.status FROM dar_entries e"
        " JOIN dar_checkins c ON c.id = e.checkin_id WHERE c.name = 'Friday retro'"
    )
    assert [tuple(r) for r in entries] == [(sandbox.member("bob").id, "2026-12-04", "filed")]
    answers = await sandbox.db.fetchall(
        "SELECT a.label, a.value FROM dar_answers a JOIN dar_entries e ON e.id = a.entry_id"
        " JOIN dar_checkins c ON c.id = e.checkin_id WHERE c.name = 'Friday retro'"
        " ORDER BY a.question_id"
    )
    assert [tuple(r) for r in answers] == [("What went well", "Shipped"), ("Mood", "3")]


async def test_a_leave_feed_link_is_issued_once(pg_sandbox: Sandbox) -> None:
    sandbox = pg_sandbox
    reply = await sandbox.slash("bob", "leave feed", kind="office")
    assert reply.ephemeral
    found = re.search(re.escape(PUBLIC) + r"/feed/([A-Za-z0-9_-]+)\.ics", reply.text)
    assert found, reply.text
    again = await sandbox.slash("bob", "leave feed", kind="office")
    assert "You already have an office feed link" in again.text  # kept, not a second one
    feeds = await sandbox.db.fetchall(
        "SELECT user_id, kind, token_hash, revoked_at FROM leave_feeds"
    )
    digest = hashlib.sha256(found.group(1).encode()).hexdigest()
    assert [tuple(r) for r in feeds] == [(sandbox.member("bob").id, "office", digest, None)]


async def test_a_server_that_went_away_is_one_clear_line(
    tmp_path: Path, pg_server: ThrowawayPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    """The database dropped under a running bot: the member is told to try again, the log has
    one warning naming the URL with its password masked, and no traceback."""
    import psycopg

    url = pg_server.create_database()
    box = Sandbox(tmp_path, settings={"database_url": parse_database_url(url)})
    await box.start()
    try:
        await box.configure_office()
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # every connection cut
        box.strict = False  # the warning is expected; check() would count it
        reply = await apply(box)
        assert reply.text == "The database is unavailable, try again in a moment."
        assert not any(r.exc_info for r in caplog.records if r.name.startswith("concord"))
        assert any("unavailable" in r.getMessage() for r in caplog.records)
    finally:
        await box.stop()


async def test_every_command_after_the_server_went_away_is_answered(
    tmp_path: Path, pg_server: ThrowawayPostgres
) -> None:
    """Not only the first: once the connections the server cut are used up, a command needs a
    new one, and a server that is gone must refuse it at once. (A connection pool stood here:
    such a command waited its 10 s for a connection and the emulator, like Discord, gave up on
    the interaction first.) The server back, a command works once a connect may be tried again."""
    import psycopg

    url = pg_server.create_database()
    box = Sandbox(tmp_path, settings={"database_url": parse_database_url(url)})
    await box.start()
    try:
        await box.configure_office()
        now = [0.0]  # the backend's clock of connect attempts, moved by hand below
        box.db._connections.clock = lambda: now[0]  # type: ignore[attr-defined]
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            box.strict = False  # the warnings are expected; check() would count them
            for _ in range(9):  # more than the 8 connections a process holds
                reply = await apply(box)
                assert reply.text == "The database is unavailable, try again in a moment."
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        now[0] += CONNECT_RETRY_S  # a connect is tried again after a failed one
        reply = await apply(box)
        assert "#1" in reply.text
    finally:
        await box.stop()

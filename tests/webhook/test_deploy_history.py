"""The webhook's own history database: deliveries, deploy records, conditional transitions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord.db.database import DatabaseError
from concord.webhook.git import tail
from concord.webhook.history import (
    DEPLOYED,
    QUEUED,
    ROLLED_BACK,
    RUNNING,
    SUPERSEDED,
    CommitInfo,
    DeployHistory,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path) -> DeployHistory:
    store = DeployHistory(tmp_path / "sub" / "deploy.db")
    store.create()
    store.create()  # idempotent
    return store


def test_a_delivery_is_recorded_once(history: DeployHistory) -> None:
    assert history.record_delivery("abc", "push", "deploy 1234567", NOW)
    assert not history.record_delivery("abc", "push", "deploy 1234567", NOW)
    assert history.delivery_count() == 1


def test_a_deploy_goes_queued_running_final(history: DeployHistory) -> None:
    commits = [CommitInfo("a" * 40, "Ada", "One")]
    deploy_id = history.add(
        source="webhook", branch="main", target_sha="b" * 40, now=NOW, commits=commits
    )
    queued = history.get(deploy_id)
    assert queued is not None and queued.status == QUEUED and queued.commits == tuple(commits)

    assert history.start(deploy_id, "c" * 40, NOW + timedelta(seconds=1))
    assert not history.start(deploy_id, "c" * 40, NOW)  # only from queued
    running = history.get(deploy_id)
    assert running is not None and running.status == RUNNING and running.previous_sha == "c" * 40

    done = history.finish(
        deploy_id,
        ROLLED_BACK,
        NOW + timedelta(seconds=9),
        detail="bbbbbbb did not come up",
        error_tail="health failed",
        durations={"health": 5.0, "total": 8.5},
        reinstalled=True,
    )
    assert done.status == ROLLED_BACK and done.reinstalled and done.total_seconds == 8.5
    assert done.started_at == NOW + timedelta(seconds=1)
    assert done.finished_at == NOW + timedelta(seconds=9)
    with pytest.raises(ValueError, match="not queued or running"):
        history.finish(deploy_id, DEPLOYED, NOW)
    with pytest.raises(ValueError, match="not a final"):
        history.finish(deploy_id, RUNNING, NOW)
    assert history.was_rolled_back("b" * 40) == done
    assert history.was_rolled_back("c" * 40) is None
    assert history.last_finished() == done


def test_recent_and_deployed_are_newest_first(history: DeployHistory) -> None:
    ids = [
        history.add(source="cli", branch="main", target_sha=f"{n}" * 40, now=NOW) for n in range(3)
    ]
    history.finish(ids[0], DEPLOYED, NOW)
    history.finish(ids[1], SUPERSEDED, NOW)
    history.finish(ids[2], DEPLOYED, NOW)
    assert [r.id for r in history.recent()] == ids[::-1]
    assert [r.id for r in history.recent(1)] == [ids[2]]
    assert [r.id for r in history.deployed()] == [ids[2], ids[0]]
    with pytest.raises(ValueError, match="unknown deploy source"):
        history.add(source="cron", branch="main", target_sha="a" * 40, now=NOW)


def test_a_newer_history_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deploy.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this"):
        DeployHistory(path).create()


def test_error_tails_are_short_and_mask_credentials() -> None:
    text = (
        "fatal: could not read from https://deploy:ghp_abcdef123@github.com/o/r.git\n" + "x" * 5000
    )
    short = tail(text)
    assert len(short) == 2000 and short.startswith("…")
    masked = tail("fatal: https://deploy:ghp_abcdef123@github.com/o/r.git not found")
    assert masked == "fatal: https://***@github.com/o/r.git not found"


def test_a_version_1_history_is_upgraded_in_place(tmp_path: Path) -> None:
    from concord.db.database import connect_sync, run_script, set_schema_version
    from concord.webhook.history import _SCHEMA

    path = tmp_path / "deploy.db"
    conn = connect_sync(path)
    run_script(conn, _SCHEMA)
    set_schema_version(conn, 1)
    conn.execute(
        "INSERT INTO deliveries VALUES ('old', 'push', '2026-03-01T00:00:00+00:00', 'deploy')"
    )
    conn.close()
    history = DeployHistory(path)
    history.create()
    assert history.delivery_count() == 1
    assert history.record_delivery("new", "push", "deploy", NOW, "f" * 64)
    assert not history.record_delivery("replay", "push", "deploy", NOW, "f" * 64)
    assert history.active_pin() is None

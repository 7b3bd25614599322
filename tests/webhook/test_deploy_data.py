"""What a deploy does to the bot's data: a pre-migration snapshot, and a rollback that puts the
database back with the code (real git, the real concord package, a real migration)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from concord.db.snapshots import list_snapshots
from concord.webhook.deployer import PushRequest
from concord.webhook.history import ROLLED_BACK
from concord.webhook.notify import DiscordNotifier
from tests.webhook.concord_rig import ConcordRig
from tests.webhook.deploy_rig import NotifyServer
from tests.webhook.test_deployer import run_push


@pytest.fixture(scope="session")
def concord_template(tmp_path_factory: pytest.TempPathFactory) -> ConcordRig:
    template = ConcordRig(tmp_path_factory.mktemp("concord-rig-template"))
    template.build_repositories()
    return template


@pytest.fixture
def concord_rig(tmp_path: Path, concord_template: ConcordRig) -> Iterator[ConcordRig]:
    rig = ConcordRig(tmp_path)
    try:
        rig.create(concord_template)
        yield rig
    finally:
        rig.stop()


def seed(rig: ConcordRig) -> None:
    """The office's data before the deploy: decisions in the audit log."""
    for n in range(3):
        rig.query(
            "INSERT INTO audit_log (guild_id, actor_id, action, subject, at) "
            f"VALUES (1, 2, 'seed', 'item {n}', '2026-03-02T09:00:00+00:00')"
        )


def test_a_push_that_migrates_then_fails_is_rolled_back_with_its_data(
    concord_rig: ConcordRig, notify_server: NotifyServer
) -> None:
    rig = concord_rig
    good = rig.deployed()
    version = rig.latest_version()
    assert rig.schema_version() == version
    conn_rows = rig.query("SELECT count(*) FROM audit_log")
    seed(rig)
    bad = rig.migrating_broken_commit()
    deployer = rig.deployer(notifier=DiscordNotifier(notify_server.url), health_timeout=15.0)

    deploy_id = run_push(deployer, PushRequest("migrating-1", good, bad))

    record = deployer.history.get(deploy_id)
    assert record is not None
    assert record.status == ROLLED_BACK, (record.detail, record.error_tail)
    assert rig.deployed() == good
    health = rig.wait_for_bot(good)
    assert rig.bot_alive() and health["commit"] == good
    # The previous schema, with everything written before the deploy.
    assert rig.schema_version() == version
    assert rig.query("SELECT subject FROM audit_log WHERE action = 'seed' ORDER BY id") == [
        ("item 0",),
        ("item 1",),
        ("item 2",),
    ]
    assert not rig.query("SELECT name FROM sqlite_master WHERE name = 'rig_extra'")
    starts = rig.query("SELECT subject FROM audit_log WHERE action = 'rig.start' ORDER BY id")
    assert starts[: conn_rows[0][0]] == [(good,)] * int(conn_rows[0][0])  # type: ignore[call-overload]
    assert (bad,) not in starts
    # The snapshot, named with versions and commits, and the failed version's file beside it.
    [snapshot] = list_snapshots(rig.db_path)
    assert snapshot.path.parent == rig.db_path.parent / "snapshots"
    assert (snapshot.from_version, snapshot.to_version) == (version, version + 1)
    assert (snapshot.from_commit, snapshot.to_commit) == (good[:7], bad[:7])
    [aside] = [p for p in snapshot.path.parent.iterdir() if ".set-aside-" in p.name]
    assert rig.schema_version(aside) == version + 1
    assert rig.query("SELECT subject FROM audit_log WHERE action = 'rig.start'", aside)[-1] == (
        bad,
    )
    said = re.compile(
        rf"restored the database to \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC; 1 change made by "
        rf"{bad[:7]} was set aside in {re.escape(str(aside))}"
    )
    assert record.detail and said.search(record.detail), record.detail
    [message] = notify_server.wait_for(1)
    assert said.search(message["embeds"][0]["description"].replace("\n", ""))


def test_the_bot_start_snapshots_before_migrating_only(concord_rig: ConcordRig) -> None:
    """No migration pending: no snapshot (the rig's bot started on an up-to-date database)."""
    assert list_snapshots(concord_rig.db_path) == []


def test_a_manual_rollback_past_a_migration_restores_the_database(
    concord_rig: ConcordRig,
) -> None:
    rig = concord_rig
    good = rig.deployed()
    version = rig.latest_version()
    seed(rig)
    migrating = rig.commit(
        "Add a table",
        {
            f"concord/db/migrations/{version + 1:04d}_rig_extra.sql": (
                "CREATE TABLE rig_extra (id INTEGER PRIMARY KEY);\n"
            )
        },
    )
    deployer = rig.deployer(health_timeout=30.0)
    run_push(deployer, PushRequest("d-1", good, migrating))
    assert rig.wait_for_bot(migrating) and rig.schema_version() == version + 1
    rig.query(
        "INSERT INTO audit_log (guild_id, actor_id, action, subject, at) "
        "VALUES (1, 2, 'after', 'made on the new schema', '2026-03-02T10:00:00+00:00')"
    )

    record = deployer.rollback()

    assert record.status == "deployed", (record.detail, record.error_tail)
    assert rig.deployed() == good and rig.wait_for_bot(good)
    assert rig.schema_version() == version
    assert len(rig.query("SELECT 1 FROM audit_log WHERE action = 'seed'")) == 3
    # The new version's start and the change made on it: two entries set aside.
    assert f"2 changes made by {migrating[:7]} were set aside" in str(record.detail)

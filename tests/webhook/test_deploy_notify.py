"""Deploy notifications: the message fits Discord's limits, delivery failures stay harmless."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from concord.webhook.history import (
    DEPLOYED,
    FAILED,
    REFUSED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    SKIPPED,
    CommitInfo,
    DeployRecord,
)
from concord.webhook.notify import DiscordNotifier, deploy_message
from tests.webhook.deploy_rig import NotifyServer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD = "1" * 40
NEW = "2" * 40


def record(**values: object) -> DeployRecord:
    base: dict[str, object] = {
        "id": 7,
        "source": "webhook",
        "delivery_id": "d-1",
        "branch": "main",
        "before_sha": OLD,
        "target_sha": NEW,
        "previous_sha": OLD,
        "commits": (CommitInfo("3" * 40, "Grace Hopper", "Fix the leave balance"),),
        "commit_count": 1,
        "status": DEPLOYED,
        "detail": None,
        "error_tail": None,
        "reinstalled": False,
        "queued_at": NOW,
        "started_at": NOW,
        "finished_at": NOW,
        "durations": {
            "fetch": 0.41,
            "checkout": 0.05,
            "restart": 0.2,
            "health": 9.3,
            "total": 10.0,
        },
    }
    base.update(values)
    return DeployRecord(**base)  # type: ignore[arg-type]


def embed_size(embed: dict[str, object]) -> int:
    fields = embed.get("fields", [])
    total = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    total += len(str(embed.get("footer", {}).get("text", "")))  # type: ignore[union-attr]
    for field in fields:  # type: ignore[union-attr]
        total += len(field["name"]) + len(field["value"])
    return total


def test_a_deployed_message_lists_commits_and_durations() -> None:
    message = deploy_message(record())
    [embed] = message["embeds"]
    assert embed["title"] == "✅ Deployed 2222222 (main)"
    assert "`1111111` → `2222222`" in embed["description"]
    assert "`3333333` Fix the leave balance — Grace Hopper" in embed["description"]
    assert embed["fields"][0]["value"] == (
        "fetch 0.4 s · checkout 0.1 s · restart 0.2 s · health 9.3 s · total 10.0 s"
    )
    assert embed["footer"]["text"] == "deploy #7 · webhook"
    assert message["allowed_mentions"] == {"parse": []}  # a commit title cannot ping @everyone


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (ROLLED_BACK, "↩️ Rolled back 2222222 (main)"),
        (ROLLBACK_FAILED, "🚨 Rollback failed: the bot may be down 2222222 (main)"),
        (REFUSED, "⛔ Deploy refused 2222222 (main)"),
        (FAILED, "⚠️ Deploy failed (bot untouched) 2222222 (main)"),
    ],
)
def test_each_outcome_has_its_heading(status: str, title: str) -> None:
    embed = deploy_message(record(status=status, error_tail="health failed: boom"))["embeds"][0]
    assert embed["title"] == title
    if status in (ROLLED_BACK, ROLLBACK_FAILED):
        assert "Back on `1111111`" in embed["description"]
    assert embed["fields"][-1] == {
        "name": "Error",
        "value": "```\nhealth failed: boom\n```",
        "inline": False,
    }


def test_huge_pushes_and_errors_still_fit_discords_limits() -> None:
    commits = tuple(CommitInfo(f"{n:040x}", "A" * 300, "T" * 3000) for n in range(20))
    message = deploy_message(
        record(
            commits=commits,
            commit_count=250,
            detail="D" * 5000,
            error_tail="E" * 5000,
            branch="b" * 300,
        )
    )
    [embed] = message["embeds"]
    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert embed_size(embed) <= 6000
    assert len(json.dumps(message)) < 16_000


def test_the_commit_list_says_how_many_more_there_are() -> None:
    commits = tuple(CommitInfo(f"{n:040x}", "Ada", f"Change {n}") for n in range(20))
    embed = deploy_message(record(commits=commits, commit_count=45))["embeds"][0]
    assert "Change 9" in embed["description"] and "Change 10" not in embed["description"]
    assert embed["description"].endswith("… and 35 more")


def test_the_notifier_posts_json_with_a_user_agent(notify_server: NotifyServer) -> None:
    DiscordNotifier(notify_server.url).send(record())
    [message] = notify_server.wait_for(1)
    assert message["embeds"][0]["title"] == "✅ Deployed 2222222 (main)"
    headers = notify_server.headers[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("ConcordDesk/")


def test_skips_are_not_announced(notify_server: NotifyServer) -> None:
    notifier = DiscordNotifier(notify_server.url)
    notifier.send(record(status=SKIPPED))
    notifier.send(record(status=REFUSED))
    assert notify_server.titles() == ["⛔ Deploy refused 2222222 (main)"]


def test_a_refused_notification_is_logged_without_the_url(
    notify_server: NotifyServer, caplog: pytest.LogCaptureFixture
) -> None:
    notify_server.status = 404
    caplog.set_level(logging.WARNING)
    DiscordNotifier(notify_server.url).send(record())  # does not raise
    assert "the notification was refused (HTTP 404)" in caplog.text
    assert "token-xyz" not in caplog.text
    assert "token-xyz" not in repr(DiscordNotifier(notify_server.url))


def test_an_unreachable_notify_url_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    DiscordNotifier("http://127.0.0.1:9/api/webhooks/1/tok", timeout=2).send(record())
    assert "could not send the notification" in caplog.text

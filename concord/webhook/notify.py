"""One Discord message per deploy, posted to an incoming-webhook URL.

The message is an embed (deployed / rolled back / refused / failed) with the short commit list
and the step durations, built to fit Discord's limits and with mentions switched off, since
commit titles are written by anyone with push access. Delivery failures are logged and
swallowed: a notification never fails a deploy. The URL is a credential and is never logged.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from concord import __version__
from concord.alerts import post_webhook
from concord.core.text import clip
from concord.webhook.history import (
    DEPLOYED,
    FAILED,
    REFUSED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    SKIPPED,
    DeployRecord,
)

log: logging.Logger = logging.getLogger(__name__)

NOTIFY_TIMEOUT = 10.0
ANNOUNCED: frozenset[str] = frozenset({DEPLOYED, ROLLED_BACK, ROLLBACK_FAILED, REFUSED, FAILED})
# Discord's limits: embed title 256, description 4096, field value 1024, 6000 in all.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
COMMITS_SHOWN = 10
# Discord's edge answers urllib's default User-Agent ("Python-urllib/3.x") with 403.
USER_AGENT = f"ConcordDesk/{__version__} (deploy notifications)"

_STYLE: dict[str, tuple[str, int]] = {
    SKIPPED: ("⏭️ Deploy skipped", 0x95A5A6),
    DEPLOYED: ("✅ Deployed", 0x2ECC71),
    ROLLED_BACK: ("↩️ Rolled back", 0xE67E22),
    ROLLBACK_FAILED: ("🚨 Rollback failed: the bot may be down", 0xE74C3C),
    REFUSED: ("⛔ Deploy refused", 0x95A5A6),
    FAILED: ("⚠️ Deploy failed (bot untouched)", 0xE74C3C),
}
_STEP_NAMES: tuple[str, ...] = (
    "fetch",
    "checkout",
    "reinstall",
    "restart",
    "restore",
    "health",
    "rollback",
    "total",
)


class Notifier(Protocol):
    def send(self, record: DeployRecord, *, always: bool = False) -> None: ...


def _commit_lines(record: DeployRecord) -> str:
    lines = [
        f"`{c.short}` {clip(c.title, 120)} — {clip(c.author, 60)}"
        for c in record.commits[:COMMITS_SHOWN]
    ]
    hidden = record.commit_count - min(len(record.commits), COMMITS_SHOWN)
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    return "\n".join(lines)


def _durations(record: DeployRecord) -> str:
    return " · ".join(
        f"{step} {record.durations[step]:.1f} s" for step in _STEP_NAMES if step in record.durations
    )


def deploy_message(record: DeployRecord) -> dict[str, Any]:
    """The webhook payload announcing ``record``."""
    heading, colour = _STYLE.get(record.status, (record.status, 0x95A5A6))
    target = record.target_sha[:7]
    title = f"{heading} {target} ({record.branch})"
    parts: list[str] = []
    if record.previous_sha and record.status in (ROLLED_BACK, ROLLBACK_FAILED):
        parts.append(f"Back on `{record.previous_sha[:7]}`; `{target}` did not come up.")
    elif record.previous_sha and record.status == DEPLOYED:
        parts.append(f"`{record.previous_sha[:7]}` → `{target}`")
    if record.detail:
        parts.append(record.detail)
    commits = _commit_lines(record)
    if commits:
        parts.append(commits)
    embed: dict[str, Any] = {
        "title": clip(title, TITLE_LIMIT),
        "description": clip("\n\n".join(parts), DESCRIPTION_LIMIT),
        "color": colour,
        "fields": [],
    }
    durations = _durations(record)
    if durations:
        embed["fields"].append({"name": "Durations", "value": durations, "inline": False})
    if record.error_tail:
        block = clip(record.error_tail[-(FIELD_LIMIT - 8) :], FIELD_LIMIT - 8)
        embed["fields"].append({"name": "Error", "value": f"```\n{block}\n```", "inline": False})
    embed["footer"] = {"text": f"deploy #{record.id} · {record.source}"}
    return {"username": "Concord deploy", "embeds": [embed], "allowed_mentions": {"parse": []}}


class DiscordNotifier:
    """Posts deploy messages to a Discord incoming webhook (or anything that accepts its JSON)."""

    def __init__(self, url: str, *, timeout: float = NOTIFY_TIMEOUT) -> None:
        self._url = url
        self.timeout = timeout

    def __repr__(self) -> str:
        return "DiscordNotifier(url=<hidden>)"

    def send(self, record: DeployRecord, *, always: bool = False) -> None:
        """Post ``record`` when its status is announced (or ``always``, e.g. a skipped deploy
        that leaves the bot on a commit off the branch)."""
        if record.status not in ANNOUNCED and not always:
            return
        post_webhook(
            self._url,
            deploy_message(record),
            timeout=self.timeout,
            user_agent=USER_AGENT,
            what="the notification",
            log_prefix=f"deploy #{record.id}: ",
        )

"""Alerts for the operator, posted to a Discord incoming webhook (``CONCORD_ALERT_WEBHOOK_URL``).

An alert has a kind (``job_failed:dar_summary``, ``writer_queue``, ``bot_down``…). Firing a
kind that is already active says nothing more for an hour; clearing an active kind posts one
"resolved" message. The bot and the ``concord webhook`` process each keep their own
:class:`Alerter`, since a dead bot cannot report itself. Messages never carry a secret: the
callers pass only names, times and counts, and the URL itself is never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from concord import __version__

log: logging.Logger = logging.getLogger(__name__)

REPEAT_AFTER = timedelta(hours=1)
POST_TIMEOUT = 10.0
# Discord's edge answers urllib's default User-Agent with 403.
USER_AGENT = f"ConcordDesk/{__version__} (alerts)"
FIRING_COLOUR = 0xE74C3C
RESOLVED_COLOUR = 0x2ECC71
DESCRIPTION_LIMIT = 4096


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = POST_TIMEOUT,
    user_agent: str = USER_AGENT,
    what: str = "the alert",
    log_prefix: str = "",
) -> bool:
    """POST ``payload`` as JSON to a Discord incoming webhook; False (logged, never the URL)
    when it failed. Shared by the alerts and the deploy notifications."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": user_agent},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        log.warning("%s%s was refused (HTTP %d)", log_prefix, what, exc.code)
        return False
    except Exception as exc:  # a message that cannot be sent never fails the caller
        # Only the kind of failure: exception texts can quote the URL, which is a credential.
        log.warning("%scould not send %s (%s)", log_prefix, what, failure_kind(exc))
        return False
    return True


def failure_kind(exc: BaseException) -> str:
    """What went wrong, without the exception's text (which may quote the URL)."""
    reason = getattr(exc, "reason", None)
    cause = reason if isinstance(reason, BaseException) else exc
    if isinstance(cause, OSError) and cause.strerror:
        return f"{type(cause).__name__}: {cause.strerror}"
    return type(cause).__name__


def alert_message(source: str, title: str, detail: str, *, resolved: bool) -> dict[str, Any]:
    heading = f"✅ Resolved: {title}" if resolved else f"🔴 {title}"
    return {
        "username": "Concord alerts",
        "embeds": [
            {
                "title": heading[:256],
                "description": detail[:DESCRIPTION_LIMIT],
                "color": RESOLVED_COLOUR if resolved else FIRING_COLOUR,
                "footer": {"text": source[:2048]},
            }
        ],
        "allowed_mentions": {"parse": []},
    }


@dataclass
class _Active:
    title: str
    last_sent: datetime


class Alerter:
    """Rate-limited alert state: at most one message per kind per ``repeat_after`` while it
    fires, and one "resolved" message when it clears. ``send`` gets the webhook payload."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], object],
        *,
        source: str,
        repeat_after: timedelta = REPEAT_AFTER,
    ) -> None:
        self._send = send
        self.source = source
        self.repeat_after = repeat_after
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()

    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._active)

    def fire(self, kind: str, title: str, detail: str, now: datetime) -> bool:
        """Report ``kind`` as failing; True when a message was sent."""
        with self._lock:
            current = self._active.get(kind)
            if current is not None and now - current.last_sent < self.repeat_after:
                return False
            self._active[kind] = _Active(title, now)
        self._send(alert_message(self.source, title, detail, resolved=False))
        return True

    def resolve(self, kind: str, detail: str, now: datetime) -> bool:
        """Report ``kind`` as healthy again; True when a "resolved" message was sent."""
        with self._lock:
            current = self._active.pop(kind, None)
        if current is None:
            return False
        self._send(alert_message(self.source, current.title, detail, resolved=True))
        return True


def webhook_sender(url: str) -> Callable[[dict[str, Any]], object]:
    """A ``send`` for :class:`Alerter` posting to ``url`` (blocking: call it off the loop)."""

    def send(payload: dict[str, Any]) -> object:
        return post_webhook(url, payload)

    return send

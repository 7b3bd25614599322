"""What the Discord layer tells metrics about an interaction, without importing the metrics
library (cogs mark outcomes even when metrics are off; it then costs one context lookup).

The bot sets :data:`current_interaction` while discord.py parses an INTERACTION_CREATE, so every
task discord.py creates for that interaction (the command or button callback) carries it, and
the REST requests and error reports made from those tasks find their interaction.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

# Interaction outcomes (label values of concord_interactions_total).
OK = "ok"
USER_ERROR = "user_error"
UNEXPECTED_ERROR = "unexpected_error"
TOO_LATE = "too_late"
UNANSWERED = "unanswered"

# A label value a member could choose (a forged custom id) must not mint new series.
_CUSTOM_ID_PREFIX: re.Pattern[str] = re.compile(r"^([a-z_]{1,24}:[a-z_]{1,24})(?::|$)")
_API_VERSION: re.Pattern[str] = re.compile(r"^v\d+$")
_ROUTE_WORD: re.Pattern[str] = re.compile(r"^[a-z@_-]{1,40}$")


def component_label(custom_id: str) -> str:
    """``leave:approve:12`` → ``leave:approve``; anything else → ``other``."""
    match = _CUSTOM_ID_PREFIX.match(custom_id)
    return match.group(1) if match else "other"


# Paths seen before, by their template: the bot requests the same few channels' paths again and
# again. Interaction and webhook paths carry a fresh id and token each time and would only evict
# those: they are looked up by what follows their token instead. Each cache is emptied when full
# rather than kept in LRU order (cheaper per hit, bounded all the same).
_ROUTE_CACHE_SIZE = 2048
_route_cache: dict[str, str] = {}
_token_route_cache: dict[str, str] = {}


def route_template(path: str) -> str:
    """A request path as a route template: ``/api/v10/channels/123/messages`` →
    ``/channels/{id}/messages``; webhook and interaction tokens become ``{token}``."""
    template = _route_cache.get(path)
    if template is not None:
        return template
    parts = path.split("/", 6)
    # /api/v10/interactions/<id>/<token>/callback, /api/v10/webhooks/<id>/<token>/messages/...
    if len(parts) == 7 and parts[3] in _TOKEN_PARENTS and parts[4].isdigit():
        key = f"{parts[1]}/{parts[2]}/{parts[3]}/{parts[6]}"
        template = _token_route_cache.get(key)
        if template is None:
            if len(_token_route_cache) >= _ROUTE_CACHE_SIZE:
                _token_route_cache.clear()
            template = _token_route_cache[key] = _route_template(path)
        return template
    if len(_route_cache) >= _ROUTE_CACHE_SIZE:
        _route_cache.clear()
    template = _route_cache[path] = _route_template(path)
    return template


# What each path segment that is neither an id nor a token becomes: the few words of Discord's
# routes ("channels", "messages", "@original"...) come again and again, so a dict lookup rather
# than a regex. Bounded like the paths.
_SEGMENT_CACHE_SIZE = 512
_segment_cache: dict[str, str] = {}
_TOKEN_PARENTS: frozenset[str] = frozenset({"webhooks", "interactions"})


def _route_template(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "api" and _API_VERSION.match(parts[2]):
        del parts[:3]
    out: list[str] = []
    # 2 right after "webhooks" or "interactions", 1 after the id that follows: a token is next.
    after_parent = 0
    for part in parts:
        if not part:
            continue
        if part.isdigit():
            out.append("{id}")
            after_parent = 1 if after_parent == 2 else 0
        elif after_parent == 1:
            out.append("{token}")
            after_parent = 0
        else:
            segment = _segment_cache.get(part)
            if segment is None:
                if len(_segment_cache) >= _SEGMENT_CACHE_SIZE:
                    _segment_cache.clear()
                segment = _segment_cache[part] = part if _ROUTE_WORD.match(part) else "{x}"
            out.append(segment)
            after_parent = 2 if part in _TOKEN_PARENTS else 0
    return "/" + "/".join(out)


@dataclass(slots=True)
class InteractionState:
    """One interaction in flight: what it is, when it arrived, what became of it."""

    kind: str
    name: str
    received: float
    acked: bool = False
    outcome: str | None = None
    pending_tasks: int = 0
    finished: bool = False


current_interaction: ContextVar[InteractionState | None] = ContextVar("concord_interaction")


def mark_outcome(outcome: str) -> None:
    """Record what became of the interaction the calling task serves (the first word wins)."""
    state = current_interaction.get(None)
    if state is not None and state.outcome is None:
        state.outcome = outcome

"""Discord's REST rate limits, as topics/rate-limits documents them.

Every request to a known route is counted in a bucket: the route's limit (a row of
:attr:`RateLimits.routes`, or :attr:`RateLimits.default`) for the top-level resources in its path
(``channel_id``, ``guild_id``, ``webhook_id`` + ``webhook_token``), so that ``/channels/1`` and
``/channels/2`` are counted apart. Each answer carries the documented headers::

    X-RateLimit-Limit: 5            the number of requests that can be made
    X-RateLimit-Remaining: 4        the number of remaining requests that can be made
    X-RateLimit-Reset: 1470173023.123      epoch time at which the limit resets
    X-RateLimit-Reset-After: 4.998  seconds until the bucket resets
    X-RateLimit-Bucket: 1a2b...     the limit (shared by routes), without the resources

A request over its bucket's limit is answered 429 with the documented body (``message``,
``retry_after``, ``global``), ``Retry-After`` and ``X-RateLimit-Scope: user``; the route is not
carried out. On top, an authenticated bot may make :attr:`RateLimits.global_per_second` requests
per second ("All bots can make up to 50 requests per second"); past it, 429 with
``X-RateLimit-Global: true`` and ``X-RateLimit-Scope: global``. Interaction endpoints (the
callback, the original response and followups) are "not bound to the bot's Global Rate Limit".

Discord does not publish per-route numbers ("rate limits should not be hard coded into your
app"): a client must read the headers. So the numbers here are configuration: :meth:`discord`
is a realistic table (where each row comes from is said next to it), :meth:`relaxed` keeps the
headers but limits that never bind (the test fixture's default; benchmarks that measure the
bot, not Discord's limits). Windows are fixed, starting with a bucket's first request, on an
injectable ``monotonic`` clock.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Path parameters that are top-level resources (topics/rate-limits): a bucket counts them apart.
TOP_LEVEL = ("channel_id", "guild_id", "webhook_id", "webhook_token")
PRUNE_AT = 4096
# Discord's API answers through Google's load balancer; discord.py takes a 429 without this
# header for a Cloudflare ban (an HTML page) and raises instead of waiting and retrying.
VIA = "1.1 google"  # buckets kept before expired ones are dropped


@dataclass(frozen=True)
class Limit:
    """``requests`` per ``per`` seconds, in the bucket named ``bucket`` (routes may share one)."""

    requests: int
    per: float
    bucket: str = ""


# Realistic per-route limits. Discord publishes none of these numbers; each is the value bots
# commonly observe in Discord's own X-RateLimit-* headers for that route, and the emulator
# sends them back in the same headers, so a bot that reads the headers (as it must) behaves
# the same with other numbers.
DISCORD_ROUTES: dict[str, Limit] = {
    # Create Message: 5 per 5 s per channel (observed; the example limit in the docs' headers).
    "POST /channels/{channel_id}/messages": Limit(5, 5.0, "channel-messages-post"),
    # Edit Message: 5 per 5 s per channel (observed).
    "PATCH /channels/{channel_id}/messages/{message_id}": Limit(5, 5.0, "channel-messages-patch"),
    # Delete Message: 5 per 1 s per channel (observed).
    "DELETE /channels/{channel_id}/messages/{message_id}": Limit(5, 1.0, "channel-messages-delete"),
    # Own reactions: 1 per 0.25 s per channel, one bucket for adding and removing (observed).
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": Limit(
        1, 0.25, "channel-reactions"
    ),
    "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": Limit(
        1, 0.25, "channel-reactions"
    ),
    # Execute Webhook (and interaction followups, which share the route): 5 per 2 s per
    # webhook id + token (observed).
    "POST /webhooks/{webhook_id}/{webhook_token}": Limit(5, 2.0, "webhook-execute"),
}
# Any other route: no stricter than the documented global limit, per route and resource.
DISCORD_DEFAULT = Limit(50, 1.0)
# "All bots can make up to 50 requests per second to our API" (Global Rate Limit).
DISCORD_GLOBAL_PER_SECOND = 50
# relaxed(): headers as usual, limits no test or benchmark reaches.
RELAXED_REQUESTS = 1_000_000


@dataclass
class _Bucket:
    resets_at: float
    remaining: int


@dataclass
class Verdict:
    """What :meth:`RateLimits.check` decided: the headers for the answer, and for a request
    over a limit the 429 body (the route is then not carried out)."""

    headers: dict[str, str]
    refused: dict[str, Any] | None = None


@dataclass
class RateLimits:
    routes: Mapping[str, Limit] = field(default_factory=lambda: dict(DISCORD_ROUTES))
    default: Limit = DISCORD_DEFAULT
    global_per_second: int | None = DISCORD_GLOBAL_PER_SECOND
    global_window: float = 1.0  # seconds ("per second"; shorter in tests of the limit)
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _buckets: dict[tuple[str, tuple[str, ...]], _Bucket] = field(default_factory=dict)
    _global_window: tuple[float, int] = (-math.inf, 0)
    refused: int = 0  # 429s answered (route and global)

    @classmethod
    def discord(cls, **options: Any) -> RateLimits:
        """The realistic table (see DISCORD_ROUTES for where each row comes from)."""
        return cls(**options)

    @classmethod
    def relaxed(cls, **options: Any) -> RateLimits:
        """The same buckets and headers, with limits nothing reaches."""
        routes = {k: Limit(RELAXED_REQUESTS, 1.0, v.bucket) for k, v in DISCORD_ROUTES.items()}
        options.setdefault("routes", routes)
        options.setdefault("default", Limit(RELAXED_REQUESTS, 1.0))
        options.setdefault("global_per_second", RELAXED_REQUESTS)
        return cls(**options)

    def describe(self) -> str:
        """One line for a benchmark's output: which limits applied."""
        rows = ", ".join(f"{k} {v.requests}/{v.per:g}s" for k, v in self.routes.items())
        return (
            f"global {self.global_per_second}/s (interaction endpoints exempt); {rows}; "
            f"other routes {self.default.requests}/{self.default.per:g}s; per top-level resource"
        )

    def reset(self) -> None:
        self._buckets.clear()
        self._global_window = (-math.inf, 0)

    def check(
        self, route: str, params: Mapping[str, str], *, interaction: bool, authenticated: bool
    ) -> Verdict:
        """Count one request of ``route`` ("METHOD /template") with path ``params``.

        ``interaction``: an interaction endpoint (exempt from the global limit), as is an
        unauthenticated request (Discord limits those per IP address)."""
        now = self.monotonic()
        if authenticated and not interaction and self.global_per_second is not None:
            started, count = self._global_window
            if now >= started + self.global_window:
                started, count = now, 0
            if count >= self.global_per_second:
                retry_after = round(started + self.global_window - now, 3)
                self.refused += 1
                return Verdict(
                    {
                        "Retry-After": str(max(1, math.ceil(retry_after))),
                        "X-RateLimit-Global": "true",
                        "X-RateLimit-Scope": "global",
                        "Via": VIA,
                    },
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": True,
                    },
                )
            self._global_window = (started, count + 1)
        limit = self.routes.get(route) or self.default
        name = limit.bucket or route
        major = tuple(params[key] for key in TOP_LEVEL if key in params)
        key = (name, major)
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.resets_at:
            if len(self._buckets) >= PRUNE_AT:
                self._prune(now)
            bucket = _Bucket(now + limit.per, limit.requests)
            self._buckets[key] = bucket
        reset_after = max(0.0, bucket.resets_at - now)
        headers = {
            "X-RateLimit-Limit": str(limit.requests),
            "X-RateLimit-Remaining": str(max(0, bucket.remaining - 1)),
            "X-RateLimit-Reset": f"{self.wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(name),
        }
        if bucket.remaining <= 0:
            self.refused += 1
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = str(max(1, math.ceil(reset_after)))
            headers["X-RateLimit-Scope"] = "user"
            headers["Via"] = VIA
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
            }
            return Verdict(headers, body)
        bucket.remaining -= 1
        return Verdict(headers)

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if now >= b.resets_at]:
            del self._buckets[key]


@functools.lru_cache(maxsize=256)
def _bucket_hash(name: str) -> str:
    return hashlib.blake2s(name.encode(), digest_size=16).hexdigest()

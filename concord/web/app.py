"""The Flask app of ``concord web``.

- ``GET /feed/<token>.ics``: the link's iCalendar feed (last year to next year), with a strong
  ``ETag`` and ``Last-Modified`` read from what the feed depends on (``feed_version``: the
  newest audit row of the guild, names, the link), so a calendar client polling with
  ``If-None-Match`` / ``If-Modified-Since`` gets an empty 304 without the feed being built.
- ``GET /chart/<token>?month=YYYY-MM``: the wall chart of that month (default: this month in
  the office's timezone), HTML and CSS only.

Every request is first counted against its token (at most ``per_minute`` a minute: 429 with
``Retry-After``), then the token is hashed and looked up: unknown and revoked tokens get the
same 404 after the same work (``feed_by_token``). Types and reasons show only to a manager's
link and on the subscriber's own leave (``Feed.shows_details_of``).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, date, timedelta

from flask import Flask, Response, request
from werkzeug.http import is_resource_modified

from concord.adapters.leave_export import requests_ics
from concord.clock import Clock
from concord.core.wall_chart import build_month_chart, month_days, parse_month
from concord.db.guilds import read_config
from concord.db.leave.feeds import (
    Feed,
    feed_by_token,
    feed_content,
    feed_version,
    token_hash,
)
from concord.web.cache import BodyCache
from concord.web.chart import render_chart
from concord.web.ratelimit import RateLimiter
from concord.web.store import ReadOnlyStore

log: logging.Logger = logging.getLogger(__name__)

REQUESTS_PER_TOKEN_PER_MINUTE = 30
# What subscribing clients are asked to poll at (they may poll less often).
REFRESH = timedelta(hours=1)
MAX_TOKEN_LENGTH = 100
_PRIVATE_HEADERS: dict[str, str] = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
_CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers.update(_PRIVATE_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def not_found() -> Response:
    return _plain(
        404, "Not found. The link may have been replaced: ask for a new one with /leave feed."
    )


def create_app(
    store: ReadOnlyStore,
    *,
    clock: Clock | None = None,
    limiter: RateLimiter | None = None,
) -> Flask:
    wall: Clock = clock or Clock()
    limits: RateLimiter = RateLimiter(REQUESTS_PER_TOKEN_PER_MINUTE) if limiter is None else limiter
    bodies: BodyCache = BodyCache()
    app = Flask("concord.web")

    def limited(token: str) -> Response | None:
        wait = limits.hit(token_hash(token))
        if wait is None:
            return None
        return _plain(
            429,
            "Too many requests for this link; try again in a minute.",
            {"Retry-After": str(int(wait))},
        )

    def lookup(conn: sqlite3.Connection, token: str) -> Feed | None:
        # An overlong token is cut, never refused early: it is hashed and looked up the same.
        return feed_by_token(conn, token[:MAX_TOKEN_LENGTH])

    @app.get("/feed/<token>.ics")
    def feed(token: str) -> Response:
        refused = limited(token)
        if refused is not None:
            return refused
        now = wall.now()
        with store.connect() as conn:
            found = lookup(conn, token)
            if found is None:
                return not_found()
            first, last = date(now.year - 1, 1, 1), date(now.year + 1, 12, 31)
            version = feed_version(conn, found, first)
            stamp = version.last_modified.astimezone(UTC).replace(microsecond=0)
            response = Response(mimetype="text/calendar")
            response.headers.update(_PRIVATE_HEADERS)
            response.headers["Cache-Control"] = "private, no-cache"
            response.headers["Content-Disposition"] = 'inline; filename="leave.ics"'
            response.set_etag(version.tag)
            response.last_modified = stamp
            if not is_resource_modified(request.environ, etag=version.tag, last_modified=stamp):
                # Nothing changed since the client's copy: answered without building the feed.
                response.status_code = 304
                return response
            cached = bodies.get(version.tag)
            content = None if cached is not None else feed_content(conn, found, first, last)
        if cached is not None:
            body = cached
        else:
            assert content is not None
            body = requests_ics(
                content.requests,
                {uid: name for uid, name in content.members},
                content.config.tz,
                stamp,  # DTSTAMP: the same bytes for the same version, so the tag holds
                calendar_name=found.title,
                private_except=None if found.manager else found.user_id,
                holidays=content.holidays,
                refresh=REFRESH,
            )
            bodies.put(version.tag, body)
        response.set_data(body)
        return response

    @app.get("/chart/<token>")
    def chart(token: str) -> Response:
        refused = limited(token)
        if refused is not None:
            return refused
        now = wall.now()
        with store.connect() as conn:
            found = lookup(conn, token)
            if found is None:
                return not_found()
            today = now.astimezone(read_config(conn, found.guild_id).tz).date()
            try:
                month = parse_month(request.args.get("month"), today)
            except ValueError as exc:
                return _plain(400, f"month: {exc}")
            days = month_days(month)
            content = feed_content(conn, found, days[0], days[-1])
        model = build_month_chart(
            month,
            members=content.members,
            requests=content.requests,
            holidays=content.holidays,
            workdays=content.config.workdays,
            today=today,
            details_for=found.shows_details_of,
        )
        response = Response(render_chart(model, title=found.title), mimetype="text/html")
        response.headers.update(_PRIVATE_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = _CHART_CSP
        return response

    @app.get("/health")
    def health() -> Response:
        return Response('{"ok": true}\n', mimetype="application/json")

    return app

"""``concord web``: serve the calendar feeds and the wall chart with waitress.

Registered on the main parser by ``concord.cli.build_parser``. Nothing here imports the bot or
discord.py; Flask and waitress are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

from concord.config import Settings, SettingsError, load_settings
from concord.logsetup import setup_logging
from concord.web.store import ReadOnlyStore

if TYPE_CHECKING:
    from flask import Flask
    from waitress.server import BaseWSGIServer, MultiSocketServer

log: logging.Logger = logging.getLogger("concord.web")

# As the webhook listener (concord/webhook/cli.py): calendar clients send small GETs, so idle
# connections are closed after 10 s and the connection limit is far above what a proxy opens.
SERVER_THREADS = 4
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_SECONDS = 10
CLEANUP_INTERVAL_SECONDS = 2
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024  # GETs only


def web_settings() -> tuple[Settings, str, int]:
    settings = load_settings()
    if settings.database_url is not None:
        raise SettingsError(
            "CONCORD_DATABASE_URL",
            "the calendar feeds read the SQLite file only in this release; unset it",
        )
    if settings.web_addr is None:
        raise SettingsError(
            "CONCORD_WEB_ADDR",
            "not set; where `concord web` listens, e.g. 127.0.0.1:8090 behind a TLS proxy",
        )
    host, port = settings.web_addr
    return settings, host, port


def build_server(app: Flask, host: str, port: int) -> BaseWSGIServer | MultiSocketServer:
    from waitress.server import create_server

    return create_server(
        app,
        host=host,
        port=port,
        threads=SERVER_THREADS,
        max_request_body_size=MAX_BODY_BYTES,
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        cleanup_interval=CLEANUP_INTERVAL_SECONDS,
        asyncore_use_poll=True,
        ident="concord-web",
    )


def cmd_web(args: argparse.Namespace) -> int:
    settings, host, port = web_settings()
    setup_logging(settings.log_level, settings.log_format)
    store = ReadOnlyStore(settings.db_path)
    store.check()
    if settings.public_url is None:
        log.warning(
            "CONCORD_PUBLIC_URL is not set: the bot cannot hand out feed links until it is "
            "(the address members reach this server at)"
        )
    from concord.web.app import create_app

    server = build_server(create_app(store), host, port)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)  # waitress leaves its loop and closes the listening socket

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        # Never the public URL's path or a token: just where it listens.
        log.info("serving calendar feeds and the wall chart on http://%s:%d", host, port)
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0


def register(sub: Any) -> None:
    web = sub.add_parser(
        "web",
        help="serve the leave calendar feeds and the wall chart (CONCORD_WEB_ADDR)",
        description="Serve /feed/<token>.ics and /chart/<token> from the bot's database, "
        "read-only. Links come from /leave feed in Discord.",
    )
    web.set_defaults(func=cmd_web)

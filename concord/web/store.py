"""The web process's way into the bot's database: one read-only connection per request
(``mode=ro`` and ``query_only``), so nothing it does can write, and WAL lets it read while
the bot writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from concord.db.database import BUSY_TIMEOUT_MS, DatabaseError, schema_version, usable_file

# The first schema with the feeds' tables (migrations/0012_leave_feeds.sql).
FEEDS_SCHEMA = 12


class ReadOnlyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._uri = f"file:{quote(str(path.resolve()))}?mode=ro"

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with usable_file(self.path):
            conn = sqlite3.connect(
                self._uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
            yield conn
        finally:
            conn.close()

    def check(self) -> int:
        """The schema version; DatabaseError when the file is missing or predates the feeds."""
        if not self.path.is_file():
            raise DatabaseError(
                f"{self.path} does not exist; point CONCORD_DB_PATH at the bot's database"
            )
        with self.connect() as conn, usable_file(self.path):
            version = schema_version(conn)
        if version < FEEDS_SCHEMA:
            raise DatabaseError(
                f"{self.path} is at schema version {version}, before the calendar feeds "
                f"({FEEDS_SCHEMA}); start the bot or run `concord db migrate` first"
            )
        return version

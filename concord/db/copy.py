"""``concord db copy``: move an office between SQLite and PostgreSQL (either way, or between two
of the same kind), checked.

1. The source must be at the schema version this code knows (``concord db migrate`` first);
   the target is migrated to it. A target that holds any row in any of the tables is refused
   before anything is written to it.
2. Every table is copied in one transaction of its own on the target, parents before children
   (the foreign keys), rows in primary key order: PostgreSQL is written with ``COPY … FROM
   STDIN`` and read with ``COPY (SELECT …) TO STDOUT``; SQLite with ``executemany`` under
   ``BEGIN IMMEDIATE`` (foreign keys deferred to the commit: a task names its next occurrence,
   a later row). Only inserts: the append-only triggers refuse updates and deletes, never
   inserts. The source is read in one snapshot (a SQLite read transaction; a PostgreSQL
   REPEATABLE READ, READ ONLY one), so the bot may even be running on it.
3. PostgreSQL identities are set past the highest copied id (SQLite's row ids need nothing).
4. Tables the migrations do not make (a module's own table, created on first use) are not
   copied: the report names them.
5. Verified: the row count of every table on both sides, and every member's leave balances
   (each type, each year with activity), worked out by the leave manager's own code from each
   side's rows, must be equal.

Table names, column names and order come from the SQLite schema the shipped migrations build;
the PostgreSQL twin has the same (tests/db/test_pg_schema.py).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, LiteralString, Protocol, cast

from concord.config import mask_password
from concord.core.leave import Balance, balance_as_of
from concord.core.text import plural
from concord.db.database import (
    DatabaseError,
    apply_migrations,
    connect_sync,
    load_migrations,
    schema_version,
)
from concord.db.leave.records import _member_leave, _member_queries
from concord.db.portable import Conn

BATCH = 5_000


class CopyError(DatabaseError):
    """The copy was refused or failed; ``str()`` never holds a password."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key (rows are copied in its order)
    parents: frozenset[str]

    @property
    def quoted(self) -> str:
        return _quote(self.name)

    @property
    def column_list(self) -> str:
        return ", ".join(_quote(c) for c in self.columns)

    @property
    def order_by(self) -> str:
        return ", ".join(_quote(c) for c in self.key)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql(text: str) -> LiteralString:
    """Statement text built from the schema's own table and column names (never from input)."""
    return cast(LiteralString, text)


def schema_tables() -> list[Table]:
    """Every table of the current schema, parents before the tables that refer to them."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(conn)
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        tables: dict[str, Table] = {}
        for name in names:
            info = conn.execute("SELECT * FROM pragma_table_info(?)", (name,)).fetchall()
            key = tuple(c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
            parents = frozenset(
                r[2] for r in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,))
            ) - {name}
            tables[name] = Table(name, tuple(c[1] for c in info), key or ("rowid",), parents)
    finally:
        conn.close()
    ordered: list[Table] = []
    placed: set[str] = set()
    while len(ordered) < len(tables):
        ready = [t for t in tables.values() if t.name not in placed and t.parents <= placed]
        if not ready:
            raise CopyError("the schema's foreign keys form a cycle between tables")
        for table in ready:
            ordered.append(table)
            placed.add(table.name)
    return ordered


# -- the two kinds of database ----------------------------------------------------------------
class Side(Protocol):
    shown: str

    def version(self) -> int: ...

    def latest(self) -> int: ...

    def migrate(self) -> None: ...

    def count(self, table: Table) -> int: ...

    def rows(self, table: Table) -> Iterator[Sequence[Any]]: ...

    def insert(self, table: Table, rows: Iterable[Sequence[Any]]) -> None: ...

    def after_copy(self, tables: Sequence[Table]) -> None: ...

    def conn(self) -> Conn: ...

    def table_names(self) -> set[str]: ...

    def begin_snapshot(self) -> None: ...

    def close(self) -> None: ...


class SqliteSide:
    def __init__(self, path: Path, *, create: bool) -> None:
        if not create and not path.exists():
            raise CopyError(f"{path} does not exist")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.shown: str = str(path)
        self._conn: sqlite3.Connection = connect_sync(path)

    def version(self) -> int:
        return schema_version(self._conn)

    def latest(self) -> int:
        return load_migrations()[-1].version

    def migrate(self) -> None:
        apply_migrations(self._conn)

    def count(self, table: Table) -> int:
        return int(self._conn.execute(_sql(f"SELECT count(*) FROM {table.quoted}")).fetchone()[0])  # noqa: S608 (names from the schema)

    def rows(self, table: Table) -> Iterator[Sequence[Any]]:
        cursor = self._conn.execute(
            _sql(f"SELECT {table.column_list} FROM {table.quoted} ORDER BY {table.order_by}")  # noqa: S608 (names from the schema)
        )
        while batch := cursor.fetchmany(BATCH):
            yield from (tuple(row) for row in batch)

    def insert(self, table: Table, rows: Iterable[Sequence[Any]]) -> None:
        marks = ", ".join("?" * len(table.columns))
        sql = _sql(f"INSERT INTO {table.quoted} ({table.column_list}) VALUES ({marks})")  # noqa: S608 (names from the schema)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # A task names its next occurrence, a later row: check the keys at the commit.
            conn.execute("PRAGMA defer_foreign_keys = ON")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def after_copy(self, tables: Sequence[Table]) -> None:
        """Row ids need nothing (a new row takes the highest + 1); let the planner know the
        tables' sizes now, as a long-lived file has."""
        self._conn.execute("PRAGMA optimize")

    def conn(self) -> Conn:
        return self._conn

    def table_names(self) -> set[str]:
        rows = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def begin_snapshot(self) -> None:
        self._conn.execute("BEGIN")  # deferred: the snapshot starts at the first read

    def close(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._conn.close()


class PostgresSide:
    def __init__(self, url: str) -> None:
        import psycopg

        from concord.db.postgres import PgConn

        self.url = url
        self.shown: str = mask_password(url)
        try:
            self._raw: psycopg.Connection = psycopg.connect(
                url, autocommit=True, connect_timeout=10
            )
        except psycopg.OperationalError as error:
            detail = mask_password(str(error).strip().splitlines()[0] if str(error) else "")
            raise CopyError(f"cannot connect to {self.shown}: {detail}") from None
        self._pg_conn: Conn = PgConn(self._raw)
        self._types: dict[str, list[str]] = {}

    def version(self) -> int:
        from concord.db.postgres import schema_version as pg_version

        return pg_version(self._raw)

    def latest(self) -> int:
        from concord.db.postgres import load_postgres_migrations

        return load_postgres_migrations()[-1].version

    def migrate(self) -> None:
        from concord.db.postgres import apply_migrations as pg_migrate

        pg_migrate(self._raw)

    def count(self, table: Table) -> int:
        row = self._raw.execute(_sql(f"SELECT count(*) FROM {table.quoted}")).fetchone()  # noqa: S608 (names from the schema)
        return int(row[0]) if row else 0

    def _column_types(self, table: Table) -> list[str]:
        if table.name not in self._types:
            found = dict(
                self._raw.execute(
                    "SELECT column_name, udt_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s",
                    (table.name,),
                ).fetchall()
            )
            self._types[table.name] = [str(found[c]) for c in table.columns]
        return self._types[table.name]

    def rows(self, table: Table) -> Iterator[Sequence[Any]]:
        types = self._column_types(table)
        sql = _sql(
            f"COPY (SELECT {table.column_list} FROM {table.quoted} ORDER BY {table.order_by})"  # noqa: S608 (names from the schema)
            " TO STDOUT (FORMAT BINARY)"
        )
        with self._raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(types)
            yield from copy.rows()

    def insert(self, table: Table, rows: Iterable[Sequence[Any]]) -> None:
        sql = _sql(f"COPY {table.quoted} ({table.column_list}) FROM STDIN")
        with self._raw.transaction(), self._raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    def after_copy(self, tables: Sequence[Table]) -> None:
        """Each identity continues after the highest id copied (or at 1 for an empty table)."""
        identities = self._raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ).fetchall()
        with self._raw.transaction():
            for table_name, column in identities:
                self._raw.execute(
                    _sql(
                        f"SELECT setval(pg_get_serial_sequence(%s, %s),"  # noqa: S608 (names from the schema)
                        f" coalesce(max({_quote(column)}), 0) + 1, false)"
                        f" FROM {_quote(table_name)}"
                    ),
                    (_quote(table_name), column),
                )
            self._raw.execute("ANALYZE")  # the planner's statistics for the new rows

    def conn(self) -> Conn:
        return self._pg_conn

    def table_names(self) -> set[str]:
        rows = self._raw.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def begin_snapshot(self) -> None:
        self._raw.autocommit = False
        self._raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def close(self) -> None:
        self._raw.close()


def open_side(where: str | Path, *, create: bool = False) -> SqliteSide | PostgresSide:
    """``postgresql://…`` / ``postgres://…``, ``sqlite:///relative`` / ``sqlite:////absolute``,
    or a plain file path."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresSide(text)
    if text.startswith("sqlite://"):
        rest = text.removeprefix("sqlite://")
        if not rest.startswith("/") or rest == "/":
            raise CopyError(f"{text!r} is not like sqlite:///data/concord.db")
        text = rest[1:]
    return SqliteSide(Path(text), create=create)


# -- the copy ---------------------------------------------------------------------------------
@dataclass
class TableCopy:
    name: str
    source_rows: int
    target_rows: int
    seconds: float


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    balances: int = 0  # (member, leave type, year) balances compared
    available_days: Fraction = Fraction(0)  # their sum, on both sides
    # Tables of the source that the migrations do not make (a module's own table, created on
    # first use): not copied, named in the report.
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)


def copy_database(
    source: SqliteSide | PostgresSide,
    target: SqliteSide | PostgresSide,
    *,
    today: date,
    progress: Callable[[TableCopy], None] | None = None,
) -> CopyReport:
    started = time.perf_counter()
    report = CopyReport(source.shown, target.shown)
    tables = schema_tables()
    if source.version() != source.latest():
        raise CopyError(
            f"{source.shown} is at schema version {source.version()}, this Concord Desk at "
            f"{source.latest()}: run `concord db migrate` on it first"
        )
    if target.version():
        _refuse_unless_empty(target, tables)
    target.migrate()
    _refuse_unless_empty(target, tables)
    report.skipped = sorted(source.table_names() - {t.name for t in tables})
    source.begin_snapshot()
    for table in tables:
        began = time.perf_counter()
        source_rows = source.count(table)
        try:
            target.insert(table, source.rows(table))
        except Exception as error:
            done = ", ".join(t.name for t in report.tables) or "none"
            raise CopyError(
                f"copying {table.name} failed ({mask_password(_first_line(error))}); nothing of "
                f"it was written. Tables copied before it: {done}. Empty the target before "
                "trying again"
            ) from None
        copied = TableCopy(
            table.name, source_rows, target.count(table), time.perf_counter() - began
        )
        report.tables.append(copied)
        if progress is not None:
            progress(copied)
    target.after_copy(tables)
    wrong = [t for t in report.tables if t.source_rows != t.target_rows]
    if wrong:
        raise CopyError(
            "row counts differ: "
            + ", ".join(f"{t.name} {t.source_rows} vs {t.target_rows}" for t in wrong)
        )
    before, after = leave_balances(source.conn(), today), leave_balances(target.conn(), today)
    if before != after:
        differing = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        raise CopyError(
            f"{len(differing)} leave balances differ after the copy, first "
            f"(guild, member, type, year) {differing[0]}"
        )
    report.balances = len(after)
    report.available_days = sum((b.available for b in after.values()), Fraction(0))
    report.seconds = time.perf_counter() - started
    return report


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _refuse_unless_empty(target: SqliteSide | PostgresSide, tables: Sequence[Table]) -> None:
    counted = {t.name: target.count(t) for t in tables}
    filled = {name: n for name, n in counted.items() if n}
    if filled:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items())[:5])
        raise CopyError(
            f"{target.shown} is not empty: {plural(sum(filled.values()), 'row')} in "
            f"{plural(len(filled), 'table')} ({listed}{', ...' if len(filled) > 5 else ''}); copy needs an empty "
            "database, nothing was written"
        )


BalanceKey = tuple[int, int, str, int]


def leave_balances(conn: Conn, today: date) -> dict[BalanceKey, Balance]:
    """Every member's balance of every leave type in every year they have activity in (and
    this year), as the leave manager works them out (``_member_leave``), keyed by (guild,
    member, type name, year)."""
    members = conn.execute(
        "SELECT guild_id, user_id FROM leave_requests UNION SELECT guild_id, user_id"
        " FROM leave_ledger UNION SELECT guild_id, user_id FROM leave_allowances"
        " ORDER BY 1, 2"
    ).fetchall()
    found: dict[BalanceKey, Balance] = {}
    for guild_id, user_id in members:
        results = [
            conn.execute(sql, params).fetchall()
            for sql, params in _member_queries(guild_id, user_id)
        ]
        member = _member_leave(cast(Any, results))
        for type_id, leave_type in member.types.items():
            years = set(member.activity.get(type_id, {})) | {today.year}
            for year in sorted(years):
                balance = member.balance(type_id, year, balance_as_of(year, today))
                found[(int(guild_id), int(user_id), leave_type.name, year)] = balance
    return found

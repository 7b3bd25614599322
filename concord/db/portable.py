"""SQL that runs on both backends: the connection protocol the managers are written against,
and the one translation from the SQLite spelling (the source of truth) to PostgreSQL's.

The managers keep writing SQLite's SQL — ``?`` and ``:name`` placeholders, ``INSERT OR
IGNORE`` — and :func:`to_postgres` maps it, once per statement text (cached), for psycopg:
``?`` → ``%s``, ``:name`` → ``%(name)s``, a literal ``%`` → ``%%``, ``INSERT OR IGNORE INTO`` →
``INSERT INTO … ON CONFLICT DO NOTHING``. Quoted strings, quoted identifiers and comments are
left alone, and ``::type`` casts are not mistaken for names. What cannot be mapped this way
(``json_each``, ``instr``, ``INDEXED BY``, ``INSERT OR REPLACE``) is refused with
:class:`NotPortable` rather than sent to the server to fail there; such statements take a
dialect branch in the manager (docs/POSTGRES.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

Params = Sequence[Any] | Mapping[str, Any]
# A result row: ``sqlite3.Row`` or :class:`concord.db.postgres.Row`, read by column name or
# position (both give ``Any``, so nothing is lost by naming neither).
DbRow = Any
T = TypeVar("T")
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Cursor(Protocol):
    """What the managers read from a statement's result (``sqlite3.Cursor`` is one)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """The connection a transaction function gets: ``sqlite3.Connection`` on SQLite,
    :class:`concord.db.postgres.PgConn` on PostgreSQL."""

    def execute(self, sql: str, parameters: Params = (), /) -> Cursor: ...


def dialect(conn: object) -> str:
    """``"postgresql"`` for a :class:`~concord.db.postgres.PgConn` (or a database object
    with that ``dialect``), else ``"sqlite"``: for the few statements portable SQL cannot say
    (docs/POSTGRES.md, "dialect branches")."""
    return str(getattr(conn, "dialect", SQLITE))


def in_list(values: Iterable[Any]) -> tuple[str, tuple[Any, ...]]:
    """``("(?, ?, ?)", (a, b, c))`` for ``x IN (?, ?, ?)``: a portable IN list (SQLite's
    ``json_each(?)`` has no PostgreSQL twin). An empty list gives ``(NULL)``, which matches
    nothing."""
    found = tuple(values)
    if not found:
        return "(NULL)", ()
    return "(" + ", ".join("?" * len(found)) + ")", found


def named_in_list(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """:func:`in_list` for statements with ``:name`` placeholders: ``(:s0, :s1)``."""
    found = tuple(values)
    if not found:
        return "(NULL)", {}
    names = [f"{prefix}{i}" for i in range(len(found))]
    return "(" + ", ".join(f":{n}" for n in names) + ")", dict(zip(names, found, strict=True))


def like_escape(text: str) -> str:
    """``text`` for a ``LIKE ? ESCAPE '\\'`` pattern: its ``%``, ``_`` and ``\\`` taken
    literally (``lower(x) LIKE '%' || ? || '%'`` is the portable ``instr(lower(x), ?) > 0``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# SQLite refuses an expression deeper than 1,000 (an AND of LIKEs nests one level a word), and a
# typed search may hold any number of words: past this many, the longest decide (a match then
# contains the longest words only: a few extra suggestions, never a refused search).
MAX_SEARCH_WORDS = 32


def _needed_words(words: Iterable[str]) -> tuple[str, ...]:
    """The words a match must contain, without repeats or words inside a longer one (a title
    containing "report" contains "port"), at most MAX_SEARCH_WORDS of the longest."""
    longest_first = sorted(set(words), key=lambda word: (-len(word), word))
    needed: list[str] = []
    for word in longest_first:
        if not any(word in kept for kept in needed):
            needed.append(word)
    return tuple(needed[:MAX_SEARCH_WORDS])


def contains_all(column: str, prefix: str, words: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """``(sql, params)`` true when ``column`` (an SQL expression, already lowercased) contains
    every one of ``words``: ``column LIKE :w0 ESCAPE '\\' AND …`` (SQLite's ``json_each`` +
    ``instr`` had no PostgreSQL twin). No words: always true."""
    found = _needed_words(words)
    if not found:
        return "1 = 1", {}
    names = [f"{prefix}{i}" for i in range(len(found))]
    sql = " AND ".join(f"{column} LIKE :{n} ESCAPE '\\'" for n in names)
    return f"({sql})", {n: f"%{like_escape(w)}%" for n, w in zip(names, found, strict=True)}


class Db(Protocol):
    """The database the managers are written against: :class:`concord.db.database.Database`
    (SQLite) or :class:`concord.db.postgres.PostgresDatabase`. Rows read by name and position
    on both."""

    @property
    def dialect(self) -> str: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def read_in_thread(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def read_short(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Any: ...

    async def fetch_many(self, queries: Sequence[tuple[str, Params]]) -> list[list[Any]]: ...

    def read(self) -> AbstractAsyncContextManager[Any, Any]: ...


class IntegrityError(sqlite3.IntegrityError):
    """A constraint or an append-only trigger refused a statement on PostgreSQL: raised as
    SQLite's ``sqlite3.IntegrityError`` (what the managers and their callers see on SQLite),
    with psycopg's error as its ``__cause__``. Catch ``sqlite3.IntegrityError`` on both."""


class NotPortable(ValueError):
    """A statement uses SQLite SQL that has no mechanical PostgreSQL equivalent."""


@dataclass(frozen=True)
class Segment:
    text: str
    code: bool  # False: a quoted string, quoted identifier or comment, passed on as it is


def segments(sql: str) -> Iterator[Segment]:
    """``sql`` cut into code and non-code (quoted, commented) pieces, in order."""
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        end = -1
        if ch in "'\"":
            end = i + 1
            while end < n:  # a doubled quote is an escaped quote
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            end = min(end + 1, n)
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            end = n if close < 0 else close + 2
        if end < 0:
            i += 1
            continue
        if start < i:
            yield Segment(sql[start:i], code=True)
        yield Segment(sql[i:end], code=False)
        start = i = end
    if start < n:
        yield Segment(sql[start:], code=True)


_INSERT_OR_IGNORE: re.Pattern[str] = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.IGNORECASE)
_RETURNING: re.Pattern[str] = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_NAMED: re.Pattern[str] = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_UNPORTABLE: re.Pattern[str] = re.compile(
    r"\b(json_each|json_tree|instr|INDEXED\s+BY|INSERT\s+OR\s+(?:REPLACE|ABORT|FAIL|ROLLBACK)"
    r"|PRAGMA)\b",
    re.IGNORECASE,
)


def _code_to_postgres(text: str) -> str:
    text = text.replace("%", "%%").replace("?", "%s")
    return _NAMED.sub(r"%(\1)s", text)


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """The psycopg spelling of one statement written for SQLite (see the module's doc)."""
    pieces = list(segments(sql))
    code = " ".join(p.text for p in pieces if p.code)
    unportable = _UNPORTABLE.search(code)
    if unportable:
        raise NotPortable(
            f"{unportable.group(0)!r} has no PostgreSQL equivalent here; "
            "give this statement a dialect branch"
        )
    ignore = bool(pieces) and pieces[0].code and _INSERT_OR_IGNORE.match(pieces[0].text)
    if ignore:
        pieces[0] = Segment(_INSERT_OR_IGNORE.sub(r"\1", pieces[0].text, count=1), code=True)
    out = [_code_to_postgres(p.text) if p.code else p.text.replace("%", "%%") for p in pieces]
    if ignore:
        out = _add_on_conflict(out, [p.code for p in pieces])
    return "".join(out)


def _add_on_conflict(out: list[str], is_code: list[bool]) -> list[str]:
    """``ON CONFLICT DO NOTHING`` before a ``RETURNING`` clause, else at the end (before a
    trailing ``;``)."""
    for index in range(len(out) - 1, -1, -1):
        if is_code[index]:
            matches = list(_RETURNING.finditer(out[index]))
            if matches:
                match = matches[-1]
                text = out[index]
                out[index] = (
                    f"{text[: match.start()]}ON CONFLICT DO NOTHING {text[match.start() :]}"
                )
                return out
    last = len(out) - 1
    while last >= 0 and not is_code[last]:
        last -= 1
    if last < 0:
        return [*out, " ON CONFLICT DO NOTHING"]
    stripped = out[last].rstrip()
    tail = out[last][len(stripped) :]
    if stripped.endswith(";"):
        out[last] = f"{stripped[:-1].rstrip()} ON CONFLICT DO NOTHING;{tail}"
    else:
        out[last] = f"{stripped} ON CONFLICT DO NOTHING{tail}"
    return out


F = TypeVar("F", bound=Callable[..., Any])
# The attribute :func:`long_transaction` sets on a transaction function.
LONG_TRANSACTION = "concord_long_transaction"


def long_transaction(fn: F) -> F:
    """Mark a transaction function whose work grows with the data (a whole guild's members,
    every guild's scheduler rows): SQLite runs it on the writer thread, never on the event
    loop's thread, so it cannot hold up interactions while it runs (concord/db/database.py).
    PostgreSQL runs every transaction on its own threads anyway and ignores the mark."""
    setattr(fn, LONG_TRANSACTION, True)
    return fn

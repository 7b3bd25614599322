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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Cursor(Protocol):
    """What the managers read from a statement's result (``sqlite3.Cursor`` is one)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Conn(Protocol):
    """The connection a transaction function gets: ``sqlite3.Connection`` on SQLite,
    :class:`concord.db.postgres.PgConn` on PostgreSQL."""

    def execute(self, sql: str, parameters: Params = (), /) -> Cursor: ...


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

"""The SQLite → PostgreSQL statement mapping (no server needed; tests/db/test_postgres.py runs
the mapped statements on a real one)."""

from __future__ import annotations

import sqlite3

import pytest

from concord.db.portable import MAX_SEARCH_WORDS, Conn, NotPortable, contains_all, to_postgres


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT * FROM t WHERE name LIKE ? || '%'", "SELECT * FROM t WHERE name LIKE %s || '%%'"),
        (
            "SELECT 'what?', \"odd?col\" FROM t WHERE x = ?",
            "SELECT 'what?', \"odd?col\" FROM t WHERE x = %s",
        ),
        ("SELECT 'it''s ?' WHERE x = ?", "SELECT 'it''s ?' WHERE x = %s"),
        ("UPDATE t SET a = :a WHERE id = :id", "UPDATE t SET a = %(a)s WHERE id = %(id)s"),
        (
            "SELECT x::text, ':nope' FROM t WHERE y = :y",
            "SELECT x::text, ':nope' FROM t WHERE y = %(y)s",
        ),
        ("SELECT 1 -- why? 50%\nWHERE a = ?", "SELECT 1 -- why? 50%%\nWHERE a = %s"),
        ("SELECT /* ? */ a FROM t WHERE b = ?", "SELECT /* ? */ a FROM t WHERE b = %s"),
        ("SELECT a % 7 FROM t", "SELECT a %% 7 FROM t"),
        (
            "INSERT OR IGNORE INTO t (a, b) VALUES (?, ?)",
            "INSERT INTO t (a, b) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        ),
        (
            "  insert or ignore into t (a) VALUES (?);\n",
            "  insert into t (a) VALUES (%s) ON CONFLICT DO NOTHING;\n",
        ),
        (
            "INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id",
            "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING id",
        ),
        (
            "INSERT OR IGNORE INTO t (a) VALUES ('returning') -- returning",
            "INSERT INTO t (a) VALUES ('returning') ON CONFLICT DO NOTHING -- returning",
        ),
        ("INSERT INTO t (a) VALUES (?) RETURNING id", "INSERT INTO t (a) VALUES (%s) RETURNING id"),
    ],
)
def test_statements_map_to_psycopg(sqlite: str, postgres: str) -> None:
    assert to_postgres(sqlite) == postgres


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT value FROM json_each(?)",
        "SELECT instr(name, ?) FROM t",
        "SELECT * FROM t INDEXED BY t_idx WHERE a = ?",
        "INSERT OR REPLACE INTO t (a) VALUES (?)",
        "PRAGMA user_version",
    ],
)
def test_sqlite_only_sql_is_refused_not_sent(sql: str) -> None:
    with pytest.raises(NotPortable):
        to_postgres(sql)


def test_words_inside_strings_are_not_refused() -> None:
    assert to_postgres("SELECT 'json_each(x)' FROM t") == "SELECT 'json_each(x)' FROM t"


def test_a_sqlite_connection_is_a_conn() -> None:
    """The managers' transaction functions take a Conn: the SQLite connection must be one."""
    raw = sqlite3.connect(":memory:")
    try:
        conn: Conn = raw
        assert conn.execute("SELECT ? + 1", (1,)).fetchone() == (2,)
    finally:
        raw.close()


def test_contains_all_matches_every_word_and_runs_for_any_number_of_words() -> None:
    """Each word must be in the column; repeats and words inside a longer one add nothing; a
    search of thousands of words still runs (SQLite refuses an expression deeper than 1,000)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (title TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("weekly report",), ("monthly report",)])

    def titles(words: list[str]) -> list[str]:
        sql, params = contains_all("lower(title)", "w", words)
        rows = conn.execute(f"SELECT title FROM t WHERE {sql} ORDER BY title", params)
        return [row[0] for row in rows]

    assert titles(["report", "port", "weekly", "report"]) == ["weekly report"]
    assert titles(["report", "yearly"]) == []
    assert titles([]) == ["monthly report", "weekly report"]
    many = [f"x{i}" for i in range(2000)]
    assert titles(many) == []  # runs, and still requires words no title has
    assert len(contains_all("lower(title)", "w", many)[1]) == MAX_SEARCH_WORDS

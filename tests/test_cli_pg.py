"""``concord db migrate|check|stats|backup|copy`` on PostgreSQL, as an operator runs them (a
subprocess), against a real throwaway server (tests/pg_server.py). The URL carries a password
(the test server trusts loopback, so any password works): it must never be printed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from concord.db.database import apply_migrations, connect_sync, load_migrations

PASSWORD = "hunter2secret"


def with_password(url: str) -> str:
    return url.replace("concord@", f"concord:{PASSWORD}@")


def concord(
    *args: str, cwd: Path, path: str = "/usr/bin:/bin", **env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "concord", *args],
        cwd=cwd,
        env={"PATH": path, "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert PASSWORD not in result.stdout + result.stderr
    return result


def test_migrate_check_stats_on_postgres(pg_url: str, tmp_path: Path) -> None:
    url = with_password(pg_url)
    result = concord("db", "check", "--db", url, cwd=tmp_path)
    assert result.returncode == 1 and "schema version 0" in result.stdout, result.stdout
    # CONCORD_DATABASE_URL selects PostgreSQL when --db is not given.
    result = concord("db", "migrate", cwd=tmp_path, CONCORD_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    latest = load_migrations()[-1].version
    assert "concord:***@127.0.0.1" in result.stdout
    assert f"schema version {latest}" in result.stdout
    assert not (tmp_path / "data").exists()  # no SQLite file made on the side
    assert "applied 0 migrations" in concord("db", "migrate", "--db", url, cwd=tmp_path).stdout

    result = concord("db", "check", "--db", url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok (schema version" in result.stdout and "PostgreSQL" in result.stdout

    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO guild_settings (guild_id) VALUES (1180000000000000000)")
    result = concord("db", "stats", cwd=tmp_path, CONCORD_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split() for line in result.stdout.splitlines()[:-1])
    assert lines["guild_settings"] == "1" and lines["audit_log"] == "0"
    assert "schema_version" not in lines


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    result = concord(
        "db", "check", "--db", f"postgresql://concord:{PASSWORD}@127.0.0.1:1/x", cwd=tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "cannot connect to postgresql://concord:***@127.0.0.1:1/x" in lines[0]
    )


def test_backup_runs_pg_dump_and_restores(pg_url: str, pg_server: object, tmp_path: Path) -> None:
    url = with_password(pg_url)
    assert concord("db", "migrate", "--db", url, cwd=tmp_path).returncode == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO command_sync VALUES ('global', 'abc', 'now')")
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "the PostgreSQL client comes with the server package"
    dump = tmp_path / "office.dump"
    result = concord(
        "db",
        "backup",
        "--db",
        url,
        str(dump),
        cwd=tmp_path,
        path=f"{Path(pg_dump).parent}:/usr/bin:/bin",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pg_dump -Fc" in result.stdout and dump.read_bytes()[:5] == b"PGDMP"
    # It restores into an empty database: the row is there.
    target = pg_server.create_database()  # type: ignore[attr-defined]
    restored = subprocess.run(
        [str(Path(pg_dump).with_name("pg_restore")), "--no-owner", "-d", target, str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT tree_hash FROM command_sync").fetchone() == ("abc",)


def test_backup_without_pg_dump_says_how_to_back_up_rds(pg_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = concord(
        "db",
        "backup",
        "--db",
        with_password(pg_url),
        str(tmp_path / "x.dump"),
        cwd=tmp_path,
        path=str(empty),
    )
    assert result.returncode == 1
    assert "pg_dump is not on PATH" in result.stdout and "create-db-snapshot" in result.stdout
    assert not (tmp_path / "x.dump").exists()


def test_copy_to_postgres_and_back_prints_the_figures(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "office.db"
    conn = connect_sync(source)
    apply_migrations(conn)
    conn.execute("INSERT INTO guild_settings (guild_id) VALUES (1180000000000000000)")
    conn.execute(
        "INSERT INTO leave_types (guild_id, name, allowance, since_year, created_at, updated_at)"
        " VALUES (1180000000000000000, 'Annual', '25', 2026, 'x', 'x')"
    )
    conn.execute(
        "INSERT INTO leave_ledger (guild_id, user_id, type_id, year, kind, amount, actor_id,"
        " created_at) VALUES (1180000000000000000, 7, 1, 2026, 'adjustment', '1/2', 7, 'x')"
    )
    conn.close()
    url = with_password(pg_url)
    result = concord("db", "copy", "--db", str(source), "--to", url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "copying " + str(source) + " -> postgresql://concord:***@" in result.stdout
    assert "guild_settings" in result.stdout and "copied 3 rows in" in result.stdout
    assert "leave balances: 1 balance (member, type, year) equal on both sides" in result.stdout
    # Again: the target is not empty now.
    result = concord("db", "copy", "--db", str(source), "--to", url, cwd=tmp_path)
    assert result.returncode == 1 and "is not empty" in result.stderr
    # And back, from CONCORD_DATABASE_URL to a new file.
    back = tmp_path / "back.db"
    result = concord(
        "db", "copy", "--to", f"sqlite:///{back}", cwd=tmp_path, CONCORD_DATABASE_URL=url
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "copied 3 rows" in result.stdout
    assert concord("db", "check", "--db", str(back), cwd=tmp_path).returncode == 0

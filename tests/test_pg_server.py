"""The throwaway PostgreSQL of tests/pg_server.py cleans up after itself."""

from __future__ import annotations

import psycopg
import pytest

from tests.pg_server import PostgresUnavailable, ThrowawayPostgres, process_gone


def test_a_throwaway_server_leaves_no_process_or_file_behind(pg_server: ThrowawayPostgres) -> None:
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as error:  # pg_server started, so this one should too
        pytest.fail(str(error))
    pid_file = server.data / "postmaster.pid"
    pid = int(pid_file.read_text().splitlines()[0])
    url = server.create_database()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("concord",)
    server.stop()
    server.stop()  # idempotent
    assert not server.root.exists()
    assert process_gone(pid)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_without_a_server_tests_skip_but_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.pg_server import _unavailable

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unavailable: no initdb"):
        _unavailable("no initdb")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true: no initdb"):
        _unavailable("no initdb")

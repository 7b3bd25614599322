"""``concord web`` as the operator runs it: settings refused in one line (exit 2), a database
before the feeds refused, and a real server that answers and stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from concord.config import SettingsError, load_settings
from concord.db.database import apply_migrations, connect_sync


def concord_web(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "concord", "web"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_are_read_and_checked() -> None:
    settings = load_settings(
        {"CONCORD_WEB_ADDR": "127.0.0.1:8090", "CONCORD_PUBLIC_URL": "https://desk.example/c/"}
    )
    assert settings.web_addr == ("127.0.0.1", 8090)
    assert settings.public_url == "https://desk.example/c"
    for env, name in (
        ({"CONCORD_WEB_ADDR": "8090"}, "CONCORD_WEB_ADDR"),
        ({"CONCORD_PUBLIC_URL": "desk.example"}, "CONCORD_PUBLIC_URL"),
        ({"CONCORD_PUBLIC_URL": "https://desk.example/?x=1"}, "CONCORD_PUBLIC_URL"),
    ):
        with pytest.raises(SettingsError) as caught:
            load_settings(env)
        assert caught.value.name == name


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "CONCORD_WEB_ADDR: not set"),
        ({"CONCORD_WEB_ADDR": "localhost"}, "CONCORD_WEB_ADDR: 'localhost' is not HOST:PORT"),
        (
            {"CONCORD_WEB_ADDR": "127.0.0.1:8090", "CONCORD_DB_PATH": "nowhere.db"},
            "nowhere.db does not exist",
        ),
        (  # a known limit (docs/LEAVE.md): the feeds read the SQLite file only
            {
                "CONCORD_WEB_ADDR": "127.0.0.1:8090",
                "CONCORD_DATABASE_URL": "postgresql://concord:secret@127.0.0.1:5432/concord",
            },
            "CONCORD_DATABASE_URL: the calendar feeds read the SQLite file only",
        ),
    ],
)
def test_a_bad_start_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str], says: str) -> None:
    result = concord_web(env, tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("concord: ") and says in line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_server_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "concord.db"
    conn = connect_sync(db)
    apply_migrations(conn)
    conn.close()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "concord", "web"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "CONCORD_WEB_ADDR": f"127.0.0.1:{port}",
            "CONCORD_DB_PATH": str(db),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "serving calendar feeds" in line:
                break
        assert any("CONCORD_PUBLIC_URL is not set" in line for line in lines)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{base}/feed/{'A' * 32}.ics", timeout=5)
        assert caught.value.code == 404
        caught.value.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()

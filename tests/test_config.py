from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from concord.config import SettingsError, load_settings

TOKEN = "MTAxMjM0NTY3ODkwMTIzNDU2.Gabcde.abcdefghijklmnopqrstuvwxyz0123"


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.discord_token is None
    assert settings.db_path == Path("data/concord.db")
    assert settings.log_level == "INFO" and settings.log_format == "text"
    assert settings.dev_guild_id is None
    assert settings.health_file == Path("data/health.json")
    assert settings.api_base is None and settings.gateway_url is None


def test_values_are_parsed() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": TOKEN,
            "CONCORD_DB_PATH": "/tmp/x.db",
            "CONCORD_LOG_LEVEL": "debug",
            "CONCORD_LOG_FORMAT": "JSON",
            "CONCORD_DEV_GUILD_ID": "123456789012345678",
            "DISCORD_API_BASE": "http://127.0.0.1:8765/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8765/gateway",
        }
    )
    assert settings.require_token() == TOKEN
    assert settings.log_level == "DEBUG" and settings.log_format == "json"
    assert settings.dev_guild_id == 123456789012345678
    assert settings.api_base == "http://127.0.0.1:8765/api/v10"
    assert settings.gateway_url == "ws://127.0.0.1:8765/gateway"


def test_token_never_in_repr() -> None:
    settings = load_settings({"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONCORD_LOG_LEVEL", "loud"),
        ("CONCORD_LOG_FORMAT", "xml"),
        ("CONCORD_DEV_GUILD_ID", "my-guild"),
        ("CONCORD_DEV_GUILD_ID", "0"),
        ("DISCORD_API_BASE", "discord.com/api"),
        ("DISCORD_GATEWAY_URL", "http://127.0.0.1/gateway"),
        ("DISCORD_TOKEN", "has spaces in it but is long enough"),
        ("DISCORD_TOKEN", "short"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert info.value.name == name
    assert str(info.value).startswith(f"{name}: ")


def test_missing_token_is_reported_when_required() -> None:
    with pytest.raises(SettingsError, match="DISCORD_TOKEN"):
        load_settings({}).require_token()


def _run_cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _run_cli(["run"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_setting_exits_2_naming_it(tmp_path: Path) -> None:
    result = _run_cli(["run"], tmp_path, DISCORD_TOKEN=TOKEN, CONCORD_LOG_FORMAT="xml")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "concord: CONCORD_LOG_FORMAT: 'xml' is not one of text, json"
    ]


def test_dotenv_is_loaded_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONCORD_LOG_FORMAT=xml\nCONCORD_DB_PATH=from-dotenv.db\n")
    result = _run_cli(["run"], tmp_path)
    assert "CONCORD_LOG_FORMAT" in result.stderr  # read from .env
    result = _run_cli(["db", "migrate"], tmp_path, CONCORD_LOG_FORMAT="text")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-dotenv.db").exists()


def test_backup_settings_defaults_and_values() -> None:
    from datetime import time

    from concord.core.backup_policy import Retention

    settings = load_settings({})
    assert settings.backup_dir is None and settings.backup_s3_url is None
    assert settings.backup_schedule == (time(3, 0),) and settings.backup_keep == Retention(7, 4, 12)
    settings = load_settings(
        {
            "CONCORD_BACKUP_DIR": "/mnt/nas/concord",
            "CONCORD_BACKUP_SCHEDULE": "03:00,15:30",
            "CONCORD_BACKUP_KEEP": "14d,8w",
            "CONCORD_BACKUP_S3_URL": "s3://office-backups/concord/",
            "CONCORD_BACKUP_S3_ENDPOINT": "http://nas.local:9000",
        }
    )
    assert settings.backup_dir == Path("/mnt/nas/concord")
    assert settings.backup_schedule == (time(3, 0), time(15, 30))
    assert settings.backup_keep == Retention(14, 8, 0)
    assert settings.backup_s3_url == "s3://office-backups/concord"
    assert settings.backup_s3_endpoint == "http://nas.local:9000"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"CONCORD_BACKUP_SCHEDULE": "3am"}, "CONCORD_BACKUP_SCHEDULE"),
        ({"CONCORD_BACKUP_KEEP": "weekly"}, "CONCORD_BACKUP_KEEP"),
        (
            {"CONCORD_BACKUP_DIR": "/x", "CONCORD_BACKUP_S3_URL": "https://b/p"},
            "CONCORD_BACKUP_S3_URL",
        ),
        ({"CONCORD_BACKUP_S3_URL": "s3://bucket/p"}, "CONCORD_BACKUP_S3_URL"),
        ({"CONCORD_BACKUP_S3_ENDPOINT": "nas.local:9000"}, "CONCORD_BACKUP_S3_ENDPOINT"),
    ],
)
def test_bad_backup_settings_name_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert caught.value.name == name and str(caught.value).startswith(f"{name}: ")


# -- CONCORD_DATABASE_URL (issue 13) -----------------------------------------------------------
SECRET = "s3cr:t@pa/ss"
RDS_URL = "postgresql://concord:hunter2secret@office.abc123.eu-west-1.rds.amazonaws.com:5432/concord?sslmode=require"


def test_database_url_unset_keeps_sqlite() -> None:
    settings = load_settings({"CONCORD_DB_PATH": "/srv/office.db"})
    assert settings.database_url is None
    assert settings.db_path == Path("/srv/office.db")
    assert load_settings({"CONCORD_DATABASE_URL": "  "}).database_url is None


def test_database_url_selects_postgresql() -> None:
    settings = load_settings({"CONCORD_DATABASE_URL": RDS_URL})
    url = settings.database_url
    assert url is not None
    assert url.conninfo == RDS_URL  # what the driver gets, password included
    assert url.host == "office.abc123.eu-west-1.rds.amazonaws.com"
    assert (url.port, url.dbname, url.user) == (5432, "concord", "concord")
    assert load_settings({"CONCORD_DATABASE_URL": "postgres://h/db"}).database_url is not None


def test_database_url_password_is_masked_in_repr_and_str() -> None:
    settings = load_settings({"CONCORD_DATABASE_URL": RDS_URL})
    for shown in (
        repr(settings),
        str(settings),
        repr(settings.database_url),
        str(settings.database_url),
    ):
        assert "hunter2secret" not in shown
    assert str(settings.database_url) == RDS_URL.replace("hunter2secret", "***")


@pytest.mark.parametrize(
    "value",
    [
        f"mysql://concord:{SECRET}@db:5432/concord",
        f"postgresql://concord:{SECRET}@:5432/concord",
        f"postgresql://concord:{SECRET}@db:port/concord",
        f"postgresql://concord:{SECRET}@db:99999/concord",
        f"postgresql://concord:{SECRET}@db:5432",
        f"postgresql://concord:{SECRET}@db:5432/a/b",
        f"postgresql://concord:{SECRET}@db:5432/concord?sslmode=always",
        f"postgresql://concord:{SECRET}@db:5432/concord?sslmod=require",
        f"postgresql://concord:{SECRET}@db:5432/concord#x",
        f"concord:{SECRET}@db:5432/concord",
    ],
)
def test_malformed_database_url_names_the_setting_and_hides_the_password(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"CONCORD_DATABASE_URL": value})
    message = str(caught.value)
    assert caught.value.name == "CONCORD_DATABASE_URL"
    assert message.startswith("CONCORD_DATABASE_URL: ") and "\n" not in message
    for piece in ("s3cr", "pa/ss", ":t@"):
        assert piece not in message, message


def test_malformed_database_url_exits_2_with_one_masked_line(tmp_path: Path) -> None:
    bad = f"postgresql://concord:{SECRET}@db:port/concord"
    result = _run_cli(["db", "migrate"], tmp_path, CONCORD_DATABASE_URL=bad)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CONCORD_DATABASE_URL" in lines[0], result.stderr
    assert "s3cr" not in result.stderr and "pa/ss" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was opened or created


def test_db_restore_refuses_a_valid_database_url(tmp_path: Path) -> None:
    # `db restore` restores a SQLite backup file: it refuses PostgreSQL (db migrate, check,
    # stats, backup and copy work on it: tests/test_cli_pg.py).
    result = _run_cli(["db", "restore", "latest"], tmp_path, CONCORD_DATABASE_URL=RDS_URL)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("concord: CONCORD_DATABASE_URL: "), lines
    assert "hunter2secret" not in result.stderr and "concord:***@" in lines[0]
    assert not (tmp_path / "data").exists()  # no SQLite file made behind the operator's back


@pytest.mark.parametrize("command", [["run"], ["sync"]])
def test_malformed_database_url_stops_the_bot_with_one_masked_line(
    tmp_path: Path, command: list[str]
) -> None:
    bad = f"postgresql://concord:{SECRET}@db:port/concord"
    result = _run_cli(command, tmp_path, CONCORD_DATABASE_URL=bad, DISCORD_TOKEN=TOKEN)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CONCORD_DATABASE_URL" in lines[0], result.stderr
    assert "s3cr" not in result.stderr and "pa/ss" not in result.stderr


def test_the_bot_runs_on_a_valid_database_url_and_says_when_it_is_unreachable(
    tmp_path: Path,
) -> None:
    """No refusal any more: the bot opens PostgreSQL. Nothing listens on the port here, so it
    stops with one line naming the URL, password masked, exit 1, and no SQLite file made."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://concord:hunter2secret@127.0.0.1:{port}/concord?connect_timeout=2"
    result = _run_cli(["run"], tmp_path, CONCORD_DATABASE_URL=url, DISCORD_TOKEN=TOKEN)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("concord: ")]
    assert len(errors) == 1 and "unavailable" in errors[0], result.stderr
    assert "concord:***@127.0.0.1" in errors[0]
    assert "Traceback" not in result.stderr and "hunter2secret" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_shard_settings(tmp_path: Path) -> None:
    env = {"CONCORD_SHARD_COUNT": "4", "CONCORD_SHARD_IDS": "2,0"}
    settings = load_settings(env)
    assert (settings.shard_count, settings.shard_ids) == (4, (0, 2))
    assert settings.process_health_file == Path("data/health-0-2.json")
    assert load_settings({"CONCORD_SHARD_IDS": "1_3", "CONCORD_SHARD_COUNT": "4"}).shard_ids == (
        1,
        3,
    )
    plain = load_settings({})
    assert (plain.shard_count, plain.shard_ids) == (None, None)
    assert plain.process_health_file == Path("data/health.json")
    with pytest.raises(SettingsError, match="CONCORD_SHARD_IDS"):
        load_settings({"CONCORD_SHARD_IDS": "0,1"})  # no count
    with pytest.raises(SettingsError, match="not below the shard count"):
        load_settings({"CONCORD_SHARD_COUNT": "2", "CONCORD_SHARD_IDS": "2"})
    with pytest.raises(SettingsError, match="CONCORD_SHARD_COUNT"):
        load_settings({"CONCORD_SHARD_COUNT": "two"})

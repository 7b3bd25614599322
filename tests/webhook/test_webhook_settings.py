"""Webhook settings: defaults, validation with one clear line, secrets kept out of repr."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from concord.cli import main
from concord.config import SettingsError
from concord.webhook.settings import WebhookSettings, load_webhook_settings

SECRET = "s3cret-value-for-the-tests-0123456789"
HOOK_URL = "https://discord.com/api/webhooks/123/very-secret-token"


def test_defaults() -> None:
    settings = load_webhook_settings({})
    assert settings == WebhookSettings()
    assert settings.secret is None
    assert (settings.host, settings.port, settings.branch) == ("127.0.0.1", 8088, "main")
    assert settings.repo_dir == Path()
    assert settings.restart_cmd == ("systemctl", "restart", "concord-bot")
    assert settings.health_file == Path("data/health.json")
    assert settings.health_timeout == 60.0
    assert settings.notify_url is None
    assert settings.lock_file == Path("data/deploy.db.lock")
    reinstall = settings.reinstall_command()
    assert reinstall[:5] == (sys.executable, "-m", "pip", "install", "--quiet")
    assert reinstall[-2:] == ("-e", str(Path().resolve()))


def test_everything_set() -> None:
    settings = load_webhook_settings(
        {
            "CONCORD_WEBHOOK_SECRET": f"  {SECRET} ",
            "CONCORD_WEBHOOK_HOST": "0.0.0.0",
            "CONCORD_WEBHOOK_PORT": "9000",
            "CONCORD_DEPLOY_BRANCH": "refs/heads/release/2026",
            "CONCORD_REPO_DIR": "/srv/concord",
            "CONCORD_RESTART_CMD": "sudo -n /usr/bin/systemctl restart 'concord-bot.service'",
            "CONCORD_REINSTALL_CMD": "/srv/concord/.venv/bin/pip install -e /srv/concord",
            "CONCORD_HEALTH_FILE": "/srv/concord/data/health.json",
            "CONCORD_HEALTH_TIMEOUT": "90",
            "CONCORD_DEPLOY_NOTIFY_URL": HOOK_URL,
            "CONCORD_DEPLOY_DB": "/var/lib/concord/deploy.db",
        }
    )
    assert settings.require_secret() == SECRET
    assert (settings.host, settings.port, settings.branch) == ("0.0.0.0", 9000, "release/2026")
    assert settings.restart_cmd == (
        "sudo",
        "-n",
        "/usr/bin/systemctl",
        "restart",
        "concord-bot.service",
    )
    assert settings.reinstall_command()[0] == "/srv/concord/.venv/bin/pip"
    assert settings.health_timeout == 90.0
    assert settings.notify_url == HOOK_URL
    assert settings.lock_file == Path("/var/lib/concord/deploy.db.lock")


def test_the_secret_and_the_notify_url_never_show_in_repr() -> None:
    settings = load_webhook_settings(
        {"CONCORD_WEBHOOK_SECRET": SECRET, "CONCORD_DEPLOY_NOTIFY_URL": HOOK_URL}
    )
    assert SECRET not in repr(settings)
    assert "very-secret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("CONCORD_WEBHOOK_SECRET", "short", "shorter than 16 characters"),
        ("CONCORD_WEBHOOK_PORT", "80a", "not a port number"),
        ("CONCORD_WEBHOOK_PORT", "70000", "not a port number"),
        ("CONCORD_WEBHOOK_PORT", "0", "not a port number"),
        ("CONCORD_WEBHOOK_HOST", "http://example.com", "not a host name"),
        ("CONCORD_DEPLOY_BRANCH", "-delete", "not a branch name"),
        ("CONCORD_DEPLOY_BRANCH", "a..b", "not a branch name"),
        ("CONCORD_DEPLOY_BRANCH", "main.lock", "not a branch name"),
        ("CONCORD_DEPLOY_BRANCH", "has space", "not a branch name"),
        ("CONCORD_RESTART_CMD", "systemctl restart 'unclosed", "cannot be split"),
        ("CONCORD_HEALTH_TIMEOUT", "soon", "not a number of seconds"),
        ("CONCORD_HEALTH_TIMEOUT", "0", "not a number of seconds"),
        ("CONCORD_HEALTH_TIMEOUT", "99999", "not a number of seconds"),
        ("CONCORD_DEPLOY_NOTIFY_URL", "discord.com/api/webhooks/1/tok", "not an http(s) URL"),
        ("CONCORD_REPO_DIR", "bad\x00path", "NUL byte"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_webhook_settings({name: value})
    assert error.value.name == name
    assert str(error.value).startswith(f"{name}: ")
    assert problem in str(error.value)


def test_a_bad_notify_url_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as error:
        load_webhook_settings({"CONCORD_DEPLOY_NOTIFY_URL": "ftp://x/api/webhooks/1/secret-tok"})
    assert "secret-tok" not in str(error.value)


def test_require_secret_explains_what_to_do() -> None:
    with pytest.raises(SettingsError, match="CONCORD_WEBHOOK_SECRET: not set") as error:
        WebhookSettings().require_secret()
    assert "token_hex" in str(error.value)


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (
        "CONCORD_WEBHOOK_SECRET",
        "CONCORD_WEBHOOK_PORT",
        "DISCORD_TOKEN",
        "CONCORD_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_concord_webhook_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env(monkeypatch, tmp_path)
    assert main(["webhook"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("concord: CONCORD_WEBHOOK_SECRET: not set")
    assert err.count("\n") == 1  # one line, no traceback


def test_concord_webhook_refuses_a_bad_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("CONCORD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CONCORD_WEBHOOK_PORT", "http")
    assert main(["webhook"]) == 2
    err = capsys.readouterr().err
    assert err == "concord: CONCORD_WEBHOOK_PORT: 'http' is not a port number (1-65535)\n"
    assert SECRET not in err


def test_debug_server_only_on_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("CONCORD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CONCORD_WEBHOOK_HOST", "0.0.0.0")
    assert main(["webhook", "--debug"]) == 2
    assert "development server" in capsys.readouterr().err

"""The webhook's and deployer's settings, read once from the environment like ``concord.config``.

A missing or malformed setting raises :class:`concord.config.SettingsError`, which the CLI turns
into one line naming the setting and exit code 2. The secret and the notification URL (a Discord
webhook URL carries its own token) are kept out of ``repr`` so they never reach a log line.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from concord.config import SettingsError, _path, parse_shard_ids, secret_url
from concord.health import shard_health_file

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088
DEFAULT_BRANCH = "main"
DEFAULT_RESTART_CMD = "systemctl restart concord-bot"
DEFAULT_STOP_CMD = "systemctl stop concord-bot"
DEFAULT_DB_PATH = "data/concord.db"
DEFAULT_HEALTH_FILE = "data/health.json"
DEFAULT_HEALTH_TIMEOUT = 60.0
DEFAULT_DEPLOY_DB = "data/deploy.db"
MIN_SECRET_LENGTH = 16
MAX_HEALTH_TIMEOUT = 3600.0
# What git itself accepts as a branch name, minus the rarely used corners (see git-check-ref-format).
_BRANCH: re.Pattern[str] = re.compile(
    r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])$"
)
_SECRET_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class WebhookSettings:
    secret: str | None = field(default=None, repr=False)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    branch: str = DEFAULT_BRANCH
    repo_dir: Path = Path()
    restart_cmd: tuple[str, ...] = tuple(shlex.split(DEFAULT_RESTART_CMD))
    # None: reinstall with the running interpreter (`python -m pip install -e <repo>`).
    reinstall_cmd: tuple[str, ...] | None = None
    health_file: Path = Path(DEFAULT_HEALTH_FILE)
    health_timeout: float = DEFAULT_HEALTH_TIMEOUT
    notify_url: str | None = field(default=None, repr=False)
    deploy_db: Path = Path(DEFAULT_DEPLOY_DB)
    # The bot's own database (CONCORD_DB_PATH, as the bot reads it): snapshots live beside it.
    db_path: Path = Path(DEFAULT_DB_PATH)
    # How to stop the bot while its database is restored from a pre-migration snapshot.
    stop_cmd: tuple[str, ...] = tuple(shlex.split(DEFAULT_STOP_CMD))
    # CONCORD_ALERT_WEBHOOK_URL, read by the bot too: the listener alerts on deploys and on the
    # bot's health (a dead bot cannot alert). A credential, kept out of repr.
    alert_url: str | None = field(default=None, repr=False)
    # The bot's processes when it runs as several (CONCORD_SHARD_GROUPS, e.g. "0_1 2_3"): one
    # systemd instance concord-bot@<ids> each, with its own health file health-<ids>.json.
    # Empty: one process, one health file.
    shard_groups: tuple[tuple[int, ...], ...] = ()

    @property
    def health_files(self) -> list[Path]:
        """The health file of every bot process the deployer restarts and checks."""
        if not self.shard_groups:
            return [self.health_file]
        return [shard_health_file(self.health_file, group) for group in self.shard_groups]

    def require_secret(self) -> str:
        """The secret, or a SettingsError: the listener never runs without one."""
        if not self.secret:
            raise SettingsError(
                "CONCORD_WEBHOOK_SECRET",
                "not set; the webhook refuses unsigned deliveries. Set the same value here and in "
                f"GitHub (Settings > Webhooks > Secret); {_SECRET_HINT}",
            )
        return self.secret

    @property
    def lock_file(self) -> Path:
        """One deploy at a time across processes: the lock lives beside the history database."""
        return self.deploy_db.with_name(self.deploy_db.name + ".lock")

    def reinstall_command(self) -> tuple[str, ...]:
        if self.reinstall_cmd is not None:
            return self.reinstall_cmd
        repo = str(self.repo_dir.resolve())
        return (sys.executable, "-m", "pip", "install", "--quiet", "-e", repo)


def _secret(env: Mapping[str, str]) -> str | None:
    value = env.get("CONCORD_WEBHOOK_SECRET", "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(
            "CONCORD_WEBHOOK_SECRET",
            f"is shorter than {MIN_SECRET_LENGTH} characters; {_SECRET_HINT}",
        )
    return value


def _port(env: Mapping[str, str]) -> int:
    value = env.get("CONCORD_WEBHOOK_PORT", "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError("CONCORD_WEBHOOK_PORT", f"{value!r} is not a port number (1-65535)")
    return int(value)


def _host(env: Mapping[str, str]) -> str:
    value = env.get("CONCORD_WEBHOOK_HOST", "").strip() or DEFAULT_HOST
    if any(c.isspace() or c in "/@" for c in value):
        raise SettingsError(
            "CONCORD_WEBHOOK_HOST", f"{value!r} is not a host name or IP address to listen on"
        )
    return value


def _branch(env: Mapping[str, str]) -> str:
    value = env.get("CONCORD_DEPLOY_BRANCH", "").strip() or DEFAULT_BRANCH
    value = value.removeprefix("refs/heads/")
    if not _BRANCH.match(value) or value.endswith(".lock"):
        raise SettingsError("CONCORD_DEPLOY_BRANCH", f"{value!r} is not a branch name")
    return value


def _command(env: Mapping[str, str], name: str, default: str | None) -> tuple[str, ...] | None:
    value = env.get(name, "").strip() or default
    if value is None:
        return None
    try:
        words = tuple(shlex.split(value))
    except ValueError as exc:
        raise SettingsError(name, f"cannot be split into words ({exc})") from None
    if not words:
        raise SettingsError(name, "is empty")
    return words


def _timeout(env: Mapping[str, str]) -> float:
    value = env.get("CONCORD_HEALTH_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_HEALTH_TIMEOUT
    try:
        seconds = float(value.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= MAX_HEALTH_TIMEOUT:
        raise SettingsError(
            "CONCORD_HEALTH_TIMEOUT",
            f"{value!r} is not a number of seconds between 1 and {MAX_HEALTH_TIMEOUT:.0f}",
        )
    return seconds


def _notify_url(env: Mapping[str, str]) -> str | None:
    # The value is never echoed: a Discord webhook URL is a credential (it carries a token).
    value = env.get("CONCORD_DEPLOY_NOTIFY_URL", "").strip()
    if not value:
        return None
    if any(c.isspace() or not c.isprintable() for c in value):
        raise SettingsError(
            "CONCORD_DEPLOY_NOTIFY_URL",
            "contains a space or a control character; paste the URL from Discord again, "
            "without quotes or line breaks",
        )
    try:
        parsed = urlparse(value)
        port = parsed.port
        valid_port = port is None or 0 < port < 65536
    except ValueError:
        valid_port = False
        parsed = urlparse("")
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or not valid_port
        or parsed.username is not None
    ):
        raise SettingsError(
            "CONCORD_DEPLOY_NOTIFY_URL",
            "is not an http(s) URL; paste the URL from Discord (channel settings > Integrations "
            "> Webhooks > Copy Webhook URL)",
        )
    return value


def _deploy_db(env: Mapping[str, str], db_path: Path) -> Path:
    deploy_db = _path(env, "CONCORD_DEPLOY_DB", DEFAULT_DEPLOY_DB)
    if deploy_db.resolve() == db_path.resolve():
        raise SettingsError(
            "CONCORD_DEPLOY_DB",
            f"is the bot's own database ({db_path}, CONCORD_DB_PATH); the deploy history needs "
            f"a file of its own, e.g. {DEFAULT_DEPLOY_DB}",
        )
    return deploy_db


def load_webhook_settings(env: Mapping[str, str] | None = None) -> WebhookSettings:
    """Build and validate the webhook settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    restart = _command(env, "CONCORD_RESTART_CMD", DEFAULT_RESTART_CMD)
    stop = _command(env, "CONCORD_STOP_CMD", DEFAULT_STOP_CMD)
    assert restart is not None and stop is not None  # a default is given
    db_path = _path(env, "CONCORD_DB_PATH", DEFAULT_DB_PATH)
    return WebhookSettings(
        secret=_secret(env),
        host=_host(env),
        port=_port(env),
        branch=_branch(env),
        repo_dir=_path(env, "CONCORD_REPO_DIR", "."),
        restart_cmd=restart,
        reinstall_cmd=_command(env, "CONCORD_REINSTALL_CMD", None),
        health_file=_path(env, "CONCORD_HEALTH_FILE", DEFAULT_HEALTH_FILE),
        health_timeout=_timeout(env),
        notify_url=_notify_url(env),
        deploy_db=_deploy_db(env, db_path),
        db_path=db_path,
        stop_cmd=stop,
        alert_url=secret_url(env, "CONCORD_ALERT_WEBHOOK_URL"),
        shard_groups=_shard_groups(env),
    )


def _shard_groups(env: Mapping[str, str]) -> tuple[tuple[int, ...], ...]:
    value = env.get("CONCORD_SHARD_GROUPS", "").strip()
    if not value:
        return ()
    groups: list[tuple[int, ...]] = []
    for word in value.replace(";", " ").split():
        try:
            groups.append(parse_shard_ids(word))
        except ValueError as exc:
            raise SettingsError("CONCORD_SHARD_GROUPS", f"{exc} (groups like 0_1 2_3)") from None
    every = [shard_id for group in groups for shard_id in group]
    if len(set(every)) != len(every):
        raise SettingsError("CONCORD_SHARD_GROUPS", f"{value!r} names a shard in two groups")
    return tuple(groups)

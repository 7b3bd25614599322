"""Settings: read once from the environment (``.env`` loaded first, the real environment wins).

A missing or malformed setting raises :class:`SettingsError`, which the CLI turns into one line
naming the setting and exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlparse, urlsplit

from concord.core.backup_policy import Retention, parse_keep, parse_schedule
from concord.health import shard_health_file

T = TypeVar("T")
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class SettingsError(Exception):
    """A setting is missing or malformed; ``str()`` is the one line shown to the operator."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


# What CONCORD_DATABASE_URL may say after ``?``: libpq's connection parameters an operator needs
# for a managed server (RDS); anything else is more likely a typo than a wish.
DATABASE_URL_PARAMETERS: frozenset[str] = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
    }
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DATABASE_URL_EXAMPLE = "postgresql://user:password@host:5432/dbname?sslmode=require"


def mask_password(value: str) -> str:
    """``value`` with any password in it replaced by ``***``, even when the URL is malformed.

    Everything between the user name's ``:`` and the *last* ``@`` is hidden: the password always
    ends before the ``@`` that starts the host, so masking up to the last one may hide more than
    the password (an ``@`` later in the URL) but never less."""
    at = value.rfind("@")
    if at < 0:
        return value
    scheme_end = value.find("://")
    start = scheme_end + 3 if 0 <= scheme_end < at else 0
    userinfo = value[start:at]
    if ":" not in userinfo:
        return value
    return f"{value[:start]}{userinfo.split(':', 1)[0]}:***{value[at:]}"


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL server to use instead of the SQLite file (``CONCORD_DATABASE_URL``).

    The URL holds the password, so it is kept out of ``repr``/``str``: both show it masked.
    Hand :attr:`conninfo` to the driver only."""

    conninfo: str = field(repr=False)
    host: str
    port: int
    dbname: str
    user: str | None

    @property
    def masked(self) -> str:
        return mask_password(self.conninfo)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.masked!r})"


def parse_database_url(value: str) -> DatabaseUrl:
    """Check a ``postgresql://`` URL; ValueError (never naming the password) when malformed."""
    shown = mask_password(value)
    scheme, _, rest = value.partition("://")
    if scheme not in ("postgresql", "postgres") or not rest:
        raise ValueError(f"{shown!r} is not a URL like {DATABASE_URL_EXAMPLE}")
    parts = urlsplit(value)
    if parts.netloc.count("@") > 1 or "@" in parts.path or "@" in parts.query:
        raise ValueError(
            f"{shown!r} has an '@' too many: percent-encode '@', '/', '?' and '#' in the "
            "user name and password (%40, %2F, %3F, %23)"
        )
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError(f"{shown!r} has a port that is not a number from 1 to 65535") from None
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{shown!r} names no host, like {DATABASE_URL_EXAMPLE}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise ValueError(
            f"{shown!r} names no database (or more than one), like {DATABASE_URL_EXAMPLE}"
        )
    if parts.fragment:
        raise ValueError(f"{shown!r} has a '#' part, which a database URL cannot have")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"{shown!r} has a malformed '?' part") from None
    for key, setting in query:
        if key not in DATABASE_URL_PARAMETERS:
            raise ValueError(
                f"{shown!r} has an unknown parameter {key!r} "
                f"(known: {', '.join(sorted(DATABASE_URL_PARAMETERS))})"
            )
        if key == "sslmode" and setting not in SSL_MODES:
            raise ValueError(f"sslmode={setting!r} is not one of {', '.join(SSL_MODES)}")
    user = unquote(parts.username) if parts.username else None
    return DatabaseUrl(conninfo=value, host=host, port=port, dbname=dbname, user=user)


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = field(repr=False)
    db_path: Path = Path("data/concord.db")
    # Set: the managers use this PostgreSQL server and db_path is not used (docs/POSTGRES.md).
    database_url: DatabaseUrl | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    dev_guild_id: int | None = None
    health_file: Path = Path("data/health.json")
    api_base: str | None = None
    gateway_url: str | None = None
    metrics_addr: tuple[str, int] | None = None
    metrics_emf: bool = False
    # A Discord webhook URL carries its token: kept out of repr and never logged.
    alert_webhook_url: str | None = field(default=None, repr=False)
    # Scheduled backups: off while backup_dir is None; S3 is an extra copy of each backup.
    backup_dir: Path | None = None
    backup_schedule: tuple[time, ...] = (time(3, 0),)
    backup_keep: Retention = field(default_factory=Retention)
    backup_s3_url: str | None = None
    backup_s3_endpoint: str | None = None
    # `concord web` (calendar feeds and the wall chart): where it listens, and the address
    # members reach it at (a TLS proxy in front); the bot builds the links from public_url.
    web_addr: tuple[str, int] | None = None
    public_url: str | None = None
    # Sharding (docs/ARCHITECTURE.md, "Shards"): None, None is one process with as many shards
    # as Discord recommends; a count alone is one process with that many shards; ids too make
    # this process run those shards only (others run the rest).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def process_health_file(self) -> Path:
        """This process's health file: ``health-<ids>.json`` beside CONCORD_HEALTH_FILE for a
        process that runs some of the shards, else CONCORD_HEALTH_FILE itself."""
        if self.shard_ids is None:
            return self.health_file
        return shard_health_file(self.health_file, self.shard_ids)

    @property
    def metrics_enabled(self) -> bool:
        return self.metrics_addr is not None or self.metrics_emf

    def require_token(self) -> str:
        if not self.discord_token:
            raise SettingsError(
                "DISCORD_TOKEN",
                "not set; put the bot token from the Discord developer portal "
                "(Applications > your app > Bot > Reset Token) in .env or the environment",
            )
        return self.discord_token


def parse_shard_ids(value: str) -> tuple[int, ...]:
    """``0,1`` (or ``0_1``, as a systemd instance name cannot hold a comma) -> (0, 1)."""
    parts = [part.strip() for part in value.replace("_", ",").split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"{value!r} is not a list of shard ids like 0,1")
    ids = tuple(int(part) for part in parts)
    if len(set(ids)) != len(ids):
        raise ValueError(f"{value!r} names a shard twice")
    return ids


def check_shards(
    count: int | None, ids: tuple[int, ...] | None
) -> tuple[int | None, tuple[int, ...] | None]:
    """The shard settings as a whole; ValueError naming what is wrong."""
    if count is not None and not 1 <= count <= 10_000:
        raise ValueError(f"the shard count {count} is not between 1 and 10000")
    if ids is not None:
        if count is None:
            raise ValueError("shard ids need a shard count too (CONCORD_SHARD_COUNT)")
        wrong = [shard_id for shard_id in ids if shard_id >= count]
        if wrong:
            raise ValueError(f"shard id {wrong[0]} is not below the shard count {count}")
    return count, tuple(sorted(ids)) if ids is not None else None


def _shards(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    raw_count = env.get("CONCORD_SHARD_COUNT", "").strip()
    raw_ids = env.get("CONCORD_SHARD_IDS", "").strip()
    count: int | None = None
    if raw_count:
        if not raw_count.isdigit():
            raise SettingsError("CONCORD_SHARD_COUNT", f"{raw_count!r} is not a number")
        count = int(raw_count)
    ids: tuple[int, ...] | None = None
    if raw_ids:
        try:
            ids = parse_shard_ids(raw_ids)
        except ValueError as exc:
            raise SettingsError("CONCORD_SHARD_IDS", str(exc)) from None
    try:
        return check_shards(count, ids)
    except ValueError as exc:
        name = "CONCORD_SHARD_IDS" if ids is not None else "CONCORD_SHARD_COUNT"
        raise SettingsError(name, str(exc)) from None


def load_dotenv_file(path: str | os.PathLike[str] = ".env") -> None:
    """Load ``.env`` without overriding variables already in the environment."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    normalised = value.upper() if allowed is LOG_LEVELS else value.lower()
    if normalised not in allowed:
        raise SettingsError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return normalised


def _snowflake(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**64:
        raise SettingsError(
            name, f"{value!r} is not a Discord id (right-click the server > Copy ID)"
        )
    return int(value)


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    parsed = urlsplit(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise SettingsError(
            name, f"{value!r} is not a URL starting with {' or '.join(s + '://' for s in schemes)}"
        )
    return value.rstrip("/")


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    value = env.get(name, "").strip() or default
    if "\x00" in value:
        raise SettingsError(name, "contains a NUL byte")
    return Path(value)


def _metrics_addr(env: Mapping[str, str]) -> tuple[str, int] | None:
    return _host_port(env, "CONCORD_METRICS_ADDR", "127.0.0.1:9464")


def _host_port(env: Mapping[str, str], name: str, example: str) -> tuple[str, int] | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535:
        raise SettingsError(name, f"{value!r} is not HOST:PORT (e.g. {example})")
    # ":9464" listens on every address, as for most exporters; the docs advise loopback.
    return host.strip("[]") or "0.0.0.0", int(port)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(name, f"{value!r} is not 1 or 0")


def secret_url(env: Mapping[str, str], name: str) -> str | None:
    """A webhook URL that is a credential: checked, but never echoed in the error."""
    value = env.get(name, "")
    if not value.strip():
        return None
    parsed = urlparse(value.strip())
    if (
        any(c.isspace() for c in value.strip())
        or parsed.scheme not in ("http", "https")
        or not parsed.netloc
    ):
        raise SettingsError(name, "is not an http(s) URL without spaces (value not shown)")
    return value.strip()


def _parsed(env: Mapping[str, str], name: str, default: str, parse: Callable[[str], T]) -> T:
    value = env.get(name, "").strip() or default
    try:
        return parse(value)
    except ValueError as exc:
        raise SettingsError(name, str(exc)) from None


def _s3_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    parsed = urlsplit(value)
    if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
        raise SettingsError(name, f"{value!r} is not a bucket URL like s3://bucket/prefix")
    return value.rstrip("/")


def _backup_dir(env: Mapping[str, str]) -> Path | None:
    value = env.get("CONCORD_BACKUP_DIR", "").strip()
    if not value:
        return None
    return _path(env, "CONCORD_BACKUP_DIR", value)


def _database_url(env: Mapping[str, str]) -> DatabaseUrl | None:
    value = env.get("CONCORD_DATABASE_URL", "").strip()
    if not value:
        return None
    try:
        return parse_database_url(value)
    except ValueError as exc:
        raise SettingsError("CONCORD_DATABASE_URL", str(exc)) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate the settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    token = env.get("DISCORD_TOKEN", "").strip() or None
    if token is not None and (any(c.isspace() for c in token) or len(token) < 20):
        raise SettingsError("DISCORD_TOKEN", "does not look like a bot token (check for spaces)")
    backup_dir = _backup_dir(env)
    s3_url = _s3_url(env, "CONCORD_BACKUP_S3_URL")
    if s3_url is not None and backup_dir is None:
        # Each backup is written and verified in the folder first, then uploaded.
        raise SettingsError(
            "CONCORD_BACKUP_S3_URL", "needs CONCORD_BACKUP_DIR too (backups are uploaded from it)"
        )
    shard_count, shard_ids = _shards(env)
    return Settings(
        shard_count=shard_count,
        shard_ids=shard_ids,
        discord_token=token,
        db_path=_path(env, "CONCORD_DB_PATH", "data/concord.db"),
        database_url=_database_url(env),
        log_level=_choice(env, "CONCORD_LOG_LEVEL", "INFO", LOG_LEVELS),
        log_format=_choice(env, "CONCORD_LOG_FORMAT", "text", LOG_FORMATS),
        dev_guild_id=_snowflake(env, "CONCORD_DEV_GUILD_ID"),
        health_file=_path(env, "CONCORD_HEALTH_FILE", "data/health.json"),
        api_base=_url(env, "DISCORD_API_BASE", ("http", "https")),
        gateway_url=_url(env, "DISCORD_GATEWAY_URL", ("ws", "wss")),
        metrics_addr=_metrics_addr(env),
        metrics_emf=_metrics_emf(env),
        alert_webhook_url=secret_url(env, "CONCORD_ALERT_WEBHOOK_URL"),
        backup_dir=backup_dir,
        backup_schedule=_parsed(env, "CONCORD_BACKUP_SCHEDULE", "03:00", parse_schedule),
        backup_keep=_parsed(env, "CONCORD_BACKUP_KEEP", "7d,4w,12m", parse_keep),
        backup_s3_url=s3_url,
        backup_s3_endpoint=_url(env, "CONCORD_BACKUP_S3_ENDPOINT", ("http", "https")),
        web_addr=_host_port(env, "CONCORD_WEB_ADDR", "127.0.0.1:8090"),
        public_url=_public_url(env),
    )


def _public_url(env: Mapping[str, str]) -> str | None:
    value = _url(env, "CONCORD_PUBLIC_URL", ("http", "https"))
    if value is not None and (urlsplit(value).query or urlsplit(value).fragment):
        raise SettingsError(
            "CONCORD_PUBLIC_URL", f"{value!r} has a '?' or '#' part; give the base address only"
        )
    return value


def _metrics_emf(env: Mapping[str, str]) -> bool:
    emf = _flag(env, "CONCORD_METRICS_EMF")
    if emf and _choice(env, "CONCORD_LOG_FORMAT", "text", LOG_FORMATS) != "json":
        raise SettingsError(
            "CONCORD_METRICS_EMF", "needs CONCORD_LOG_FORMAT=json (EMF lines are JSON log lines)"
        )
    return emf

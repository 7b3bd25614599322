"""The health heartbeat file the deployer reads: written atomically (temp file + rename)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The bot beats every ``heartbeat_seconds`` (written in the file); this many missed beats and a
# bot whose process still lives is taken for hung, not running.
DEFAULT_HEARTBEAT_SECONDS = 30
HEARTBEAT_MISSES = 3

PACKAGE_DIR: Path = Path(__file__).resolve().parent


def git_commit(directory: Path = PACKAGE_DIR) -> str | None:
    """The checkout's HEAD commit, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def shard_health_file(health_file: Path, shard_ids: Sequence[int]) -> Path:
    """The health file of a process running some shards: ``data/health.json`` and shards
    (0, 1) -> ``data/health-0-1.json``, beside CONCORD_HEALTH_FILE."""
    ids = "-".join(str(shard_id) for shard_id in shard_ids)
    return health_file.with_name(f"{health_file.stem}-{ids}{health_file.suffix}")


def health_files_beside(health_file: Path) -> list[Path]:
    """CONCORD_HEALTH_FILE and every shard process's health file found beside it."""
    pattern = f"{health_file.stem}-*{health_file.suffix}"
    try:
        found = sorted(
            p
            for p in health_file.parent.glob(pattern)
            if p.name[len(health_file.stem) + 1 :][:1].isdigit()
        )
    except OSError:
        found = []
    return [health_file, *found]


def all_ready(healths: Sequence[Mapping[str, Any] | None], now: datetime) -> bool:
    """Every process of the bot is ready (one health file each)."""
    return bool(healths) and all(bot_ready(health, now) for health in healths)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_health(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def pid_alive(pid: object) -> bool:
    """Whether a process with this id exists on this host (the bot's pid from the health file)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    except OSError:
        return False
    return True


def bot_ready(health: Mapping[str, Any] | None, now: datetime) -> bool:
    """The bot says it is ready, its process is alive and its heartbeat is recent: no older than
    ``HEARTBEAT_MISSES`` heartbeat intervals (a hung bot stops beating but leaves its file).
    The one answer to "is a bot running on this database" for ``/health`` and ``db restore``."""
    if not health or health.get("ready") is not True or not pid_alive(health.get("pid")):
        return False
    beat = health.get("heartbeat_at")
    interval = health.get("heartbeat_seconds", DEFAULT_HEARTBEAT_SECONDS)
    if not isinstance(beat, str) or not isinstance(interval, int | float):
        return False
    try:
        at = datetime.fromisoformat(beat)
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (now - at).total_seconds() <= HEARTBEAT_MISSES * max(float(interval), 1.0)

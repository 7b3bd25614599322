"""Running commands for the deployer, and the handful of git operations it needs.

Output goes to a temporary file, not a pipe: a restart script that leaves a background process
holding its stdout would otherwise keep the deployer waiting until the timeout. A command that
times out is killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from concord.webhook.history import CommitInfo

log: logging.Logger = logging.getLogger(__name__)

GIT_TIMEOUT = 120.0
TAIL_CHARS = 2000
# `https://user:token@host/...` in an error message: keep the host, drop the credentials.
_CREDENTIALS: re.Pattern[str] = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
SHA: re.Pattern[str] = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
SHORT_SHA: re.Pattern[str] = re.compile(r"^[0-9a-fA-F]{4,64}$")
_FIELD = "\x1f"
MIGRATIONS_DIR = "concord/db/migrations"
_MIGRATION_FILE: re.Pattern[str] = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The end of some output, credentials in URLs masked, ready for the history and Discord."""
    text = _CREDENTIALS.sub(r"\1***@", text.strip())
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


class CommandError(Exception):
    """A command could not run, failed or timed out; ``output`` is the tail of what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output: str = output


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str
    seconds: float


def run_command(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> CommandResult:
    """Run ``args`` without a shell; stdout and stderr together; raise CommandError on failure."""
    name = Path(args[0]).name
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            process = subprocess.Popen(
                list(args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandError(f"could not run {name}: {exc.strerror or exc}") from None
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out.seek(0)
            output = out.read().decode("utf-8", "replace")
            raise CommandError(
                f"{name} did not finish within {timeout:g} s", tail(output)
            ) from None
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    result = CommandResult(returncode, output, time.monotonic() - started)
    if check and returncode != 0:
        raise CommandError(f"{name} exited with status {returncode}", tail(output))
    return result


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Git:
    """The checkout the bot runs from. Every call is one ``git`` process in ``repo_dir``."""

    def __init__(self, repo_dir: Path, *, timeout: float = GIT_TIMEOUT) -> None:
        self.repo_dir = repo_dir
        self.timeout = timeout
        # Never prompt for credentials: there is nobody to answer, the fetch would just hang.
        self._env: dict[str, str] = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

    def _run(self, *args: str, check: bool = True) -> CommandResult:
        return run_command(
            ["git", *args], cwd=self.repo_dir, timeout=self.timeout, env=self._env, check=check
        )

    def _yes_no(self, *args: str) -> bool:
        result = self._run(*args, check=False)
        if result.returncode in (0, 1):
            return result.returncode == 0
        raise CommandError(
            f"git {args[0]} exited with status {result.returncode}", tail(result.output)
        )

    def fetch(self, branch: str) -> None:
        # An explicit refspec: origin/<branch> is updated whatever remote.origin.fetch says.
        self._run(
            "fetch",
            "--quiet",
            "--no-tags",
            "origin",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        )

    def head(self) -> str:
        return self._run("rev-parse", "--verify", "HEAD").output.strip()

    def resolve(self, ref: str) -> str | None:
        """The full commit id ``ref`` names, or None when there is no such commit."""
        if ref.startswith("-"):
            return None
        result = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        sha = result.output.strip()
        return sha if result.returncode == 0 and SHA.match(sha) else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or one of its ancestors."""
        return self._yes_no("merge-base", "--is-ancestor", ancestor, descendant)

    def modified_files(self) -> list[str]:
        """Tracked files changed in the checkout (untracked and ignored files do not count)."""
        output = self._run("status", "--porcelain", "--untracked-files=no").output
        return [line[3:] for line in output.splitlines() if line.strip()]

    def checkout(self, sha: str) -> None:
        self._run("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha)

    def schema_version_at(self, commit: str) -> int | None:
        """The newest database schema version the code at ``commit`` knows (its highest
        numbered migration); None when that commit has no migrations folder."""
        output = self._run("ls-tree", "--name-only", f"{commit}:{MIGRATIONS_DIR}", check=False)
        if output.returncode != 0:
            return None
        versions = [
            int(match.group(1))
            for line in output.output.splitlines()
            if (match := _MIGRATION_FILE.match(line.strip()))
        ]
        return max(versions, default=0)

    def added_files(self, old: str, new: str) -> list[str]:
        """Paths that ``new`` tracks and ``old`` does not (checking ``new`` out creates them)."""
        output = self._run(
            "diff", "--name-only", "--no-renames", "--diff-filter=A", "-z", old, new
        ).output
        return [path for path in output.split("\0") if path]

    def tracked(self, commit: str, paths: Sequence[str]) -> list[str]:
        """Which of ``paths`` (files or folders, relative to the checkout) ``commit`` tracks."""
        if not paths:
            return []
        output = self._run("ls-tree", "-r", "--name-only", "-z", commit, "--", *paths).output
        return [path for path in output.split("\0") if path]

    def file_changed(self, old: str, new: str, path: str) -> bool:
        return not self._yes_no("diff", "--quiet", old, new, "--", path)

    def commits(self, old: str | None, new: str, limit: int = 20) -> tuple[list[CommitInfo], int]:
        """The newest ``limit`` commits in ``old..new`` and how many there are in all."""
        span = f"{old}..{new}" if old else new
        count = int(self._run("rev-list", "--count", span).output.strip() or 0)
        output = self._run(
            "log", f"--max-count={limit}", f"--format=%H{_FIELD}%an{_FIELD}%s", span
        ).output
        commits: list[CommitInfo] = []
        for line in output.splitlines():
            parts = line.split(_FIELD)
            if len(parts) == 3:
                commits.append(CommitInfo(parts[0], parts[1], parts[2]))
        return commits, count

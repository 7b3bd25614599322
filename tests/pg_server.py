"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` in a temp
dir, listening on a free 127.0.0.1 port (and a unix socket in the same dir), stopped and
removed when done. No mocks: the code under test speaks the real protocol to a real server.

The binaries come from PATH or Debian's /usr/lib/postgresql/*/bin (.ci/run installs the
``postgresql`` package when they are missing). initdb refuses to run as root, so as root the
server runs as the ``postgres`` user (or ``nobody``) through ``setpriv``; otherwise as the
current user. When there is no server to be had, :func:`find_binaries` says why and the
PostgreSQL tests skip with that reason (see tests/conftest.py).

Fixtures: ``pg_server`` (one server for the session), ``pg_url`` (a fresh database per test).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "concord"
START_TIMEOUT_S = 30


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be started here; ``str()`` says why."""


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    pg_ctl: Path


def find_binaries() -> Binaries:
    """initdb and pg_ctl from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if on_path[0] and on_path[1]:
        return Binaries(Path(on_path[0]), Path(on_path[1]))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bin_dir in reversed(versions):
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            return Binaries(bin_dir / "initdb", bin_dir / "pg_ctl")
    raise PostgresUnavailable(
        "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
        "(install Debian's 'postgresql' package; .ci/run does it as root)"
    )


def process_gone(pid: int) -> bool:
    """No such process, or only its exit status left (a zombie: the postmaster is not our
    child, so its new parent, PID 1, reaps it in its own time)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return any(line.startswith("State:") and "Z" in line for line in status.splitlines())


def _wait_gone(pid: int, timeout_s: float = 10.0) -> None:
    """pg_ctl stop -w returns when the pid file is gone, a moment before the postmaster exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process_gone(pid):
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root and neither 'postgres' nor 'nobody' exists")


class ThrowawayPostgres:
    """One server in a temp dir. ``start()``, ``create_database()``, ``stop()`` (idempotent)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.binaries = find_binaries()
        self.account = _server_account()
        # fsync off makes tests fast; a benchmark asks for the durable defaults.
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="concord-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._running = False

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if self.account is not None:
            command = [
                "setpriv",
                f"--reuid={self.account.pw_uid}",
                f"--regid={self.account.pw_gid}",
                "--clear-groups",
                "--",
                *command,
            ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 10,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            check=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name if self.account is None else args[0]} failed "
                f"({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}"
            )

    def start(self) -> ThrowawayPostgres:
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        self._run(
            self.binaries.initdb,
            "-D",
            self.data,
            "-U",
            SUPERUSER,
            "--auth=trust",  # loopback and a private socket dir only
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
            "-c shared_buffers=32MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        last: PostgresUnavailable | None = None
        for _ in range(3):  # another process may take the free port before the server does
            self.port = _free_port()
            try:
                self._run(
                    self.binaries.pg_ctl,
                    "start",
                    "-D",
                    self.data,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-l",
                    self.root / "server.log",
                    "-o",
                    " ".join([f"-p {self.port}", *options]),
                )
            except PostgresUnavailable as error:
                last = error
                continue
            self._running = True
            return self
        self.stop()
        raise last or PostgresUnavailable("pg_ctl start failed")

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a generated name, not user text
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast: it holds nothing worth keeping) and remove every file."""
        if self._running:
            self._running = False
            postmaster = self._postmaster_pid()
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                self._run(self.binaries.pg_ctl, "stop", "-D", self.data, "-m", "immediate", "-w")
            if postmaster is not None:
                _wait_gone(postmaster)
        shutil.rmtree(self.root, ignore_errors=True)

    def _postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Why PostgreSQL tests were skipped in this run (tests/conftest.py prints it in the summary).
UNAVAILABLE: list[str] = []


def _unavailable(reason: str) -> None:
    """Skip with one line on a developer's machine; under ``CI=true`` fail instead: a CI run
    that cannot test PostgreSQL must not pass."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    if UNAVAILABLE:
        _unavailable(UNAVAILABLE[0])
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as error:
        UNAVAILABLE.append(str(error))
        _unavailable(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: ThrowawayPostgres) -> str:
    """A fresh, empty database on the session's server (left for the server's removal)."""
    return pg_server.create_database()

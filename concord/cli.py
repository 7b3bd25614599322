"""The ``concord`` command line: run, sync, db, sandbox, webhook, deploy."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from concord import __version__
from concord.config import Settings, SettingsError, load_dotenv_file, load_settings
from concord.db.database import (
    DatabaseError,
    apply_migrations,
    connect_sync,
    schema_version,
)
from concord.errors import ExitError
from concord.logsetup import setup_logging
from concord.webhook.cli import register as register_webhook

log: logging.Logger = logging.getLogger("concord")


# -- run / sync -------------------------------------------------------------------------------
def _runner() -> Any:
    # The bot imports discord.py, which the type checker of this layer (pyre) cannot follow;
    # importing it only when a bot command runs also keeps `concord db ...` quick.
    return importlib.import_module("concord.runner")


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(_runner().run_bot(settings))
    return 0


def _sandbox_session() -> Any:
    # Imported on use, like the runner: it imports discord.py (checked by pyright, not pyre).
    return importlib.import_module("concord.sandbox.session")


def cmd_sandbox(args: argparse.Namespace) -> int:
    console = _sandbox_session()
    try:
        start = console.parse_start(args.clock)
    except ValueError as exc:
        raise ExitError(str(exc)) from None
    script = Path(args.script) if args.script else None
    if script is not None and not script.is_file():
        raise ExitError(f"--script: {script} is not a file")
    options = console.Options(
        db_path=Path(args.db),
        fresh=args.fresh,
        script=script,
        actor=args.actor,
        start=start,
        verbose=args.verbose,
    )
    return int(console.main(options))


def cmd_sync(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(_runner().run_bot(settings, sync_only=True, force_sync=args.force))
    return 0


# -- db ---------------------------------------------------------------------------------------
def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if getattr(args, "db", None) else _settings().db_path


def cmd_db_migrate(args: argparse.Namespace) -> int:
    path = _db_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect_sync(path)
    try:
        applied = apply_migrations(conn)
        version = schema_version(conn)
    finally:
        conn.close()
    print(f"{path}: applied {len(applied)} migration(s), schema version {version}")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    from concord.db.maintenance import check, file_sizes

    path = _db_path(args)
    try:
        problems = check(path)
    except DatabaseError as exc:  # not a database at all: a problem found, one line
        print(f"concord: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return 1
    conn = connect_sync(path)
    try:
        version = schema_version(conn)
    finally:
        conn.close()
    sizes = file_sizes(path)
    print(f"{path}: ok (schema version {version}, {sizes.database} bytes, WAL {sizes.wal} bytes)")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from concord.db.maintenance import backup

    source = _db_path(args)
    if not source.exists():
        raise ExitError(f"{source} does not exist (set CONCORD_DB_PATH or pass --db)")
    target = Path(args.path)
    if target.resolve() == source.resolve():
        raise ExitError("the backup target is the live database itself")
    shown: dict[str, int] = {"last": -1}

    def progress(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if total > 1024 and percent // 10 != shown["last"] // 10:
            shown["last"] = percent
            print(f"  {percent}% ({done}/{total} pages)", flush=True)

    backup(source, target, progress)
    print(f"backed up {source} to {target}")
    return 0


def cmd_db_stats(args: argparse.Namespace) -> int:
    from concord.db.maintenance import file_sizes, table_counts

    path = _db_path(args)
    if not path.exists():
        raise ExitError(f"{path} does not exist")
    conn = connect_sync(path)
    try:
        counts = table_counts(conn)
    finally:
        conn.close()
    width = max((len(name) for name in counts), default=5)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>9}")
    sizes = file_sizes(path)
    print(f"file {sizes.database} bytes, WAL {sizes.wal} bytes")
    return 0


# -- parser -----------------------------------------------------------------------------------
def _settings() -> Settings:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concord", description="Concord Desk: an office in Discord."
    )
    parser.add_argument("--version", action="version", version=f"concord-desk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot").set_defaults(func=cmd_run)
    sync = sub.add_parser("sync", help="sync slash commands to Discord")
    sync.add_argument("--force", action="store_true", help="sync even when nothing changed")
    sync.set_defaults(func=cmd_sync)

    sandbox = sub.add_parser(
        "sandbox",
        help="try the bot without Discord: a local emulator and a console",
        description="Start the local Discord emulator and the real bot with a small office "
        "already set up, and act as its members from a console.",
    )
    sandbox.add_argument(
        "--db", default="data/sandbox.db", help="sandbox database (default: data/sandbox.db)"
    )
    sandbox.add_argument("--fresh", action="store_true", help="start over with an empty office")
    sandbox.add_argument(
        "--script", metavar="FILE", help="run console lines from FILE, print the transcript"
    )
    sandbox.add_argument(
        "--as", dest="actor", default="owner", help="the member you act as first (default owner)"
    )
    sandbox.add_argument(
        "--clock", metavar="TIME", help="start the bot's clock at TIME (UTC), e.g. 2026-12-01T09:00"
    )
    sandbox.add_argument(
        "-v", "--verbose", action="store_true", help="also print the bot's log to stderr"
    )
    sandbox.set_defaults(func=cmd_sandbox)

    db = sub.add_parser("db", help="database tools").add_subparsers(
        dest="db_command", required=True
    )
    for name, func, text in (
        ("migrate", cmd_db_migrate, "apply pending migrations"),
        ("check", cmd_db_check, "integrity, foreign keys, schema version (exit 1 on a problem)"),
        ("stats", cmd_db_stats, "row counts per table and file sizes"),
        ("backup", cmd_db_backup, "online backup to PATH"),
    ):
        command = db.add_parser(name, help=text)
        command.add_argument("--db", help="database file (default: CONCORD_DB_PATH)")
        if name == "backup":
            command.add_argument("path", help="where to write the backup")
        command.set_defaults(func=func)
    register_webhook(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv_file()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"concord: {exc}", file=sys.stderr)
        return 2
    except (ExitError, DatabaseError) as exc:
        print(f"concord: {exc}", file=sys.stderr)
        return getattr(exc, "code", 2)
    except KeyboardInterrupt:
        return 130

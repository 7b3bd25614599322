"""The ``concord`` command line: run, sync, db, sandbox, webhook, deploy, web."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concord import __version__
from concord.config import (
    Settings,
    SettingsError,
    check_shards,
    load_dotenv_file,
    load_settings,
    mask_password,
    parse_database_url,
    parse_shard_ids,
)
from concord.core.text import plural
from concord.db.database import (
    DatabaseError,
    connect_sync,
    migrate_with_snapshot,
    schema_version,
)
from concord.db.snapshots import list_snapshots
from concord.errors import ExitError
from concord.health import read_health
from concord.logsetup import setup_logging
from concord.web.cli import register as register_web
from concord.webhook.cli import register as register_webhook

if TYPE_CHECKING:
    from concord.db.backups import BackupTargets

log: logging.Logger = logging.getLogger("concord")


# -- run / sync -------------------------------------------------------------------------------
def _runner() -> Any:
    # The bot imports discord.py, which the type checker of this layer (pyre) cannot follow;
    # importing it only when a bot command runs also keeps `concord db ...` quick.
    return importlib.import_module("concord.runner")


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(postgres=True)
    count = settings.shard_count if args.shard_count is None else args.shard_count
    ids = settings.shard_ids
    if args.shard_ids is not None:
        try:
            ids = parse_shard_ids(args.shard_ids)
        except ValueError as exc:
            raise ExitError(f"--shard-ids: {exc}") from None
    try:
        count, ids = check_shards(count, ids)
    except ValueError as exc:
        raise ExitError(str(exc)) from None
    settings = dataclasses.replace(settings, shard_count=count, shard_ids=ids)
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
    settings = _settings(postgres=True)
    asyncio.run(_runner().run_bot(settings, sync_only=True, force_sync=args.force))
    return 0


# -- db ---------------------------------------------------------------------------------------
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _db_url(args: argparse.Namespace, option: str = "db") -> str | None:
    """The PostgreSQL database a ``db`` command works on: ``--db postgresql://…``, else
    CONCORD_DATABASE_URL when ``--db`` is not given; None for a SQLite file."""
    given: str | None = getattr(args, option, None)
    if given:
        if not given.startswith(POSTGRES_SCHEMES):
            return None
        try:
            parse_database_url(given)
        except ValueError as exc:
            raise SettingsError(f"--{option}", str(exc)) from None
        return given
    settings = load_settings()
    if settings.database_url is None:
        return None
    setup_logging(settings.log_level, settings.log_format)
    return settings.database_url.conninfo


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if getattr(args, "db", None) else _settings().db_path


def _running_commit(args: argparse.Namespace) -> str | None:
    """The commit the bot last ran (from its health file), to name a pre-migration snapshot."""
    if getattr(args, "db", None):
        return None  # another database than the bot's: its health file says nothing about it
    health = read_health(_settings().health_file) or {}
    commit = health.get("commit")
    return commit if isinstance(commit, str) else None


def cmd_db_migrate(args: argparse.Namespace) -> int:
    url = _db_url(args)
    if url is not None:
        from concord.db.pgadmin import migrate

        applied, version = migrate(url)
        print(
            f"{mask_password(url)}: applied {plural(len(applied), 'migration')}, "
            f"schema version {version}"
        )
        return 0
    path = _db_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = {snapshot.path for snapshot in list_snapshots(path)}
    conn = connect_sync(path)
    try:
        applied = migrate_with_snapshot(conn, path, previous_commit=_running_commit(args))
        version = schema_version(conn)
    finally:
        conn.close()
    for snapshot in list_snapshots(path):
        if snapshot.path not in before:
            print(f"snapshot before migrating: {snapshot.path}")
    print(f"{path}: applied {plural(len(applied), 'migration')}, schema version {version}")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    from concord.db.maintenance import check, file_sizes

    url = _db_url(args)
    if url is not None:
        return _pg_check(url)
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


def _pg_check(url: str) -> int:
    from concord.db.pgadmin import check

    problems, facts = check(url)
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return 1
    print(
        f"{mask_password(url)}: ok (schema version {facts.version}, {facts.server}, "
        f"{facts.size_bytes} bytes, {facts.connections} of {facts.max_connections} "
        "connections in use)"
    )
    return 0


def _pg_backup(url: str, args: argparse.Namespace) -> int:
    from concord.db.pgadmin import RDS_BACKUP_HINT, dump, pg_dump_command

    shown = mask_password(url)
    if args.to_dir is not None or args.to_s3 is not None:
        raise ExitError(
            f"--to-dir/--to-s3 back up a SQLite file; {shown} is PostgreSQL: give PATH for "
            f"pg_dump -Fc. {RDS_BACKUP_HINT}"
        )
    if pg_dump_command() is None:
        print(f"{shown}: pg_dump is not on PATH, nothing was backed up. {RDS_BACKUP_HINT}")
        return 1
    if not args.path:
        raise ExitError("give PATH: where pg_dump -Fc writes the backup")
    result = dump(url, Path(args.path))
    print(
        f"backed up {shown} to {result.path} (pg_dump -Fc, {plural(result.bytes, 'byte')}) "
        f"in {result.seconds:.1f} s; restore with pg_restore --no-owner -d <empty database> "
        f"{result.path}"
    )
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    url = _db_url(args)
    if url is not None:
        return _pg_backup(url, args)
    if args.to_dir is not None or args.to_s3 is not None:
        if args.path:
            raise ExitError("give either PATH or --to-dir/--to-s3, not both")
        return _backup_to_targets(args)
    if not args.path:
        raise ExitError("give PATH, or --to-dir / --to-s3 (see `concord db backup --help`)")
    from concord.db.snapshots import SnapshotError, verified_copy

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

    try:
        verified_copy(source, target, progress)
    except SnapshotError as exc:
        raise ExitError(f"backup failed: {exc}", code=1) from None
    print(f"backed up {source} to {target}")
    return 0


def _backup_targets(
    args: argparse.Namespace, *, dir_option: str, s3_option: str
) -> tuple[BackupTargets, Settings]:
    """Folder and bucket from the options; an option given without a value (or not given, for
    listing and restore) falls back to CONCORD_BACKUP_DIR / CONCORD_BACKUP_S3_URL."""
    from concord.db.backups import BackupTargets
    from concord.db.s3store import S3Store

    settings = _settings()
    directory_arg: str | None = getattr(args, dir_option)
    s3_arg: str | None = getattr(args, s3_option)
    directory = Path(directory_arg) if directory_arg else settings.backup_dir
    s3_url = s3_arg or settings.backup_s3_url
    if directory_arg == "" and directory is None:
        raise ExitError("--to-dir: no folder given and CONCORD_BACKUP_DIR is not set")
    if s3_arg == "" and s3_url is None:
        raise ExitError("--to-s3: no s3:// URL given and CONCORD_BACKUP_S3_URL is not set")
    if s3_url is not None and not s3_url.startswith("s3://"):
        raise ExitError(f"{s3_url!r} is not an s3://bucket/prefix URL")
    s3 = S3Store(s3_url, endpoint=settings.backup_s3_endpoint) if s3_url else None
    return BackupTargets(directory=directory, s3=s3, keep=settings.backup_keep), settings


def _backup_to_targets(args: argparse.Namespace) -> int:
    from concord.db.backups import BackupError, BackupTargets, take_backup

    targets, _ = _backup_targets(args, dir_option="to_dir", s3_option="to_s3")
    # Only the targets asked for: --to-s3 alone does not also write the configured folder.
    targets = BackupTargets(
        directory=targets.directory if args.to_dir is not None else None,
        s3=targets.s3 if args.to_s3 is not None else None,
        keep=targets.keep,
    )
    source = _db_path(args)
    if not source.exists():
        raise ExitError(f"{source} does not exist (set CONCORD_DB_PATH or pass --db)")
    try:
        record = take_backup(source, targets, datetime.now(UTC))
    except BackupError as exc:
        raise ExitError(f"backup failed: {exc}", code=1) from None
    where = [str(targets.directory / record.file)] if targets.directory else []
    if record.s3_key and targets.s3 is not None:
        where.append(f"s3://{targets.s3.bucket}/{record.s3_key}")
    print(
        f"backed up {source} (schema {record.schema}, {plural(sum(record.rows.values()), 'row')}) "
        f"in {record.duration_s:.1f} s: {plural(record.bytes, 'byte')}, "
        f"sha256 {record.sha256[:16]}..."
    )
    for place in where:
        print(f"  {place}")
    return 0


def cmd_db_backups(args: argparse.Namespace) -> int:
    from concord.core.backup_policy import describe_age
    from concord.db.backups import BackupError, ListedBackup, list_folder, list_s3
    from concord.db.s3store import S3Error

    targets, _ = _backup_targets(args, dir_option="dir", s3_option="s3")
    if targets.directory is None and targets.s3 is None:
        raise ExitError("no backups configured: set CONCORD_BACKUP_DIR or pass --dir / --s3")
    now = datetime.now(UTC)
    failed = False
    sources: list[tuple[str, Callable[[], list[ListedBackup]]]] = []
    directory, s3 = targets.directory, targets.s3
    if directory is not None:
        sources.append((str(directory), lambda: list_folder(directory, verify=args.verify)))
    if s3 is not None:
        sources.append((s3.url, lambda: list_s3(s3)))
    for label, lister in sources:
        print(f"{label}:")
        try:
            found = lister()
        except (BackupError, S3Error, OSError) as exc:
            print(f"  unavailable: {exc}")
            failed = True
            continue
        if not found:
            print("  no backups")
        for item in found:
            age = describe_age((now - item.taken_at).total_seconds())
            print(
                f"  {item.name}  {age:>6} ago  {item.bytes:>12} bytes  "
                f"schema {item.schema}  {item.state}"
            )
            failed = failed or "MISMATCH" in item.state
    return 1 if failed else 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from concord.db.backups import BackupError, resolve_source, restore

    targets, settings = _backup_targets(args, dir_option="dir", s3_option="s3")
    db_path = _db_path(args)
    try:
        source = resolve_source(args.source, targets.directory, targets.s3)
        report = restore(
            source,
            db_path,
            health_file=settings.health_file,
            now=datetime.now(UTC),
            dry_run=args.dry_run,
            progress=lambda text: print(text, flush=True),
        )
    except BackupError as exc:
        raise ExitError(f"restore refused: {exc}", code=1) from None
    taken = report.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC") if report.taken_at else "unknown"
    verb = "would restore" if args.dry_run else "restored"
    print(
        f"{verb} {report.source} (taken {taken}, schema {report.schema}, "
        f"checksum {report.checksum}) in {report.seconds:.1f} s"
    )
    for name, count in report.rows.items():
        print(f"  {name:<24} {count:>9}")
    for note in report.notes:
        print(f"note: {note}")
    if report.set_aside is not None:
        print(f"the previous database is kept as {report.set_aside}")
    if not args.dry_run:
        print(f"{db_path}: db check ok")
    return 0


def cmd_db_stats(args: argparse.Namespace) -> int:
    from concord.db.maintenance import file_sizes, table_counts

    url = _db_url(args)
    if url is not None:
        return _pg_stats(url)
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


def _pg_stats(url: str) -> int:
    from concord.db.pgadmin import connect, facts
    from concord.db.pgadmin import table_counts as pg_table_counts

    counts = pg_table_counts(url)
    width = max((len(name) for name in counts), default=5)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>9}")
    with connect(url) as conn:
        found = facts(conn)
    print(
        f"{mask_password(url)}: {found.server}, schema version {found.version}, "
        f"database {found.size_bytes} bytes"
    )
    return 0


def _same_database(source: str | Path, target: str) -> bool:
    if isinstance(source, Path):
        return target.startswith("sqlite:///") and (
            Path(target.removeprefix("sqlite:///")).resolve() == source.resolve()
        )
    return mask_password(source) == mask_password(target)


def cmd_db_copy(args: argparse.Namespace) -> int:
    from concord.core.leave import format_days
    from concord.db.copy import CopyError, TableCopy, copy_database, open_side

    source_where: str | Path = _db_url(args) or _db_path(args)
    target_where: str = args.to
    if target_where.startswith(POSTGRES_SCHEMES):
        try:
            parse_database_url(target_where)
        except ValueError as exc:
            raise SettingsError("--to", str(exc)) from None
    elif not target_where.startswith("sqlite:///"):
        raise ExitError(
            f"--to {mask_password(target_where)!r}: give postgresql://user@host:5432/db or "
            "sqlite:///path/to/file.db"
        )
    if _same_database(source_where, target_where):
        raise ExitError("the target is the source itself")

    def progress(table: TableCopy) -> None:
        rows = plural(table.target_rows, "row")
        print(f"  {table.name:<22} {rows:>14}  {table.seconds:6.2f} s", flush=True)

    try:
        source = open_side(source_where)
        try:
            target = open_side(target_where, create=True)
            try:
                print(f"copying {source.shown} -> {target.shown}", flush=True)
                report = copy_database(
                    source, target, today=datetime.now(UTC).date(), progress=progress
                )
            finally:
                target.close()
        finally:
            source.close()
    except CopyError as exc:
        raise ExitError(f"copy refused: {exc}", code=1) from None
    print(
        f"copied {plural(report.rows, 'row')} in {len(report.tables)} tables in "
        f"{report.seconds:.1f} s; every table has the same row count on both sides"
    )
    print(
        f"leave balances: {plural(report.balances, 'balance')} (member, type, year) equal on "
        f"both sides, days available in total: {format_days(report.available_days)}"
    )
    if report.skipped:
        print(
            f"not copied (tables the migrations do not make, e.g. a module's own): "
            f"{', '.join(report.skipped)}"
        )
    return 0


# -- parser -----------------------------------------------------------------------------------
def _settings(*, postgres: bool = False) -> Settings:
    """The settings; a command that does not work on PostgreSQL yet (``postgres=False``)
    refuses ``CONCORD_DATABASE_URL`` rather than silently use the SQLite file."""
    settings = load_settings()
    if settings.database_url is not None and not postgres:
        raise SettingsError(
            "CONCORD_DATABASE_URL",
            f"PostgreSQL ({settings.database_url}) is not supported by this command yet; "
            "unset it to use SQLite at CONCORD_DB_PATH",
        )
    setup_logging(settings.log_level, settings.log_format)
    return settings


DB_HELP = "database file or postgresql:// URL (default: CONCORD_DATABASE_URL, else CONCORD_DB_PATH)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concord", description="Concord Desk: an office in Discord."
    )
    parser.add_argument("--version", action="version", version=f"concord-desk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the bot",
        description="Run the bot. By default one process runs every shard (as many as Discord "
        "recommends); several processes share the shards with --shard-count and --shard-ids "
        "(docs/ARCHITECTURE.md, Shards).",
    )
    run.add_argument(
        "--shard-count",
        type=int,
        default=None,
        help="how many shards in all, across every process (CONCORD_SHARD_COUNT)",
    )
    run.add_argument(
        "--shard-ids",
        default=None,
        metavar="IDS",
        help="the shards this process runs, like 0,1 (CONCORD_SHARD_IDS); needs --shard-count",
    )
    run.set_defaults(func=cmd_run)
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
    ):
        command = db.add_parser(name, help=text)
        command.add_argument("--db", help=DB_HELP)
        command.set_defaults(func=func)
    copy = db.add_parser(
        "copy",
        help="copy this office's database to an empty one (SQLite <-> PostgreSQL), verified",
        description="Copy every table into an empty database (migrated first), one transaction "
        "per table, then compare row counts and leave balances on both sides. Stop the bot "
        "first so nothing written after the copy is lost.",
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user:password@host:5432/db or sqlite:///path/to/file.db",
    )
    copy.add_argument("--db", help="the source: " + DB_HELP)
    copy.set_defaults(func=cmd_db_copy)
    _add_backup_commands(db)
    register_webhook(sub)
    register_web(sub)
    return parser


def _add_backup_commands(db: Any) -> None:
    backup = db.add_parser(
        "backup",
        help="online backup to PATH, or a verified backup to the folder / S3 now",
        description="PATH: a plain online copy. --to-dir / --to-s3: what the schedule does, "
        "now (verified, compressed, in the manifest, retention applied).",
    )
    backup.add_argument("--db", help=DB_HELP)
    backup.add_argument(
        "path", nargs="?", help="where to write a plain copy (PostgreSQL: a pg_dump -Fc file)"
    )
    backup.add_argument(
        "--to-dir",
        nargs="?",
        const="",
        metavar="DIR",
        help="backup folder (default: CONCORD_BACKUP_DIR)",
    )
    backup.add_argument(
        "--to-s3",
        nargs="?",
        const="",
        metavar="URL",
        help="s3://bucket/prefix (default: CONCORD_BACKUP_S3_URL)",
    )
    backup.set_defaults(func=cmd_db_backup)

    listing = db.add_parser("backups", help="list the backups in the folder and in S3")
    listing.add_argument("--dir", help="backup folder (default: CONCORD_BACKUP_DIR)")
    listing.add_argument("--s3", help="s3://bucket/prefix (default: CONCORD_BACKUP_S3_URL)")
    listing.add_argument(
        "--verify", action="store_true", help="re-hash every folder backup against the manifest"
    )
    listing.set_defaults(func=cmd_db_backups)

    restore = db.add_parser(
        "restore",
        help="restore a backup (a file, `latest`, or an S3 key); the bot must be stopped",
    )
    restore.add_argument(
        "source", help="a backup file, `latest`, s3://bucket/key or a backup name in S3"
    )
    restore.add_argument("--db", help="database file (default: CONCORD_DB_PATH)")
    restore.add_argument("--dir", help="backup folder for `latest` (default: CONCORD_BACKUP_DIR)")
    restore.add_argument("--s3", help="s3://bucket/prefix (default: CONCORD_BACKUP_S3_URL)")
    restore.add_argument(
        "--dry-run", action="store_true", help="verify only: checksum, integrity, schema"
    )
    restore.set_defaults(func=cmd_db_restore)


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

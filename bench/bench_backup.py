"""Backups of a year's database: the time and size of a verified backup to a folder and to S3
(moto's S3 server on loopback, in a child process), and the time to restore from each.

Seeds the ``bench_dar.py`` year database (500 members, ≈125k daily reports, 20k tasks, 5k
leave requests) in a child process, then, best of ``--repeat``:

- folder: online backup + integrity check + gzip + fsync + rename + manifest line
  (``take_backup`` with a folder, as the schedule runs it);
- folder + S3: the same and the upload, read back and compared (size + SHA-256 metadata);
- S3 only (``concord db backup --to-s3``), and the upload + verification on its own;
- restore from the folder and from S3: fetch, checksum, unpack, integrity check, swap in,
  ``db check`` (``restore``, as ``concord db restore`` runs it).

The folder is on the same disk as the database here (a NAS adds its network); loopback S3 has
no network cost, so the S3 figures are the client's and moto's work, a floor for real S3.

    .venv/bin/python bench/bench_backup.py [--members 500] [--repeat 3]

Targets (MET/MISSED lines): the year's backup to a folder < 5 s, its restore < 5 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import bench_dar
import benchlib

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests/
from concord.db.backups import (
    BackupRecord,
    BackupTargets,
    resolve_source,
    restore,
    take_backup,
)
from concord.db.s3store import S3Store
from tests.s3_server import S3_ENV, s3_client, start_moto, stop_moto

T = TypeVar("T")
START = datetime(2026, 12, 31, 3, 0, tzinfo=UTC)


def best_of(repeat: int, run: Callable[[int], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for attempt in range(repeat):
        started = time.perf_counter()
        result = run(attempt)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--leave", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    benchlib.header(f"Backups of the DAR year database ({args.members} members)")
    os.environ.update(S3_ENV)
    server, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="concord-bench-backup-") as directory:
            return measure(Path(directory), endpoint, args)
    finally:
        stop_moto(server)


def measure(root: Path, endpoint: str, args: argparse.Namespace) -> int:
    live = root / "data" / "concord.db"
    live.parent.mkdir()
    started = time.perf_counter()
    counts = bench_dar.seed_in_child(live, args.members, args.tasks, args.leave)
    print(
        "seeded: "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        + f" in {time.perf_counter() - started:.1f} s (child process)"
    )
    folder = root / "nas"
    folder.mkdir()
    s3_client(endpoint).create_bucket(Bucket="bench")
    store = S3Store("s3://bench/concord", endpoint=endpoint)
    moments = iter(START + timedelta(minutes=k) for k in range(1000))

    def to_folder(_: int) -> BackupRecord:
        return take_backup(live, BackupTargets(directory=folder), next(moments))

    def to_both(_: int) -> BackupRecord:
        return take_backup(live, BackupTargets(directory=folder, s3=store), next(moments))

    def to_s3_only(_: int) -> BackupRecord:
        return take_backup(live, BackupTargets(directory=None, s3=store), next(moments))

    folder_s, record = best_of(args.repeat, to_folder)
    both_s, s3_record = best_of(args.repeat, to_both)
    s3_only_s, _ = best_of(args.repeat, to_s3_only)
    packed = folder / s3_record.file
    metadata = {"sha256": s3_record.sha256, "bytes": str(s3_record.bytes)}
    upload_s, _ = best_of(args.repeat, lambda k: store.upload(packed, f"upload-{k}", metadata))
    health = root / "data" / "health.json"
    target = root / "restored" / "concord.db"

    def restore_from(source: str) -> Callable[[int], float]:
        def run(_: int) -> float:
            for leftover in target.parent.glob("*") if target.parent.exists() else []:
                leftover.unlink()
            resolved = resolve_source(source, folder, store)
            return restore(resolved, target, health_file=health, now=next(moments)).seconds

        return run

    folder_restore_s, _ = best_of(args.repeat, restore_from(str(folder / record.file)))
    s3_restore_s, _ = best_of(args.repeat, restore_from(s3_record.file))
    db_mb = record.db_bytes / 2**20
    gz_mb = record.bytes / 2**20
    print()
    print(
        benchlib.table(
            ["operation", "seconds", "database MiB", "backup MiB"],
            [
                ["backup to folder", round(folder_s, 2), round(db_mb, 1), round(gz_mb, 1)],
                ["backup to folder + S3", round(both_s, 2), round(db_mb, 1), round(gz_mb, 1)],
                ["backup to S3 only", round(s3_only_s, 2), round(db_mb, 1), round(gz_mb, 1)],
                ["  of which upload+verify", round(upload_s, 2), "", round(gz_mb, 1)],
                [
                    "restore from folder",
                    round(folder_restore_s, 2),
                    round(db_mb, 1),
                    round(gz_mb, 1),
                ],
                ["restore from S3", round(s3_restore_s, 2), round(db_mb, 1), round(gz_mb, 1)],
            ],
        )
    )
    print(f"compression: {record.db_bytes / max(record.bytes, 1):.1f}x (gzip level 6)")
    targets = benchlib.Targets()
    targets.below("backup to folder", folder_s, 5.0, " s")
    targets.below("restore from folder", folder_restore_s, 5.0, " s")
    targets.report()
    benchlib.emit(
        "backup",
        {
            "members": args.members,
            "rows": sum(record.rows.values()),
            "database_bytes": record.db_bytes,
            "backup_bytes": record.bytes,
            "backup_folder_s": round(folder_s, 3),
            "backup_folder_s3_s": round(both_s, 3),
            "backup_s3_only_s": round(s3_only_s, 3),
            "upload_verify_s": round(upload_s, 3),
            "restore_folder_s": round(folder_restore_s, 3),
            "restore_s3_s": round(s3_restore_s, 3),
        },
        targets,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

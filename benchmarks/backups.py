"""Benchmark: backups and restores of a 100,000-case office.

Seeds a throwaway database (temporary folder, deleted at the end) with --cases demo cases
(their documents, stored files and letters) and --audit entries in the audit trail (sealed into
its hash chain as the app seals them; see benchmarks/audit.py), then times, through the
services:

- `copy_database` (the backup API in 8 MB steps into a temporary file, journal mode DELETE,
  `integrity_check`, fsync, rename): what every automatic backup and "Back up now" costs;
  beside it the raw sqlite3 backup API alone and `integrity_check` alone, so the table shows
  where the time goes;
- `automatic_backup` (the copy plus the rotation of the backup folder);
- `describe` (the preview before a restore), `verify(chain=False)` and `verify(chain=True)`
  (integrity, foreign keys, schema, and the audit trail's seals on a scratch copy);
- `health` (the `quick_check` every start runs);
- `restore` (verify with the chain, a safety copy of the current database, a staged copy,
  and the copy into the live file in one transaction, then the trail entry).

Each figure is the median of --repeat runs after an untimed warm-up (`restore` of
--restore-repeat runs); p90, min and max are in the JSON. Files are fsynced by the app, so the
disk's flush speed counts; the OS cache is warm for every run alike.

Run it:

    .venv/bin/python benchmarks/backups.py          # 100,000 cases, 300,000 audit entries
    .venv/bin/python benchmarks/backups.py --quick  # 10,000 cases, 30,000 entries, ~30 s
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit import seed as seed_audit
from measuring import MB, log, stats, table
from referral_desk.db.integrity import inspect_file
from referral_desk.domain.access import Actor, UserRole
from referral_desk.paths import resolve_paths
from referral_desk.services import backups, demo
from referral_desk.services.database import health, open_database

ADMIN = Actor("admin", UserRole.ADMINISTRATOR)


def timed(run: Callable[[], object], repeat: int, after: Callable[[], None] = lambda: None) -> Any:
    """Median & co. in ms over `repeat` runs after one warm-up; `after` (untimed) cleans up."""
    run()
    after()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
        after()
    return stats(samples, 1)


def remove(*paths: Path) -> Callable[[], None]:
    def clean() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    return clean


def raw_backup(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def raw_integrity(path: Path) -> None:
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=300_000, help="audit entries to seed")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--restore-repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 cases, 3 runs each")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.audit, args.repeat, args.restore_repeat = 10_000, 30_000, 3, 3

    with tempfile.TemporaryDirectory(prefix="rd-backup-bench-") as folder:
        paths = resolve_paths(Path(folder) / "data")
        db = open_database(paths)
        log(f"seeding {args.cases:,} demo cases…")
        began = time.perf_counter()
        made = demo.generate(db, args.cases, seed=8)
        if args.audit:
            log(f"seeding {args.audit:,} audit entries…")
            seed_audit(db, args.audit, args.cases, random.Random(8))
        seeding_s = time.perf_counter() - began
        db.checkpoint()
        with db.read() as session:
            connection = session.connection()
            audit = connection.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar()
            stored_mb = (
                connection.exec_driver_sql("SELECT coalesce(sum(size), 0) FROM blobs").scalar() / MB
            )
        size_mb = db.path.stat().st_size / MB
        out = Path(folder) / "out"
        out.mkdir()
        copy = out / "copy.sqlite"
        results: dict[str, Any] = {}

        log("raw backup API…")
        results["raw sqlite3 backup API (one step, no checks)"] = timed(
            lambda: raw_backup(db.path, copy), args.repeat, remove(copy)
        )
        log("copy_database…")
        results["copy_database (backup API + integrity_check + fsync)"] = timed(
            lambda: backups.copy_database(db.path, copy), args.repeat, remove(copy)
        )
        backups.copy_database(db.path, copy)
        log("integrity_check…")
        results["raw integrity_check of the copy"] = timed(lambda: raw_integrity(copy), args.repeat)
        moments = iter(
            datetime(2026, 11, 24, tzinfo=UTC) + timedelta(hours=4 * n) for n in range(10**6)
        )
        log("automatic_backup…")
        results["automatic_backup (copy + rotation)"] = timed(
            lambda: backups.automatic_backup(db, paths, now=next(moments)), args.repeat
        )
        log("describe / verify / health…")
        results["describe (preview)"] = timed(lambda: backups.describe(copy), args.repeat)
        results["verify(chain=False)"] = timed(
            lambda: backups.verify(copy, chain=False), args.repeat
        )
        results["verify(chain=True)"] = timed(lambda: backups.verify(copy, chain=True), args.repeat)
        results["health (quick_check at start-up)"] = timed(lambda: health(db.path), args.repeat)
        safety = Path(folder) / "safety"

        def drop_safety_copies() -> None:
            for path in safety.glob("*.sqlite"):
                path.unlink()

        log("restore…")
        results["restore (verify + safety copy + stage + copy in)"] = timed(
            lambda: backups.restore(db, copy, actor=ADMIN, safety_folder=safety),
            args.restore_repeat,
            drop_safety_copies,
        )
        kept = len(backups.list_automatic(paths.backup_dir))
        db.dispose()
        sound = inspect_file(db.path).ok

    body = [
        (name, f"{figures['median']:,.1f}", f"{figures['p90']:,.1f}", f"{figures['max']:,.1f}")
        for name, figures in results.items()
    ]
    copy_ms = results["copy_database (backup API + integrity_check + fsync)"]["median"]
    print(
        f"\nBackups: {made.cases:,} cases, {audit:,} audit entries, {made.files:,} stored files "
        f"({stored_mb:,.2f} MB of them); database file {size_mb:,.1f} MB"
    )
    print(f"seeding: {seeding_s:.1f} s; after the restores the database checks: {sound}")
    print(f"copy_database: {size_mb / (copy_ms / 1000):,.0f} MB/s; rotation kept {kept} copies\n")
    print(table(("step", "median ms", "p90 ms", "max ms"), body, left=(0,)))
    print(
        json.dumps(
            {
                "cases": made.cases,
                "audit_entries": audit,
                "file_mb": round(size_mb, 1),
                "stored_files_mb": round(stored_mb, 2),
                "seeding_s": round(seeding_s, 1),
                "repeat": args.repeat,
                "restore_repeat": args.restore_repeat,
                "results_ms": results,
                "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

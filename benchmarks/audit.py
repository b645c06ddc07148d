"""Benchmark: the audit trail at the size a busy office reaches in a few years.

Seeds a throwaway database (temporary folder, deleted at the end) with --entries audit entries
(default 1,000,000: views, changes and sign-ins by 12 people over 100,000 cases, sealed into
the hash chain by the app's own `db.audit_trail.append`) and times, through the services:

- one entry appended in its own write transaction (`audit_log.opened_case`: what opening a
  case adds to the click);
- the viewer's first page (500 rows, newest first) unfiltered and filtered by user, case,
  patient, action and a month's date range, and each filter's count;
- one case's history (`audit_log.case_history`);
- the integrity check over the whole trail (`audit_log.verify_chain`);
- the CSV export of one user's month.

Each figure is the median of --repeat runs after an untimed warm-up; the integrity check and
the export are medians of 3. Targets: opening a case adds under 10 ms; any first page and any
case history under 100 ms; the integrity check under 30 s per million entries.

Run it:

    .venv/bin/python benchmarks/audit.py            # 1,000,000 entries, a few minutes here
    .venv/bin/python benchmarks/audit.py --quick    # 100,000 entries, about 30 s
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from measuring import log, stats
from referral_desk.db import audit_trail
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.audit import AuditAction, AuditEntry
from referral_desk.paths import resolve_paths
from referral_desk.services import audit_log, demo
from referral_desk.services.database import open_database

PEOPLE = [f"user{n:02d}" for n in range(12)]
CHUNK = 20_000


def seed(db: Any, entries: int, cases: int, rng: random.Random) -> None:
    """Synthetic entries over the demo's case ids, oldest first, sealed in chunks."""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    step = (datetime(2026, 11, 1, tzinfo=UTC) - start) / entries
    actions = [AuditAction.VIEW] * 6 + [AuditAction.CHANGE] * 3 + [AuditAction.SIGN_IN]
    with db.engine.begin() as connection:
        patients = dict(connection.exec_driver_sql("SELECT id, patient_id FROM cases").all())
    ids = sorted(patients)
    made = 0
    while made < entries:
        batch = []
        for n in range(made, min(made + CHUNK, entries)):
            action = rng.choice(actions)
            case_id = rng.choice(ids) if action is not AuditAction.SIGN_IN else None
            batch.append(
                AuditEntry(
                    at=start + step * n,
                    actor=rng.choice(PEOPLE),
                    action=action,
                    entity="case" if case_id else "user",
                    entity_id=str(case_id or ""),
                    case_id=case_id,
                    patient_id=patients[case_id] if case_id else None,
                    changes={"urgency": ("routine", "urgent")}
                    if action is AuditAction.CHANGE
                    else {},
                )
            )
        with db.engine.begin() as connection:
            audit_trail.append(connection, batch)
        made += len(batch)
        log(f"  {made:,} of {entries:,} entries")


def timed(run: Callable[[], object], repeat: int) -> dict[str, float]:
    run()  # warm-up: caches, first-page reads
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return stats(samples, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="100,000 entries, 10,000 cases")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.cases, args.repeat = 100_000, 10_000, 7
    rng = random.Random(8)
    with tempfile.TemporaryDirectory(prefix="rd-audit-bench-") as folder:
        db = open_database(resolve_paths(Path(folder)))
        log(f"seeding {args.cases:,} demo cases…")
        demo.generate(db, args.cases, seed=8)
        log(f"seeding {args.entries:,} audit entries…")
        began = time.perf_counter()
        seed(db, args.entries, args.cases, rng)
        seeding = time.perf_counter() - began
        with db.engine.begin() as connection:
            total = connection.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar()
            case_id, patient_id = connection.exec_driver_sql(
                "SELECT case_id, patient_id FROM audit_entries WHERE case_id IS NOT NULL "
                "ORDER BY id DESC LIMIT 1"
            ).one()
        viewer = Actor("user00", UserRole.MANAGER)
        month = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
        filters = {
            "unfiltered": audit_log.AuditFilter(),
            "by user": audit_log.AuditFilter(actor="user03"),
            "by case": audit_log.AuditFilter(case_id=case_id),
            "by patient": audit_log.AuditFilter(patient_id=patient_id),
            "by action (sign-ins)": audit_log.AuditFilter(actions=frozenset({AuditAction.SIGN_IN})),
            "by month": audit_log.AuditFilter(since=month[0], until=month[1]),
            "user + month": audit_log.AuditFilter(actor="user03", since=month[0], until=month[1]),
        }
        results: dict[str, Any] = {
            "opening a case (one entry, own transaction)": timed(
                lambda: audit_log.opened_case(db, case_id, actor=viewer), args.repeat
            )
        }
        for name, f in filters.items():
            results[f"first page, {name}"] = timed(
                lambda f=f: audit_log.entries(db, f), args.repeat
            )
            results[f"count, {name}"] = timed(lambda f=f: audit_log.count(db, f), args.repeat)
        results["case history"] = timed(lambda: audit_log.case_history(db, case_id), args.repeat)
        out = Path(folder) / "audit.csv"
        results["CSV export, one user's month"] = timed(
            lambda: audit_log.export_csv(db, filters["user + month"], out, actor=viewer), 3
        )
        check = timed(lambda: audit_log.verify_chain(db), 3)
        results["integrity check, whole trail"] = check
        report = audit_log.verify_chain(db)
        size_mb = Path(db.path).stat().st_size / 1024 / 1024
        db.dispose()

    print(f"\nAudit trail: {total:,} entries over {args.cases:,} cases; file {size_mb:,.0f} MB")
    print(f"seeding (sealing + inserting): {seeding:.1f} s ({total / seeding:,.0f} entries/s)")
    print(f"integrity: {'intact' if report.ok else report.problem}\n")
    print(f"{'step':<52}{'median ms':>12}{'p90 ms':>10}")
    for name, figures in results.items():
        print(f"{name:<52}{figures['median']:>12,.2f}{figures['p90']:>10,.2f}")
    per_million = check["median"] / 1000 / (total / 1_000_000)
    print(f"\nintegrity check: {per_million:.1f} s per million entries (target < 30 s)")
    print(
        json.dumps(
            {
                "entries": total,
                "cases": args.cases,
                "file_mb": round(size_mb, 1),
                "seeding_s": round(seeding, 1),
                "results_ms": results,
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

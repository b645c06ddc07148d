"""Benchmark: kill a writer with SIGKILL again and again; count what was lost.

A forked child takes in cases through the real services (`cases.create_case`, and every third
one an edit with `cases.update_case`) on one database file, saying each reference only after
the service returned, i.e. after its COMMIT was acknowledged. The parent kills it with
SIGKILL at a random moment (0 to --max-delay seconds after it is ready), then checks a copy
of what the killed writer left on disk (file and WAL): it opens as the app opens it
(`open_database_file`), holds every acknowledged case and edit from every kill so far and no
half-saved case, and passes `PRAGMA integrity_check` and the foreign key check. The next
writer starts on the original, WAL and all, so it recovers the previous crash itself; the
file grows over the run, and the writer's own checkpoints (every ~4 MB of WAL) get killed
too. At the end the audit trail's hash chain is verified on the file itself.

Counts printed: kills, acknowledged cases and edits, lost (must be 0), corrupt (must be 0),
and the time to reopen and check after a kill. Exit status 1 if anything was lost or corrupt.
POSIX only (fork, SIGKILL).

Run it:

    .venv/bin/python benchmarks/crash_safety.py               # 200 kills, about a minute
    .venv/bin/python benchmarks/crash_safety.py --kills 1000
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
from pathlib import Path

from measuring import log, stats, table

# The kill-and-check cycle is shared with the test suite (tests/reliability.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.reliability import (
    CAN_FORK,
    NO_FORK,
    Acknowledged,
    KillOutcome,
    kill_once,
    prepare_crash_database,
)

from referral_desk.services import audit_log
from referral_desk.services.database import open_database_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument(
        "--max-delay", type=float, default=0.5, help="longest wait before a kill, seconds"
    )
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    if not CAN_FORK:
        print(NO_FORK, file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    acknowledged = Acknowledged()
    outcomes: list[KillOutcome] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rd-crash-bench-") as folder:
        path = Path(folder) / "office.sqlite"
        prepare_crash_database(path)
        for kill in range(1, args.kills + 1):
            outcome = kill_once(
                path,
                Path(folder) / "after-crash",
                acknowledged,
                rng,
                max_delay_s=args.max_delay,
                seed=kill,
            )
            outcomes.append(outcome)
            for problem in (*outcome.lost, *outcome.problems):
                log(f"  kill {kill}: {problem}")
            if kill % 20 == 0:
                log(f"  {kill} kills, {len(acknowledged.references):,} acknowledged cases")
        db = open_database_file(path)
        try:
            trail = audit_log.verify_chain(db)
        finally:
            db.dispose()
        size_mb = path.stat().st_size / 1024 / 1024
    elapsed = time.perf_counter() - began

    lost = sum(len(o.lost) for o in outcomes)
    corrupt = sum(1 for o in outcomes if o.problems) + (0 if trail.ok else 1)
    reopen = stats([o.reopen_s * 1000 for o in outcomes], 1)
    figures = {
        "kills": len(outcomes),
        "acknowledged_cases": len(acknowledged.references),
        "acknowledged_edits": acknowledged.edits,
        "cases_edited": len(acknowledged.versions),
        "killed_with_no_case_yet": sum(1 for o in outcomes if o.acknowledged == 0),
        "lost": lost,
        "corrupt": corrupt,
        "audit_entries": trail.entries,
        "audit_chain_intact": trail.ok,
        "reopen_and_check_ms": reopen,
        "file_mb": round(size_mb, 1),
        "run_s": round(elapsed, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    rows = [
        ("kills (SIGKILL)", f"{len(outcomes):,}"),
        ("acknowledged cases", f"{len(acknowledged.references):,}"),
        ("acknowledged edits", f"{acknowledged.edits:,}"),
        ("  of distinct cases", f"{len(acknowledged.versions):,}"),
        ("lost (must be 0)", f"{lost:,}"),
        ("corrupt (must be 0)", f"{corrupt:,}"),
        ("audit trail", f"{trail.entries:,} entries, {'intact' if trail.ok else 'BROKEN'}"),
        ("reopen + check, median ms", f"{reopen['median']:,.1f}"),
        ("reopen + check, p90 ms", f"{reopen['p90']:,.1f}"),
        ("reopen + check, max ms", f"{reopen['max']:,.1f}"),
        ("file at the end, MB", f"{size_mb:,.1f}"),
    ]
    print(
        f"\nCrash safety: {len(outcomes)} kills in {elapsed:.0f} s, SQLite {sqlite3.sqlite_version}"
    )
    print(table(("", "count"), rows, left=(0,)))
    print(json.dumps(figures))
    return 1 if lost or corrupt else 0


if __name__ == "__main__":
    sys.exit(main())

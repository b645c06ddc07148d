"""Benchmark: letters, one at a time and a batch of 500, through the app's own services.

Seeds a throwaway database with demo cases (in a temporary folder, deleted at the end: never the
user data folder) and times, for the patient summary letter:

- one letter, render only: `pdf.letters.render_letter` of a composed `LetterDocument`;
- one letter, compose only: `services.letters.compose` (case, office profile, template);
- one letter, compose + render + archive: `services.letters.generate` (what a click costs);
- render only for patients with an Arabic, a Devanagari and a CJK name (font fallback and
  shaping), and in large print;
- a batch of --batch letters (500) through `services.letters.generate_batch`: each letter
  composed, rendered and archived with its case, and the combined PDF written.

Each one-letter figure is the median of --repeat runs after an untimed warm-up (p90, min and
max are in the JSON); the batch is the median of --batch-runs runs. Memory along the batch: the
resident size (VmRSS) after every 100 letters of the first timed run, the peak resident size
over it (VmHWM, reset just before, on Linux), and the Python heap (tracemalloc) after every
100 letters of a separate, untimed run (tracing slows allocation down several times).

Targets: one letter (compose + render + archive) under 20 ms; 500 letters under 10 s including
the archive; memory flat over the batch (the resident size after the last letter is less than
16 MB above what it was before the first).

Run it:

    .venv/bin/python benchmarks/letters.py            # full run, about a minute here
    .venv/bin/python benchmarks/letters.py --quick    # smoke run, a batch of 100, about 15 s
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import reportlab
from pypdf import PdfReader

from measuring import log, maxrss_mb, proc_status_mb, reset_peak, stats, table
from referral_desk.db.engine import Database
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.text import full_name
from referral_desk.paths import resolve_paths
from referral_desk.pdf.letters import render_letter
from referral_desk.services import cases, demo, letters
from referral_desk.services.case_export import iter_rows
from referral_desk.services.case_list import CaseQuery, SortKey
from referral_desk.services.database import open_database

MB = 1024 * 1024
ACTOR = "bench"
KIND = LetterKind.SUMMARY
TARGET_ONE_MS = 20.0
TARGET_BATCH_S = 10.0
TARGET_BATCH_SIZE = 500  # the batch target is about this many letters
TARGET_FLAT_MB = 16.0
CHECKPOINT = 100  # sample memory after every this many letters
SCRIPTS = {"Arabic": "ARABIC", "Devanagari": "DEVANAGARI", "CJK": "CJK"}

FULL = {"cases": 2000, "repeat": 30, "batch": 500, "batch_runs": 3}
QUICK = {"cases": 600, "repeat": 10, "batch": 100, "batch_runs": 1}


@dataclass(frozen=True)
class OneResult:
    name: str
    ms: list[float]
    targeted: bool
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def verdict(self) -> str:
        if not self.targeted:
            return "n/a"
        return "yes" if self.median < TARGET_ONE_MS else f"NO (>= {TARGET_ONE_MS:g} ms)"

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "ms": stats(self.ms),
            "targeted": self.targeted,
            "target_met": None if not self.targeted else self.verdict == "yes",
            **self.detail,
        }


@dataclass(frozen=True)
class BatchMeasure:
    letters: int
    seconds: list[float]
    pages: int
    pdf_bytes: int
    pages_match: bool  # the combined PDF's pages == the sum of the archived letters' pages
    rss_mb: list[tuple[int, float]]  # (letters done, VmRSS) along the first timed run
    peak_growth_mb: float | None  # VmHWM after - VmRSS before, first timed run
    peak_method: str
    heap_mb: list[tuple[int, float]]  # (letters done, tracemalloc current) along the traced run
    heap_peak_mb: float
    traced_seconds: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def judged(self) -> bool:
        return self.letters == TARGET_BATCH_SIZE

    @property
    def time_verdict(self) -> str:
        if not self.judged:
            return f"n/a ({self.letters} letters)"
        return "yes" if self.median < TARGET_BATCH_S else f"NO (>= {TARGET_BATCH_S:g} s)"

    @property
    def rss_growth_mb(self) -> float | None:
        if len(self.rss_mb) < 2:
            return None
        return self.rss_mb[-1][1] - self.rss_mb[0][1]

    @property
    def heap_growth_mb(self) -> float:
        return self.heap_mb[-1][1] - self.heap_mb[0][1] if len(self.heap_mb) > 1 else 0.0

    @property
    def flat_verdict(self) -> str:
        growth = self.rss_growth_mb
        if growth is None:
            return "n/a (no VmRSS here)"
        return "yes" if growth < TARGET_FLAT_MB else f"NO (+{growth:.1f} MB)"

    def as_json(self) -> dict[str, Any]:
        return {
            "letters": self.letters,
            "seconds": stats(self.seconds),
            "per_letter_ms": round(self.median / self.letters * 1000, 2),
            "pages": self.pages,
            "pdf_mb": round(self.pdf_bytes / MB, 2),
            "pages_match_archive": self.pages_match,
            "target_met": None if not self.judged else self.time_verdict == "yes",
            "memory": {
                "rss_mb_after": {str(done): round(mb, 1) for done, mb in self.rss_mb},
                "rss_growth_first_to_last_mb": None
                if self.rss_growth_mb is None
                else round(self.rss_growth_mb, 1),
                "flat": self.flat_verdict == "yes",
                "peak_rss_growth_mb": None
                if self.peak_growth_mb is None
                else round(self.peak_growth_mb, 1),
                "peak_method": self.peak_method,
                "python_heap_mb_after": {str(done): round(mb, 2) for done, mb in self.heap_mb},
                "python_heap_peak_mb": round(self.heap_peak_mb, 2),
                "traced_run_s": round(self.traced_seconds, 2),
            },
        }


# Memory readings


# The database


def seed(db: Database, count: int) -> float:
    log(f"seeding {count:,} demo cases ...")
    started = time.perf_counter()
    demo.generate(db, count, seed=1)
    return time.perf_counter() - started


def summary_cases(db: Database, wanted: int) -> list[int]:
    """Cases with an opinion that can have a summary letter, oldest reference first."""
    found: list[int] = []
    statuses = frozenset({CaseStatus.CLOSED, CaseStatus.LETTER_SENT, CaseStatus.OPINION_RECEIVED})
    for row in iter_rows(db, CaseQuery(statuses=statuses, sort=SortKey.REFERENCE)):
        if letters.available_kinds(db, row.id).get(KIND, "") is None:
            found.append(row.id)
            if len(found) == wanted:
                break
    return found


def by_script(db: Database, case_ids: Sequence[int]) -> dict[str, int]:
    """A case whose patient's name is written in each script, where the demo has one."""
    found: dict[str, int] = {}
    for case_id in case_ids:
        patient = cases.get_case(db, case_id).patient
        name = full_name(patient.given_names, patient.family_name)
        for label, marker in SCRIPTS.items():
            if label not in found and any(
                marker in unicodedata.name(ch, "") for ch in name if not ch.isascii()
            ):
                found[label] = case_id
        if len(found) == len(SCRIPTS):
            break
    return found


# One letter


def time_one(name: str, run: Callable[[], Any], repeat: int, *, targeted: bool) -> OneResult:
    run()  # warm-up: fonts registered, templates and office profile read once
    samples: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return OneResult(name, samples, targeted)


def one_letter(
    db: Database, case_id: int, scripts: dict[str, int], repeat: int, now: datetime
) -> tuple[list[OneResult], dict[str, Any], bool]:
    document = letters.compose(db, case_id, KIND, now=now)
    first = render_letter(document)
    deterministic = render_letter(document) == first
    results = [
        time_one("render only", lambda: render_letter(document), repeat, targeted=False),
        time_one(
            "compose only",
            lambda: letters.compose(db, case_id, KIND, now=now),
            repeat,
            targeted=False,
        ),
        time_one(
            "compose + render + archive (generate)",
            lambda: letters.generate(db, case_id, KIND, actor=ACTOR, now=now),
            repeat,
            targeted=True,
        ),
    ]
    large = letters.compose(db, case_id, KIND, now=now, large_print=True)
    results.append(
        time_one("render only, large print", lambda: render_letter(large), repeat, targeted=False)
    )
    for label in SCRIPTS:
        if label not in scripts:
            continue
        doc = letters.compose(db, scripts[label], KIND, now=now)
        results.append(
            time_one(
                f"render only, {label} name", lambda d=doc: render_letter(d), repeat, targeted=False
            )
        )
    pages = len(PdfReader(io.BytesIO(first)).pages)
    return results, {"pdf_kb": round(len(first) / 1024, 1), "pages": pages}, deterministic


# The batch


def run_batch(
    db: Database, case_ids: Sequence[int], out: Path, now: datetime, *, sample: Callable[[], float]
) -> tuple[float, letters.BatchResult, list[tuple[int, float]]]:
    """One generate_batch; `sample` is read before the first letter and every CHECKPOINT."""
    readings: list[tuple[int, float]] = [(0, sample())]
    total = len(case_ids)

    def progress(done: int) -> None:
        if done % CHECKPOINT == 0 or done == total:
            readings.append((done, sample()))

    started = time.perf_counter()
    result = letters.generate_batch(
        db, case_ids, KIND, out, actor=ACTOR, progress=progress, now=now
    )
    seconds = time.perf_counter() - started
    if result.cancelled or len(result.letter_ids) != total:
        raise RuntimeError(f"the batch made {len(result.letter_ids)} of {total} letters")
    return seconds, result, readings


def measure_batch(
    db: Database, case_ids: Sequence[int], work: Path, runs: int, now: datetime
) -> BatchMeasure:
    out = work / "batch.pdf"
    log(f"warming up: a batch of {min(20, len(case_ids))} letters ...")
    run_batch(db, case_ids[:20], out, now, sample=lambda: 0.0)

    def rss() -> float:
        return proc_status_mb().get("VmRSS", 0.0)

    seconds: list[float] = []
    rss_readings: list[tuple[int, float]] = []
    peak_growth: float | None = None
    peak_method = "ru_maxrss after - before (no /proc here)"
    last: letters.BatchResult | None = None
    for run in range(runs):
        log(f"batch of {len(case_ids)} letters, run {run + 1} of {runs} ...")
        gc.collect()
        reset = reset_peak()
        before = proc_status_mb()
        maxrss_before = maxrss_mb()
        elapsed, last, readings = run_batch(db, case_ids, out, now, sample=rss)
        after = proc_status_mb()
        seconds.append(elapsed)
        if run == 0:
            rss_readings = readings if before else []
            if before and after:
                peak_growth = after["VmHWM"] - before["VmRSS"]
                peak_method = "VmHWM reset by clear_refs" if reset else "VmHWM - VmRSS (not reset)"
            else:
                peak_growth = maxrss_mb() - maxrss_before
    assert last is not None
    archived = sum(info.pages for info in _infos(db, last.letter_ids, case_ids))
    combined = len(PdfReader(out).pages)
    pdf_bytes = out.stat().st_size

    log("batch again with tracemalloc (untimed: tracing slows it down) ...")
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        _, _, heap = run_batch(
            db,
            case_ids,
            out,
            now,
            sample=lambda: (tracemalloc.get_traced_memory()[0] - base) / MB,
        )
        traced_s = time.perf_counter() - started
        heap_peak = (tracemalloc.get_traced_memory()[1] - base) / MB
    finally:
        tracemalloc.stop()
    return BatchMeasure(
        letters=len(case_ids),
        seconds=seconds,
        pages=combined,
        pdf_bytes=pdf_bytes,
        pages_match=combined == archived == last.pages,
        rss_mb=rss_readings,
        peak_growth_mb=peak_growth,
        peak_method=peak_method,
        heap_mb=heap,
        heap_peak_mb=heap_peak,
        traced_seconds=traced_s,
    )


def _infos(
    db: Database, letter_ids: Sequence[int], case_ids: Sequence[int]
) -> list[letters.LetterInfo]:
    wanted = set(letter_ids)
    found = [i for c in case_ids for i in letters.list_letters(db, c) if i.id in wanted]
    if len(found) != len(wanted):
        raise RuntimeError(f"{len(wanted) - len(found)} batch letters are not in the archive")
    return found


# Output


def format_one(results: list[OneResult]) -> str:
    header = ("one summary letter", "median ms", "p90 ms", "target met?")
    body = [
        (r.name, f"{r.median:.1f}", f"{r.as_json()['ms']['p90']:.1f}", r.verdict) for r in results
    ]
    return table(header, body, left=(0, 3))


def format_batch(batch: BatchMeasure) -> str:
    header = ("batch", "median s", "per letter ms", "pages", "PDF MB", "target met?")
    body = [
        (
            f"generate_batch, {batch.letters} letters (archive + combined PDF)",
            f"{batch.median:.2f}",
            f"{batch.median / batch.letters * 1000:.1f}",
            f"{batch.pages:,}",
            f"{batch.pdf_bytes / MB:.1f}",
            batch.time_verdict,
        )
    ]
    return table(header, body, left=(0, 5))


def format_memory(batch: BatchMeasure) -> str:
    rss = dict(batch.rss_mb)
    heap = dict(batch.heap_mb)
    done = sorted(set(rss) | set(heap))
    header = ("letters done", "RSS MB", "Python heap MB (traced run)")
    body = [
        (
            f"{n:,}",
            f"{rss[n]:.1f}" if n in rss else "-",
            f"{heap[n]:.2f}" if n in heap else "-",
        )
        for n in done
    ]
    return table(header, body, left=())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 600 cases, 10 runs, a batch of 100"
    )
    parser.add_argument("--cases", type=int, default=None, help="demo cases to seed (2000)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per letter (30)")
    parser.add_argument("--batch", type=int, default=None, help="letters in the batch (500)")
    parser.add_argument("--batch-runs", type=int, default=None, help="timed batch runs (3)")
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where the temporary folder goes (default: the system's; mind tmpfs: no real fsync)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.cases, args.repeat, args.batch, args.batch_runs) < 1:
        parser.error("--cases, --repeat, --batch and --batch-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="referral-desk-letters-", dir=args.tmp_dir) as temp:
        work = Path(temp)
        db = open_database(resolve_paths(work / "office"))  # never the real user data folder
        try:
            seeding_s = seed(db, args.cases)
            candidates = summary_cases(db, args.batch + 1)
            if len(candidates) < args.batch + 1:
                raise SystemExit(
                    f"only {len(candidates)} demo cases can have a summary letter; "
                    f"raise --cases above {args.cases}"
                )
            single, batch_ids = candidates[0], candidates[1:]
            scripts = by_script(db, candidates)
            missing = sorted(set(SCRIPTS) - set(scripts))
            if missing:
                log(f"no demo patient with a {', '.join(missing)} name: those rows are skipped")
            log(f"timing one letter ({args.repeat} runs each) ...")
            single_results, letter_detail, deterministic = one_letter(
                db, single, scripts, args.repeat, now
            )
            batch = measure_batch(db, batch_ids, work, args.batch_runs, now)
        finally:
            db.dispose()
        filesystem = os.statvfs(work)
    elapsed = time.perf_counter() - started

    print(
        f"Letters benchmark{' (quick)' if args.quick else ''}: {args.cases:,} demo cases "
        f"(seeded in {seeding_s:.1f} s); one letter: median of {args.repeat} runs; batch: "
        f"median of {args.batch_runs} run(s); took {elapsed:.0f} s"
    )
    print(
        f"targets: one letter (compose + render + archive) < {TARGET_ONE_MS:g} ms; "
        f"{TARGET_BATCH_SIZE} letters < {TARGET_BATCH_S:g} s including the archive; memory "
        f"flat (RSS after the last letter < {TARGET_FLAT_MB:g} MB above before the first)"
    )
    print(
        f"the single letter: {letter_detail['pages']} page(s), {letter_detail['pdf_kb']} KB; "
        f"rendered twice: {'identical bytes' if deterministic else 'BYTES DIFFER'}"
    )
    print()
    print(format_one(single_results))
    print()
    print(format_batch(batch))
    print()
    print(format_memory(batch))
    growth = batch.rss_growth_mb
    print(
        f"RSS growth from {batch.rss_mb[0][0] if batch.rss_mb else 0} to {batch.letters} "
        f"letters: {'n/a' if growth is None else f'{growth:+.1f} MB'} (flat? "
        f"{batch.flat_verdict}); peak RSS growth over the batch: "
        + ("n/a" if batch.peak_growth_mb is None else f"{batch.peak_growth_mb:.1f} MB")
        + f" ({batch.peak_method}); Python heap peak {batch.heap_peak_mb:.1f} MB"
    )
    print(
        "combined PDF pages == sum of the archived letters' pages: "
        + ("yes" if batch.pages_match else "NO")
    )
    print()

    report = {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "temp_fs_block_size": filesystem.f_bsize,
        },
        "python": sys.version.split()[0],
        "reportlab": reportlab.Version,
        "sqlite": sqlite3.sqlite_version,
        "quick": args.quick,
        "cases": args.cases,
        "seeding_s": round(seeding_s, 2),
        "repeat": args.repeat,
        "batch_runs": args.batch_runs,
        "elapsed_s": round(elapsed, 1),
        "targets": {
            "one_letter_ms": TARGET_ONE_MS,
            "batch_s": TARGET_BATCH_S,
            "batch_letters": TARGET_BATCH_SIZE,
            "flat_rss_growth_mb": TARGET_FLAT_MB,
        },
        "one_letter": {
            **letter_detail,
            "deterministic": deterministic,
            "results": [r.as_json() for r in single_results],
        },
        "batch": batch.as_json(),
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

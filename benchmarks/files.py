"""Benchmark: the file store (bytes inside SQLite, by SHA-256, streamed in 1 MB chunks).

Times `referral_desk.services.files` against a raw baseline doing the same job the simple way
with `hashlib` and a plain `sqlite3` connection (WAL, synchronous=FULL, like the app):

- add_file of a 1, 10 and 100 MB file (random bytes behind a PDF header, new bytes every run,
  so every run really stores them) vs. read the whole file, sha256 it, INSERT it as one BLOB;
- add_file of the same 100 MB file again, to another case (already stored: hash only) vs.
  read + sha256 + SELECT by hash + INSERT an attachment row;
- save_copy of the 100 MB file (stream out, check the hash, fsync, rename) vs. SELECT the whole
  BLOB, sha256, write, fsync, rename;
- verify_files over 20 x 10 MB files vs. SELECT every BLOB whole and sha256 it;
- extract_text of a 50-page text PDF (reportlab) vs. pypdf on the bytes of the file.

Peak memory: adding the 100 MB file in a fresh subprocess (after a warm-up add), growth of the
peak resident size across the one call, vs. the raw baseline that reads the whole file at once.
On Linux the peak is VmHWM, reset just before the call: a child's ru_maxrss starts at its
parent's peak, so its before/after difference would hide anything below the benchmark's own
peak (ru_maxrss is reported too, and used where /proc is missing).

MB here is 1024 x 1024 bytes. Every time is the median of --repeat runs after one untimed
warm-up, app and raw interleaved (alternating which goes first); p90, min and max are in the
JSON. The source files are written and fsynced before each run, so they are in the OS cache for
both sides alike.

Targets (100 MB file): add_file under 5 s and within 3x of raw; peak RSS growth under 50 MB.

Run it (everything lives in a temporary folder, deleted at the end):

    .venv/bin/python benchmarks/files.py            # full run, well under a minute here
    .venv/bin/python benchmarks/files.py --quick    # smoke run, small files, under 30 s
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy

from measuring import log, maxrss_mb, proc_status_mb, reset_peak, stats, table
from referral_desk.db.engine import Database
from referral_desk.domain.enums import Sex
from referral_desk.domain.intake import CaseDraft, PatientDraft
from referral_desk.services import cases, files, settings
from referral_desk.services.database import open_database_file

MB = 1024 * 1024
PDF_HEAD = b"%PDF-1.4\n"
TARGET_SIZE_MB = 100  # the targets are about a file of this size
TARGET_ADD_S = 5.0
TARGET_RATIO = 3.0
TARGET_RSS_MB = 50.0
ACTOR = "bench"
BIG_DOCUMENT = "imaging_files"  # not on the breast checklist: added as received
SMALL_DOCUMENT = "pathology_report"

FULL = {
    "sizes": (1, 10, 100),
    "repeat": 5,
    "verify_count": 20,
    "verify_mb": 10,
    "pdf_pages": 50,
    "memory_runs": 3,
}
QUICK = {
    "sizes": (1, 4, 16),
    "repeat": 3,
    "verify_count": 5,
    "verify_mb": 2,
    "pdf_pages": 10,
    "memory_runs": 1,
}


# Results


@dataclass(frozen=True)
class Result:
    name: str
    app_s: list[float]
    raw_s: list[float]
    run_bytes: int | None  # bytes handled per run (for MB/s); None: not a throughput
    targeted: bool = False  # the add-100-MB targets apply
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def app_median(self) -> float:
        return statistics.median(self.app_s)

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_s)

    @property
    def ratio(self) -> float:
        return self.app_median / self.raw_median if self.raw_median > 0 else float("inf")

    def mb_per_s(self, seconds: float) -> float | None:
        if self.run_bytes is None or seconds <= 0:
            return None
        return self.run_bytes / MB / seconds

    @property
    def verdict(self) -> str:
        if not self.targeted:
            return "n/a"
        misses = []
        if self.app_median >= TARGET_ADD_S:
            misses.append(f">={TARGET_ADD_S:g} s")
        if self.ratio > TARGET_RATIO:
            misses.append(f">{TARGET_RATIO:g}x raw")
        return "yes" if not misses else "NO (" + ", ".join(misses) + ")"

    def as_json(self) -> dict[str, Any]:
        app_rate = self.mb_per_s(self.app_median)
        raw_rate = self.mb_per_s(self.raw_median)
        return {
            "scenario": self.name,
            "targeted": self.targeted,
            "mb_per_run": None if self.run_bytes is None else round(self.run_bytes / MB, 3),
            "app_s": stats(self.app_s, 4),
            "raw_s": stats(self.raw_s, 4),
            "app_mb_per_s": None if app_rate is None else round(app_rate, 1),
            "raw_mb_per_s": None if raw_rate is None else round(raw_rate, 1),
            "ratio": round(self.ratio, 2),
            "target_met": None if not self.targeted else self.verdict == "yes",
            **self.detail,
        }


@dataclass(frozen=True)
class MemoryResult:
    file_mb: float
    app: list[dict[str, Any]]  # one child report per run
    raw: list[dict[str, Any]]
    targeted: bool

    @staticmethod
    def _median(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    @property
    def app_growth(self) -> float:
        return self._median(self.app, "growth_mb")

    @property
    def raw_growth(self) -> float:
        return self._median(self.raw, "growth_mb")

    @property
    def verdict(self) -> str:
        if not self.targeted:
            return "n/a"
        return "yes" if self.app_growth < TARGET_RSS_MB else f"NO (>={TARGET_RSS_MB:g} MB)"

    def as_json(self) -> dict[str, Any]:
        return {
            "file_mb": round(self.file_mb, 3),
            "targeted": self.targeted,
            "app_growth_mb_median": round(self.app_growth, 1),
            "raw_growth_mb_median": round(self.raw_growth, 1),
            "target_met": None if not self.targeted else self.verdict == "yes",
            "app_runs": self.app,
            "raw_runs": self.raw,
        }


# Test data


def write_random_pdf(path: Path, size: int) -> Path:
    """`size` bytes: a PDF header, then random bytes (new content every call); fsynced."""
    with path.open("wb") as out:
        out.write(PDF_HEAD)
        left = size - len(PDF_HEAD)
        while left > 0:
            step = min(16 * MB, left)
            out.write(os.urandom(step))
            left -= step
        out.flush()
        os.fsync(out.fileno())
    return path


def write_text_pdf(path: Path, pages: int) -> Path:
    from reportlab.lib.pagesizes import A4  # only this scenario needs reportlab
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for number in range(1, pages + 1):
        page.setFont("Helvetica", 10)
        for line in range(45):
            page.drawString(
                50,
                800 - 16 * line,
                f"Page {number}, line {line + 1}: invasive ductal carcinoma, grade 2, "
                f"ER 90% PR 60% HER2 1+, Ki-67 {10 + (number + line) % 30}%, margins clear.",
            )
        page.showPage()
    page.save()
    path.write_bytes(buffer.getvalue())
    return path


def new_case(db: Database) -> int:
    draft = CaseDraft(cancer_type="breast", diagnosis="Invasive ductal carcinoma")
    person = PatientDraft(
        given_names="Bench", family_name="Mark", birth_date=date(1970, 1, 1), sex=Sex.FEMALE
    )
    return cases.create_case(db, draft, patient=person, actor=ACTOR).id


def blob_id_of(db: Database, file_id: int) -> int:
    with sqlite3.connect(db.path) as connection:
        row = connection.execute("SELECT blob_id FROM case_files WHERE id = ?", (file_id,))
        blob_id = int(row.fetchone()[0])
    connection.close()
    return blob_id


# The raw baseline: hashlib + plain sqlite3, the whole file in memory


class RawStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, "
            "sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, content BLOB NOT NULL)"
        )
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS attachments (id INTEGER PRIMARY KEY, "
            "blob_id INTEGER NOT NULL REFERENCES blobs(id), name TEXT NOT NULL)"
        )

    def add(self, path: Path) -> int:
        """Read whole + sha256 + one INSERT of the bytes, committed."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        self.connection.execute("BEGIN IMMEDIATE")
        blob_id = self.connection.execute(
            "INSERT INTO blobs (sha256, size, content) VALUES (?, ?, ?) RETURNING id",
            (digest, len(data), data),
        ).fetchone()[0]
        self.connection.execute("COMMIT")
        return int(blob_id)

    def attach_again(self, path: Path) -> int:
        """Read whole + sha256 + find the stored copy + INSERT an attachment row, committed."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.connection.execute("BEGIN IMMEDIATE")
        row = self.connection.execute("SELECT id FROM blobs WHERE sha256 = ?", (digest,))
        blob_id = int(row.fetchone()[0])
        self.connection.execute(
            "INSERT INTO attachments (blob_id, name) VALUES (?, ?)", (blob_id, path.name)
        )
        self.connection.execute("COMMIT")
        return blob_id

    def save_copy(self, blob_id: int, target: Path) -> Path:
        """SELECT the whole BLOB + sha256 check + write + fsync + rename."""
        sha256, data = self.connection.execute(
            "SELECT sha256, content FROM blobs WHERE id = ?", (blob_id,)
        ).fetchone()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise RuntimeError("raw copy damaged")
        temporary = target.with_name(f".{target.name}.part")
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        return target

    def verify(self) -> tuple[int, int]:
        """(checked, damaged): every BLOB read whole and hashed."""
        checked = damaged = 0
        for sha256, size, data in self.connection.execute(
            "SELECT sha256, size, content FROM blobs ORDER BY id"
        ):
            checked += 1
            if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
                damaged += 1
        return checked, damaged

    def close(self) -> None:
        self.connection.close()


def raw_extract(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() or "" for page in reader.pages).strip()


# Measuring


def _timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = run(*args)
    return time.perf_counter() - started, value


def measure(
    repeat: int,
    prepare: Callable[[int], Any],
    app: Callable[[Any], Any],
    raw: Callable[[Any], Any],
    check: Callable[[Any, Any], None] = lambda _app, _raw: None,
    cleanup: Callable[[Any], None] = lambda _prepared: None,
) -> tuple[list[float], list[float]]:
    """One untimed warm-up, then `repeat` runs; `prepare(run)` (untimed) makes each run's input."""
    app_s: list[float] = []
    raw_s: list[float] = []
    for run in range(repeat + 1):
        prepared = prepare(run)
        if run % 2 == 0:  # alternate which side goes first
            app_time, app_value = _timed(app, prepared)
            raw_time, raw_value = _timed(raw, prepared)
        else:
            raw_time, raw_value = _timed(raw, prepared)
            app_time, app_value = _timed(app, prepared)
        check(app_value, raw_value)
        cleanup(prepared)
        if run > 0:
            app_s.append(app_time)
            raw_s.append(raw_time)
    return app_s, raw_s


@dataclass
class Bench:
    work: Path
    db: Database
    raw: RawStore
    repeat: int
    last_big: Path | None = None  # the largest file last added: stored on both sides
    last_big_file_id: int | None = None
    last_big_raw_id: int | None = None

    def add(self, size_mb: float, *, largest: bool) -> Result:
        size = int(size_mb * MB)
        source = self.work / f"scan-{size_mb:g}mb.pdf"

        def prepare(_run: int) -> int:
            write_random_pdf(source, size)
            return new_case(self.db)

        def app(case_id: int) -> files.FileAdded:
            return files.add_file(self.db, case_id, BIG_DOCUMENT, source, actor=ACTOR)

        def check(added: files.FileAdded, raw_id: int) -> None:
            if not added.new_content or added.file_id is None:
                raise RuntimeError(f"add_file did not store new content: {added}")
            if largest:
                self.last_big, self.last_big_file_id = source, added.file_id
                self.last_big_raw_id = raw_id

        app_s, raw_s = measure(self.repeat, prepare, app, lambda _case: self.raw.add(source), check)
        return Result(
            f"add_file {size_mb:g} MB (new content)",
            app_s,
            raw_s,
            size,
            targeted=largest and size_mb == TARGET_SIZE_MB,
        )

    def add_again(self) -> Result:
        assert self.last_big is not None
        source = self.last_big

        def app(case_id: int) -> files.FileAdded:
            return files.add_file(self.db, case_id, BIG_DOCUMENT, source, actor=ACTOR)

        def check(added: files.FileAdded, _raw_id: int) -> None:
            if added.new_content or added.file_id is None:
                raise RuntimeError(f"add_file stored the same bytes again: {added}")

        app_s, raw_s = measure(
            self.repeat,
            lambda _run: new_case(self.db),
            app,
            lambda _case: self.raw.attach_again(source),
            check,
        )
        size = source.stat().st_size
        return Result(f"add_file {size / MB:g} MB again (deduplicated)", app_s, raw_s, size)

    def save_copy(self) -> Result:
        assert self.last_big is not None and self.last_big_file_id is not None
        assert self.last_big_raw_id is not None
        file_id, raw_id = self.last_big_file_id, self.last_big_raw_id
        app_target = self.work / "copy-app.pdf"
        raw_target = self.work / "copy-raw.pdf"
        expected = self.last_big.stat().st_size

        def check(app_path: Path, raw_path: Path) -> None:
            if app_path.stat().st_size != expected or raw_path.stat().st_size != expected:
                raise RuntimeError("a saved copy has the wrong size")

        def cleanup(_prepared: None) -> None:
            app_target.unlink(missing_ok=True)
            raw_target.unlink(missing_ok=True)

        app_s, raw_s = measure(
            self.repeat,
            lambda _run: None,
            lambda _none: files.save_copy(self.db, file_id, app_target),
            lambda _none: self.raw.save_copy(raw_id, raw_target),
            check,
            cleanup,
        )
        return Result(f"save_copy {expected / MB:g} MB", app_s, raw_s, expected)

    def verify(self, count: int, size_mb: float) -> Result:
        size = int(size_mb * MB)
        db = open_database_file(self.work / "verify.db")
        raw = RawStore(self.work / "verify-raw.db")
        try:
            log(f"  storing {count} x {size_mb:g} MB files to verify ...")
            case_id = new_case(db)
            source = self.work / "to-verify.pdf"
            for _ in range(count):
                write_random_pdf(source, size)
                files.add_file(db, case_id, SMALL_DOCUMENT, source, actor=ACTOR)
                raw.add(source)
            source.unlink()

            def check(report: files.VerifyReport, raw_result: tuple[int, int]) -> None:
                if not report.ok or report.checked != count or raw_result != (count, 0):
                    raise RuntimeError(f"verify disagrees: {report} / {raw_result}")

            app_s, raw_s = measure(
                self.repeat,
                lambda _run: None,
                lambda _none: files.verify_files(db),
                lambda _none: raw.verify(),
                check,
            )
        finally:
            raw.close()
            db.dispose()
        return Result(f"verify_files {count} x {size_mb:g} MB", app_s, raw_s, count * size)

    def extract(self, pages: int) -> Result:
        source = write_text_pdf(self.work / "report.pdf", pages)
        added = files.add_file(self.db, new_case(self.db), SMALL_DOCUMENT, source, actor=ACTOR)
        assert added.file_id is not None
        blob_id = blob_id_of(self.db, added.file_id)

        def prepare(_run: int) -> None:  # back to "not read yet", as after add_file
            with sqlite3.connect(self.db.path, isolation_level=None) as connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("DELETE FROM blob_texts WHERE blob_id = ?", (blob_id,))
                connection.execute(
                    "UPDATE blobs SET text_state = 'pending', text_note = '' WHERE id = ?",
                    (blob_id,),
                )
                connection.execute("COMMIT")
            connection.close()

        def check(result: Any, raw_text: str) -> None:
            if not result.readable or result.note or result.text != raw_text:
                raise RuntimeError(f"extract_text disagrees with pypdf: {result.note!r}")

        app_s, raw_s = measure(
            self.repeat,
            prepare,
            lambda _none: files.extract_text(self.db, blob_id),
            lambda _none: raw_extract(source),
            check,
        )
        size = source.stat().st_size
        return Result(
            f"extract_text {pages}-page PDF",
            app_s,
            raw_s,
            None,
            detail={"pdf_kb": round(size / 1024, 1), "pages": pages},
        )


# Peak memory, in a fresh subprocess


def memory_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the subprocess: warm up with a small file, then add the big one once.

    On Linux a child's ru_maxrss starts at its parent's peak (the kernel carries the peak of
    the memory it replaces across exec), so a before/after difference of ru_maxrss here would
    read 0 whenever this process stays below the benchmark's own peak. The growth is therefore
    taken from VmHWM, reset to the resident size just before the call; ru_maxrss is reported
    alongside, and is the measure only where /proc is missing.
    """
    big, warm = Path(spec["file"]), Path(spec["warm"])
    if spec["mode"] == "app":
        db = open_database_file(Path(spec["db"]))
        files.add_file(db, spec["case_id"], BIG_DOCUMENT, warm, actor=ACTOR)

        def run() -> None:
            added = files.add_file(db, spec["case_id"], BIG_DOCUMENT, big, actor=ACTOR)
            if not added.new_content:
                raise RuntimeError("the big file was already stored")

        close: Callable[[], None] = db.dispose
    else:
        raw = RawStore(Path(spec["db"]))
        raw.add(warm)

        def run() -> None:
            raw.add(big)

        close = raw.close
    gc.collect()
    reset = reset_peak()
    status_before, maxrss_before = proc_status_mb(), maxrss_mb()
    seconds, _ = _timed(run)
    status_after, maxrss_after = proc_status_mb(), maxrss_mb()
    close()
    linux = bool(status_before and status_after)
    report: dict[str, Any] = {
        "method": (
            ("VmHWM reset by clear_refs" if reset else "VmHWM (not reset) - VmRSS")
            if linux
            else "ru_maxrss after - before"
        ),
        "maxrss_before_mb": round(maxrss_before, 1),
        "maxrss_after_mb": round(maxrss_after, 1),
        "maxrss_growth_mb": round(maxrss_after - maxrss_before, 1),
        "seconds": round(seconds, 3),
    }
    if linux:
        report |= {
            "rss_before_mb": round(status_before["VmRSS"], 1),
            "hwm_before_mb": round(status_before["VmHWM"], 1),
            "hwm_after_mb": round(status_after["VmHWM"], 1),
            "rss_after_mb": round(status_after["VmRSS"], 1),
            "growth_mb": round(status_after["VmHWM"] - status_before["VmRSS"], 1),
        }
    else:
        report["growth_mb"] = report["maxrss_growth_mb"]
    return report


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory subprocess failed:\n{completed.stderr}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def measure_memory(bench: Bench, size_mb: float, runs: int) -> MemoryResult:
    size = int(size_mb * MB)
    app: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    big, warm = bench.work / "memory-big.pdf", bench.work / "memory-warm.pdf"
    for run in range(runs):
        write_random_pdf(big, size)
        case_id = new_case(bench.db)
        sides = [("app", bench.db.path, app), ("raw", bench.raw.path, raw)]
        for mode, database, into in sides if run % 2 == 0 else reversed(sides):
            write_random_pdf(warm, MB)
            spec = {
                "mode": mode,
                "db": str(database),
                "file": str(big),
                "warm": str(warm),
                "case_id": case_id,
            }
            into.append(_run_child(spec))
    big.unlink()
    warm.unlink()
    return MemoryResult(size / MB, app, raw, targeted=size_mb == TARGET_SIZE_MB)


# Output


def format_table(results: list[Result]) -> str:
    header = (
        "scenario",
        "app median s",
        "app MB/s",
        "raw median s",
        "raw MB/s",
        "ratio",
        "target met?",
    )

    def rate(result: Result, seconds: float) -> str:
        value = result.mb_per_s(seconds)
        return "-" if value is None else f"{value:.0f}"

    body = [
        (
            r.name,
            f"{r.app_median:.3f}",
            rate(r, r.app_median),
            f"{r.raw_median:.3f}",
            rate(r, r.raw_median),
            f"{r.ratio:.2f}x",
            r.verdict,
        )
        for r in results
    ]
    return table(header, body, left=(0, 6))


def format_memory(memory: MemoryResult) -> str:
    header = (
        "peak RSS while adding",
        "file MB",
        "peak growth MB",
        "x file",
        "ru_maxrss growth MB",
        "target met?",
    )

    def row(label: str, runs: list[dict[str, Any]], verdict: str) -> tuple[str, ...]:
        growth = MemoryResult._median(runs, "growth_mb")
        return (
            label,
            f"{memory.file_mb:g}",
            f"{growth:.1f}",
            f"{growth / memory.file_mb:.2f}",
            f"{MemoryResult._median(runs, 'maxrss_growth_mb'):.1f}",
            verdict,
        )

    body = [
        row("app: add_file (streamed, 1 MB chunks)", memory.app, memory.verdict),
        row("raw: read whole + sha256 + INSERT", memory.raw, "n/a"),
    ]
    return table(header, body, left=(0, 5))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1/4/16 MB files, 3 runs, 5 x 2 MB to verify, 10-page PDF (< 30 s)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=None,
        help="file sizes in MB, comma-separated; the largest is also used for the dedupe, "
        "save_copy and memory runs (1,10,100)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per scenario (5)")
    parser.add_argument("--verify-count", type=int, default=None, help="files to verify (20)")
    parser.add_argument("--verify-mb", type=float, default=None, help="MB per file to verify (10)")
    parser.add_argument("--pdf-pages", type=int, default=None, help="pages of the text PDF (50)")
    parser.add_argument(
        "--memory-runs", type=int, default=None, help="subprocess runs per side for memory (3)"
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where the temporary folder goes (default: the system's; mind tmpfs: no real fsync)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.repeat < 1 or args.verify_count < 1 or args.pdf_pages < 1 or args.memory_runs < 1:
        parser.error("--repeat, --verify-count, --pdf-pages and --memory-runs must be >= 1")
    if min(args.sizes) < 0.01 or args.verify_mb < 0.01:
        parser.error("file sizes must be at least 0.01 MB")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(json.loads(args.memory_child))))
        return 0

    sizes = sorted(args.sizes)
    largest = sizes[-1]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="referral-desk-files-", dir=args.tmp_dir) as temp:
        work = Path(temp)
        db = open_database_file(work / "files.db")
        needed_mb = math.ceil(max(largest, args.verify_mb))
        if needed_mb > settings.get_max_file_mb(db):  # the shipped limit is 100 MB
            settings.set_max_file_mb(db, needed_mb)
        raw = RawStore(work / "files-raw.db")
        bench = Bench(work, db, raw, args.repeat)
        results: list[Result] = []
        try:
            for size_mb in sizes:
                log(f"measuring add_file {size_mb:g} MB ...")
                results.append(bench.add(size_mb, largest=size_mb == largest))
            log(f"measuring add_file {largest:g} MB again (dedupe) ...")
            results.append(bench.add_again())
            log(f"measuring save_copy {largest:g} MB ...")
            results.append(bench.save_copy())
            log(f"measuring verify_files {args.verify_count} x {args.verify_mb:g} MB ...")
            results.append(bench.verify(args.verify_count, args.verify_mb))
            log(f"measuring extract_text, {args.pdf_pages}-page PDF ...")
            results.append(bench.extract(args.pdf_pages))
            log(f"measuring peak memory adding {largest:g} MB ({args.memory_runs} run(s)) ...")
            memory = measure_memory(bench, largest, args.memory_runs)
        finally:
            raw.close()
            db.dispose()
        filesystem = os.statvfs(work)
    elapsed = time.perf_counter() - started

    target_note = (
        ""
        if largest == TARGET_SIZE_MB
        else f" (not judged: the largest file here is {largest:g} MB)"
    )
    print(
        f"File store benchmark{' (quick)' if args.quick else ''}: median of {args.repeat} runs, "
        f"memory: median of {args.memory_runs} subprocess run(s); took {elapsed:.0f} s"
    )
    print(
        f"targets ({TARGET_SIZE_MB} MB file): add_file < {TARGET_ADD_S:g} s and "
        f"<= {TARGET_RATIO:g}x raw; peak RSS growth < {TARGET_RSS_MB:g} MB{target_note}"
    )
    print()
    print(format_table(results))
    print()
    print(format_memory(memory))
    print(
        f"(peak growth: {memory.app[0]['method']}, median of {args.memory_runs}; a child's "
        "ru_maxrss starts at its parent's peak on Linux, so its difference can read 0)"
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
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "quick": args.quick,
        "repeat": args.repeat,
        "sizes_mb": sizes,
        "chunk_bytes": files.CHUNK,
        "elapsed_s": round(elapsed, 1),
        "targets": {
            "file_mb": TARGET_SIZE_MB,
            "add_s": TARGET_ADD_S,
            "ratio": TARGET_RATIO,
            "rss_growth_mb": TARGET_RSS_MB,
            "judged": largest == TARGET_SIZE_MB,
        },
        "results": [r.as_json() for r in results],
        "memory": memory.as_json(),
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real processes for the reliability tests and `benchmarks/crash_safety.py`.

A forked child talks to its parent in lines over two pipes. It builds its own Database (a
connection must never cross a fork: SQLite's locks belong to the process that took them),
never touches Qt (pytest-qt may have made a QApplication in the parent), and leaves by
os._exit or by SIGKILL, so no parent finalizer or atexit handler runs in it.

Forking a parent that has imported everything already makes a child in milliseconds; a
fresh interpreter would spend ~0.5 s importing. POSIX only: Windows has neither fork nor
SIGKILL.

Not a test module (pytest collects test_*.py only); the benchmark imports it as
`tests.reliability` with the repository folder on its path.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import select
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from referral_desk.db.integrity import inspect_file
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.enums import Reason, Sex, Urgency
from referral_desk.domain.intake import CaseDraft, PatientDraft
from referral_desk.services import cases
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import ServiceError

CAN_FORK = hasattr(os, "fork") and hasattr(signal, "SIGKILL") and sys.platform != "win32"
NO_FORK = (
    "needs os.fork and SIGKILL (POSIX); Windows has neither, so these tests run on Linux/macOS"
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ADMIN = Actor("admin", UserRole.ADMINISTRATOR)

_GIVEN = ("Zoë", "Elif", "Jürgen", "Ana", "Mei", "Olúwáseun", "Inès", "Ravi")
_FAMILY = ("Müller", "Şahin", "Navarro", "Lima", "Chen", "Adébáyọ̀", "Kowalski", "Iyer")


def patient_draft(n: int) -> PatientDraft:
    return PatientDraft(
        given_names=_GIVEN[n % len(_GIVEN)],
        family_name=_FAMILY[n // len(_GIVEN) % len(_FAMILY)],
        birth_date=date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
        sex=Sex.FEMALE if n % 2 else Sex.MALE,
        preferred_language="German",
    )


def case_draft(n: int) -> CaseDraft:
    return CaseDraft(
        cancer_type=("breast", "lung", "colorectal", "prostate")[n % 4],
        diagnosis=f"Carcinoma, case {n} of the reliability run",
        stage="IIA",
        referrer_name=f"Dr. Referrer {n % 7}",
        reasons=frozenset({Reason.CONFIRM_DIAGNOSIS}),
        patient_questions="Is the proposed treatment right for me?",
        proposed_treatment="Surgery, then chemotherapy",
        treatment_start=date(2026, 12, 10),
        urgency=Urgency.URGENT if n % 5 == 0 else Urgency.ROUTINE,
    )


def one_line(value: object) -> str:
    return " | ".join(str(value).splitlines())


class ChildFailed(AssertionError):
    """The child said something other than what the parent waited for, or nothing."""


class Channel:
    """The child's end: says lines to the parent and hears its instructions."""

    def __init__(self, to_parent: int, from_parent: int) -> None:
        self._out = to_parent
        self._in = os.fdopen(from_parent, "rb", buffering=0)
        self._pending = b""

    def say(self, *words: object) -> None:
        # One write() of under PIPE_BUF (4 KiB) bytes reaches the pipe whole: a SIGKILL never
        # leaves half a line, so every line the parent reads was really said.
        os.write(self._out, (" ".join(one_line(w) for w in words) + "\n").encode())

    def hear(self) -> str:
        while b"\n" not in self._pending:
            chunk = self._in.read(4096)
            if not chunk:
                raise EOFError("the parent went away")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()


@dataclass
class Child:
    """The parent's end of a forked child."""

    pid: int
    _in: int  # what the child says
    _out: int  # what the parent tells it
    _buffer: bytes = b""
    _eof: bool = False
    _status: int | None = None
    said: list[str] = field(default_factory=list)

    def tell(self, line: str) -> None:
        os.write(self._out, (line + "\n").encode())

    def read_line(self, timeout: float) -> str | None:
        """The next complete line, or None at the end (the child exited or was killed) or
        when nothing came within `timeout` seconds (then `finished` tells which)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if self._eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 65536)
                if chunk:
                    self._buffer += chunk
                else:
                    self._eof = True  # a partial last line cannot happen (see Channel.say)
        raw, _, self._buffer = self._buffer.partition(b"\n")
        line = raw.decode()
        self.said.append(line)
        return line

    @property
    def finished(self) -> bool:
        return self._eof and b"\n" not in self._buffer

    def expect(self, word: str, timeout: float = 30.0) -> list[str]:
        """The words after `word` in the child's next line; anything else fails the caller."""
        line = self.read_line(timeout)
        if line is None:
            raise ChildFailed(
                f"child {self.pid} said nothing within {timeout} s while we waited for "
                f"{word!r}; it said before: {self.said[-5:]}"
            )
        first, *rest = line.split(" ")
        if first != word:
            raise ChildFailed(f"child {self.pid}: expected {word!r}, got {line!r}")
        return rest

    def rest(self, timeout: float = 30.0) -> list[str]:
        """Every line until the child's end."""
        lines = []
        deadline = time.monotonic() + timeout
        while (line := self.read_line(max(0.0, deadline - time.monotonic()))) is not None:
            lines.append(line)
        if not self.finished:
            raise ChildFailed(f"child {self.pid} still talking after {timeout} s")
        return lines

    def kill(self) -> None:
        if self._status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float = 30.0) -> int:
        """The exit code, or minus the signal that ended the child (-9: SIGKILL)."""
        deadline = time.monotonic() + timeout
        while self._status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                self.kill()
                os.waitpid(self.pid, 0)
                raise ChildFailed(f"child {self.pid} still running after {timeout} s; killed")
            time.sleep(0.005)
        return self._status

    def close(self) -> None:
        """Kill the child if it still runs, reap it, close the pipes."""
        if self._status is None:
            self.kill()
            self.wait()
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._in = self._out = -1


def gather(children: list[Child], timeout: float = 60.0) -> list[list[str]]:
    """Every line of each child until all have ended, read side by side so that no child
    waits on a full pipe."""
    said: list[list[str]] = [[] for _ in children]
    deadline = time.monotonic() + timeout
    while not all(child.finished for child in children):
        if time.monotonic() > deadline:
            raise ChildFailed(f"children still talking after {timeout} s")
        for child, lines in zip(children, said, strict=True):
            for _ in range(200):  # then the next child's turn
                line = child.read_line(0.01)
                if line is None:
                    break
                lines.append(line)
    return said


def fork(work: Callable[[Channel], None]) -> Child:
    """Run `work` in a forked child. An exception is said as `error <text>` (exit 1)."""
    child_in, parent_out = os.pipe()
    parent_in, child_out = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(parent_out)
            os.close(parent_in)
            # Objects inherited from the parent (its connections too) must never be
            # collected here: closing a connection the parent still uses is what SQLite's
            # "do not carry a connection across fork" warns about.
            gc.freeze()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            channel = Channel(child_out, child_in)
            try:
                work(channel)
                code = 0
            except BaseException as exc:  # report everything, even SystemExit
                channel.say("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            os._exit(code)
    os.close(child_in)
    os.close(child_out)
    return Child(pid, parent_in, parent_out)


# --- Crash safety: a writer killed at random moments ------------------------------------


def write_until_killed(path: Path, channel: Channel, *, seed: int) -> None:
    """Take in cases (and edit every third one) until SIGKILLed; each line is said only
    after the service returned, i.e. after its COMMIT was acknowledged."""
    db = open_database_file(path)
    rng = random.Random(seed)
    mine: list[int] = []
    channel.say("ready")
    n = seed * 100_000
    while True:
        n += 1
        created = cases.create_case(
            db, case_draft(n), patient=patient_draft(n), actor=ADMIN, now=NOW
        )
        channel.say("created", created.reference)
        mine.append(created.id)
        if n % 3 == 0:
            case_id = rng.choice(mine)
            detail = cases.get_case(db, case_id, now=NOW)
            version = cases.update_case(
                db,
                case_id,
                expected_version=detail.version,
                patient=None,
                case=replace(detail.case, stage=f"edit {n}"),
                actor=ADMIN,
                now=NOW,
            )
            channel.say("edited", case_id, version)


@dataclass
class Acknowledged:
    """Everything the writers were told was saved, over all the kills so far."""

    references: set[str] = field(default_factory=set)
    versions: dict[int, int] = field(default_factory=dict)  # case id -> newest acknowledged
    edits: int = 0

    def add(self, lines: Iterable[str]) -> int:
        """Record the acknowledgements among the lines; returns how many cases were new."""
        created = 0
        for line in lines:
            word, *args = line.split(" ")
            if word == "created":
                self.references.add(args[0])
                created += 1
            elif word == "edited":
                case_id, version = int(args[0]), int(args[1])
                self.versions[case_id] = max(version, self.versions.get(case_id, 0))
                self.edits += 1
            elif word == "error":
                raise ChildFailed(f"the writer failed before it was killed: {line}")
        return created


@dataclass(frozen=True)
class KillOutcome:
    acknowledged: int  # cases this writer acknowledged before its kill
    lost: tuple[str, ...]  # acknowledged cases or edits missing after the kill
    problems: tuple[str, ...]  # the file would not open, failed a check, or held half a case
    reopen_s: float  # open_database_file + reading back + integrity_check


def crash_image(path: Path, folder: Path) -> Path:
    """A copy of the database as the killed writer left it on disk (file and WAL; the -shm
    index is rebuilt by whoever opens it). The original keeps its un-checkpointed WAL, so
    the next writer has to recover it, and may be killed while the WAL is large."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, target)
    wal = Path(f"{path}-wal")
    if wal.exists():
        shutil.copyfile(wal, f"{target}-wal")
    return target


def check_after_crash(path: Path, acknowledged: Acknowledged) -> tuple[list[str], list[str]]:
    """(lost, problems): open as the app does, read everything back, run integrity_check."""
    lost: list[str] = []
    problems: list[str] = []
    try:
        db = open_database_file(path)
    except ServiceError as exc:
        return lost, [f"does not open: {exc}"]
    try:
        with db.read() as session:
            stored = set(session.execute(text("SELECT reference FROM cases")).scalars())
            versions = {
                row[0]: row[1] for row in session.execute(text("SELECT id, version FROM cases"))
            }
            # One transaction per case: a case without its patient link, history or search
            # entry would be half-saved.
            halves = session.execute(
                text(
                    "SELECT count(*) FROM cases c WHERE NOT EXISTS "
                    "(SELECT 1 FROM status_changes s WHERE s.case_id = c.id) "
                    "OR c.id NOT IN (SELECT rowid FROM case_search)"
                )
            ).scalar_one()
    except Exception as exc:  # any failure to read back is the finding
        problems.append(f"cannot be read back: {one_line(exc)}")
        stored, versions, halves = set(), {}, 0
    finally:
        db.dispose()
    lost += sorted(acknowledged.references - stored)
    lost += [
        f"case {case_id} version {version} (stored {versions.get(case_id)})"
        for case_id, version in sorted(acknowledged.versions.items())
        if versions.get(case_id, 0) < version
    ]
    if halves:
        problems.append(f"{halves} half-saved case(s)")
    report = inspect_file(path)
    if not report.ok:
        problems.append(
            f"integrity: {report.error or report.integrity[:5]} {report.foreign_key_problems[:5]}"
        )
    return lost, problems


def kill_once(
    path: Path,
    scratch: Path,
    acknowledged: Acknowledged,
    rng: random.Random,
    *,
    max_delay_s: float,
    seed: int,
) -> KillOutcome:
    """Start a writer, SIGKILL it at a random moment after it is ready, check a copy."""
    child = fork(lambda channel: write_until_killed(path, channel, seed=seed))
    try:
        child.expect("ready")
        time.sleep(rng.uniform(0.0, max_delay_s))
        child.kill()
        lines = child.rest()
        status = child.wait()
    finally:
        child.close()
    created = acknowledged.add(lines)
    if status != -signal.SIGKILL:
        raise ChildFailed(f"the writer ended by itself (status {status}): {lines[-3:]}")
    image = crash_image(path, scratch)
    began = time.perf_counter()
    lost, problems = check_after_crash(image, acknowledged)
    return KillOutcome(created, tuple(lost), tuple(problems), time.perf_counter() - began)


def prepare_crash_database(path: Path) -> None:
    """A new office database at the current schema, with no accounts (any role is taken)."""
    open_database_file(path).dispose()

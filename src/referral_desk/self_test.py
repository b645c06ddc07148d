"""`referral-desk --self-test`: does this installation work, end to end, without a screen?

The installer build runs it on the frozen app (a missing migration, font, Qt plugin or native
library shows up here rather than on an office's desk), and support can ask anyone to run it.
It works in a folder of its own, never in the office's data: an empty or new folder given with
--data-dir, or a temporary one removed afterwards.

Every step prints one `ok` line; anything else it meets (an exception, a Qt warning, a Python
warning) is printed to standard error and the exit status is 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from referral_desk import APP_NAME, __version__
from referral_desk.paths import AppPaths, resolve_paths

if TYPE_CHECKING:
    from referral_desk.db.engine import Database
    from referral_desk.domain.access import Actor

EXIT_PASSED = 0
EXIT_FAILED = 1
PASSED = "self-test passed"
DEMO_CASES = 12  # received this month: every status, some waiting for their summary letter

# Said by Qt's offscreen platform on any machine, and on a machine without fonts; not faults
# of the installation (pyproject's qt_log_ignore lists the same for the tests).
_HARMLESS_QT = ("This plugin does not support", "OpenType support missing")


class SelfTestFailed(Exception):
    """A step found the installation broken; the message says what."""


@dataclass
class _Run:
    paths: AppPaths
    qt_messages: list[str] = field(default_factory=list)
    # Filled in by the steps, in order.
    db: Database = field(init=False)
    actor: Actor = field(init=False)
    letter_pdf: bytes = b""


def folder_problem(folder: Path) -> str | None:
    """Only an empty or new folder: the self-test adds demo cases and must never do that to an
    office's data."""
    paths = resolve_paths(folder)
    if paths.database.exists():
        return (
            f"{folder} holds a Referral Desk office ({paths.database.name}); the self-test "
            "adds demo cases, so give it an empty or new folder."
        )
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder."
    return None


def run(folder: Path | None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run every step in `folder` (or a temporary folder); 0 when all passed."""
    out, err = out or sys.stdout, err or sys.stderr
    if folder is not None:
        problem = folder_problem(folder)
        if problem:
            print(f"referral-desk: {problem}", file=err)
            return EXIT_FAILED
        return _run_in(folder, out, err)
    with tempfile.TemporaryDirectory(
        prefix="referral-desk-self-test-", ignore_cleanup_errors=True
    ) as temporary:
        return _run_in(Path(temporary), out, err)


def _run_in(folder: Path, out: TextIO, err: TextIO) -> int:
    # Offscreen before Qt starts: the build machine, and a support call, may have no screen.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    state = _Run(resolve_paths(folder).ensure())
    frozen = " (installed build)" if getattr(sys, "frozen", False) else ""
    print(f"{APP_NAME} {__version__}{frozen} self-test in {folder}", file=out)
    with _caught_warnings() as python_warnings:
        try:
            for name, step in _STEPS:
                detail = step(state)
                unexpected = state.qt_messages + [str(w.message) for w in python_warnings]
                if unexpected:
                    raise SelfTestFailed("unexpected messages: " + " | ".join(unexpected))
                print(f"ok  {name}: {detail}", file=out)
        except Exception as exc:  # every failure, expected or not, is the test's finding
            print(f"FAILED  {name}: {type(exc).__name__}: {exc}", file=err)
            return EXIT_FAILED
        finally:
            _close(state)
    print(f"{PASSED} in {time.perf_counter() - started:.1f} s", file=out)
    return EXIT_PASSED


@contextmanager
def _caught_warnings() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _close(state: _Run) -> None:
    if hasattr(state, "db"):
        state.db.dispose()


# --- The steps ------------------------------------------------------------------------------


def _database(state: _Run) -> str:
    from referral_desk.db import migrate
    from referral_desk.services.database import open_database

    state.db = db = open_database(state.paths)
    revision, head = migrate.current_revision(db), migrate.head_revision()
    if revision != head:
        raise SelfTestFailed(f"the database is at schema {revision}, not the newest {head}")
    count = len(migrate.known_revisions())
    return f"created through the migrations ({count} steps), schema {head}"


def _demo_case(state: _Run) -> str:
    from referral_desk.services import accounts, demo

    made = demo.generate(state.db, DEMO_CASES, seed=1, months=1)  # open cases too
    accounts.create_demo_accounts(state.db)
    return f"{made.cases} demo cases with {made.documents} documents and {made.files} files"


def _sign_in(state: _Run) -> str:
    from referral_desk.services import accounts

    signed = accounts.sign_in(state.db, "admin", accounts.DEMO_PASSWORD)
    state.actor = signed.actor
    return f"{signed.actor.name} ({signed.actor.role.value}), password checked with Argon2id"


def _letter(state: _Run) -> str:
    from referral_desk.domain.letters import LetterKind
    from referral_desk.services import letters, pdf_text

    ready = letters.batch_cases(state.db)  # cases whose opinion is in, waiting for the letter
    if not ready:
        raise SelfTestFailed("no demo case is ready for its summary letter")
    info = letters.generate(state.db, ready[0], LetterKind.SUMMARY, actor=state.actor)
    state.letter_pdf = letters.letter_bytes(state.db, info.id)
    text = pdf_text.extract(state.letter_pdf).text
    if info.reference not in text:
        raise SelfTestFailed(f"the letter's text does not name its case {info.reference}")
    return (
        f"patient summary letter for {info.reference}, {len(state.letter_pdf):,} bytes, read back"
    )


def _window(state: _Run) -> str:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from referral_desk.domain.reports import Month
    from referral_desk.resource_files import resource_path
    from referral_desk.services.reports import monthly_report
    from referral_desk.ui.changes import ChangeBus
    from referral_desk.ui.child_environment import (
        bundle_paths_in_environment,
        hand_back_system_paths,
    )
    from referral_desk.ui.main_window import MainWindow
    from referral_desk.ui.report_charts import ChartsPanel
    from referral_desk.ui.templates_window import page_images
    from referral_desk.ui.window_state import WindowState

    def heard(kind: QtMsgType, _context: object, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and not message.startswith(_HARMLESS_QT):
            state.qt_messages.append(f"Qt: {message}")

    qInstallMessageHandler(heard)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    # As the app does; what follows then shows that Qt still finds its plugins without them.
    handed_back = ", ".join(hand_back_system_paths()) or "nothing to hand back"
    leaking = bundle_paths_in_environment()
    if leaking:
        raise SelfTestFailed(f"programs the app opens would get the bundle's {leaking}")
    icon = QIcon(str(resource_path("icons/referral-desk.svg")))
    if icon.pixmap(64, 64).isNull():
        raise SelfTestFailed("the app icon (SVG) cannot be drawn: Qt's SVG plugins are missing")
    pages = page_images(state.letter_pdf)
    changes = ChangeBus(state.db.path)
    window = MainWindow(
        state.db,
        state.actor,
        WindowState(state.paths.settings_file),
        changes,
        paths=state.paths,
    )
    charts = ChartsPanel()
    try:
        window.resize(1280, 800)
        window.show()
        _wait_for(lambda: window.model.rowCount() > 0)
        shown = window.model.rowCount()
        picture = window.grab()
        if picture.isNull() or shown == 0:
            raise SelfTestFailed("the main window did not draw its case list")
        charts.show_report(monthly_report(state.db, Month.of(date.today()), actor=state.actor))
        charts.resize(900, 600)
        if charts.grab().isNull():
            raise SelfTestFailed("the report charts (Qt Charts) did not draw")
    finally:
        window.close()
        charts.deleteLater()
        window.deleteLater()
        changes.close()
        app.processEvents()
    return (
        f"main window drawn offscreen ({picture.width()}×{picture.height()}, "
        f"{shown} cases listed), letter page drawn ({pages[0].width()}×{pages[0].height()}), "
        f"this month's charts, SVG icon; programs it opens get the system's paths "
        f"({handed_back})"
    )


def _wait_for(done: Callable[[], bool], seconds: float = 5) -> None:
    """Let Qt's event loop run (the case list loads its rows from it) until `done()`."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def _backup(state: _Run) -> str:
    from referral_desk.domain.text import size_text
    from referral_desk.services import backups

    made = backups.automatic_backup(state.db, state.paths, now=datetime.now(UTC))
    checked = backups.verify(made.path)
    if checked.problems:
        raise SelfTestFailed(f"the backup {made.path.name} fails its checks: {checked.problems}")
    return f"{made.path.name} ({size_text(made.path.stat().st_size)}) passes its checks"


_STEPS: list[tuple[str, Callable[[_Run], str]]] = [
    ("database", _database),
    ("demo cases", _demo_case),
    ("sign-in", _sign_in),
    ("letter", _letter),
    ("window", _window),
    ("backup", _backup),
]

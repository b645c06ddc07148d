"""Print the patients' summary letters of many cases at once: one combined PDF made in the
background (each letter also archived with its case), then, once it is printed, the cases
move to Letter sent when the coordinator says so."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.services import letters
from referral_desk.services.errors import ServiceError
from referral_desk.services.letters import BatchResult
from referral_desk.ui.background import Cancelled, ProgressDialog, Task
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.money import user_locale
from referral_desk.ui.permissions import refusal

KIND = LetterKind.SUMMARY


def _letters(n: int) -> str:
    return f"{n:,} letter{'s' if n != 1 else ''}"


def _cases(n: int) -> str:
    return f"{n:,} case{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch ended with, for the case list to say and refresh."""

    letters: int
    pages: int
    path: Path | None
    cancelled: bool
    marked_sent: bool
    failed: bool = False  # refused or could not be written: the user was told why


class BatchProgressDialog(ProgressDialog):
    """The batch's progress, letter by letter."""

    def __init__(self, total: int, parent: QWidget | None = None) -> None:
        super().__init__(
            "Printing summary letters",
            f"Making {_letters(total)}…",
            parent,
            note="Each letter is also kept with its case. Nothing is marked sent until you say so.",
        )
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        self.bar.setFormat("%v of %m")

    def show_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        if self.cancelling:
            return  # keeps saying "Cancelling…"
        if done >= total:
            self.label.setText(f"Putting the {_letters(total)} together…")
        else:
            self.label.setText(f"Making letter {done + 1:,} of {total:,}…")


class BatchLetters(QObject):
    """One batch from the case list: which cases, where to save, make, then mark sent."""

    finished = Signal(object)  # BatchOutcome
    marked = Signal()  # cases moved to Letter sent: every screen refreshes

    def __init__(self, db: Database, actor: Actor, parent: QWidget) -> None:
        super().__init__(parent)
        self._db, self._actor, self._window = db, actor, parent
        self.task: Task | None = None
        self.dialog: BatchProgressDialog | None = None
        self.open_in_viewer: Callable[[Path], object] = lambda path: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(path))
        )

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    # --- which cases -------------------------------------------------------------------------
    def choose_cases(self, selected: Mapping[int, str]) -> list[int] | None:
        """The selected cases (those that can have a summary letter), or with none selected
        the cases waiting for their letter; None when there is nothing to do."""
        waiting = letters.batch_cases(self._db)
        if selected and set(selected) != set(waiting):
            answer = self._ask_which(len(selected), len(waiting))
            if answer is None:
                return None
            if answer == "waiting":
                selected = {}
        if not selected:
            if not waiting:
                QMessageBox.information(
                    self._window,
                    "Print summary letters",
                    f"No case is waiting for its summary letter: none is at "
                    f"{CaseStatus.OPINION_RECEIVED.label} without a letter sent.",
                )
                return None
            return waiting
        ready: list[int] = []
        refused: list[str] = []
        for case_id, reference in selected.items():
            reason = letters.available_kinds(self._db, case_id).get(KIND)
            if reason is None:
                ready.append(case_id)
            else:
                refused.append(f"{reference}: {reason}")
        if refused:
            shown = "\n".join(refused[:12]) + ("\n…" if len(refused) > 12 else "")
            if not ready:
                QMessageBox.information(
                    self._window,
                    "Print summary letters",
                    f"None of the selected cases can have a summary letter yet:\n\n{shown}",
                )
                return None
            answer = QMessageBox.question(
                self._window,
                "Print summary letters",
                f"{_cases(len(refused))} cannot have a summary letter yet:\n\n{shown}\n\n"
                f"Print the letters of the other {_cases(len(ready))}?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        return ready

    def _ask_which(self, selected: int, waiting: int) -> str | None:
        box = QMessageBox(self._window)
        box.setWindowTitle("Print summary letters")
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(
            f"Print the summary letters of the {_cases(selected)} selected in the list, or of "
            f"all {_cases(waiting)} waiting for their letter (opinion received, letter not sent)?"
        )
        chosen = box.addButton(f"Selected ({selected:,})", QMessageBox.ButtonRole.AcceptRole)
        chosen.setObjectName("batch_selected")
        everyone = box.addButton(f"All waiting ({waiting:,})", QMessageBox.ButtonRole.AcceptRole)
        everyone.setObjectName("batch_waiting")
        everyone.setEnabled(waiting > 0)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(chosen)
        box.exec()
        if box.clickedButton() is chosen:
            return "selected"
        if box.clickedButton() is everyone:
            return "waiting"
        return None

    def ask_path(self, count: int) -> Path | None:
        suggested = documents_folder() / f"Summary letters {date.today().isoformat()}.pdf"
        chosen, _ = QFileDialog.getSaveFileName(
            self._window,
            f"Save the {_letters(count)} as one PDF for printing",
            str(suggested),
            "PDF documents (*.pdf)",
        )
        if not chosen:
            return None
        path = Path(chosen)
        return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")

    def run(self, selected: Mapping[int, str]) -> Task | None:
        """From the case list's action: ask, then make the letters in the background."""
        if self.running:
            return None
        refused = refusal(self._actor, Permission.LETTERS, "print letters")
        if refused:
            QMessageBox.information(self._window, "Print summary letters", refused)
            return None
        case_ids = self.choose_cases(selected)
        if not case_ids:
            return None
        path = self.ask_path(len(case_ids))
        if path is None:
            return None
        return self.start(case_ids, path)

    # --- making them -------------------------------------------------------------------------
    def start(self, case_ids: list[int], out_path: Path) -> Task:
        db, actor, locale, total = self._db, self._actor, user_locale(), len(case_ids)

        def work(task: Task) -> BatchResult:
            return letters.generate_batch(
                db,
                case_ids,
                KIND,
                out_path,
                actor=actor,
                progress=lambda done: task.progress.emit(done, total),
                cancelled=lambda: task.cancelled,
                locale=locale,
            )

        dialog = BatchProgressDialog(total, self._window)
        task = Task(work, self)
        task.finished.connect(self._made)
        task.failed.connect(self._failed)
        self.task, self.dialog = task, dialog
        dialog.follow(task)
        return task

    def cancel(self) -> None:
        if self.dialog is not None:
            self.dialog.request_cancel()

    def wait(self) -> None:
        """For closing the program: the batch stops at the next letter."""
        if self.task is not None:
            self.task.cancel()
            self.task.wait()

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog.deleteLater()
            self.dialog = None

    def _made(self, result: BatchResult) -> None:
        self._close_dialog()
        count = len(result.letter_ids)
        if result.cancelled or result.path is None:
            self._cancelled(count)
            return
        if self.open_in_viewer(result.path) is not False:
            self._record_printed(result.letter_ids)
        answer = QMessageBox.question(
            self._window,
            "Mark the letters as sent?",
            f"The {_letters(count)} ({result.pages:,} pages) are in {result.path.name}, open "
            "in your PDF viewer now. Print them, then:\n\n"
            f"Mark the {_letters(count)} as sent? Their cases move to "
            f"{CaseStatus.LETTER_SENT.label}.\n\n"
            "Choose No if they did not print well: each letter stays with its case and can be "
            "marked sent from the case's Letters tab later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        marked = False
        if answer == QMessageBox.StandardButton.Yes:
            try:
                letters.mark_sent(self._db, list(result.letter_ids), actor=self._actor)
            except ServiceError as exc:
                QMessageBox.warning(
                    self._window,
                    "Not marked sent",
                    f"{exc}\n\nNo case was moved. The letters stay with their cases; mark "
                    "them sent from each case's Letters tab.",
                )
            else:
                marked = True
                self.marked.emit()
        self.finished.emit(BatchOutcome(count, result.pages, result.path, False, marked))

    def _record_printed(self, letter_ids: tuple[int, ...]) -> None:
        """The pile is in the PDF viewer to be printed: the trail says whose letters went."""
        try:
            letters.record_printed(self._db, letter_ids, actor=self._actor)
        except ServiceError as exc:  # e.g. the account was disabled meanwhile
            QMessageBox.warning(self._window, "Print summary letters", str(exc))

    def _cancelled(self, archived: int) -> None:
        self.finished.emit(BatchOutcome(archived, 0, None, True, False))

    def _failed(self, exc: BaseException) -> None:
        self._close_dialog()
        if isinstance(exc, Cancelled):
            self._cancelled(0)
            return
        if isinstance(exc, ServiceError):
            QMessageBox.warning(
                self._window,
                "Summary letters not printed",
                f"{exc}\n\nNo case was marked sent.",
            )
            self.finished.emit(BatchOutcome(0, 0, None, False, False, failed=True))
            return
        raise exc  # a bug: the exception hook reports it
